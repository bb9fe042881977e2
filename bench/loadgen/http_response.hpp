#pragma once
// HTTP/1.1 responses as a keep-alive client reads them (RFC 9112): the status line, the
// headers that frame the body (Content-Length, Transfer-Encoding: chunked) or end the
// connection (Connection: close), and the body. A pure function over bytes, for the
// Engine.IO polling transport; the load generator links no HTTP library (see
// bench/CMakeLists.txt), and a client that sends no Accept-Encoding, Expect or HEAD needs
// only this much.

#include <cstddef>
#include <string>
#include <string_view>

namespace switchboard::loadgen {

struct HttpResponse {
  int status = 0;
  bool connection_close = false;  // the server closes the connection after this response
  std::string_view body;          // into the parsed bytes, or into `scratch` when chunked
};

enum class ResponseStatus { need_more, complete, invalid };

struct ResponseLimits {
  std::size_t max_head = 16 * 1024;
  std::size_t max_body = 64 * 1024 * 1024;
};

// Parses the response at the front of `data`. complete: `response` is filled and `size`
// is how many bytes of `data` it took (a next response may follow: the caller parses
// again from there). need_more: the response is not complete yet (parse again, from
// the same start, with more bytes). invalid: `error` says why. A chunked body is
// decoded into `scratch`. A response framed by neither Content-Length nor chunked
// encoding (one that would end at the close of the connection) is refused, except
// 204 and 304, which have no body; so is a 1xx, which this client never asks for.
ResponseStatus parse_response(std::string_view data, HttpResponse& response, std::size_t& size,
                              std::string& scratch, std::string_view& error,
                              const ResponseLimits& limits = {});

}  // namespace switchboard::loadgen
