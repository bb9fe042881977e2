// libFuzzer target for the HTTP request parser (RequestParser over Beast), driven the
// way Session drives it: bytes arrive in reads whose sizes the input chooses
// (makeChunked style); unconsumed bytes are presented again with the next read;
// after header_done the route's body limit is set; a complete request is followed by
// the next pipelined one on a reused Request. Besides the sanitizers, it checks what
// the parser promises:
//   - feed() never consumes more than it is given, and reports an error once and for
//     ever after (with RequestError set, and nothing consumed again);
//   - header_done comes exactly once per request, before complete; done() is true
//     when complete is reported;
//   - a request that completes has a method and a target, version 10 or 11, a body
//     within the limit, and a Content-Length body of exactly that length;
//   - a complete request's http::RequestHead (the copy a long-lived connection keeps)
//     holds the same target, query and headers as the request, and the same first
//     value for any header name asked in any case;
//   - where the stream is cut cannot change the result: the chosen reads and the
//     whole input at once give the same requests (contents and bytes consumed) and
//     refuse the same ones. The reason for a refusal may differ (a request both
//     malformed and over a limit may be refused for either; Beast parses a start line
//     or chunk header that arrived whole at once, but waits for more otherwise), and
//     at the end of the stream one way may have refused an unfinished request that
//     the other still waits to finish.
//
// Input layout:
//   byte 0  low nibble: k, the number of read sizes that follow;
//           bits 4-5: the body limit (1 MiB, 0, 16, 200);
//           bits 6-7: the head limits ({16 KiB, 8 KiB}, {256, 8 KiB}, {1 KiB, 24},
//           {64, 64}) as {max_header_size, max_target_size}.
//   k bytes read sizes, used in turn (0 is an empty read); k = 0: one read.
//   rest    the byte stream.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.hpp"

namespace {

using namespace switchboard;
using http::RequestParser;
using Status = RequestParser::Status;

// A failed check is a crash, so libFuzzer keeps the input.
void check(bool ok) {
  if (!ok) std::abort();
}

struct Parsed {
  http::RequestError error = http::RequestError::none;
  bool complete = false;
  std::size_t consumed = 0;
  std::string method, target, body;
  unsigned version = 0;
  bool keep_alive = false;
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const Parsed&) const = default;
};

constexpr std::size_t body_limits[4] = {1 << 20, 0, 16, 200};
constexpr http::ParserLimits head_limits[4] = {{16 * 1024, 8 * 1024}, {256, 8 * 1024}, {1024, 24}, {64, 64}};
constexpr int max_requests = 8;

// Parses every request in `stream`, in reads of the given sizes (cycled; none, or only
// zeros: everything in one read).
std::vector<Parsed> run(std::string_view stream, const std::vector<std::size_t>& sizes, std::size_t body_limit,
                        const http::ParserLimits& limits) {
  std::vector<Parsed> out;
  http::Request request;  // reused, as on a keep-alive connection
  std::string pending;
  std::size_t position = 0;
  bool progress = false;
  for (std::size_t s : sizes) progress |= s != 0;
  std::size_t turn = 0;

  while (static_cast<int>(out.size()) < max_requests) {
    RequestParser parser(request, limits);
    Parsed parsed;
    bool header_seen = false;
    bool finished = false;
    bool stream_ended = false;
    while (!finished) {
      // Parse what is pending before reading more, as Session does.
      while (!finished && !pending.empty()) {
        const auto r = parser.feed(pending);
        check(r.consumed <= pending.size());
        parsed.consumed += r.consumed;
        pending.erase(0, r.consumed);
        if (r.status == Status::need_more) break;
        if (r.status == Status::error) {
          check(parser.error() != http::RequestError::none);
          parsed.error = parser.error();
          const auto again = parser.feed("GET / HTTP/1.1\r\n\r\n");
          check(again.status == Status::error && again.consumed == 0);  // sticky
          finished = true;
        } else if (r.status == Status::header_done) {
          check(!header_seen);
          header_seen = true;
          if (!parser.set_body_limit(body_limit)) {
            check(parser.error() == http::RequestError::payload_too_large);
            parsed.error = parser.error();
            finished = true;
          } else if (parser.done()) {
            parsed.complete = true;
            finished = true;
          }
        } else {  // complete
          check(header_seen);
          check(parser.done());
          parsed.complete = true;
          finished = true;
        }
      }
      if (finished) break;
      if (stream_ended) break;
      // The next read.
      std::size_t n = stream.size() - position;
      if (progress) {
        n = std::min(n, sizes[turn++ % sizes.size()]);
      }
      pending.append(stream.substr(position, n));
      position += n;
      if (position == stream.size() && n == 0) stream_ended = true;
    }
    parsed.method = request.method();
    parsed.target = request.target();
    parsed.body = request.body();
    parsed.version = request.version();
    parsed.keep_alive = request.keep_alive();
    for (auto [n, v] : request.headers()) parsed.headers.emplace_back(n, v);
    if (parsed.complete) {
      const http::RequestHead head(request, request.header("Host"));
      check(head.target() == request.target());
      check(head.address() == request.header("Host"));
      check(head.query() == request.query());
      check(head.headers() == request.headers());
      for (auto [name, value] : request.headers()) {
        std::string upper(name);
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        check(head.header(upper) == request.header(name));
      }
      check(head.header("X-Not-Sent-By-The-Fuzzer-\x01") == request.header("X-Not-Sent-By-The-Fuzzer-\x01"));
      check(!parsed.method.empty());
      check(!parsed.target.empty());
      check(parsed.version == 10 || parsed.version == 11);
      check(parsed.body.size() <= body_limit);
      const std::string_view length = request.header("Content-Length");
      if (!length.empty() && !request.has_header("Transfer-Encoding")) {
        std::uint64_t expected = 0;
        auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), expected);
        if (ec == std::errc() && end == length.data() + length.size()) check(parsed.body.size() == expected);
      }
    }
    const bool stop = !parsed.complete;  // an error, or the stream ended mid-request
    out.push_back(std::move(parsed));
    if (stop) break;
    if (pending.empty() && position == stream.size()) break;
  }
  return out;
}

// Whether two ways of cutting the stream agree on one request (see the top).
bool agree(const Parsed& a, const Parsed& b, bool last) {
  if (a.complete || b.complete) return a == b;
  const bool a_error = a.error != http::RequestError::none;
  const bool b_error = b.error != http::RequestError::none;
  if (a_error && b_error) return true;
  if (a_error != b_error) return last;  // the other is still waiting for its head
  return true;                          // both unfinished at the end of the stream
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t k = data[0] & 15;
  const std::size_t body_limit = body_limits[(data[0] >> 4) & 3];
  const http::ParserLimits limits = head_limits[data[0] >> 6];
  if (size < 1 + k) return 0;
  std::vector<std::size_t> sizes(data + 1, data + 1 + k);
  const std::string_view stream(reinterpret_cast<const char*>(data + 1 + k), size - 1 - k);

  const std::vector<Parsed> chunked = run(stream, sizes, body_limit, limits);
  const std::vector<Parsed> whole = run(stream, {}, body_limit, limits);
  const std::size_t n = std::min(chunked.size(), whole.size());
  for (std::size_t i = 0; i < n; ++i) check(agree(chunked[i], whole[i], i + 1 == n));
  check(chunked.size() == whole.size());
  return 0;
}
