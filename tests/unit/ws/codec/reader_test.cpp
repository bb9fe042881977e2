#include "ws/codec/reader.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <new>
#include <ostream>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------------
// Heap accounting for the whole test binary, so that tests can assert "no allocation"
// (the fast path) and "nothing held" (buffers released between messages). Counting only;
// allocation itself is still malloc's (and ASan's).
namespace {
std::atomic<std::size_t> g_allocations{0};
std::atomic<std::ptrdiff_t> g_live_bytes{0};

void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  g_live_bytes.fetch_add(static_cast<std::ptrdiff_t>(malloc_usable_size(p)),
                         std::memory_order_relaxed);
  return p;
}
void counted_free(void* p) noexcept {
  if (!p) return;
  g_live_bytes.fetch_sub(static_cast<std::ptrdiff_t>(malloc_usable_size(p)),
                         std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }

namespace switchboard::ws {
namespace {

using Bytes = std::vector<std::byte>;

// ---------------------------------------------------------------------------------
// Building input: frames as a client (masked) or a server (unmasked) sends them.

class Wire {
 public:
  explicit Wire(Role sender = Role::client) : masked_(sender == Role::client) {}

  // A frame with the given first header byte (FIN, RSV, opcode as they are) and payload.
  Wire& frame_b0(std::uint8_t b0, std::string_view payload) {
    return frame_b0(b0, payload, masked_);
  }
  Wire& frame_b0(std::uint8_t b0, std::string_view payload, bool masked) {
    std::array<std::byte, 4> key{std::byte(0x5a ^ counter_), std::byte(0xc3 + counter_),
                                 std::byte(0x0f), std::byte(0x96 ^ (counter_ * 7))};
    ++counter_;
    std::byte header[max_frame_header_size];
    const std::size_t n = write_frame_header(header, Opcode::continuation, payload.size(), false,
                                             false, masked ? &key : nullptr);
    header[0] = std::byte(b0);
    bytes.insert(bytes.end(), header, header + n);
    const std::size_t start = bytes.size();
    for (char c : payload) bytes.push_back(std::byte(c));
    if (masked) mask_bytes(std::span(bytes).subspan(start), key);
    return *this;
  }
  Wire& frame(Opcode op, std::string_view payload, bool fin = true, bool rsv1 = false) {
    return frame_b0(
        static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<int>(op)),
        payload);
  }
  Wire& text(std::string_view p, bool fin = true) { return frame(Opcode::text, p, fin); }
  Wire& binary(std::string_view p, bool fin = true) { return frame(Opcode::binary, p, fin); }
  Wire& cont(std::string_view p, bool fin = true) { return frame(Opcode::continuation, p, fin); }
  Wire& ping(std::string_view p) { return frame(Opcode::ping, p); }
  Wire& pong(std::string_view p) { return frame(Opcode::pong, p); }
  Wire& close(std::uint16_t code, std::string_view reason = "") {
    std::string body{char(code >> 8), char(code & 0xff)};
    body += reason;
    return frame(Opcode::close, body);
  }
  Wire& close_raw(std::string_view body) { return frame(Opcode::close, body); }
  Wire& raw(std::initializer_list<int> list) {
    for (int b : list) bytes.push_back(std::byte(b));
    return *this;
  }

  std::size_t size() const { return bytes.size(); }

  Bytes bytes;

 private:
  bool masked_;
  std::uint8_t counter_ = 0;
};

// ---------------------------------------------------------------------------------
// Recording what the reader reports.

struct Event {
  std::string kind;     // text, binary, ping, pong, close
  std::string payload;  // as delivered, or a digest of it when long (see stored())
  std::uint16_t code = 0;
  bool operator==(const Event&) const = default;
};

// Long payloads are kept as their size and hash: the split-point tests record hundreds
// of thousands of 64 KiB messages, and copying them would be most of their run time.
std::string stored(std::string_view payload) {
  if (payload.size() <= 256) return std::string(payload);
  return "<" + std::to_string(payload.size()) + " bytes, hash " +
         std::to_string(std::hash<std::string_view>()(payload)) + ">";
}

void PrintTo(const Event& e, std::ostream* os) {
  *os << e.kind << "(" << e.payload.size() << " bytes";
  if (e.payload.size() <= 80) *os << " \"" << e.payload << "\"";
  if (e.kind == "close") *os << ", code " << e.code;
  *os << ")";
}

Event text_event(std::string_view p) { return {"text", stored(p)}; }
Event binary_event(std::string_view p) { return {"binary", stored(p)}; }
Event ping_event(std::string_view p) { return {"ping", stored(p)}; }
Event pong_event(std::string_view p) { return {"pong", stored(p)}; }
Event close_event(std::uint16_t code, std::string_view reason) {
  return {"close", stored(reason), code};
}

class Recorder : public MessageReader::Handler {
 public:
  void on_message(std::string_view payload, bool binary) override {
    record(binary ? "binary" : "text", payload);
  }
  void on_ping(std::string_view payload) override { record("ping", payload); }
  void on_pong(std::string_view payload) override { record("pong", payload); }
  void on_close(std::uint16_t code, std::string_view reason) override {
    record("close", reason, code);
  }

  std::vector<Event> events;
  std::vector<const char*> data;  // where each payload was, to tell in place from copied
  MessageReader* reader = nullptr;
  std::size_t stop_at = SIZE_MAX;  // call reader->stop() while reporting this event

 private:
  void record(const char* kind, std::string_view payload, std::uint16_t code = 0) {
    events.push_back({kind, stored(payload), code});
    data.push_back(payload.data());
    if (events.size() - 1 == stop_at) reader->stop();
  }
};

// Feeds bytes[from, to) as one read.
std::uint16_t feed(MessageReader& reader, Recorder& rec, Bytes& bytes, std::size_t from,
                   std::size_t to) {
  return reader.feed(std::span(bytes).subspan(from, to - from), rec);
}

ReaderOptions server() { return {}; }
ReaderOptions client() {
  ReaderOptions o;
  o.role = Role::client;
  return o;
}

struct Result {
  std::uint16_t code;
  std::vector<Event> events;
};

Result run(const Wire& wire, ReaderOptions options = {}) {
  MessageReader reader(options);
  Recorder rec;
  rec.reader = &reader;
  Bytes bytes = wire.bytes;
  const std::uint16_t code = reader.feed(bytes, rec);
  return {code, rec.events};
}

std::uint16_t code_of(const Wire& wire, ReaderOptions options = {}) {
  return run(wire, options).code;
}

// A stand-in for ws/deflate's Inflater: "inflates" by copying, so tests control exactly
// what comes out. Fails on a chosen byte, and obeys max_size as the interface asks.
class CopyInflater : public PayloadInflater {
 public:
  Result inflate(std::string_view compressed, std::string& out, std::size_t max_size) override {
    ++inflate_calls;
    if (corrupt_byte >= 0 && compressed.find(char(corrupt_byte)) != std::string_view::npos)
      return Result::corrupt;
    if (out.size() + compressed.size() > max_size) return Result::too_big;
    out.append(compressed);
    return Result::ok;
  }
  Result finish(std::string& out, std::size_t max_size) override {
    ++finish_calls;
    if (finish_result != Result::ok) return finish_result;
    if (out.size() + tail.size() > max_size) return Result::too_big;
    out += tail;
    return Result::ok;
  }

  int corrupt_byte = -1;
  std::string tail;  // what finish() produces, as the real one inflates the last block
  Result finish_result = Result::ok;
  int inflate_calls = 0;
  int finish_calls = 0;
};

// Ignores the size limit: the reader must not trust the inflater for it.
class GreedyInflater : public PayloadInflater {
 public:
  Result inflate(std::string_view compressed, std::string& out, std::size_t) override {
    out.append(compressed);
    out.append(compressed);
    return Result::ok;
  }
  Result finish(std::string&, std::size_t) override { return Result::ok; }
};

constexpr std::uint16_t ok = 0;
constexpr std::uint16_t e1002 = close_code::protocol_error;
constexpr std::uint16_t e1007 = close_code::invalid_payload;
constexpr std::uint16_t e1009 = close_code::message_too_big;

// =================================================================================
// §5.1 masking

TEST(MessageReader, ServerAcceptsMaskedFrames) {
  auto r = run(Wire().text("Hello").binary(std::string("\0\1\2", 3)));
  EXPECT_EQ(r.code, ok);
  EXPECT_EQ(r.events, (std::vector{text_event("Hello"), binary_event(std::string("\0\1\2", 3))}));
}

TEST(MessageReader, ServerRefusesAnUnmaskedFrame) {
  EXPECT_EQ(code_of(Wire(Role::server).text("Hello")), e1002);
  EXPECT_EQ(code_of(Wire(Role::server).ping("")), e1002);
  // Masking is checked on every frame, not only the first.
  auto r = run(Wire().text("a").frame_b0(0x81, "b", false));
  EXPECT_EQ(r.code, e1002);
  EXPECT_EQ(r.events, std::vector{text_event("a")});
}

TEST(MessageReader, ClientAcceptsUnmaskedFrames) {
  auto r = run(Wire(Role::server).text("Hello").ping("p"), client());
  EXPECT_EQ(r.code, ok);
  EXPECT_EQ(r.events, (std::vector{text_event("Hello"), ping_event("p")}));
}

TEST(MessageReader, ClientRefusesAMaskedFrame) {
  EXPECT_EQ(code_of(Wire(Role::client).text("Hello"), client()), e1002);
  EXPECT_EQ(code_of(Wire(Role::client).close(1000), client()), e1002);
}

// =================================================================================
// §5.2 reserved bits, RFC 7692 §6 RSV1

TEST(MessageReader, Rsv2Is1002) {
  EXPECT_EQ(code_of(Wire().frame_b0(0xa1, "x")), e1002);
  EXPECT_EQ(code_of(Wire().frame_b0(0xa9, "")), e1002);  // on a ping too
}

TEST(MessageReader, Rsv3Is1002) {
  EXPECT_EQ(code_of(Wire().frame_b0(0x91, "x")), e1002);
  EXPECT_EQ(code_of(Wire().frame_b0(0x92, "")), e1002);
}

TEST(MessageReader, Rsv2And3AreRefusedWithAnInflaterToo) {
  CopyInflater inflater;
  ReaderOptions o;
  o.inflater = &inflater;
  EXPECT_EQ(code_of(Wire().frame_b0(0xe1, "x"), o), e1002);
  EXPECT_EQ(code_of(Wire().frame_b0(0xd1, "x"), o), e1002);
}

TEST(MessageReader, Rsv1WithoutAnInflaterIs1002) {
  EXPECT_EQ(code_of(Wire().frame(Opcode::text, "x", true, true)), e1002);
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "x", false, true)), e1002);
}

