#include "eio/codec/packet.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <iterator>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/encoding.hpp"

// The Engine.IO packet codec against the byte strings of docs/engine.io-protocol
// (v4-current.md, v3.md) and their test suites (v4-test-suite/, v3-test-suite/).
//
// Note on literals: "\x1e" followed by a hex digit or "b" would run on as one escape
// ("\x1eb" is one character), so separators are always a literal of their own.

namespace switchboard::eio {
namespace {

// A decoded packet that owns its data (a packet's view may point into the scratch).
struct Owned {
  PacketType type = PacketType::message;
  bool binary = false;
  std::string data;
  bool operator==(const Owned&) const = default;
};

void PrintTo(const Owned& p, std::ostream* os) {
  *os << "{" << static_cast<int>(p.type) << (p.binary ? " binary " : " text ") << ::testing::PrintToString(p.data)
      << "}";
}

Owned text(PacketType type, std::string data = {}) { return {type, false, std::move(data)}; }
Owned binary(std::string data, PacketType type = PacketType::message) { return {type, true, std::move(data)}; }
Owned msg(std::string data) { return text(PacketType::message, std::move(data)); }

Packet view(const Owned& p) { return Packet{p.type, p.binary, p.data}; }

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

std::string all_byte_values() {
  std::string out;
  for (int i = 0; i < 256; ++i) out += static_cast<char>(i);
  return out;
}

const std::string euro = "\xe2\x82\xac";           // U+20AC: 3 bytes, 1 UTF-16 unit
const std::string grinning = "\xf0\x9f\x98\x80";   // U+1F600: 4 bytes, 2 UTF-16 units (a surrogate pair)
constexpr PacketType all_types[] = {PacketType::open,    PacketType::close,   PacketType::ping, PacketType::pong,
                                    PacketType::message, PacketType::upgrade, PacketType::noop};

struct Decoded {
  bool ok = false;
  std::vector<Owned> packets;
};

Decoded decode(std::string_view payload, Protocol protocol, PayloadLimits limits = {}) {
  Decoded out;
  std::string scratch;
  out.ok = decode_payload(payload, protocol, limits, scratch, [&](const Packet& p) {
    out.packets.push_back({p.type, p.binary, std::string(p.data)});
    return true;
  });
  return out;
}

std::optional<Owned> frame(std::string_view data, bool binary_frame, Protocol protocol) {
  std::string scratch;
  auto p = decode_frame(data, binary_frame, protocol, scratch);
  if (!p) return std::nullopt;
  return Owned{p->type, p->binary, std::string(p->data)};
}

std::string encode_payload(const std::vector<Owned>& packets, Protocol protocol) {
  std::string out;
  for (std::size_t i = 0; i < packets.size(); ++i) append_payload_packet(out, view(packets[i]), protocol, i == 0);
  return out;
}

std::string encode_binary_payload(const std::vector<Owned>& packets) {
  std::string out;
  for (const auto& p : packets) append_binary_payload_packet(out, view(p));
  return out;
}

// --- WebSocket frames -----------------------------------------------------------------

TEST(DecodeFrame, TextFrameIsTypeDigitAndData) {
  for (Protocol protocol : {Protocol::v3, Protocol::v4}) {
    for (PacketType type : all_types) {
      std::string digit(1, static_cast<char>('0' + static_cast<int>(type)));
      auto bare = decode_frame(digit, false, protocol);
      ASSERT_TRUE(bare) << digit;
      EXPECT_EQ(bare->type, type);
      EXPECT_FALSE(bare->binary);
      EXPECT_EQ(bare->data, "");
      std::string probe = digit + "probe";  // outlives the packet's view into it
      auto with_data = decode_frame(probe, false, protocol);
      ASSERT_TRUE(with_data) << digit;
      EXPECT_EQ(with_data->type, type);
      EXPECT_EQ(with_data->data, "probe");
    }
  }
}

// v4-test-suite: "1" closes, "3" is the pong, "4hello" the message; the probe of an upgrade.
TEST(DecodeFrame, TestSuiteFrames) {
  EXPECT_EQ(frame("1", false, Protocol::v4), text(PacketType::close));
  EXPECT_EQ(frame("3", false, Protocol::v4), text(PacketType::pong));
  EXPECT_EQ(frame("4hello", false, Protocol::v4), msg("hello"));
  EXPECT_EQ(frame("2probe", false, Protocol::v4), text(PacketType::ping, "probe"));
  EXPECT_EQ(frame("5", false, Protocol::v4), text(PacketType::upgrade));
}

TEST(DecodeFrame, TextDataIsAViewIntoTheFrame) {
  std::string data = "4hello";
  auto p = decode_frame(data, false, Protocol::v4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->data.data(), data.data() + 1);
  EXPECT_EQ(p->data.size(), 5u);
}

TEST(DecodeFrame, RefusesEmptyAndUnknownTextFrames) {
  for (Protocol protocol : {Protocol::v3, Protocol::v4}) {
    std::string scratch;
    for (std::string_view bad : {"", "abc", "7", "9hello", " 4", "-1", "/", ":", "\x04hello", "B"}) {
      EXPECT_FALSE(decode_frame(bad, false, protocol)) << bad;
      EXPECT_FALSE(decode_frame(bad, false, protocol, scratch)) << bad;
    }
  }
}

TEST(DecodeFrame, V4BinaryFrameIsAMessageAsIs) {
  EXPECT_EQ(frame(bytes({1, 2, 3, 4}), true, Protocol::v4), binary(bytes({1, 2, 3, 4})));
  EXPECT_EQ(frame("", true, Protocol::v4), binary(""));
  // No type byte: a frame that starts like a text packet is data too.
  EXPECT_EQ(frame("4hello", true, Protocol::v4), binary("4hello"));
  EXPECT_EQ(frame(all_byte_values(), true, Protocol::v4), binary(all_byte_values()));
  std::string data = bytes({9, 8, 7});
  auto p = decode_frame(data, true, Protocol::v4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->data.data(), data.data());
}

// v3-test-suite: the binary frame [4, 1, 2, 3, 4] is a message <01 02 03 04>.
TEST(DecodeFrame, V3BinaryFrameStartsWithTheTypeByte) {
  EXPECT_EQ(frame(bytes({4, 1, 2, 3, 4}), true, Protocol::v3), binary(bytes({1, 2, 3, 4})));
  EXPECT_EQ(frame(bytes({4}), true, Protocol::v3), binary(""));
  EXPECT_EQ(frame(bytes({2, 0xff}), true, Protocol::v3), binary("\xff", PacketType::ping));
  EXPECT_EQ(frame(bytes({6}), true, Protocol::v3), binary("", PacketType::noop));
  EXPECT_EQ(frame(bytes({0}), true, Protocol::v3), binary("", PacketType::open));
}

TEST(DecodeFrame, V3BinaryFrameRefusesAMissingOrBadTypeByte) {
  EXPECT_FALSE(frame("", true, Protocol::v3));
  EXPECT_FALSE(frame(bytes({7, 1}), true, Protocol::v3));
  EXPECT_FALSE(frame(bytes({0xff}), true, Protocol::v3));
  EXPECT_FALSE(frame("4hello", true, Protocol::v3));  // '4' is 0x34, not 4
}

// engine.io-client with forceBase64 sends binary as a "b" text frame over WebSocket.
TEST(DecodeFrame, Base64TextFrameNeedsScratch) {
  EXPECT_FALSE(decode_frame("bAQIDBA==", false, Protocol::v4));
  EXPECT_FALSE(decode_frame("b4AQIDBA==", false, Protocol::v3));
  EXPECT_EQ(frame("bAQIDBA==", false, Protocol::v4), binary(bytes({1, 2, 3, 4})));
  EXPECT_EQ(frame("b4AQIDBA==", false, Protocol::v3), binary(bytes({1, 2, 3, 4})));
  EXPECT_EQ(frame("b", false, Protocol::v4), binary(""));
  EXPECT_EQ(frame("b4", false, Protocol::v3), binary(""));
  EXPECT_EQ(frame("b2AQID", false, Protocol::v3), binary(bytes({1, 2, 3}), PacketType::ping));
  std::string scratch;
  auto p = decode_frame("bAQIDBA==", false, Protocol::v4, scratch);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->data.data(), scratch.data());
}

TEST(DecodeFrame, Base64TextFrameRefusesBadBase64AndBadV3Type) {
  for (std::string_view bad : {"bAQIDBA", "bAQIDBA=", "bAQ=DBA==", "b====", "b-_-_", "bAQID BA=", "b=AAA", "bA==="}) {
    EXPECT_FALSE(frame(bad, false, Protocol::v4)) << bad;
  }
  EXPECT_FALSE(frame("b", false, Protocol::v3));
  EXPECT_FALSE(frame("b9AQID", false, Protocol::v3));
  EXPECT_FALSE(frame("bAQID", false, Protocol::v3));  // 'A' is no type digit
  EXPECT_FALSE(frame("b4AQIDBA", false, Protocol::v3));
}

// --- Encoders ---------------------------------------------------------------------------

TEST(AppendTextPacket, WritesTypeDigitThenData) {
  std::string out = "x";
  append_text_packet(out, PacketType::message, "hello");
  EXPECT_EQ(out, "x4hello");
  out.clear();
  append_text_packet(out, PacketType::ping);
  EXPECT_EQ(out, "2");
  out.clear();
  for (PacketType type : all_types) append_text_packet(out, type);
  EXPECT_EQ(out, "0123456");
}

TEST(AppendFramePayload, TextGoesInATextFrame) {
  for (Protocol protocol : {Protocol::v3, Protocol::v4}) {
    std::string out;
    bool binary_frame = true;
    append_frame_payload(out, Packet{PacketType::pong, false, "probe"}, protocol, binary_frame);
    EXPECT_EQ(out, "3probe");
    EXPECT_FALSE(binary_frame);
  }
}

TEST(AppendFramePayload, V4BinaryIsTheDataAsIs) {
  std::string out;
  bool binary_frame = false;
  append_frame_payload(out, Packet{PacketType::message, true, bytes({1, 2, 3, 4})}, Protocol::v4, binary_frame);
  EXPECT_EQ(out, bytes({1, 2, 3, 4}));
  EXPECT_TRUE(binary_frame);
}

TEST(AppendFramePayload, V3BinaryHasTheTypeByteFirst) {
  std::string out;
  bool binary_frame = false;
  append_frame_payload(out, Packet{PacketType::message, true, bytes({1, 2, 3, 4})}, Protocol::v3, binary_frame);
  EXPECT_EQ(out, bytes({4, 1, 2, 3, 4}));
  EXPECT_TRUE(binary_frame);
}

TEST(AppendFramePayload, Base64BinaryGoesInATextFrame) {
  std::string out;
  bool binary_frame = true;
  append_frame_payload(out, Packet{PacketType::message, true, bytes({1, 2, 3, 4})}, Protocol::v4, binary_frame, true);
  EXPECT_EQ(out, "bAQIDBA==");
  EXPECT_FALSE(binary_frame);
  out.clear();
  binary_frame = true;
  append_frame_payload(out, Packet{PacketType::message, true, bytes({1, 2, 3, 4})}, Protocol::v3, binary_frame, true);
  EXPECT_EQ(out, "b4AQIDBA==");
  EXPECT_FALSE(binary_frame);
  // Text is unchanged by the option.
  out.clear();
  append_frame_payload(out, Packet{PacketType::message, false, "hi"}, Protocol::v4, binary_frame, true);
  EXPECT_EQ(out, "4hi");
}

// v4-current.md "HTTP long-polling" and the v4 test suite's POST bodies.
TEST(AppendPayloadPacket, V4JoinsWithTheRecordSeparator) {
  EXPECT_EQ(encode_payload({msg("hello"), binary(bytes({1, 2, 3, 4}))}, Protocol::v4),
            "4hello"
            "\x1e"
            "bAQIDBA==");
  EXPECT_EQ(encode_payload({msg("test1"), msg("test2"), msg("test3")}, Protocol::v4),
            "4test1"
            "\x1e"
            "4test2"
            "\x1e"
            "4test3");
  EXPECT_EQ(encode_payload({msg("hello"), text(PacketType::ping), msg("world")}, Protocol::v4),
            "4hello"
            "\x1e"
            "2"
            "\x1e"
            "4world");
  EXPECT_EQ(encode_payload({text(PacketType::noop)}, Protocol::v4), "6");
  EXPECT_EQ(encode_payload({binary("")}, Protocol::v4), "b");
}

// v3.md "Payload" and the v3 test suite.
TEST(AppendPayloadPacket, V3PrefixesTheUtf16Length) {
  EXPECT_EQ(encode_payload({msg("hello")}, Protocol::v3), "6:4hello");
  EXPECT_EQ(encode_payload({msg("test1"), msg("test2"), msg("test3")}, Protocol::v3), "6:4test16:4test26:4test3");
  EXPECT_EQ(encode_payload({msg("hello"), msg(euro)}, Protocol::v3), "6:4hello2:4" + euro);
  EXPECT_EQ(encode_payload({msg(euro), binary(bytes({1, 2, 3, 4}))}, Protocol::v3), "2:4" + euro + "10:b4AQIDBA==");
  EXPECT_EQ(encode_payload({msg(grinning)}, Protocol::v3), "3:4" + grinning);
  EXPECT_EQ(encode_payload({msg("a" + euro + grinning + "z")}, Protocol::v3), "6:4a" + euro + grinning + "z");
  EXPECT_EQ(encode_payload({text(PacketType::pong)}, Protocol::v3), "1:3");
  EXPECT_EQ(encode_payload({binary("", PacketType::ping)}, Protocol::v3), "2:b2");
  EXPECT_EQ(encode_payload({msg(std::string(99, 'x'))}, Protocol::v3), "100:4" + std::string(99, 'x'));
}

// v3 test suite: [0, 6, 255, 52, "hello", 1, 5, 255, 4, 1, 2, 3, 4].
TEST(AppendBinaryPayloadPacket, MatchesTheV3TestSuite) {
  EXPECT_EQ(encode_binary_payload({msg("hello"), binary(bytes({1, 2, 3, 4}))}),
            bytes({0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4}));
}

TEST(AppendBinaryPayloadPacket, CountsBytesAndWritesOneByteADigit) {
  EXPECT_EQ(encode_binary_payload({msg(euro)}), bytes({0, 4, 255, '4'}) + euro);
  EXPECT_EQ(encode_binary_payload({binary(std::string(122, 'x'))}), bytes({1, 1, 2, 3, 255, 4}) + std::string(122, 'x'));
  EXPECT_EQ(encode_binary_payload({binary("", PacketType::noop)}), bytes({1, 1, 255, 6}));
  EXPECT_EQ(encode_binary_payload({text(PacketType::ping)}), bytes({0, 1, 255, '2'}));
}

// v4-current.md "Handshake"; v4 test suite: "upgrades" is [] on a WebSocket-only session.
TEST(OpenPayload, IsTheHandshakeJsonInTheReferenceKeyOrder) {
  EXPECT_EQ(open_payload("lv_VI97HAXpY6yYWAAAC", true, 25000, 20000, 1000000),
            R"({"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})");
  EXPECT_EQ(open_payload("abc", false, 300, 200, 1000000),
            R"({"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000})");
  EXPECT_EQ(open_payload("x", false, 0, 4294967295u, 18446744073709551615ull),
            R"({"sid":"x","upgrades":[],"pingInterval":0,"pingTimeout":4294967295,"maxPayload":18446744073709551615})");
}

