#include "http/status.hpp"

namespace switchboard::http {

int status_of(RequestError error) noexcept {
  switch (error) {
    case RequestError::none: return 200;
    case RequestError::bad_request: return 400;
    case RequestError::request_timeout: return 408;
    case RequestError::payload_too_large: return 413;
    case RequestError::uri_too_long: return 414;
    case RequestError::header_fields_too_large: return 431;
    case RequestError::version_not_supported: return 505;
  }
  return 400;
}

std::string_view describe(RequestError error) noexcept {
  switch (error) {
    case RequestError::none: return "no error";
    case RequestError::bad_request: return "malformed request";
    case RequestError::request_timeout: return "request not received in time";
    case RequestError::payload_too_large: return "request body too large";
    case RequestError::uri_too_long: return "request target too long";
    case RequestError::header_fields_too_large: return "request header too large";
    case RequestError::version_not_supported: return "only HTTP/1.0 and HTTP/1.1 are supported";
  }
  return "malformed request";
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

}  // namespace switchboard::http