TEST(MessageReader, Rsv1WithAnInflaterMarksTheMessageCompressed) {
  CopyInflater inflater;
  inflater.tail = "!";
  ReaderOptions o;
  o.inflater = &inflater;
  auto r = run(Wire()
                   .frame(Opcode::text, "Hel", false, true)
                   .cont("lo")
                   .frame(Opcode::binary, "bin", true, true)
                   .text("plain"),
               o);
  EXPECT_EQ(r.code, ok);
  EXPECT_EQ(r.events,
            (std::vector{text_event("Hello!"), binary_event("bin!"), text_event("plain")}));
  EXPECT_EQ(inflater.finish_calls, 2);  // once per compressed message, none for "plain"
}

TEST(MessageReader, Rsv1OnAContinuationFrameIs1002) {
  CopyInflater inflater;
  ReaderOptions o;
  o.inflater = &inflater;
  EXPECT_EQ(code_of(Wire().frame(Opcode::text, "a", false, true)
                        .frame(Opcode::continuation, "b", true, true),
                    o),
            e1002);
  // Also when the first frame was not compressed.
  EXPECT_EQ(code_of(Wire().text("a", false).frame(Opcode::continuation, "b", true, true), o),
            e1002);
}

TEST(MessageReader, Rsv1OnAControlFrameIs1002) {
  CopyInflater inflater;
  ReaderOptions o;
  o.inflater = &inflater;
  EXPECT_EQ(code_of(Wire().frame(Opcode::ping, "", true, true), o), e1002);
  EXPECT_EQ(code_of(Wire().frame(Opcode::pong, "x", true, true), o), e1002);
  EXPECT_EQ(code_of(Wire().frame_b0(0xc8, std::string("\x03\xe8", 2)), o), e1002);
}