TEST(OpenPayload, QuotesTheSid) {
  EXPECT_EQ(open_payload("a\"b\\c", true, 1, 2, 3),
            R"({"sid":"a\"b\\c","upgrades":["websocket"],"pingInterval":1,"pingTimeout":2,"maxPayload":3})");
}

// --- v4 polling payloads ------------------------------------------------------------

// v4 test suite: "sends and receives a payload containing plain text and binary packets".
TEST(DecodePayloadV4, TextThenBinary) {
  auto d = decode(
      "4hello"
      "\x1e"
      "bAQIDBA==",
      Protocol::v4);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.packets, (std::vector<Owned>{msg("hello"), binary(bytes({1, 2, 3, 4}))}));
}

TEST(DecodePayloadV4, SeveralTextPackets) {
  auto d = decode(
      "4test1"
      "\x1e"
      "4test2"
      "\x1e"
      "4test3",
      Protocol::v4);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.packets, (std::vector<Owned>{msg("test1"), msg("test2"), msg("test3")}));
}

TEST(DecodePayloadV4, SinglePackets) {
  EXPECT_EQ(decode("1", Protocol::v4).packets, std::vector<Owned>{text(PacketType::close)});
  EXPECT_EQ(decode("3", Protocol::v4).packets, std::vector<Owned>{text(PacketType::pong)});
  EXPECT_EQ(decode("4hello", Protocol::v4).packets, std::vector<Owned>{msg("hello")});
  EXPECT_EQ(decode("b", Protocol::v4).packets, std::vector<Owned>{binary("")});
  EXPECT_TRUE(decode("3", Protocol::v4).ok);
}

