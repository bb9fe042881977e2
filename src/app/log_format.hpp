#pragma once
// How the binary writes its log (--log-format): `text`, one line per entry for people
// ("2026-11-26T13:33:21.123 info [conn=127.0.0.1:5123 req=1-2a] message", local time),
// or `json`, one JSON object per line for log pipelines:
//
//   {"time":"2026-11-26T13:33:21.123Z","level":"info","logger":"switchboard",
//    "component":"http","message":"...","conn":"127.0.0.1:5123","req":"1-2a"}
//
// time is RFC 3339 in UTC with milliseconds; level is trace, debug, info, warn, error
// or critical; the id fields (conn, req, sid, socket, nsp) and component appear when
// the line has them (core/log.hpp), and an HTTP access line adds method, target,
// status, bytes and duration_ms. Every string is valid JSON whatever the message
// holds: quotes, backslashes and control characters are escaped, and bytes that are
// not UTF-8 become U+FFFD.
//
// Thread safety: the formatters are used under their sink's lock, as spdlog does.

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>

#include "core/log.hpp"

namespace switchboard::app {

// One log entry as a JSON object, without the line break.
std::string format_json_entry(const spdlog::details::log_msg& message, const log::Fields* fields);

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// Today's text line, with the ids in brackets after the level.
std::unique_ptr<spdlog::formatter> make_text_formatter();

// Replaces the default logger: to stderr, in `format` ("text" or "json"), at `level`
// (a --log-level value).
void configure_logging(std::string_view format, std::string_view level);

}  // namespace switchboard::app