// =================================================================================
// §5.2 opcodes

TEST(MessageReader, ReservedOpcodesAre1002) {
  for (int op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    EXPECT_EQ(code_of(Wire().frame_b0(static_cast<std::uint8_t>(0x80 | op), "")), e1002) << op;
    EXPECT_EQ(code_of(Wire().frame_b0(static_cast<std::uint8_t>(op), "x")), e1002) << op;
    // And in the middle of a fragmented message.
    EXPECT_EQ(code_of(Wire().text("a", false).frame_b0(static_cast<std::uint8_t>(0x80 | op), "")),
              e1002)
        << op;
  }
}

// =================================================================================
// §5.5 control frames

TEST(MessageReader, ControlFramesOf125BytesAreAccepted) {
  const std::string p125(125, 'p');
  const std::string reason(123, 'r');
  auto r = run(Wire().ping(p125).pong(p125).close(1000, reason));
  EXPECT_EQ(r.code, ok);
  EXPECT_EQ(r.events,
            (std::vector{ping_event(p125), pong_event(p125), close_event(1000, reason)}));
}

TEST(MessageReader, ControlFramesOver125BytesAre1002) {
  EXPECT_EQ(code_of(Wire().ping(std::string(126, 'p'))), e1002);
  EXPECT_EQ(code_of(Wire().pong(std::string(126, 'p'))), e1002);
  EXPECT_EQ(code_of(Wire().close(1000, std::string(124, 'r'))), e1002);
  EXPECT_EQ(code_of(Wire().ping(std::string(70000, 'p'))), e1002);  // 64-bit length form
  // A 16-bit length form holding a small length is still refused: §5.5 caps the field.
  EXPECT_EQ(code_of(Wire().raw({0x89, 0xfe, 0x00, 0x05, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'})),
            e1002);
}

TEST(MessageReader, FragmentedControlFramesAre1002) {
  EXPECT_EQ(code_of(Wire().frame(Opcode::ping, "a", false)), e1002);
  EXPECT_EQ(code_of(Wire().frame(Opcode::pong, "", false)), e1002);
  EXPECT_EQ(code_of(Wire().frame_b0(0x08, std::string("\x03\xe8", 2))), e1002);
}

TEST(MessageReader, ControlFramesBetweenFragmentsAreDeliveredImmediately) {
  Wire wire;
  wire.text("frag", false).ping("p1");
  const std::size_t first = wire.size();
  wire.cont("men", false).pong("p2").close(1001, "bye").cont("t");
  MessageReader reader(server());
  Recorder rec;
  rec.reader = &reader;
  EXPECT_EQ(feed(reader, rec, wire.bytes, 0, first), ok);
  EXPECT_EQ(rec.events, std::vector{ping_event("p1")});  // before the message is complete
  EXPECT_EQ(feed(reader, rec, wire.bytes, first, wire.size()), ok);
  // The close ends the stream: the last fragment is never read.
  EXPECT_EQ(rec.events,
            (std::vector{ping_event("p1"), pong_event("p2"), close_event(1001, "bye")}));
}

TEST(MessageReader, ControlFramesBetweenFragmentsSplitAcrossReads) {
  // The control payload is kept behind the message so far; both come out intact.
  Wire wire;
  wire.text("abc", false).ping("ping-payload").cont("def");
  MessageReader reader(server());
  Recorder rec;
  for (std::size_t i = 0; i < wire.size(); ++i) ASSERT_EQ(feed(reader, rec, wire.bytes, i, i + 1), ok);
  EXPECT_EQ(rec.events, (std::vector{ping_event("ping-payload"), text_event("abcdef")}));
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

// =================================================================================
// §5.4 fragmentation

TEST(MessageReader, ContinuationWithoutAMessageIs1002) {
  EXPECT_EQ(code_of(Wire().cont("x")), e1002);
  EXPECT_EQ(code_of(Wire().cont("x", false)), e1002);
  // After a complete message there is none in progress either.
  auto r = run(Wire().text("a", false).cont("b").cont("c"));
  EXPECT_EQ(r.code, e1002);
  EXPECT_EQ(r.events, std::vector{text_event("ab")});
}

TEST(MessageReader, NewDataFrameDuringAFragmentedMessageIs1002) {
  EXPECT_EQ(code_of(Wire().text("a", false).text("b")), e1002);
  EXPECT_EQ(code_of(Wire().text("a", false).binary("b")), e1002);
  EXPECT_EQ(code_of(Wire().binary("a", false).cont("b", false).text("c", false)), e1002);
}

TEST(MessageReader, AnyNumberOfFragmentsIncludingEmptyOnes) {
  Wire wire;
  std::string expected;
  wire.text("", false);
  for (int i = 0; i < 1000; ++i) {
    const std::string piece = i % 3 == 0 ? "" : std::to_string(i);
    wire.cont(piece, false);
    expected += piece;
  }
  wire.cont("");
  wire.binary("", false).cont("", false).cont("");
  auto r = run(wire);
  EXPECT_EQ(r.code, ok);
  EXPECT_EQ(r.events, (std::vector{text_event(expected), binary_event("")}));
}

TEST(MessageReader, EmptyMessages) {
  auto r = run(Wire().text("").binary("").ping("").pong(""));
  EXPECT_EQ(r.code, ok);
  EXPECT_EQ(r.events,
            (std::vector{text_event(""), binary_event(""), ping_event(""), pong_event("")}));
}

// =================================================================================
// §5.2 64-bit length

TEST(MessageReader, LengthWithTheTopBitSetIs1002) {
  EXPECT_EQ(code_of(Wire().raw({0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})), e1002);
  EXPECT_EQ(code_of(Wire().raw({0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
            e1002);
  // The largest valid length is refused as too big, not as a protocol error.
  EXPECT_EQ(code_of(Wire().raw({0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1,
                                2, 3, 4})),
            e1009);
}

// =================================================================================
// Message size (§10.4)

TEST(MessageReader, FrameOverTheLimitIs1009FromItsHeader) {
  ReaderOptions o;
  o.max_message_size = 1000;
  Wire wire;
  wire.binary(std::string(1001, 'x'));
  MessageReader reader(o);
  Recorder rec;
  // Only the header (8 bytes: 16-bit length + key) is fed: nothing is buffered first.
  EXPECT_EQ(feed(reader, rec, wire.bytes, 0, 8), e1009);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  EXPECT_TRUE(rec.events.empty());
}

TEST(MessageReader, FragmentsOverTheLimitAre1009FromTheHeaderOfTheFrameThatCrossesIt) {
  ReaderOptions o;
  o.max_message_size = 1000;
  Wire wire;
  wire.text(std::string(600, 'a'), false);
  const std::size_t second = wire.size();
  wire.cont(std::string(401, 'b'));
  MessageReader reader(o);
  Recorder rec;
  EXPECT_EQ(feed(reader, rec, wire.bytes, 0, second), ok);
  EXPECT_EQ(feed(reader, rec, wire.bytes, second, second + 8), e1009);
}

TEST(MessageReader, MessageOfExactlyTheLimitIsAccepted) {
  ReaderOptions o;
  o.max_message_size = 1000;
  auto r = run(Wire()
                   .text(std::string(1000, 'a'))
                   .binary(std::string(600, 'b'), false)
                   .cont("", false)
                   .cont(std::string(400, 'c')),
               o);
  EXPECT_EQ(r.code, ok);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0], text_event(std::string(1000, 'a')));
  EXPECT_EQ(r.events[1], binary_event(std::string(600, 'b') + std::string(400, 'c')));
}

TEST(MessageReader, ZeroLimitAllowsOnlyEmptyMessages) {
  ReaderOptions o;
  o.max_message_size = 0;
  EXPECT_EQ(code_of(Wire().text("").ping("p"), o), ok);
  EXPECT_EQ(code_of(Wire().text("x"), o), e1009);
}

TEST(MessageReader, ControlFramesDoNotCountTowardsTheMessage) {
  ReaderOptions o;
  o.max_message_size = 10;
  Wire wire;
  wire.text("12345678", false).ping(std::string(100, 'p')).cont("90");
  // Split, so the ping's payload is buffered behind the message.
  MessageReader reader(o);
  Recorder rec;
  for (std::size_t i = 0; i < wire.size(); ++i) ASSERT_EQ(feed(reader, rec, wire.bytes, i, i + 1), ok);
  EXPECT_EQ(rec.events, (std::vector{ping_event(std::string(100, 'p')), text_event("1234567890")}));
}

TEST(MessageReader, CompressedMessageOverTheLimitIs1009) {
  CopyInflater inflater;
  ReaderOptions o;
  o.inflater = &inflater;
  o.max_message_size = 10;
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "0123456789", true, true), o), ok);
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "0123456789a", true, true), o), e1009);
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "012345", false, true).cont("6789a"), o), e1009);
  // A compressed frame's length says nothing of the message size: not refused early.
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "", false, true).cont("0123456789"), o), ok);
}

