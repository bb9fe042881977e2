#pragma once
// A resumable HTTP/1.1 request parser over Beast's basic_parser: bytes in, a Request
// out. Pure (no I/O), so the fuzzer drives exactly what the server runs.
//
// It stops once after the head (header_done) so that the caller can route the request
// and set that route's body limit before any body byte is read.

#include <cstddef>
#include <memory>
#include <string_view>

#include <switchboard/http.hpp>

#include "http/status.hpp"

namespace switchboard::http {

struct ParserLimits {
  std::size_t max_header_size = 16 * 1024;  // request line and headers together
  std::size_t max_target_size = 8 * 1024;   // 414 past this
};

class RequestParser {
 public:
  enum class Status { need_more, header_done, complete, error };
  struct Result {
    Status status;
    std::size_t consumed;
  };

  RequestParser(Request& request, const ParserLimits& limits);
  ~RequestParser();

  // Parses from the start of `bytes`. With need_more, the unconsumed bytes must be
  // presented again with more after them. After header_done, call set_body_limit (if
  // needed) and feed the rest.
  Result feed(std::string_view bytes);
  // False (and error() is payload_too_large) when Content-Length is already larger.
  bool set_body_limit(std::size_t limit);
  RequestError error() const noexcept { return error_; }
  // The whole request has been read (possibly in the call that reported header_done).
  bool done() const noexcept;
  // Whether the request asked for "Expect: 100-continue".
  bool expects_continue() const noexcept;
  bool upgrade() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  RequestError error_ = RequestError::none;
  bool header_reported_ = false;
  std::size_t head_bytes_ = 0;  // request line and fields consumed so far
};

}  // namespace switchboard::http
