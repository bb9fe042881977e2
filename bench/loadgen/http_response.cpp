#include "http_response.hpp"

#include <cstdint>
#include <optional>

#include "core/encoding.hpp"

namespace switchboard::loadgen {
namespace {

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

std::optional<std::uint64_t> parse_hex(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    value = value * 16 + static_cast<std::uint64_t>(digit);
  }
  return value;
}

// The chunked body starting at `at` (RFC 9112 §7.1), decoded into `scratch`. Returns
// the offset after its last CRLF, 0 when more bytes are needed, or npos when invalid.
std::size_t parse_chunked(std::string_view data, std::size_t at, std::string& scratch,
                          std::size_t max_body, std::string_view& error) {
  constexpr auto npos = std::string_view::npos;
  scratch.clear();
  for (;;) {
    std::size_t eol = data.find("\r\n", at);
    if (eol == npos) {
      if (data.size() - at > 1024) {
        error = "chunk size line too long";
        return npos;
      }
      return 0;
    }
    std::string_view line = data.substr(at, eol - at);
    line = core::trim_whitespace(line.substr(0, line.find(';')));  // no chunk extensions wanted
    auto chunk = parse_hex(line);
    if (!chunk) {
      error = "bad chunk size";
      return npos;
    }
    at = eol + 2;
    if (*chunk == 0) {
      // Trailer fields, then the empty line.
      for (;;) {
        eol = data.find("\r\n", at);
        if (eol == npos) return 0;
        bool empty = eol == at;
        at = eol + 2;
        if (empty) return at;
      }
    }
    if (scratch.size() + *chunk > max_body) {
      error = "response body too large";
      return npos;
    }
    if (data.size() - at < *chunk + 2) return 0;
    if (data.substr(at + *chunk, 2) != "\r\n") {
      error = "chunk not followed by CRLF";
      return npos;
    }
    scratch.append(data.substr(at, *chunk));
    at += *chunk + 2;
  }
}

}  // namespace

ResponseStatus parse_response(std::string_view data, HttpResponse& response, std::size_t& size,
                              std::string& scratch, std::string_view& error, const ResponseLimits& limits) {
  std::size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > limits.max_head) {
      error = "response head too large";
      return ResponseStatus::invalid;
    }
    return ResponseStatus::need_more;
  }
  if (end + 4 > limits.max_head) {
    error = "response head too large";
    return ResponseStatus::invalid;
  }
  std::string_view head = data.substr(0, end + 2);  // every line ends with CRLF
  std::size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  // HTTP-version SP 3DIGIT SP [reason]
  bool http11 = status_line.rfind("HTTP/1.1 ", 0) == 0;
  bool http10 = status_line.rfind("HTTP/1.0 ", 0) == 0;
  auto code = (http11 || http10) && status_line.size() >= 12 ? parse_decimal(status_line.substr(9, 3)) : std::nullopt;
  if (!code || (status_line.size() > 12 && status_line[12] != ' ')) {
    error = "malformed status line";
    return ResponseStatus::invalid;
  }
  response = HttpResponse{};
  response.status = static_cast<int>(*code);
  if (response.status < 200) {
    error = "unexpected 1xx response";
    return ResponseStatus::invalid;
  }
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = false;  // HTTP/1.0 closes unless told otherwise
  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' || line.front() == '\t') {
      error = "malformed header line";  // obsolete line folding included (RFC 9112 §5.2)
      return ResponseStatus::invalid;
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = core::trim_whitespace(line.substr(colon + 1));
    if (core::iequals(name, "content-length")) {
      auto length = parse_decimal(value);
      if (!length || (content_length && *content_length != *length)) {
        error = "bad Content-Length";
        return ResponseStatus::invalid;
      }
      content_length = length;
    } else if (core::iequals(name, "transfer-encoding")) {
      // Only "chunked" alone: this client asked for no other coding.
      if (!core::iequals(value, "chunked")) {
        error = "unsupported Transfer-Encoding";
        return ResponseStatus::invalid;
      }
      chunked = true;
    } else if (core::iequals(name, "connection")) {
      if (core::has_token(value, "close")) response.connection_close = true;
      if (core::has_token(value, "keep-alive")) keep_alive = true;
    }
  }
  if (http10 && !keep_alive) response.connection_close = true;
  std::size_t body_at = end + 4;
  if (chunked) {
    if (content_length) {
      error = "both Content-Length and Transfer-Encoding";  // RFC 9112 §6.3: a smuggling sign
      return ResponseStatus::invalid;
    }
    std::size_t after = parse_chunked(data, body_at, scratch, limits.max_body, error);
    if (after == std::string_view::npos) return ResponseStatus::invalid;
    if (after == 0) return ResponseStatus::need_more;
    response.body = scratch;
    size = after;
    return ResponseStatus::complete;
  }
  if (!content_length) {
    if (response.status == 204 || response.status == 304) {
      size = body_at;
      return ResponseStatus::complete;
    }
    error = "response without Content-Length or chunked encoding";
    return ResponseStatus::invalid;
  }
  if (*content_length > limits.max_body) {
    error = "response body too large";
    return ResponseStatus::invalid;
  }
  if (data.size() - body_at < *content_length) return ResponseStatus::need_more;
  response.body = data.substr(body_at, static_cast<std::size_t>(*content_length));
  size = body_at + static_cast<std::size_t>(*content_length);
  return ResponseStatus::complete;
}

}  // namespace switchboard::loadgen