TEST(MessageReader, InflaterThatIgnoresTheLimitStillGives1009) {
  GreedyInflater inflater;
  ReaderOptions o;
  o.inflater = &inflater;
  o.max_message_size = 10;
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "01234", true, true), o), ok);
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "012345", true, true), o), e1009);
}

// =================================================================================
// §8.1 UTF-8, failing fast

TEST(MessageReader, InvalidTextIs1007) {
  EXPECT_EQ(code_of(Wire().text("ab\xff")), e1007);
  EXPECT_EQ(code_of(Wire().text("\xed\xa0\x80")), e1007);  // a surrogate
  EXPECT_EQ(code_of(Wire().text("\xc0\xaf")), e1007);      // an overlong
  EXPECT_EQ(code_of(Wire().text("a", false).cont("\x80")), e1007);
}

TEST(MessageReader, BinaryIsNotValidated) {
  auto r = run(Wire().binary("\xff\xfe").binary("\xc3", false).cont(""));
  EXPECT_EQ(r.code, ok);
  EXPECT_EQ(r.events, (std::vector{binary_event("\xff\xfe"), binary_event("\xc3")}));
}

TEST(MessageReader, TextFragmentEndingInAnInvalidByteFailsBeforeTheLastFragment) {
  Wire wire;
  wire.text("valid ", false);
  wire.cont("then \xf5", false);
  const std::size_t bad_end = wire.size();
  wire.cont("end");
  MessageReader reader(server());
  Recorder rec;
  EXPECT_EQ(feed(reader, rec, wire.bytes, 0, bad_end), e1007);
}

