#pragma once
// HTTP status codes and reason phrases, and which status each way a request can fail
// gets: one table, so every layer answers the same failure the same way.

#include <cstdint>
#include <string_view>

namespace switchboard::http {

enum class RequestError : std::uint8_t {
  none,
  bad_request,              // 400: malformed request line, header, chunk or target
  request_timeout,          // 408: the head (or body) did not arrive in time
  payload_too_large,        // 413: body over the route's limit
  uri_too_long,             // 414: request target over the limit
  header_fields_too_large,  // 431: request head over the limit
  version_not_supported,    // 505: not HTTP/1.0 or HTTP/1.1
};

int status_of(RequestError error) noexcept;
std::string_view describe(RequestError error) noexcept;
// "OK", "Not Found", ...; "Unknown" for codes without a phrase.
std::string_view reason_phrase(int status) noexcept;

}  // namespace switchboard::http
