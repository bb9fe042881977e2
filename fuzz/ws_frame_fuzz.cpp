// libFuzzer target for the WebSocket receive side: MessageReader over arbitrary bytes,
// in either role, with and without permessage-deflate, read in chunks that the input
// chooses (after uWS's makeChunked). Besides the sanitizers, it checks what the reader
// promises:
//   - the same events (and, uncompressed, the same close code) whether the stream
//     arrives in the chosen chunks, in one read, or a byte at a time;
//   - text messages and close reasons are valid UTF-8, messages within the limit,
//     control payloads at most 125 bytes, close codes valid (or 1005 with no reason);
//   - nothing is reported after a close, after stop(), or after an error, and an error
//     code, once returned, is returned again;
//   - buffered_bytes() stays within a header, a message and a control payload, and is
//     zero once the reader has stopped.
//
// Input layout:
//   byte 0  options: bit 0 client role (else server); bit 1 permessage-deflate;
//           bit 2 with ws/deflate's Inflater (else a copying stand-in, which lets the
//           fuzzer reach compressed text directly); bit 3 inflate context takeover;
//           bit 4 an 8-bit inflate window (else 15); bits 5-7 max_message_size.
//   byte 1  low nibble: k, the number of read sizes that follow; high nibble: the
//           event whose handler calls stop() (15: none).
//   k bytes read sizes, used in turn (0 is an empty read); k = 0: one read.
//   rest    the byte stream.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/utf8.hpp"
#include "ws/codec/frame.hpp"
#include "ws/codec/reader.hpp"

#if __has_include("ws/codec/deflate.hpp")
#include "ws/codec/deflate.hpp"
#define SB_FUZZ_REAL_INFLATER 1
#endif

namespace {

using namespace switchboard;
using ws::MessageReader;
using ws::PayloadInflater;

// A failed check is a crash, so libFuzzer keeps the input.
void check(bool ok) {
  if (!ok) std::abort();
}

// "Inflates" by copying: compressed text reaches UTF-8 validation byte for byte.
// 0xFF in the compressed bytes is "corrupt data".
class CopyInflater final : public PayloadInflater {
 public:
  Result inflate(std::string_view compressed, std::string& out, std::size_t max_size) override {
    if (compressed.find('\xff') != std::string_view::npos) return Result::corrupt;
    if (out.size() + compressed.size() > max_size) return Result::too_big;
    out.append(compressed);
    return Result::ok;
  }
  Result finish(std::string&, std::size_t) override { return Result::ok; }
};

struct Event {
  std::uint8_t kind;  // 0 text, 1 binary, 2 ping, 3 pong, 4 close
  std::uint16_t code;
  std::string payload;
  bool operator==(const Event&) const = default;
};

struct Config {
  ws::Role role;
  bool deflate;
  bool real_inflater;
  bool context_takeover;
  int window_bits;
  std::size_t max_message_size;
  std::size_t stop_at;
  std::vector<std::size_t> read_sizes;
};

class Checker final : public MessageReader::Handler {
 public:
  Checker(MessageReader& reader, const Config& config) : reader_(reader), config_(config) {}

  void on_message(std::string_view payload, bool binary) override {
    check(payload.size() <= config_.max_message_size);
    if (!binary) check(core::is_valid_utf8(payload));
    add(binary ? 1 : 0, 0, payload);
  }
  void on_ping(std::string_view payload) override {
    check(payload.size() <= 125);
    add(2, 0, payload);
  }
  void on_pong(std::string_view payload) override {
    check(payload.size() <= 125);
    add(3, 0, payload);
  }
  void on_close(std::uint16_t code, std::string_view reason) override {
    if (code == ws::close_code::no_status) {
      check(reason.empty());
    } else {
      check(ws::is_valid_close_code(code));
    }
    check(reason.size() <= 123);
    check(core::is_valid_utf8(reason));
    add(4, code, reason);
    ended = true;
  }

  std::vector<Event> events;
  bool ended = false;  // after a close or stop(): nothing more may come

 private:
  void add(std::uint8_t kind, std::uint16_t code, std::string_view payload) {
    check(!ended);
    events.push_back({kind, code, std::string(payload)});
    if (events.size() - 1 == config_.stop_at) {
      reader_.stop();
      ended = true;
    }
  }