TEST(MessageReader, FrameSplitAcrossReadsFailsInTheFirstCall) {
  Wire wire;
  const std::string payload = std::string(50, 'a') + "\xc3\x28" + std::string(50, 'b');
  wire.text(payload);
  MessageReader reader(server());
  Recorder rec;
  const std::size_t header = 2 + 2 + 4;  // 102 bytes take the 16-bit length form
  EXPECT_EQ(feed(reader, rec, wire.bytes, 0, header + 52), e1007);
  // The same, while a fragmented message is in progress.
  Wire frag;
  frag.text("ok", false).cont(payload);
  MessageReader reader2(server());
  EXPECT_EQ(feed(reader2, rec, frag.bytes, 0, 2 + 4 + 2 + header + 52), e1007);
}

TEST(MessageReader, TextEndingInsideASequenceIs1007) {
  EXPECT_EQ(code_of(Wire().text("abc\xe2\x82")), e1007);
  EXPECT_EQ(code_of(Wire().text("abc\xe2", false).cont("\x82")), e1007);
  EXPECT_EQ(code_of(Wire().text("abc", false).cont("\xf0\x9f", false).cont("")), e1007);
}

TEST(MessageReader, SequenceSplitAcrossFragmentsIsValid) {
  auto r = run(Wire().text("\xe2", false).cont("\x82", false).cont("", false).cont("\xac"));
  EXPECT_EQ(r.code, ok);
  EXPECT_EQ(r.events, std::vector{text_event("\xe2\x82\xac")});
  // And the next message starts from a clean state.
  EXPECT_EQ(code_of(Wire().text("\xe2", false).cont("\x82\xac").text("\x82")), e1007);
}

TEST(MessageReader, CompressedTextIsValidatedAsItIsInflated) {
  CopyInflater inflater;
  ReaderOptions o;
  o.inflater = &inflater;
  Wire wire;
  wire.frame(Opcode::text, "bad \xff", false, true);
  const std::size_t first = wire.size();
  wire.cont("rest");
  MessageReader reader(o);
  Recorder rec;
  EXPECT_EQ(feed(reader, rec, wire.bytes, 0, first), e1007);
  EXPECT_EQ(inflater.finish_calls, 0);
}

TEST(MessageReader, CompressedTextEndingInsideASequenceIs1007) {
  CopyInflater inflater;
  ReaderOptions o;
  o.inflater = &inflater;
  EXPECT_EQ(code_of(Wire().frame(Opcode::text, "\xe2\x82", true, true), o), e1007);
  // What finish() inflates is validated too.
  inflater.tail = "\xac";
  EXPECT_EQ(code_of(Wire().frame(Opcode::text, "\xe2\x82", true, true), o), ok);
  inflater.tail = "\xff";
  EXPECT_EQ(code_of(Wire().frame(Opcode::text, "abc", true, true), o), e1007);
}

// =================================================================================
// §5.5.1, §7.4 close frames

TEST(MessageReader, CloseWithALengthOfOneIs1002) {
  EXPECT_EQ(code_of(Wire().close_raw("\x03")), e1002);
}

TEST(MessageReader, CloseWithAnInvalidCodeIs1002) {
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    EXPECT_EQ(code_of(Wire().close(code)), e1002) << code;
}

TEST(MessageReader, CloseWithAValidCodeIsDelivered) {
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
                             1014, 3000, 4999}) {
    auto r = run(Wire().close(code, "reason"));
    EXPECT_EQ(r.code, ok);
    EXPECT_EQ(r.events, std::vector{close_event(code, "reason")}) << code;
  }
}

TEST(MessageReader, CloseReasonThatIsNotUtf8Is1007) {
  EXPECT_EQ(code_of(Wire().close(1000, "bad \xc3")), e1007);
  EXPECT_EQ(code_of(Wire().close(1000, "\xed\xbf\xbf")), e1007);
  // An invalid code is reported before the reason.
  EXPECT_EQ(code_of(Wire().close(1005, "\xff")), e1002);
}

TEST(MessageReader, EmptyCloseIs1005) {
  auto r = run(Wire().close_raw(""));
  EXPECT_EQ(r.code, ok);
  EXPECT_EQ(r.events, std::vector{close_event(close_code::no_status, "")});
}

TEST(MessageReader, AfterACloseTheRestOfTheInputIsIgnored) {
  Wire wire;
  wire.text("before").close(1000, "bye").text("after").raw({0xff, 0xff, 0xff});
  MessageReader reader(server());
  Recorder rec;
  EXPECT_EQ(feed(reader, rec, wire.bytes, 0, wire.size()), ok);
  EXPECT_EQ(rec.events, (std::vector{text_event("before"), close_event(1000, "bye")}));
  EXPECT_TRUE(reader.stopped());
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  Wire more;
  more.text("later").raw({0x00});
  EXPECT_EQ(feed(reader, rec, more.bytes, 0, more.size()), ok);
  EXPECT_EQ(rec.events.size(), 2u);
}

TEST(MessageReader, CloseDuringAFragmentedMessageDropsTheMessage) {
  Wire wire;
  wire.text(std::string(1000, 'x'), false).close(1001);
  MessageReader reader(server());
  Recorder rec;
  for (std::size_t i = 0; i < wire.size(); ++i) ASSERT_EQ(feed(reader, rec, wire.bytes, i, i + 1), ok);
  EXPECT_EQ(rec.events, std::vector{close_event(1001, "")});
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

// =================================================================================
// RFC 7692 §8: inflater errors

TEST(MessageReader, CorruptCompressedDataIs1007) {
  CopyInflater inflater;
  inflater.corrupt_byte = '#';
  ReaderOptions o;
  o.inflater = &inflater;
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "a#b", true, true), o), e1007);
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "ab", false, true).cont("#"), o), e1007);
  inflater.corrupt_byte = -1;
  inflater.finish_result = PayloadInflater::Result::corrupt;
  EXPECT_EQ(code_of(Wire().frame(Opcode::binary, "ab", true, true), o), e1007);
}

