#include "app/prometheus.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace switchboard::app {

void PrometheusWriter::append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void PrometheusWriter::append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void PrometheusWriter::family(std::string_view name, std::string_view help, MetricType type) {
  if (type == MetricType::counter && !name.ends_with("_total")) {
    throw std::invalid_argument("a counter's name must end in _total: " + std::string(name));
  }
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_help(out_, help);
  out_ += "\n# TYPE ";
  // The format names a counter family without its _total suffix (OpenMetrics) or with
  // it (0.0.4 text): Prometheus accepts the TYPE line naming the samples as written.
  out_ += name;
  out_ += type == MetricType::counter ? " counter\n" : " gauge\n";
}

void PrometheusWriter::head(std::string_view name, std::initializer_list<Label> labels) {
  out_ += name;
  if (labels.size() != 0) {
    out_ += '{';
    bool first = true;
    for (const auto& [key, value] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += key;
      out_ += "=\"";
      append_label_value(out_, value);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void PrometheusWriter::sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value) {
  head(name, labels);
  char buffer[24];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out_.append(buffer, end);
  out_ += '\n';
}

void PrometheusWriter::sample(std::string_view name, std::initializer_list<Label> labels, std::int64_t value) {
  head(name, labels);
  char buffer[24];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out_.append(buffer, end);
  out_ += '\n';
}

void PrometheusWriter::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  head(name, labels);
  if (std::isnan(value)) {
    out_ += "NaN";
  } else if (std::isinf(value)) {
    out_ += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    out_.append(buffer, end);
  }
  out_ += '\n';
}

}  // namespace switchboard::app