  MessageReader& reader_;
  const Config& config_;
};

struct Outcome {
  std::uint16_t code = 0;
  std::vector<Event> events;
};

// Feeds `stream` (a private copy: it is unmasked in place) in reads of the given sizes,
// cycling through them; no sizes, or only zeros, means everything at once at the end.
Outcome run(const Config& config, std::vector<std::byte> stream,
            const std::vector<std::size_t>& sizes) {
  std::unique_ptr<PayloadInflater> inflater;
  if (config.deflate) {
#ifdef SB_FUZZ_REAL_INFLATER
    if (config.real_inflater)
      inflater = std::make_unique<ws::Inflater>(config.window_bits, config.context_takeover);
#endif
    if (!inflater) inflater = std::make_unique<CopyInflater>();
  }
  ws::ReaderOptions options;
  options.role = config.role;
  options.max_message_size = config.max_message_size;
  options.inflater = inflater.get();
  MessageReader reader(options);
  Checker checker(reader, config);

  Outcome outcome;
  auto feed = [&](std::span<std::byte> piece) {
    const std::size_t events_before = checker.events.size();
    const bool ended_before = checker.ended;
    const std::uint16_t code = reader.feed(piece, checker);
    if (outcome.code != 0) {
      check(code == outcome.code);  // sticky
      check(checker.events.size() == events_before);
    }
    if (ended_before) check(code == 0 && checker.events.size() == events_before);
    if (code != 0) {
      check(code == ws::close_code::protocol_error || code == ws::close_code::invalid_payload ||
            code == ws::close_code::message_too_big);
      check(reader.stopped());
    }
    outcome.code = code;
    if (reader.stopped()) {
      check(reader.buffered_bytes() == 0);
    } else {
      check(reader.buffered_bytes() <=
            ws::max_frame_header_size + config.max_message_size + 1 + 125);
    }
  };

  std::span<std::byte> rest(stream);
  bool progress = false;
  for (std::size_t s : sizes) progress |= s != 0;
  for (std::size_t i = 0; progress && !rest.empty(); i = (i + 1) % sizes.size()) {
    const std::size_t n = std::min(sizes[i], rest.size());
    feed(rest.first(n));
    rest = rest.subspan(n);
  }
  feed(rest);
  outcome.events = std::move(checker.events);
  return outcome;
}

constexpr std::size_t max_sizes[8] = {1 << 20, 0, 1, 125, 1000, 65536, 200, 70000};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Config config;
  config.role = data[0] & 1 ? ws::Role::client : ws::Role::server;
  config.deflate = data[0] & 2;
  config.real_inflater = data[0] & 4;
  config.context_takeover = data[0] & 8;
  config.window_bits = data[0] & 16 ? 8 : 15;
  config.max_message_size = max_sizes[data[0] >> 5];
  const std::size_t k = data[1] & 15;
  config.stop_at = data[1] >> 4 == 15 ? SIZE_MAX : data[1] >> 4;
  if (size < 2 + k) return 0;
  for (std::size_t i = 0; i < k; ++i) config.read_sizes.push_back(data[2 + i]);
  const auto* begin = reinterpret_cast<const std::byte*>(data + 2 + k);
  const std::vector<std::byte> stream(begin, begin + (size - 2 - k));

  const Outcome chunked = run(config, stream, config.read_sizes);
  const Outcome whole = run(config, stream, {});
  const Outcome bytewise = run(config, stream, {1});

  // SB_FUZZ_VERBOSE=1 prints what each input did (for writing seeds).
  static const bool verbose = std::getenv("SB_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    static const char* const names[] = {"text", "binary", "ping", "pong", "close"};
    for (const auto& [name, outcome] : {std::pair{"chunked", &chunked}, std::pair{"whole", &whole},
                                        std::pair{"bytewise", &bytewise}}) {
      std::fprintf(stderr, "%s: code %u, %zu events:", name, outcome->code,
                   outcome->events.size());
      for (const Event& e : outcome->events)
        std::fprintf(stderr, " %s(%zu)", names[e.kind], e.payload.size());
      std::fprintf(stderr, "\n");
    }
  }

  // Where the stream is cut cannot change what it means. With compression one thing
  // may: an inflater can find a piece too big before the reader sees its invalid
  // UTF-8, or the other way round, so only "failed" must agree there.
  //
  // And zlib below a 15-bit window: it checks a distance against its window only for
  // output of earlier inflate() calls, and within one call accepts a distance back to
  // anything that call wrote. A peer that reaches beyond the window it agreed to is
  // failed or not depending on how its bytes arrive (see ws/codec/deflate.hpp). What
  // still holds: the runs agree up to the first failure.
  const bool window_check_inexact = config.deflate && config.real_inflater &&
                                    config.window_bits < 15;
  for (const Outcome* other : {&whole, &bytewise}) {
    if (window_check_inexact) {
      const Outcome& shorter =
          other->events.size() < chunked.events.size() ? *other : chunked;
      const Outcome& longer = &shorter == other ? chunked : *other;
      check(std::equal(shorter.events.begin(), shorter.events.end(), longer.events.begin()));
      if (shorter.events.size() != longer.events.size()) check(shorter.code != 0);
      continue;
    }
    check(other->events == chunked.events);
    if (config.deflate) {
      check((other->code == 0) == (chunked.code == 0));
    } else {
      check(other->code == chunked.code);
    }
  }
  return 0;
}