TEST(MessageReader, InflatedTooBigIs1009) {
  CopyInflater inflater;
  ReaderOptions o;
  o.inflater = &inflater;
  o.max_message_size = 4;
  EXPECT_EQ(code_of(Wire().frame(Opcode::text, "abcde", true, true), o), e1009);
  inflater.finish_result = PayloadInflater::Result::too_big;
  EXPECT_EQ(code_of(Wire().frame(Opcode::text, "ab", true, true), o), e1009);
}

// =================================================================================
// stop() and errors

TEST(MessageReader, StopInsideAHandlerEndsEverything) {
  for (std::size_t stop_at = 0; stop_at < 4; ++stop_at) {
    Wire wire;
    wire.text("one").ping("two").text("th", false).cont("ree").pong("four");
    MessageReader reader(server());
    Recorder rec;
    rec.reader = &reader;
    rec.stop_at = stop_at;
    EXPECT_EQ(feed(reader, rec, wire.bytes, 0, wire.size()), ok);
    EXPECT_EQ(rec.events.size(), stop_at + 1);
    EXPECT_TRUE(reader.stopped());
    EXPECT_EQ(reader.buffered_bytes(), 0u);
    Wire more;
    more.text("later");
    EXPECT_EQ(feed(reader, rec, more.bytes, 0, more.size()), ok);
    EXPECT_EQ(rec.events.size(), stop_at + 1);
  }
}

