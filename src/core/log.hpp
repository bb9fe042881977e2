#pragma once
// Log lines with the ids of what they are about. Every layer logs through spdlog's
// default logger; a line about a connection, a request, an Engine.IO session or a
// Socket.IO socket goes through log::write (or debug/info/warn/error) with the ids it
// knows, and the formatter the binary installs shows them: as a "[conn=... sid=...]"
// prefix in text, as fields of their own in JSON (see app/log_format.hpp).
//
// A disabled level costs one comparison: the ids and the message are not formatted.
// Arguments are still evaluated, so a call site whose ids or arguments cost something
// to build (a peer address as a string) checks log::enabled(level) first.
//
// Thread safety: the ids travel to the formatter in a thread-local for the duration of
// the call, which works because the logger is synchronous (the formatter runs on the
// calling thread).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

namespace switchboard::log {

// An HTTP access line's numbers, as fields of their own in JSON.
struct HttpExchange {
  std::string_view method;
  std::string_view target;  // with the query's values redacted
  int status = 0;
  std::uint64_t bytes = 0;  // of the response body
  double duration_ms = 0;
};

// What a line is about; empty fields are left out.
struct Fields {
  std::string_view component{};  // the layer: "net", "http", "ws", "eio", "sio", "app", "api"
  std::string_view conn{};       // the TCP peer, "address:port" (unique among open connections)
  std::string_view req{};        // the HTTP request id (X-Request-Id, or one the server made)
  std::string_view sid{};        // the Engine.IO session id
  std::string_view socket{};     // the Socket.IO socket id
  std::string_view nsp{};        // the Socket.IO namespace
  const HttpExchange* http = nullptr;  // an access line's method, target, status, bytes, duration
};

// A TCP peer as the conn field shows it: "127.0.0.1:5123", "[::1]:5123".
std::string peer_name(std::string_view address, std::uint16_t port);

// The fields of the line being formatted on this thread, or null outside log::write.
const Fields* current_fields() noexcept;

namespace detail {
// Sets the current fields for one call, and restores the previous ones (a log line
// written while formatting another keeps its own).
class FieldsScope {
 public:
  explicit FieldsScope(const Fields& fields) noexcept;
  ~FieldsScope();
  FieldsScope(const FieldsScope&) = delete;
  FieldsScope& operator=(const FieldsScope&) = delete;

 private:
  const Fields* previous_;
};
}  // namespace detail

inline bool enabled(spdlog::level::level_enum level) noexcept {
  return spdlog::default_logger_raw()->should_log(level);
}

template <typename... Args>
void write(spdlog::level::level_enum level, const Fields& fields, spdlog::format_string_t<Args...> format,
           Args&&... args) {
  spdlog::logger* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  detail::FieldsScope scope(fields);
  logger->log(level, format, std::forward<Args>(args)...);
}

template <typename... Args>
void debug(const Fields& fields, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::debug, fields, format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(const Fields& fields, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::info, fields, format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(const Fields& fields, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::warn, fields, format, std::forward<Args>(args)...);
}
template <typename... Args>
void error(const Fields& fields, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::err, fields, format, std::forward<Args>(args)...);
}

}  // namespace switchboard::log