// v4 test suite: "closes the session upon invalid packet format" with the body "abc".
TEST(DecodePayloadV4, RefusesAnUnknownType) {
  for (std::string_view bad : {"abc", "7", "9x", " 4x", "B", "\x04hi"}) {
    auto d = decode(bad, Protocol::v4);
    EXPECT_FALSE(d.ok) << bad;
    EXPECT_TRUE(d.packets.empty()) << bad;
  }
}

TEST(DecodePayloadV4, RefusesAnEmptyPayload) {
  EXPECT_FALSE(decode("", Protocol::v4).ok);
  EXPECT_FALSE(decode("", Protocol::v3).ok);
}

// engine.io-parser's decodePayload: an empty part decodes to its error packet, and it
// stops there; the packets before it have been decoded.
TEST(DecodePayloadV4, AnEmptyPartIsMalformed) {
  auto middle = decode(
      "4a"
      "\x1e"
      "\x1e"
      "4b",
      Protocol::v4);
  EXPECT_FALSE(middle.ok);
  EXPECT_EQ(middle.packets, std::vector<Owned>{msg("a")});
  auto trailing = decode(
      "4a"
      "\x1e",
      Protocol::v4);
  EXPECT_FALSE(trailing.ok);
  EXPECT_EQ(trailing.packets, std::vector<Owned>{msg("a")});
  auto leading = decode(
      "\x1e"
      "4a",
      Protocol::v4);
  EXPECT_FALSE(leading.ok);
  EXPECT_TRUE(leading.packets.empty());
  EXPECT_FALSE(decode("\x1e", Protocol::v4).ok);
}