TEST(MessageReader, StopInsideAHandlerOfABufferedMessage) {
  Wire wire;
  wire.text("abc", false).ping("p").cont("def").text("next");
  MessageReader reader(server());
  Recorder rec;
  rec.reader = &reader;
  rec.stop_at = 1;  // the buffered "abcdef"
  for (std::size_t i = 0; i < wire.size(); ++i) ASSERT_EQ(feed(reader, rec, wire.bytes, i, i + 1), ok);
  EXPECT_EQ(rec.events, (std::vector{ping_event("p"), text_event("abcdef")}));
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(MessageReader, AfterAnErrorFeedKeepsReturningTheSameCode) {
  Wire wire;
  wire.text("ok").text("\xff").text("never");
  MessageReader reader(server());
  Recorder rec;
  EXPECT_EQ(feed(reader, rec, wire.bytes, 0, wire.size()), e1007);
  EXPECT_EQ(rec.events, std::vector{text_event("ok")});
  EXPECT_TRUE(reader.stopped());
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  Wire more;
  more.text("valid").ping("");
  EXPECT_EQ(feed(reader, rec, more.bytes, 0, more.size()), e1007);
  Bytes none;
  EXPECT_EQ(reader.feed(none, rec), e1007);
  EXPECT_EQ(rec.events.size(), 1u);
}

TEST(MessageReader, EmptyInputIsFine) {
  MessageReader reader(server());
  Recorder rec;
  Bytes none;
  EXPECT_EQ(reader.feed(none, rec), ok);
  EXPECT_EQ(reader.feed(std::span<std::byte>(), rec), ok);
  EXPECT_TRUE(rec.events.empty());
  EXPECT_FALSE(reader.stopped());
}

// =================================================================================
// Memory: in place when possible, nothing held between messages

bool inside(const char* p, const Bytes& bytes) {
  auto* begin = reinterpret_cast<const char*>(bytes.data());
  return p >= begin && p < begin + bytes.size();
}

TEST(MessageReader, AWholeFrameIsDeliveredInPlaceUnmasked) {
  Wire wire;
  wire.text("in place").binary(std::string(300, 'b')).ping("ping").text("");
  Bytes bytes = wire.bytes;
  MessageReader reader(server());
  Recorder rec;
  ASSERT_EQ(reader.feed(bytes, rec), ok);
  ASSERT_EQ(rec.events.size(), 4u);
  EXPECT_EQ(rec.events[0], text_event("in place"));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(inside(rec.data[i], bytes)) << i;
  // The payload was unmasked where it lay.
  EXPECT_EQ(std::string_view(rec.data[0], 8), "in place");
  EXPECT_EQ(reinterpret_cast<const char*>(bytes.data()) + 6, rec.data[0]);
}

TEST(MessageReader, AWholeFrameIsDeliveredInPlaceForAClientToo) {
  Wire wire(Role::server);
  wire.binary(std::string(70000, 'z'));
  Bytes bytes = wire.bytes;
  MessageReader reader(client());
  Recorder rec;
  ASSERT_EQ(reader.feed(bytes, rec), ok);
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_TRUE(inside(rec.data[0], bytes));
}

TEST(MessageReader, APayloadWholeInTheSecondReadIsInPlaceAfterASplitHeader) {
  Wire wire;
  wire.binary(std::string(200, 'q'));
  MessageReader reader(server());
  Recorder rec;
  Bytes first(wire.bytes.begin(), wire.bytes.begin() + 3);
  Bytes second(wire.bytes.begin() + 3, wire.bytes.end());
  ASSERT_EQ(reader.feed(first, rec), ok);
  EXPECT_EQ(reader.buffered_bytes(), 3u);
  ASSERT_EQ(reader.feed(second, rec), ok);
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_TRUE(inside(rec.data[0], second));
  EXPECT_EQ(rec.events[0], binary_event(std::string(200, 'q')));
}

TEST(MessageReader, SplitFragmentedAndCompressedMessagesAreCopied) {
  CopyInflater inflater;
  ReaderOptions o;
  o.inflater = &inflater;
  Wire wire;
  wire.text("a", false).cont("b").frame(Opcode::binary, "c", true, true);
  Bytes bytes = wire.bytes;
  MessageReader reader(o);
  Recorder rec;
  ASSERT_EQ(reader.feed(bytes, rec), ok);
  ASSERT_EQ(rec.events.size(), 2u);
  EXPECT_FALSE(inside(rec.data[0], bytes));
  EXPECT_FALSE(inside(rec.data[1], bytes));
}

TEST(MessageReader, TheFastPathAllocatesNothing) {
  Wire wire;
  for (int i = 0; i < 1000; ++i) {
    wire.text("{\"event\":\"message\",\"data\":\"hello\"}");
    wire.binary(std::string(i % 300, 'b'));
    if (i % 100 == 0) wire.ping("keepalive");
  }
  Bytes bytes = wire.bytes;
  struct Counter : MessageReader::Handler {
    void on_message(std::string_view, bool) override { ++n; }
    void on_ping(std::string_view) override { ++n; }
    void on_pong(std::string_view) override { ++n; }
    void on_close(std::uint16_t, std::string_view) override { ++n; }
    int n = 0;
  } counter;
  MessageReader reader(server());
  const std::size_t before = g_allocations.load();
  ASSERT_EQ(reader.feed(bytes, counter), ok);
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(counter.n, 2010);
}

// A handler that allocates nothing, so the heap counters see only the reader.
struct Quiet : MessageReader::Handler {
  void on_message(std::string_view p, bool) override { last_size = p.size(), ++messages; }
  void on_ping(std::string_view) override {}
  void on_pong(std::string_view) override {}
  void on_close(std::uint16_t, std::string_view) override {}
  std::size_t last_size = 0;
  int messages = 0;
};

TEST(MessageReader, BufferedBytesCountsWhatIsHeld) {
  Wire wire;
  wire.text("hello", false).ping("pp").cont(" world");
  // header(6) "hello"(5) | header(6) "pp"(2) | header(6) " world"(6)
  MessageReader reader(server());
  Quiet quiet;
  Bytes& b = wire.bytes;
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  EXPECT_EQ(reader.feed(std::span(b).subspan(0, 3), quiet), ok);
  EXPECT_EQ(reader.buffered_bytes(), 3u);  // part of a header
  EXPECT_EQ(reader.feed(std::span(b).subspan(3, 5), quiet), ok);
  EXPECT_EQ(reader.buffered_bytes(), 2u);  // "he"
  EXPECT_EQ(reader.feed(std::span(b).subspan(8, 3), quiet), ok);
  EXPECT_EQ(reader.buffered_bytes(), 5u);  // "hello"
  EXPECT_EQ(reader.feed(std::span(b).subspan(11, 7), quiet), ok);
  EXPECT_EQ(reader.buffered_bytes(), 6u);  // "hello" + "p" of the ping
  EXPECT_EQ(reader.feed(std::span(b).subspan(18, 1), quiet), ok);
  EXPECT_EQ(reader.buffered_bytes(), 5u);  // the ping went out
  EXPECT_EQ(reader.feed(std::span(b).subspan(19), quiet), ok);
  EXPECT_EQ(quiet.messages, 1);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(MessageReader, ALargeBufferIsReleasedBetweenMessages) {
  Wire wire;
  wire.binary(std::string(200 * 1024, 'L'));
  MessageReader reader(server());
  Quiet quiet;
  const std::ptrdiff_t before = g_live_bytes.load();
  const std::size_t half = wire.size() / 2;
  ASSERT_EQ(reader.feed(std::span(wire.bytes).first(half), quiet), ok);
  EXPECT_GT(g_live_bytes.load() - before, 100'000);  // the first half is held
  ASSERT_EQ(reader.feed(std::span(wire.bytes).subspan(half), quiet), ok);
  EXPECT_EQ(quiet.last_size, 200u * 1024);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  EXPECT_EQ(g_live_bytes.load() - before, 0);  // and given back
}

TEST(MessageReader, ASmallBufferIsKeptForTheNextMessage) {
  Wire wire;
  wire.text(std::string(10 * 1024, 's'), false).cont("!");
  MessageReader reader(server());
  Quiet quiet;
  for (int round = 0; round < 3; ++round) {
    Bytes bytes = wire.bytes;
    const std::size_t before = g_allocations.load();
    ASSERT_EQ(reader.feed(bytes, quiet), ok);
    const std::size_t allocations = g_allocations.load() - before;
    if (round > 0) {
      EXPECT_EQ(allocations, 0u) << "round " << round;  // reuses the buffer
    }
  }
  EXPECT_EQ(quiet.messages, 3);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(MessageReader, NothingIsHeldAfterAnErrorOrAClose) {
  for (bool error : {false, true}) {
    Wire wire;
    wire.binary(std::string(30 * 1024, 'x'), false);
    if (error)
      wire.text("x");
    else
      wire.close(1000);
    MessageReader reader(server());
    Quiet quiet;
    const std::ptrdiff_t before = g_live_bytes.load();
    for (std::size_t i = 0; i < wire.size(); i += 1000)
      reader.feed(std::span(wire.bytes).subspan(i, std::min<std::size_t>(1000, wire.size() - i)),
                  quiet);
    EXPECT_TRUE(reader.stopped());
    EXPECT_EQ(g_live_bytes.load() - before, 0) << error;
  }
}

// =================================================================================
// Every split point ("parsegrind", after Beast's basic_parser tests)

// The events of feeding `wire` in one read, in two reads split at every position, and
// a byte at a time, must all be `expected`, ending with `expected_code`. When the
// stream is invalid, `known_at` is the index of the byte that proves it: a first read
// that includes it must already fail (fail fast), one that does not must not.
void grind(const Wire& wire, ReaderOptions options, const std::vector<Event>& expected,
           std::uint16_t expected_code = ok, std::size_t known_at = SIZE_MAX) {
  const std::size_t n = wire.size();
  Bytes bytes(n);
  auto check = [&](const Recorder& rec, std::uint16_t code, const std::string& how) {
    ASSERT_EQ(code, expected_code) << how;
    ASSERT_EQ(rec.events.size(), expected.size()) << how;
    for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(rec.events[i], expected[i]) << how;
  };
  for (std::size_t split = 0; split <= n; ++split) {
    bytes = wire.bytes;
    MessageReader reader(options);
    Recorder rec;
    const std::uint16_t first = feed(reader, rec, bytes, 0, split);
    if (expected_code != ok) {
      ASSERT_EQ(first, split > known_at ? expected_code : ok) << "split at " << split;
    }
    const std::uint16_t code = feed(reader, rec, bytes, split, n);
    check(rec, code, "split at " + std::to_string(split));
    if (!reader.stopped()) {
      ASSERT_EQ(reader.buffered_bytes(), 0u) << "split at " << split;
    }
  }
  bytes = wire.bytes;
  MessageReader reader(options);
  Recorder rec;
  std::uint16_t code = ok;
  for (std::size_t i = 0; i < n; ++i) {
    code = feed(reader, rec, bytes, i, i + 1);
    if (expected_code != ok) {
      ASSERT_EQ(code, i >= known_at ? expected_code : ok) << "byte " << i;
    }
  }
  check(rec, code, "a byte at a time");
}

// Text that exercises the validator at both ends and the ASCII fast path between.
std::string long_text(std::size_t size) {
  std::string s = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";  // é € 😀 at the start
  const std::string end = "\xf4\x8f\xbf\xbf\xed\x9f\xbf";   // U+10FFFF U+D7FF at the end
  s.resize(size - end.size(), 'a');
  return s + end;
}

TEST(MessageReaderGrind, EverySplitOfAMixedStream) {
  const std::string t125 = long_text(125), b126(126, '\x9c'), t65535 = long_text(65535);
  std::string b65536(65536, '\0');
  for (std::size_t i = 0; i < b65536.size(); ++i) b65536[i] = char(i * 31);
  Wire wire;
  wire.text("Hello")
      .binary("")
      .text("fr", false)
      .ping(std::string(125, 'p'))
      .cont("", false)
      .cont("ag\xe2\x82", false)  // € split across fragments
      .pong("")
      .cont("\xac!")
      .binary(b126)
      .text(t125)
      .text(t65535)
      .ping("")
      .binary(b65536)
      .binary("bi", false)
      .cont(b126, false)
      .close(1000, "bye \xe2\x9c\x93")
      .raw({0xff, 0xff, 0x00});  // after the close: ignored
  const std::vector<Event> expected{text_event("Hello"),
                                    binary_event(""),
                                    ping_event(std::string(125, 'p')),
                                    pong_event(""),
                                    text_event("frag\xe2\x82\xac!"),
                                    binary_event(b126),
                                    text_event(t125),
                                    text_event(t65535),
                                    ping_event(""),
                                    binary_event(b65536),
                                    close_event(1000, "bye \xe2\x9c\x93")};
  grind(wire, server(), expected);
}

TEST(MessageReaderGrind, EverySplitAsAClient) {
  Wire wire(Role::server);
  wire.text("Hello")
      .binary(std::string(126, 'b'), false)
      .ping("p")
      .cont(std::string(300, 'c'))
      .text(long_text(1000))
      .close_raw("");
  grind(wire, client(),
        {text_event("Hello"), ping_event("p"),
         binary_event(std::string(126, 'b') + std::string(300, 'c')), text_event(long_text(1000)),
         close_event(close_code::no_status, "")});
}

TEST(MessageReaderGrind, EverySplitOfCompressedMessages) {
  CopyInflater inflater;
  inflater.tail = ".";
  ReaderOptions o;
  o.inflater = &inflater;
  Wire wire;
  wire.frame(Opcode::text, "com\xe2", false, true)
      .ping("p")
      .cont("\x82\xac", false)
      .cont("")
      .text("plain")
      .frame(Opcode::binary, std::string(200, 'z'), true, true);
  grind(wire, o,
        {ping_event("p"), text_event("com\xe2\x82\xac."), text_event("plain"),
         binary_event(std::string(200, 'z') + ".")});
}

TEST(MessageReaderGrind, ErrorsAreFoundAtTheByteThatProvesThem) {
  {
    SCOPED_TRACE("invalid UTF-8 in the middle of a long frame");
    Wire wire;
    wire.text("ok").text(std::string(100, 'a') + "\xc0" + std::string(100, 'b'));
    grind(wire, server(), {text_event("ok")}, e1007, 8 + 4 + 4 + 100);
  }
  {
    SCOPED_TRACE("a surrogate, proven by its second byte, across fragments");
    Wire wire;
    wire.text("abc\xed", false).cont("\xa0\x80");
    grind(wire, server(), {}, e1007, 10 + 6);
  }
  {
    SCOPED_TRACE("a reserved opcode, proven by the first two bytes");
    Wire wire;
    wire.text("ok").frame_b0(0x83, "xyz");
    grind(wire, server(), {text_event("ok")}, e1002, 8 + 1);
  }
  {
    SCOPED_TRACE("an oversized frame, proven by its header");
    ReaderOptions o;
    o.max_message_size = 100;
    Wire wire;
    wire.text("ok").binary(std::string(101, 'x'));
    grind(wire, o, {text_event("ok")}, e1009, 8 + 5);  // 2 + 4 header bytes
  }
  {
    SCOPED_TRACE("a text message that ends inside a character");
    Wire wire;
    wire.ping("p").text("ab\xf0\x9f\x98");
    grind(wire, server(), {ping_event("p")}, e1007, wire.size() - 1);
  }
  {
    SCOPED_TRACE("an invalid close code");
    Wire wire;
    wire.text("ok").close(1006, "abnormal");
    grind(wire, server(), {text_event("ok")}, e1002, wire.size() - 1);
  }
}

}  // namespace
}  // namespace switchboard::ws
