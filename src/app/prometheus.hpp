#pragma once
// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): one "# HELP" and one
// "# TYPE" line per family, then its samples. Pure: it only builds a string, so the
// format is tested without a server.
//
//   PrometheusWriter out;
//   out.family("switchboard_bytes_in_total", "Bytes read from clients.", MetricType::counter);
//   out.sample("switchboard_bytes_in_total", {}, 1234);
//   std::string body = out.take();

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace switchboard::app {

enum class MetricType { counter, gauge };

// The Content-Type of a scrape's answer.
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

using Label = std::pair<std::string_view, std::string_view>;

class PrometheusWriter {
 public:
  // Starts a family: its HELP (backslash and newline escaped) and TYPE lines. A counter's
  // name must end in "_total" (std::invalid_argument otherwise: a programming error).
  void family(std::string_view name, std::string_view help, MetricType type);
  // A sample: name{label="value",...} value. Label values are escaped (\\, \", \n).
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, std::int64_t value);

  const std::string& text() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

  // Escapes for a label value (\\, \", \n) and for HELP text (\\, \n).
  static void append_label_value(std::string& out, std::string_view value);
  static void append_help(std::string& out, std::string_view help);

 private:
  void head(std::string_view name, std::initializer_list<Label> labels);
  std::string out_;
};

}  // namespace switchboard::app