TEST(DecodePayloadV4, ReportsThePacketsBeforeAnInvalidOneAndNothingAfter) {
  auto d = decode(
      "4a"
      "\x1e"
      "bAQ=="
      "\x1e"
      "xyz"
      "\x1e"
      "4c",
      Protocol::v4);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.packets, (std::vector<Owned>{msg("a"), binary(bytes({1}))}));
}

// Clients send padded RFC 4648 base64; Node would also read these leniently.
TEST(DecodePayloadV4, RefusesBadBase64) {
  for (std::string_view bad : {"bAQIDBA", "bAQIDBA=", "bAQID=", "b=AAA", "bAQ=DBA==", "b-_-_", "bAQ ID", "bA",
                               "bAQIDBA==="}) {
    auto d = decode(bad, Protocol::v4);
    EXPECT_FALSE(d.ok) << bad;
    EXPECT_TRUE(d.packets.empty()) << bad;
  }
  auto after = decode(
      "4ok"
      "\x1e"
      "bAQIDBA",
      Protocol::v4);
  EXPECT_FALSE(after.ok);
  EXPECT_EQ(after.packets, std::vector<Owned>{msg("ok")});
}

// "b" means a binary message in v4 whatever follows it: there is no type digit.
TEST(DecodePayloadV4, BinaryIsAlwaysAMessage) {
  EXPECT_EQ(decode("b2AQI", Protocol::v4).packets, std::vector<Owned>{binary(bytes({0xd8, 0x04, 0x08}))});
}

