#include "http/url.hpp"

#include <algorithm>
#include <cctype>

namespace switchboard::http {
namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out += c;
  }
  return out;
}

namespace {

// Calls `fn(key, value)` with the raw (still encoded) halves of each pair; stops when
// it returns true.
template <typename Fn>
void for_each_raw_param(std::string_view query, Fn fn) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (fn(key, value)) return;
  }
}

// A malformed escape is kept as it came rather than dropping the parameter.
std::string decoded_or_raw(std::string_view text) {
  auto decoded = percent_decode(text, true);
  return decoded ? std::move(*decoded) : std::string(text);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> query_params(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for_each_raw_param(query, [&params](std::string_view key, std::string_view value) {
    params.emplace_back(decoded_or_raw(key), decoded_or_raw(value));
    return false;
  });
  return params;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  std::optional<std::string> found;
  for_each_raw_param(query, [&](std::string_view key, std::string_view value) {
    // Most keys need no decoding (the engine's own: EIO, transport, sid).
    const bool match = key.find_first_of("%+") == std::string_view::npos ? key == name
                                                                        : decoded_or_raw(key) == name;
    if (match) found = decoded_or_raw(value);
    return match;
  });
  return found;
}

std::string_view query_of(std::string_view target) noexcept {
  auto question = target.find('?');
  return question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
}

std::string redacted_target(std::string_view target) {
  auto question = target.find('?');
  std::string out(target.substr(0, question));
  if (question == std::string_view::npos) return out;
  out += '?';
  std::string_view query = target.substr(question + 1);
  bool first = true;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (!first) out += '&';
    first = false;
    auto equals = pair.find('=');
    std::string_view name = pair.substr(0, equals);
    // A name is kept only when it looks like one: a token sent as a bare "?eyJ..." is not.
    bool plain_name = !name.empty() && name.size() <= 32 &&
                      std::all_of(name.begin(), name.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                      });
    if (!plain_name) {
      out += '*';
      continue;
    }
    out += name;
    if (equals == std::string_view::npos) continue;
    out += '=';
    if (name == "EIO" || name == "transport" || name == "sid") {
      std::string_view value = pair.substr(equals + 1);
      out += value.substr(0, 64);
    } else {
      out += '*';
    }
  }
  return out;
}

}  // namespace switchboard::http
