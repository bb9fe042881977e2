#include "app/log_format.hpp"

#include <cstdio>
#include <ctime>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "core/encoding.hpp"

namespace switchboard::app {
namespace {

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

// "2026-11-26T13:33:21.123Z"; the part up to the seconds is formatted once a second
// per thread.
void append_utc_time(spdlog::log_clock::time_point time, std::string& out) {
  thread_local std::time_t cached_second = -1;
  thread_local char text[32];
  auto since_epoch = time.time_since_epoch();
  auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  std::time_t second = static_cast<std::time_t>(seconds.count());
  if (second != cached_second) {
    cached_second = second;
    std::tm utc;
    gmtime_r(&second, &utc);
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  }
  out += text;
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03dZ", static_cast<int>(millis));
  out += fraction;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":\"";
  core::append_json_escaped(value, out);
  out += '"';
}

// The id fields in the order of log::Fields, for the text and the JSON formats.
template <typename Emit>
void for_each_id(const log::Fields& fields, Emit emit) {
  if (!fields.conn.empty()) emit("conn", fields.conn);
  if (!fields.req.empty()) emit("req", fields.req);
  if (!fields.sid.empty()) emit("sid", fields.sid);
  if (!fields.socket.empty()) emit("socket", fields.socket);
  if (!fields.nsp.empty()) emit("nsp", fields.nsp);
}

// The %* flag of the text pattern: "[component conn=... sid=...] ", or nothing.
class IdsFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    const log::Fields* fields = log::current_fields();
    if (!fields) return;
    std::string text;
    if (!fields->component.empty()) text += fields->component;
    for_each_id(*fields, [&text](std::string_view name, std::string_view value) {
      if (!text.empty()) text += ' ';
      text += name;
      text += '=';
      // Ids are server-made or sanitized, but a line must stay one line whatever comes.
      for (char c : value) text += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    });
    if (text.empty()) return;
    dest.push_back('[');
    dest.append(text.data(), text.data() + text.size());
    dest.push_back(']');
    dest.push_back(' ');
  }
  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override { return std::make_unique<IdsFlag>(); }
};

}  // namespace

std::string format_json_entry(const spdlog::details::log_msg& message, const log::Fields* fields) {
  std::string out;
  out.reserve(128 + message.payload.size());
  out += "{\"time\":\"";
  append_utc_time(message.time, out);
  out += "\",\"level\":\"";
  out += level_name(message.level);
  out += '"';
  append_field(out, "logger", std::string_view(message.logger_name.data(), message.logger_name.size()));
  if (fields && !fields->component.empty()) append_field(out, "component", fields->component);
  append_field(out, "message", std::string_view(message.payload.data(), message.payload.size()));
  if (fields) {
    for_each_id(*fields, [&out](std::string_view name, std::string_view value) { append_field(out, name, value); });
    if (const log::HttpExchange* http = fields->http) {
      append_field(out, "method", http->method);
      append_field(out, "target", http->target);
      char numbers[96];
      int n = std::snprintf(numbers, sizeof numbers, ",\"status\":%d,\"bytes\":%llu,\"duration_ms\":%.3f",
                            http->status, static_cast<unsigned long long>(http->bytes), http->duration_ms);
      out.append(numbers, static_cast<std::size_t>(n));
    }
  }
  out += '}';
  return out;
}

void JsonFormatter::format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& dest) {
  std::string line = format_json_entry(message, log::current_fields());
  line += '\n';
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> JsonFormatter::clone() const { return std::make_unique<JsonFormatter>(); }

std::unique_ptr<spdlog::formatter> make_text_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<IdsFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %*%v");
  return formatter;
}

void configure_logging(std::string_view format, std::string_view level) {
  std::shared_ptr<spdlog::logger> logger;
  if (format == "json") {
    // No colours: a log pipeline reads these lines.
    logger = spdlog::stderr_logger_mt("switchboard");
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger = spdlog::stderr_color_mt("switchboard");
    logger->set_formatter(make_text_formatter());
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace switchboard::app