TEST(DecodePayloadV4, TextMustBeUtf8) {
  auto good = decode("4" + euro + grinning, Protocol::v4);
  EXPECT_TRUE(good.ok);
  EXPECT_EQ(good.packets, std::vector<Owned>{msg(euro + grinning)});
  for (std::string bad : {std::string("4\xff"), std::string("4\xc0\xaf"), std::string("4\xed\xa0\x80"),
                          std::string("4\xe2\x82"), std::string("4\x80")}) {
    auto d = decode(
        "4a"
        "\x1e" +
            bad,
        Protocol::v4);
    EXPECT_FALSE(d.ok) << ::testing::PrintToString(bad);
    EXPECT_EQ(d.packets, std::vector<Owned>{msg("a")});
  }
}

TEST(DecodePayloadV4, TextDataIsAViewIntoThePayload) {
  std::string payload =
      "4hello"
      "\x1e"
      "2";
  std::vector<const char*> starts;
  std::string scratch;
  EXPECT_TRUE(decode_payload(payload, Protocol::v4, {}, scratch, [&](const Packet& p) {
    starts.push_back(p.data.data());
    return true;
  }));
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0], payload.data() + 1);
  EXPECT_EQ(starts[1], payload.data() + 8);
}

// Binary data lives in the scratch during the call, which is reused from one packet to the
// next and grows only to the largest one.
TEST(DecodePayloadV4, BinaryDataIsDecodedIntoTheReusedScratch) {
  std::string payload;
  std::vector<Owned> sent;
  for (int i = 0; i < 1000; ++i) sent.push_back(binary(std::string(static_cast<std::size_t>(i % 7), static_cast<char>(i))));
  sent.push_back(binary(std::string(300, 'z')));
  sent.push_back(binary("ab"));
  payload = encode_payload(sent, Protocol::v4);
  std::string scratch;
  std::size_t index = 0;
  bool all_in_scratch = true;
  EXPECT_TRUE(decode_payload(payload, Protocol::v4, {}, scratch, [&](const Packet& p) {
    EXPECT_EQ(std::string(p.data), sent[index].data) << index;
    all_in_scratch = all_in_scratch && p.data.data() == scratch.data() && p.data.size() == scratch.size();
    ++index;
    return true;
  }));
  EXPECT_EQ(index, sent.size());
  EXPECT_TRUE(all_in_scratch);
  EXPECT_EQ(scratch, "ab");
  EXPECT_LT(scratch.capacity(), 2 * 300u);
}

TEST(DecodePayloadV4, CallbackReturningFalseStopsWithSuccess) {
  std::string payload =
      "4a"
      "\x1e"
      "4b"
      "\x1e"
      "4c";
  for (std::size_t stop_after = 1; stop_after <= 3; ++stop_after) {
    std::vector<std::string> seen;
    std::string scratch;
    EXPECT_TRUE(decode_payload(payload, Protocol::v4, {}, scratch, [&](const Packet& p) {
      seen.emplace_back(p.data);
      return seen.size() < stop_after;
    }));
    EXPECT_EQ(seen.size(), stop_after);
  }
  // What follows the stop is not looked at: a malformed tail does not make it a failure.
  std::vector<std::string> seen;
  std::string scratch;
  EXPECT_TRUE(decode_payload(
      "4a"
      "\x1e"
      "zzz",
      Protocol::v4, {}, scratch, [&](const Packet& p) {
        seen.emplace_back(p.data);
        return false;
      }));
  EXPECT_EQ(seen, std::vector<std::string>{"a"});
}

TEST(DecodePayloadV4, RefusesMoreThanMaxPackets) {
  std::string three =
      "4a"
      "\x1e"
      "4b"
      "\x1e"
      "4c";
  auto over = decode(three, Protocol::v4, PayloadLimits{2});
  EXPECT_FALSE(over.ok);
  EXPECT_EQ(over.packets, (std::vector<Owned>{msg("a"), msg("b")}));
  auto at = decode(three, Protocol::v4, PayloadLimits{3});
  EXPECT_TRUE(at.ok);
  EXPECT_EQ(at.packets.size(), 3u);
  auto zero = decode("4a", Protocol::v4, PayloadLimits{0});
  EXPECT_FALSE(zero.ok);
  EXPECT_TRUE(zero.packets.empty());
  // The default is 10,000.
  std::vector<Owned> many(10'001, text(PacketType::noop));
  std::string payload = encode_payload(many, Protocol::v4);
  EXPECT_FALSE(decode(payload, Protocol::v4).ok);
  many.pop_back();
  EXPECT_TRUE(decode(encode_payload(many, Protocol::v4), Protocol::v4).ok);
}

// The decoder agrees with core's strict base64 on every input it is given.
TEST(DecodePayloadV4, Base64AgreesWithCore) {
  std::mt19937 rng(7);
  const std::string symbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \x1e";
  for (int round = 0; round < 20000; ++round) {
    std::string body(rng() % 13, 'A');
    for (char& c : body) c = symbols[rng() % symbols.size()];
    if (body.find('\x1e') != std::string::npos) continue;
    auto expected = core::base64_decode(body);
    auto d = decode("b" + body, Protocol::v4);
    ASSERT_EQ(d.ok, expected.has_value()) << ::testing::PrintToString(body);
    if (expected) {
      ASSERT_EQ(d.packets, std::vector<Owned>{binary(*expected)}) << body;
    }
  }
  for (std::size_t length = 0; length < 100; ++length) {
    std::string data(length, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    EXPECT_EQ(encode_payload({binary(data)}, Protocol::v4), "b" + core::base64_encode(data));
  }
}

// --- v3 polling payloads, string form -------------------------------------------------

// v3-test-suite and v3.md's examples.
TEST(DecodePayloadV3, TestSuiteBodies) {
  EXPECT_EQ(decode("6:4hello", Protocol::v3).packets, std::vector<Owned>{msg("hello")});
  EXPECT_EQ(decode("6:4test16:4test26:4test3", Protocol::v3).packets,
            (std::vector<Owned>{msg("test1"), msg("test2"), msg("test3")}));
  auto mixed = decode("6:4hello10:b4AQIDBA==", Protocol::v3);
  EXPECT_TRUE(mixed.ok);
  EXPECT_EQ(mixed.packets, (std::vector<Owned>{msg("hello"), binary(bytes({1, 2, 3, 4}))}));
  EXPECT_EQ(decode("1:2", Protocol::v3).packets, std::vector<Owned>{text(PacketType::ping)});
  EXPECT_EQ(decode("1:1", Protocol::v3).packets, std::vector<Owned>{text(PacketType::close)});
  auto doc = decode("6:4hello2:4" + euro, Protocol::v3);
  EXPECT_TRUE(doc.ok);
  EXPECT_EQ(doc.packets, (std::vector<Owned>{msg("hello"), msg(euro)}));
  EXPECT_FALSE(decode("abc", Protocol::v3).ok);
}

// The length is JavaScript's String#length: "€" is 1, "😀" is 2 (a surrogate pair).
TEST(DecodePayloadV3, LengthCountsUtf16Units) {
  EXPECT_EQ(decode("2:4" + euro, Protocol::v3).packets, std::vector<Owned>{msg(euro)});
  EXPECT_EQ(decode("3:4" + grinning, Protocol::v3).packets, std::vector<Owned>{msg(grinning)});
  EXPECT_EQ(decode("5:4" + grinning + grinning, Protocol::v3).packets, std::vector<Owned>{msg(grinning + grinning)});
  EXPECT_EQ(decode("6:4a" + euro + grinning + "z" + "1:3", Protocol::v3).packets,
            (std::vector<Owned>{msg("a" + euro + grinning + "z"), text(PacketType::pong)}));
  // Bytes instead of units: too long.
  EXPECT_FALSE(decode("4:4" + euro, Protocol::v3).ok);
  // Half a surrogate pair.
  EXPECT_FALSE(decode("2:4" + grinning, Protocol::v3).ok);
  EXPECT_FALSE(decode("3:4x" + grinning, Protocol::v3).ok);
  // One unit short: the rest of the euro sign is no length.
  auto short_one = decode("1:4" + euro, Protocol::v3);
  EXPECT_FALSE(short_one.ok);
  EXPECT_EQ(short_one.packets, std::vector<Owned>{msg("")});
}

TEST(DecodePayloadV3, RefusesMalformedLengths) {
  for (std::string_view bad : {":4hello", "6;4hello", "x:4", " 6:4hello", "+6:4hello", "-6:4hello", "6", "6:",
                               "0:", "00:", "0:6:4hello", "7:4hello", "6:4hello6", "6:4hello6:",
                               "6:4hello6:4hell", "99999999999999999999999999999999:4", "18446744073709551617:4",
                               "6:4hello:"}) {
    auto d = decode(bad, Protocol::v3);
    EXPECT_FALSE(d.ok) << bad;
  }
}

TEST(DecodePayloadV3, ReportsThePacketsBeforeAnInvalidOneAndNothingAfter) {
  auto d = decode("2:4a3:b4AQ==" "3:9zz2:4c", Protocol::v3);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.packets, (std::vector<Owned>{msg("a")}));  // "3:b4A" is bad base64
  auto d2 = decode("2:4a6:b4AQ==3:9zz2:4c", Protocol::v3);
  EXPECT_FALSE(d2.ok);
  EXPECT_EQ(d2.packets, (std::vector<Owned>{msg("a"), binary(bytes({1}))}));
}

// engine.io-parser 2.x reads the length with Number(), which takes leading zeros too.
TEST(DecodePayloadV3, TakesLeadingZeros) {
  EXPECT_EQ(decode("06:4hello", Protocol::v3).packets, std::vector<Owned>{msg("hello")});
}

TEST(DecodePayloadV3, RefusesBadPackets) {
  for (std::string bad : {std::string("6:9hello"), std::string("1:b"), std::string("6:b9AAAA"),
                          std::string("5:bAQID"), std::string("9:b4AQIDBA="), std::string("2:4\x80"),
                          std::string("2:4\xed\xa0\x80"), std::string("2:4\xc0\xaf"),
                          std::string("1:\xe2\x82\xac")}) {
    auto d = decode(bad, Protocol::v3);
    EXPECT_FALSE(d.ok) << ::testing::PrintToString(bad);
    EXPECT_TRUE(d.packets.empty()) << ::testing::PrintToString(bad);
  }
}

TEST(DecodePayloadV3, BinaryOfAnyType) {
  EXPECT_EQ(decode("2:b4", Protocol::v3).packets, std::vector<Owned>{binary("")});
  EXPECT_EQ(decode("6:b2AQID", Protocol::v3).packets, std::vector<Owned>{binary(bytes({1, 2, 3}), PacketType::ping)});
}

TEST(DecodePayloadV3, CallbackStopAndMaxPackets) {
  std::vector<std::string> seen;
  std::string scratch;
  EXPECT_TRUE(decode_payload("2:4a2:4b2:4c", Protocol::v3, {}, scratch, [&](const Packet& p) {
    seen.emplace_back(p.data);
    return seen.size() < 2;
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  auto over = decode("2:4a2:4b2:4c", Protocol::v3, PayloadLimits{1});
  EXPECT_FALSE(over.ok);
  EXPECT_EQ(over.packets, std::vector<Owned>{msg("a")});
  EXPECT_TRUE(decode("2:4a2:4b2:4c", Protocol::v3, PayloadLimits{3}).ok);
}

// --- v3 polling payloads, binary form -----------------------------------------------

TEST(DecodePayloadV3Binary, TestSuiteBody) {
  auto d = decode(bytes({0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4}), Protocol::v3);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.packets, (std::vector<Owned>{msg("hello"), binary(bytes({1, 2, 3, 4}))}));
}

TEST(DecodePayloadV3Binary, LengthsAreBytesWithOneDigitAByte) {
  EXPECT_EQ(decode(bytes({0, 4, 255, '4'}) + euro, Protocol::v3).packets, std::vector<Owned>{msg(euro)});
  EXPECT_EQ(decode(bytes({1, 1, 2, 3, 255, 4}) + std::string(122, 'x'), Protocol::v3).packets,
            std::vector<Owned>{binary(std::string(122, 'x'))});
  EXPECT_EQ(decode(bytes({1, 0, 2, 255, 6, 9}), Protocol::v3).packets,
            std::vector<Owned>{binary(bytes({9}), PacketType::noop)});
  // A text packet may carry base64 here too (the same string decoder).
  EXPECT_EQ(decode(bytes({0, 6, 255}) + "b4AQ==", Protocol::v3).packets, std::vector<Owned>{binary(bytes({1}))});
  // Binary data is a view into the payload.
  std::string payload = bytes({1, 3, 255, 4, 7, 8});
  std::string scratch;
  EXPECT_TRUE(decode_payload(payload, Protocol::v3, {}, scratch, [&](const Packet& p) {
    EXPECT_EQ(p.data.data(), payload.data() + 4);
    return true;
  }));
}

TEST(DecodePayloadV3Binary, RefusesMalformedPackets) {
  const std::string bad[] = {
      bytes({0, 255, '4'}),              // no length digit
      bytes({0, 1}),                     // no 0xff
      bytes({0, 1, 10, 255, '4'}),       // 10 is no digit
      bytes({0, 2, 255, '4'}),           // past the end
      bytes({0, 0, 255}),                // empty text packet
      bytes({1, 0, 255}),                // empty binary packet: no type byte
      bytes({1, 1, 255, 7}),             // type byte 7
      bytes({1, 1, 255, '4'}),           // '4' is not the type byte 4
      bytes({0, 1, 255, 'x'}),           // unknown type digit
      bytes({0, 2, 255, '4', 0xff}),     // bad UTF-8
      bytes({0, 4, 255}) + "b4AQ",       // bad base64
      bytes({0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 255, '4'}),  // huge length
  };
  for (const auto& b : bad) {
    auto d = decode(b, Protocol::v3);
    EXPECT_FALSE(d.ok) << ::testing::PrintToString(b);
    EXPECT_TRUE(d.packets.empty()) << ::testing::PrintToString(b);
  }
  auto after = decode(bytes({0, 2, 255, '4', 'a', 2, 1, 255, 4}), Protocol::v3);  // second: kind 2
  EXPECT_FALSE(after.ok);
  EXPECT_EQ(after.packets, std::vector<Owned>{msg("a")});
}

// Only v3 has the binary form: in v4 a leading 0 or 1 byte is an unknown packet type.
TEST(DecodePayloadV3Binary, NotInV4) {
  EXPECT_FALSE(decode(bytes({0, 6, 255, 52, 104, 101, 108, 108, 111}), Protocol::v4).ok);
  EXPECT_FALSE(decode(bytes({1, 2, 255, 4, 1}), Protocol::v4).ok);
}

// --- round trips ------------------------------------------------------------------------

std::vector<std::string> sample_texts() {
  return {"", "hello", euro, grinning, "a" + euro + "b" + grinning + "c", "{\"k\":[1,2]}", std::string(5000, 'q'),
          "x\ny\tz:7:b"};
}

std::vector<std::string> sample_binaries() {
  return {"", bytes({1, 2, 3, 4}), all_byte_values(), std::string(1, '\0'), bytes({0x1e}), bytes({0xff, 0xfe}),
          std::string(4097, '\x7f')};
}

// Every packet that each encoding can carry: v4 carries binary only as a message.
std::vector<Owned> sample_packets(bool any_binary_type) {
  std::vector<Owned> out;
  for (PacketType type : all_types) {
    for (const auto& t : sample_texts()) out.push_back(text(type, t));
    for (const auto& b : sample_binaries()) {
      if (any_binary_type || type == PacketType::message) out.push_back(binary(b, type));
    }
  }
  return out;
}

TEST(RoundTrip, WebSocketFrames) {
  for (Protocol protocol : {Protocol::v3, Protocol::v4}) {
    for (bool base64 : {false, true}) {
      for (const Owned& p : sample_packets(protocol == Protocol::v3)) {
        std::string out;
        bool binary_frame = false;
        append_frame_payload(out, view(p), protocol, binary_frame, base64);
        EXPECT_EQ(binary_frame, p.binary && !base64);
        EXPECT_EQ(frame(out, binary_frame, protocol), p)
            << "v" << static_cast<int>(protocol) << (base64 ? " base64 " : " ") << ::testing::PrintToString(out);
      }
    }
  }
}

TEST(RoundTrip, TextFramesWithAnyBytes) {
  // The WebSocket layer checks UTF-8; the codec carries whatever the frame holds.
  for (Protocol protocol : {Protocol::v3, Protocol::v4}) {
    std::string out;
    bool binary_frame = true;
    append_frame_payload(out, Packet{PacketType::message, false, all_byte_values()}, protocol, binary_frame);
    EXPECT_EQ(frame(out, binary_frame, protocol), msg(all_byte_values()));
  }
}

TEST(RoundTrip, EachPacketAloneInEveryPayloadForm) {
  for (const Owned& p : sample_packets(true)) {
    if (!p.binary || p.type == PacketType::message) {
      auto d = decode(encode_payload({p}, Protocol::v4), Protocol::v4);
      EXPECT_TRUE(d.ok);
      EXPECT_EQ(d.packets, std::vector<Owned>{p});
    }
    auto s = decode(encode_payload({p}, Protocol::v3), Protocol::v3);
    EXPECT_TRUE(s.ok);
    EXPECT_EQ(s.packets, std::vector<Owned>{p});
    auto b = decode(encode_binary_payload({p}), Protocol::v3);
    EXPECT_TRUE(b.ok);
    EXPECT_EQ(b.packets, std::vector<Owned>{p});
  }
}

TEST(RoundTrip, ManyMixedPacketsInEveryPayloadForm) {
  auto v4_packets = sample_packets(false);
  auto d4 = decode(encode_payload(v4_packets, Protocol::v4), Protocol::v4);
  EXPECT_TRUE(d4.ok);
  EXPECT_EQ(d4.packets, v4_packets);
  auto v3_packets = sample_packets(true);
  auto d3 = decode(encode_payload(v3_packets, Protocol::v3), Protocol::v3);
  EXPECT_TRUE(d3.ok);
  EXPECT_EQ(d3.packets, v3_packets);
  auto db = decode(encode_binary_payload(v3_packets), Protocol::v3);
  EXPECT_TRUE(db.ok);
  EXPECT_EQ(db.packets, v3_packets);
}

TEST(RoundTrip, RandomUtf8TextAndBinary) {
  std::mt19937 rng(1234);
  const std::string pieces[] = {"a", "~", "\x7f", "\xc3\xa9", euro, grinning, "\xef\xbf\xbd", ":", "0", "b", "\x1e"};
  for (int round = 0; round < 300; ++round) {
    std::vector<Owned> v3_packets;
    std::vector<Owned> v4_packets;
    std::size_t count = 1 + rng() % 20;
    for (std::size_t i = 0; i < count; ++i) {
      PacketType type = all_types[rng() % 7];
      if (rng() % 3 == 0) {
        std::string data(rng() % 40, '\0');
        for (char& c : data) c = static_cast<char>(rng());
        v3_packets.push_back(binary(data, type));
        v4_packets.push_back(binary(data));
      } else {
        std::string data;
        for (std::size_t n = rng() % 12; n > 0; --n) data += pieces[rng() % std::size(pieces)];
        v3_packets.push_back(text(type, data));
        // v4 text cannot hold the separator (v4-current.md: "this assumes the record
        // separator is not used in the data").
        std::erase(data, '\x1e');
        v4_packets.push_back(text(type, data));
      }
    }
    auto d4 = decode(encode_payload(v4_packets, Protocol::v4), Protocol::v4);
    ASSERT_TRUE(d4.ok) << round;
    ASSERT_EQ(d4.packets, v4_packets) << round;
    auto d3 = decode(encode_payload(v3_packets, Protocol::v3), Protocol::v3);
    ASSERT_TRUE(d3.ok) << round;
    ASSERT_EQ(d3.packets, v3_packets) << round;
    auto db = decode(encode_binary_payload(v3_packets), Protocol::v3);
    ASSERT_TRUE(db.ok) << round;
    ASSERT_EQ(db.packets, v3_packets) << round;
  }
}

}  // namespace
}  // namespace switchboard::eio
