#include "sio/codec/packet.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding.hpp"
#include "core/utf8.hpp"

// The Socket.IO packet codec against the byte strings of
// docs/socket.io-protocol/v5-current.md ("Examples", "Sample session") and the rules of
// socket.io-parser 4.2 (Decoder#decodeString, isPayloadValid, reconstructPacket). The
// expected strings were written by hand and checked once against socket.io-parser and
// JSON.stringify under Node 20; where this codec refuses what socket.io-parser takes,
// the test says so.

namespace switchboard::sio {

inline void PrintTo(DecodeError e, std::ostream* os) {
  static constexpr const char* names[] = {"none",          "empty",      "unknown_type",
                                          "bad_attachment_count", "bad_namespace", "bad_ack_id",
                                          "bad_json",      "invalid_payload", "illegal_attachments"};
  *os << names[static_cast<int>(e)];
}

inline void PrintTo(const Packet& p, std::ostream* os) {
  *os << "{type " << static_cast<int>(p.type) << ", nsp " << ::testing::PrintToString(p.nsp) << ", id ";
  if (p.id)
    *os << *p.id;
  else
    *os << "none";
  *os << ", data " << boost::json::serialize(p.data) << ", " << p.attachments.size() << " attachments}";
}

namespace {

namespace json = boost::json;

constexpr std::uint64_t max_safe = (std::uint64_t{1} << 53) - 1;

json::value J(std::string_view text) { return json::parse(text); }

Packet make(PacketType type, std::string nsp, std::optional<std::uint64_t> id, json::value data,
            std::vector<std::string> attachments = {}) {
  Packet p;
  p.type = type;
  p.nsp = std::move(nsp);
  p.id = id;
  p.data = std::move(data);
  p.attachments = std::move(attachments);
  return p;
}

// Packets compare field by field; json::value's == compares numbers by kind (1 and 1.0
// differ), which is what these tests want.
bool same(const Packet& a, const Packet& b) {
  return a.type == b.type && a.nsp == b.nsp && a.id == b.id && a.data == b.data && a.attachments == b.attachments;
}

::testing::AssertionResult packets_equal(const Packet& actual, const Packet& expected) {
  if (same(actual, expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "actual " << ::testing::PrintToString(actual) << "\nexpected "
                                       << ::testing::PrintToString(expected);
}

struct Decoded {
  DecodeError error = DecodeError::none;
  Packet packet;
  std::size_t expected = 0;
};

Decoded decode(std::string_view text, DecodeLimits limits = {}) {
  DecodedHeader out;
  Decoded d;
  d.error = decode_text(text, limits, out);
  d.packet = std::move(out.packet);
  d.expected = out.attachments_expected;
  return d;
}

DecodeError error_of(std::string_view text, DecodeLimits limits = {}) { return decode(text, limits).error; }

std::string placeholder(int num) { return R"({"_placeholder":true,"num":)" + std::to_string(num) + "}"; }

// Decodes `text` and `attachments` through a Decoder; the packet, or a failure.
::testing::AssertionResult decodes_to(std::string_view text, const std::vector<std::string>& attachments,
                                      const Packet& expected) {
  Decoder decoder;
  auto status = decoder.add_text(text);
  for (std::size_t i = 0; i < attachments.size(); ++i) {
    if (status != Decoder::Status::need_attachments)
      return ::testing::AssertionFailure() << "attachment " << i << " not expected, status " << static_cast<int>(status)
                                           << " error " << ::testing::PrintToString(decoder.error());
    status = decoder.add_binary(attachments[i]);
  }
  if (status != Decoder::Status::complete)
    return ::testing::AssertionFailure() << "status " << static_cast<int>(status) << " error "
                                         << ::testing::PrintToString(decoder.error());
  return packets_equal(decoder.packet(), expected);
}

// --- the protocol document's examples --------------------------------------------------

struct Example {
  std::string text;
  Packet packet;
};

std::vector<Example> protocol_examples() {
  const std::string buf1234("\x01\x02\x03\x04", 4);
  return {
      // "Examples": Connection to a namespace.
      {"0", make(PacketType::connect, "/", std::nullopt, nullptr)},
      {R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})",
       make(PacketType::connect, "/admin", std::nullopt, J(R"({"sid":"oSO0OpakMV_3jnilAAAA"})"))},
      {R"(4{"message":"Not authorized"})",
       make(PacketType::connect_error, "/", std::nullopt, J(R"({"message":"Not authorized"})"))},
      // Sending and receiving data.
      {R"(2["foo"])", make(PacketType::event, "/", std::nullopt, J(R"(["foo"])"))},
      {R"(2/admin,["bar"])", make(PacketType::event, "/admin", std::nullopt, J(R"(["bar"])"))},
      {R"(51-["baz",{"_placeholder":true,"num":0}])",
       make(PacketType::binary_event, "/", std::nullopt, J(R"(["baz",{"_placeholder":true,"num":0}])"), {buf1234})},
      {R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
       make(PacketType::binary_event, "/admin", std::nullopt,
            J(R"(["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"),
            {std::string("\x01\x02", 2), std::string("\x03\x04", 2)})},
      // Acknowledgement.
      {R"(212["foo"])", make(PacketType::event, "/", 12, J(R"(["foo"])"))},
      {R"(3/admin,13["bar"])", make(PacketType::ack, "/admin", 13, J(R"(["bar"])"))},
      {R"(61-15["bar",{"_placeholder":true,"num":0}])",
       make(PacketType::binary_ack, "/", 15, J(R"(["bar",{"_placeholder":true,"num":0}])"), {buf1234})},
      // Disconnection from a namespace.
      {"1", make(PacketType::disconnect, "/", std::nullopt, nullptr)},
      {"1/admin,", make(PacketType::disconnect, "/admin", std::nullopt, nullptr)},
      // "Exchange protocol": a CONNECT with a payload, the server's answers, an empty ack.
      // ("Server > { type: ACK, namespace: "/", data: [], id: 12 }")
      {R"(0/admin,{"token":"123"})", make(PacketType::connect, "/admin", std::nullopt, J(R"({"token":"123"})"))},
      {R"(0{"sid":"wZX3oN0bSVIhsaknAAAI"})",
       make(PacketType::connect, "/", std::nullopt, J(R"({"sid":"wZX3oN0bSVIhsaknAAAI"})"))},
      {R"(312[])", make(PacketType::ack, "/", 12, J("[]"))},
      // "Sample session" (without the Engine.IO "4").
      {R"(2["hey","Jude"])", make(PacketType::event, "/", std::nullopt, J(R"(["hey","Jude"])"))},
      {R"(2["hello"])", make(PacketType::event, "/", std::nullopt, J(R"(["hello"])"))},
      {"0/admin,", make(PacketType::connect, "/admin", std::nullopt, nullptr)},
      {R"(0/admin,{"sid":"-G5j-67EZFp-q59rADQM"})",
       make(PacketType::connect, "/admin", std::nullopt, J(R"({"sid":"-G5j-67EZFp-q59rADQM"})"))},
      {R"(2/admin,1["tellme"])", make(PacketType::event, "/admin", 1, J(R"(["tellme"])"))},
      {R"(61-/admin,1[{"_placeholder":true,"num":0}])",
       make(PacketType::binary_ack, "/admin", 1, J(R"([{"_placeholder":true,"num":0}])"), {"binary"})},
  };
}

TEST(SioPacketExamples, DecodeToTheDocumentedPackets) {
  for (const auto& ex : protocol_examples()) {
    SCOPED_TRACE(ex.text);
    EXPECT_TRUE(decodes_to(ex.text, ex.packet.attachments, ex.packet));
    Decoded d = decode(ex.text);
    EXPECT_EQ(d.error, DecodeError::none);
    EXPECT_EQ(d.expected, ex.packet.attachments.size());
  }
}

TEST(SioPacketExamples, EncodeToTheDocumentedBytes) {
  for (const auto& ex : protocol_examples()) {
    SCOPED_TRACE(ex.text);
    EXPECT_EQ(encode_text(ex.packet), ex.text);
  }
}

TEST(SioPacketExamples, AppendTextAppendsAfterTheEngineIoPrefix) {
  // "{ type: EVENT, namespace: "/", data: ["foo"] } will be sent as 42["foo"]".
  std::string out = "4";
  append_text(out, make(PacketType::event, "/", std::nullopt, J(R"(["foo"])")));
  EXPECT_EQ(out, R"(42["foo"])");
  append_text(out, make(PacketType::disconnect, "/admin", std::nullopt, nullptr));
  EXPECT_EQ(out, R"(42["foo"]1/admin,)");
}

// --- the type ----------------------------------------------------------------------

TEST(SioPacketType, EveryTypeDigit) {
  EXPECT_EQ(decode("0").packet.type, PacketType::connect);
  EXPECT_EQ(decode("1").packet.type, PacketType::disconnect);
  EXPECT_EQ(decode(R"(2["a"])").packet.type, PacketType::event);
  EXPECT_EQ(decode("3[]").packet.type, PacketType::ack);
  EXPECT_EQ(decode(R"(4"x")").packet.type, PacketType::connect_error);
  EXPECT_EQ(decode(R"(51-["a"])").packet.type, PacketType::binary_event);
  EXPECT_EQ(decode("61-[]").packet.type, PacketType::binary_ack);
}

TEST(SioPacketType, EmptyIsRefused) {
  // socket.io-parser reads Number(""), 0: a CONNECT packet.
  EXPECT_EQ(error_of(""), DecodeError::empty);
}

TEST(SioPacketType, AnythingButADigitFromZeroToSixIsRefused) {
  for (std::string_view text : {"7", "8", "9", "x", "-1", "/", "{}", "[\"a\"]", "\xd9\xa0"})
    EXPECT_EQ(error_of(text), DecodeError::unknown_type) << ::testing::PrintToString(std::string(text));
  // Number(" ") and Number("\t") are 0: CONNECT packets in socket.io-parser.
  EXPECT_EQ(error_of(" "), DecodeError::unknown_type);
  EXPECT_EQ(error_of("\t"), DecodeError::unknown_type);
  EXPECT_EQ(error_of(" 0"), DecodeError::unknown_type);
  EXPECT_EQ(error_of(std::string_view("\0", 1)), DecodeError::unknown_type);
}

// --- the attachment count -------------------------------------------------------------

TEST(SioPacketAttachments, CountUpToTheDash) {
  for (auto [text, n] : std::initializer_list<std::pair<std::string_view, std::size_t>>{
           {R"(51-["a"])", 1}, {R"(52-["a"])", 2}, {R"(510-["a"])", 10}, {"61-[]", 1}, {"69-[]", 9}}) {
    Decoded d = decode(text);
    EXPECT_EQ(d.error, DecodeError::none) << text;
    EXPECT_EQ(d.expected, n) << text;
    EXPECT_TRUE(d.packet.attachments.empty());
  }
}

TEST(SioPacketAttachments, LeadingZerosAreTheSameNumber) {
  // Number("01") is 1 in socket.io-parser too.
  Decoded d = decode(R"(501-["a"])");
  EXPECT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(d.expected, 1u);
}

TEST(SioPacketAttachments, MissingDashIsRefused) {
  // socket.io-parser: "Illegal attachments".
  EXPECT_EQ(error_of(R"(5["a"])"), DecodeError::bad_attachment_count);
  EXPECT_EQ(error_of(R"(51["a"])"), DecodeError::bad_attachment_count);
  EXPECT_EQ(error_of("5"), DecodeError::bad_attachment_count);
  EXPECT_EQ(error_of("51"), DecodeError::bad_attachment_count);
  EXPECT_EQ(error_of("6[]"), DecodeError::bad_attachment_count);
}

TEST(SioPacketAttachments, EmptyOrZeroCountIsRefused) {
  EXPECT_EQ(error_of(R"(5-["a"])"), DecodeError::bad_attachment_count);
  EXPECT_EQ(error_of(R"(50-["a"])"), DecodeError::bad_attachment_count);
  EXPECT_EQ(error_of(R"(500-["a"])"), DecodeError::bad_attachment_count);
  EXPECT_EQ(error_of("6-[]"), DecodeError::bad_attachment_count);
}

TEST(SioPacketAttachments, OnlyDecimalDigits) {
  // socket.io-parser takes whatever Number() reads as a whole number: " 1", "0x1", "1e0",
  // "1.0", "+1" are all 1 there. No encoder writes them.
  for (std::string_view text : {R"(5 1-["a"])", R"(50x1-["a"])", R"(51e0-["a"])", R"(51.0-["a"])", R"(5+1-["a"])",
                                R"(51 -["a"])", R"(5a-["a"])", R"(5/admin,1-["a"])", R"(5١-["a"])"})
    EXPECT_EQ(error_of(text), DecodeError::bad_attachment_count) << text;
}

TEST(SioPacketAttachments, OverTheLimitIsRefused) {
  // socket.io-parser's maxAttachments, 10 by default: "too many attachments".
  EXPECT_EQ(error_of(R"(511-["a"])"), DecodeError::bad_attachment_count);
  EXPECT_EQ(error_of(R"(599999999999999999999999999999-["a"])"), DecodeError::bad_attachment_count);
  DecodeLimits two;
  two.max_attachments = 2;
  EXPECT_EQ(error_of(R"(52-["a"])", two), DecodeError::none);
  EXPECT_EQ(error_of(R"(53-["a"])", two), DecodeError::bad_attachment_count);
  DecodeLimits none;
  none.max_attachments = 0;
  EXPECT_EQ(error_of(R"(51-["a"])", none), DecodeError::bad_attachment_count);
  DecodeLimits huge;
  huge.max_attachments = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(decode(R"(518446744073709551615-["a"])", huge).expected, std::numeric_limits<std::size_t>::max());
  EXPECT_EQ(error_of(R"(518446744073709551616-["a"])", huge), DecodeError::bad_attachment_count);
}

TEST(SioPacketAttachments, NonBinaryTypesHaveNoCount) {
  // As in socket.io-parser: the digits are the ack id and "-..." the payload.
  Decoded d = decode(R"(21-["a"])");
  EXPECT_EQ(d.error, DecodeError::bad_json);
  EXPECT_EQ(error_of("31-[]"), DecodeError::bad_json);
  EXPECT_EQ(error_of("21-1"), DecodeError::invalid_payload);  // the payload -1: a number, not an array
}

TEST(SioPacketAttachments, TheCountComesBeforeTheNamespaceAndTheId) {
  Decoded d = decode(R"(52-/admin,7["a"])");
  ASSERT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(d.expected, 2u);
  EXPECT_EQ(d.packet.nsp, "/admin");
  EXPECT_EQ(d.packet.id, 7u);
  // The first '-' ends the count, even one in the payload.
  EXPECT_EQ(error_of(R"(5["-"])"), DecodeError::bad_attachment_count);
}

// --- the namespace -----------------------------------------------------------------

TEST(SioPacketNamespace, RunsToTheFirstComma) {
  Decoded d = decode(R"(2/admin,["a,b"])");
  ASSERT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(d.packet.nsp, "/admin");
  EXPECT_EQ(d.packet.data, J(R"(["a,b"])"));
  EXPECT_EQ(decode(R"(2/a/b/c,["x"])").packet.nsp, "/a/b/c");
  EXPECT_EQ(decode(R"(2/a b?c=d&e,["x"])").packet.nsp, "/a b?c=d&e");
}

TEST(SioPacketNamespace, OrToTheEndWithoutAComma) {
  // socket.io-parser ends the namespace at the end of the text as well as at a ','.
  EXPECT_TRUE(packets_equal(decode("1/admin").packet, decode("1/admin,").packet));
  EXPECT_EQ(decode("1/admin").error, DecodeError::none);
  EXPECT_EQ(decode("0/admin").packet.nsp, "/admin");
  // Digits and JSON without a comma are part of the namespace.
  Decoded d = decode("1/admin12");
  EXPECT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(d.packet.nsp, "/admin12");
  EXPECT_FALSE(d.packet.id);
  EXPECT_EQ(decode(R"(0/admin{"a":1})").packet.nsp, R"(/admin{"a":1})");
  EXPECT_EQ(decode(R"(0/**/{})").packet.nsp, R"(/**/{})");
  // A packet that needs a payload has none then.
  EXPECT_EQ(error_of(R"(2/admin["a"])"), DecodeError::invalid_payload);
}

TEST(SioPacketNamespace, OnlyWhenASlashStartsIt) {
  // "admin,..." is no namespace: it is read as the payload, bad JSON.
  EXPECT_EQ(error_of(R"(2admin,["a"])"), DecodeError::bad_json);
  Decoded d = decode(R"(2["/admin,"])");
  EXPECT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(d.packet.nsp, "/");
}

TEST(SioPacketNamespace, TheMainNamespaceWrittenOut) {
  Decoded d = decode(R"(2/,["a"])");
  ASSERT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(d.packet.nsp, "/");
  EXPECT_EQ(encode_text(d.packet), R"(2["a"])");
  EXPECT_EQ(decode("0/").packet.nsp, "/");
}

TEST(SioPacketNamespace, Unicode) {
  for (std::string nsp : {"/café", "/日本語", "/\xf0\x9f\x98\x80", "/\xe2\x80\xa8"}) {
    SCOPED_TRACE(nsp);
    Decoded d = decode("2" + nsp + R"(,3["é"])");
    ASSERT_EQ(d.error, DecodeError::none);
    EXPECT_EQ(d.packet.nsp, nsp);
    EXPECT_EQ(d.packet.id, 3u);
    Packet p = make(PacketType::event, nsp, 3, J(R"(["é"])"));
    EXPECT_EQ(encode_text(p), "2" + nsp + R"(,3["é"])");
  }
}

TEST(SioPacketNamespace, InvalidUtf8IsRefused) {
  EXPECT_EQ(error_of("1/\xff,"), DecodeError::bad_namespace);
  EXPECT_EQ(error_of("1/\xed\xa0\x80"), DecodeError::bad_namespace);  // a surrogate
  EXPECT_EQ(error_of("1/\xe2\x82,"), DecodeError::bad_namespace);     // cut short by the comma
}

// --- the ack id ----------------------------------------------------------------------

TEST(SioPacketAckId, DigitsRightAfterTheHeader) {
  EXPECT_EQ(decode(R"(20["a"])").packet.id, 0u);
  EXPECT_EQ(decode(R"(212["a"])").packet.id, 12u);
  EXPECT_EQ(decode(R"(2/admin,0["a"])").packet.id, 0u);
  EXPECT_EQ(decode(R"(51-/admin,99["a"])").packet.id, 99u);
  EXPECT_FALSE(decode(R"(2["a"])").packet.id);
  EXPECT_FALSE(decode(R"(2/admin,["a"])").packet.id);
}

TEST(SioPacketAckId, LeadingZerosAreTheSameNumber) {
  Decoded d = decode(R"(2007["a"])");
  EXPECT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(d.packet.id, 7u);
  EXPECT_EQ(encode_text(d.packet), R"(27["a"])");
  EXPECT_EQ(decode(R"(20000000000000000000000000000001["a"])").packet.id, 1u);
}

TEST(SioPacketAckId, UpToTwoToThe53MinusOne) {
  Decoded d = decode(R"(29007199254740991["a"])");
  ASSERT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(d.packet.id, max_safe);
  // socket.io-parser's Number() rounds 2^53 + 1 to 2^53 and a 400-digit id to Infinity.
  EXPECT_EQ(error_of(R"(29007199254740992["a"])"), DecodeError::bad_ack_id);
  EXPECT_EQ(error_of(R"(29007199254740993["a"])"), DecodeError::bad_ack_id);
  EXPECT_EQ(error_of(R"(218446744073709551616["a"])"), DecodeError::bad_ack_id);
  EXPECT_EQ(error_of("2" + std::string(400, '9') + R"(["a"])"), DecodeError::bad_ack_id);
  EXPECT_EQ(error_of("39007199254740992[]"), DecodeError::bad_ack_id);
}

TEST(SioPacketAckId, OnEveryType) {
  // socket.io-parser reads an id on any type.
  EXPECT_EQ(decode("01{}").packet.id, 1u);
  EXPECT_EQ(decode("01").packet.id, 1u);
  EXPECT_EQ(decode("11").packet.id, 1u);
  EXPECT_EQ(decode(R"(41"x")").packet.id, 1u);
  EXPECT_EQ(decode("61-5[]").packet.id, 5u);
}

TEST(SioPacketAckId, WhitespaceWhereTheIdStartsIsRefused) {
  // socket.io-parser reads whitespace as id digits (Number(" ") == " "): "2 ["a"]" is an
  // EVENT with id 0 there.
  for (std::string_view text :
       {R"(2 ["a"])", R"(2 1["a"])", R"(2/admin, ["a"])", "1 ", "0\t{}", R"(2)" "\n" R"(["a"])", R"(2)" "\r" R"(["a"])",
        "2\v[\"a\"]", "2\f[\"a\"]", R"(51- ["a"])"})
    EXPECT_EQ(error_of(text), DecodeError::bad_ack_id) << ::testing::PrintToString(std::string(text));
}

TEST(SioPacketAckId, WhitespaceAfterTheIdIsTheJsonsOwn) {
  // Same as socket.io-parser: Number("1 ") is 1, and JSON.parse skips the space.
  Decoded d = decode(R"(21 ["a"])");
  EXPECT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(d.packet.id, 1u);
  // socket.io-parser: id Number("1 2"), NaN. Here the payload " 2["a"]" is bad JSON.
  EXPECT_EQ(error_of(R"(21 2["a"])"), DecodeError::bad_json);
}

// --- payload rules ---------------------------------------------------------------------

struct PayloadCase {
  std::string_view text;
  bool valid;
};

void check_payloads(std::initializer_list<PayloadCase> cases) {
  for (const auto& c : cases) {
    DecodeError e = error_of(c.text);
    if (c.valid)
      EXPECT_EQ(e, DecodeError::none) << c.text;
    else
      EXPECT_EQ(e, DecodeError::invalid_payload) << c.text;
  }
}

TEST(SioPacketPayload, Connect) {
  // An object or nothing.
  check_payloads({{"0", true},
                  {"0{}", true},
                  {R"(0{"token":"123","n":[1]})", true},
                  {R"(0"x")", false},
                  {"0[]", false},
                  {"0null", false},
                  {"0true", false},
                  {"0\"\"", false}});
  EXPECT_EQ(error_of("01"), DecodeError::none);  // the "1" is an ack id
  EXPECT_EQ(error_of("0-1"), DecodeError::invalid_payload);
}

TEST(SioPacketPayload, Disconnect) {
  // Nothing.
  check_payloads({{"1", true}, {"1{}", false}, {"1null", false}, {"1[]", false}, {R"(1"x")", false}});
}

TEST(SioPacketPayload, Event) {
  // A non-empty array whose first element is a number or a string.
  check_payloads({{R"(2["a"])", true},
                  {R"(2[""])", true},
                  {R"(2[1])", true},
                  {R"(2[-1.5e3])", true},
                  {R"(2["a",1,{},[],null,true])", true},
                  {R"(2["message"])", true},
                  {R"(2["connection"])", true},
                  {R"(2["Connect"])", true},
                  {R"(2["connect "])", true},
                  {"2[]", false},
                  {"2{}", false},
                  {R"(2{"0":"a"})", false},
                  {R"(2"a")", false},
                  {"21", false},  // the "1" is an ack id, and there is no payload
                  {"2[null]", false},
                  {"2[true]", false},
                  {R"(2[["a"]])", false},
                  {R"(2[{"a":1}])", false},
                  {"2null", false}});
}

TEST(SioPacketPayload, EventReservedNames) {
  for (std::string_view name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}) {
    std::string text = R"(2[")" + std::string(name) + R"("])";
    EXPECT_EQ(error_of(text), DecodeError::invalid_payload) << text;
    EXPECT_EQ(error_of(R"(2/admin,5[")" + std::string(name) + R"(",1])"), DecodeError::invalid_payload) << name;
    EXPECT_EQ(error_of(R"(51-[")" + std::string(name) + R"(",{"_placeholder":true,"num":0}])"),
              DecodeError::invalid_payload)
        << name;
    // Names for acks are data, not event names.
    EXPECT_EQ(error_of(R"(3[")" + std::string(name) + R"("])"), DecodeError::none) << name;
  }
  // Escaped, the name is still reserved (JSON.parse unescapes it first).
  EXPECT_EQ(error_of(R"(2["\u0063onnect"])"), DecodeError::invalid_payload);
}

TEST(SioPacketPayload, Ack) {
  // An array, possibly empty.
  check_payloads({{"3[]", true},
                  {R"(3["a"])", true},
                  {"3[null]", true},
                  {R"(3[{"a":1},2])", true},
                  {"3{}", false},
                  {R"(3"x")", false},
                  {"3null", false},
                  {"3-1", false}});
}

TEST(SioPacketPayload, ConnectError) {
  // A string or an object.
  check_payloads({{R"(4"msg")", true},
                  {R"(4"")", true},
                  {R"(4{"message":"Not authorized","data":{"code":1}})", true},
                  {"4{}", true},
                  {"4[]", false},
                  {"4null", false},
                  {"4true", false},
                  {"4-0", false}});
  EXPECT_EQ(error_of("41"), DecodeError::invalid_payload);  // the "1" is an ack id: nothing left
}

TEST(SioPacketPayload, BinaryEventAndAck) {
  check_payloads({{R"(51-["a",{"_placeholder":true,"num":0}])", true},
                  {R"(51-[1,{"_placeholder":true,"num":0}])", true},
                  {R"(51-[{"_placeholder":true,"num":0}])", false},  // no event name
                  {"51-[]", false},
                  {"51-{}", false},
                  {R"(61-[{"_placeholder":true,"num":0}])", true},
                  {"61-[]", true},
                  {"61-{}", false},
                  {R"(61-"x")", false}});
}

TEST(SioPacketPayload, NoPayloadWhereOneIsMandatory) {
  // socket.io-parser checks only a payload that is there: "2", "3", "4" decode with
  // none. v5-current.md: an EVENT's payload "is mandatory and MUST be a non-empty array",
  // an ACK's "is mandatory and MUST be an array"; refused here.
  for (std::string_view text : {"2", "21", "2/admin,", "2/admin,1", "3", "312", "3/admin,13", "4", "4/admin,", "51-",
                                "51-/admin,", "61-", "61-7"})
    EXPECT_EQ(error_of(text), DecodeError::invalid_payload) << text;
}

// --- JSON ----------------------------------------------------------------------------

TEST(SioPacketJson, BadJsonIsRefused) {
  for (std::string_view text : std::initializer_list<std::string_view>{R"(2["a"]trailing)", R"(2["a"])"
                                                     R"(["b"])",
                                R"(2["a")", R"(2['a'])", R"(2["a",])", R"(2[a])", R"(2["a"]/**/)", R"(2[/**/"a"])",
                                "2[\"a\x01\"]", "2[\"\xff\"]", "2[\"\xed\xa0\x80\"]", "2\xef\xbb\xbf[\"a\"]",
                                R"(2["\x"])", R"(2["\u12"])", R"(2[01])", R"(2[1.])", R"(2[.5])", R"(2[+1])", "2[NaN]",
                                "2[Infinity]", R"(0{"a":1,})", R"(0{a:1})", "2-", std::string_view("2[\"a\"]\0", 7)})
    EXPECT_EQ(error_of(text), DecodeError::bad_json) << ::testing::PrintToString(std::string(text));
}

TEST(SioPacketJson, WhitespaceAfterThePayload) {
  // JSON.parse and Boost.JSON skip the same four characters around a value.
  EXPECT_EQ(error_of("2[\"a\"] \t\r\n"), DecodeError::none);
  EXPECT_EQ(error_of("2[ \"a\" , 1 ]"), DecodeError::none);
  EXPECT_EQ(error_of("2[\"a\"]\v"), DecodeError::bad_json);
  EXPECT_EQ(error_of("2[\"a\"]\xc2\xa0"), DecodeError::bad_json);  // U+00A0 is no JSON whitespace
}

TEST(SioPacketJson, Depth) {
  auto nested = [](int depth) {
    std::string text = "2";
    for (int i = 0; i < depth; ++i) text += "[";
    text += "1";
    for (int i = 0; i < depth; ++i) text += "]";
    return text;
  };
  // The event's own array counts: depth 1. Default limit 32.
  EXPECT_EQ(error_of(nested(32)), DecodeError::invalid_payload);  // valid JSON, but [[...]] has no name
  EXPECT_EQ(error_of(nested(33)), DecodeError::bad_json);
  EXPECT_EQ(error_of("2[\"a\"," + nested(31).substr(1) + "]"), DecodeError::none);
  EXPECT_EQ(error_of("2[\"a\"," + nested(32).substr(1) + "]"), DecodeError::bad_json);

  DecodeLimits one;
  one.max_json_depth = 1;
  EXPECT_EQ(error_of(R"(2["a",1])", one), DecodeError::none);
  EXPECT_EQ(error_of(R"(2["a",[]])", one), DecodeError::bad_json);
  EXPECT_EQ(error_of(R"(2["a",{}])", one), DecodeError::bad_json);
  EXPECT_EQ(error_of(R"(4"x")", one), DecodeError::none);
  DecodeLimits three;
  three.max_json_depth = 3;
  EXPECT_EQ(error_of(R"(0{"a":{"b":[1]}})", three), DecodeError::none);
  EXPECT_EQ(error_of(R"(0{"a":{"b":[[1]]}})", three), DecodeError::bad_json);
  DecodeLimits zero;
  zero.max_json_depth = 0;
  EXPECT_EQ(error_of(R"(2["a"])", zero), DecodeError::bad_json);
  EXPECT_EQ(error_of(R"(4"x")", zero), DecodeError::none);  // a string has no depth
  EXPECT_EQ(error_of("1", zero), DecodeError::none);
}

TEST(SioPacketJson, DuplicateKeysKeepTheLast) {
  // As JSON.parse.
  EXPECT_EQ(decode(R"(0{"a":1,"b":2,"a":3})").packet.data, J(R"({"a":3,"b":2})"));
}

TEST(SioPacketJson, StringsAreUnescaped) {
  Decoded d = decode(R"(2["\"\\\/\b\f\n\r\t\u0000\u00e9\u20ac\ud83d\ude00"])");
  ASSERT_EQ(d.error, DecodeError::none);
  EXPECT_EQ(std::string_view(d.packet.data.get_array()[0].get_string()),
            std::string_view("\"\\/\b\f\n\r\t\0é€\xf0\x9f\x98\x80", 18));
}

TEST(SioPacketJson, LoneSurrogatesBecomeReplacementCharacters) {
  // JSON.parse keeps them (a JavaScript string may hold one: "😀".slice(0, 1) is
  // "\ud83d"); Boost.JSON refuses the text. U+FFFD is what TextEncoder makes of one.
  auto first_string = [](std::string_view text) {
    Decoded d = decode(text);
    EXPECT_EQ(d.error, DecodeError::none) << text;
    if (d.error != DecodeError::none) return std::string();
    return std::string(d.packet.data.get_array()[1].get_string());
  };
  EXPECT_EQ(first_string(R"(2["a","\ud83d"])"), "\xef\xbf\xbd");
  EXPECT_EQ(first_string(R"(2["a","\uDE00x"])"), "\xef\xbf\xbdx");
  EXPECT_EQ(first_string(R"(2["a","x\ud83dy"])"), "x\xef\xbf\xbdy");
  EXPECT_EQ(first_string(R"(2["a","\ud83d\u0041"])"), "\xef\xbf\xbd" "A");
  EXPECT_EQ(first_string(R"(2["a","\ud83d\ud83d\ude00"])"), "\xef\xbf\xbd\xf0\x9f\x98\x80");
  EXPECT_EQ(first_string(R"(2["a","\ude00\ud83d"])"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(first_string(R"(2["a","\ud83d\ude00"])"), "\xf0\x9f\x98\x80");
  // An escaped backslash before "ud83d" is no escape.
  EXPECT_EQ(first_string(R"(2["a","\\ud83d"])"), "\\ud83d");
  EXPECT_EQ(first_string(R"(2["a","\\\ud83d"])"), "\\\xef\xbf\xbd");
  // In a key too.
  EXPECT_EQ(decode(R"(0{"\udc00":1})").packet.data, J(R"({"\ufffd":1})"));
  // Nothing else changes: bad JSON stays bad.
  EXPECT_EQ(error_of(R"(2\ud83d["a"])"), DecodeError::bad_json);
  EXPECT_EQ(error_of(R"(2["a","\ud83d)"), DecodeError::bad_json);
}

TEST(SioPacketJson, NumbersAreReadExactly) {
  // Boost.JSON 1.81 reads 0.36130268965844164 (a Math.random() value, as JSON.stringify
  // writes it) as 0.3613026896584416; JSON.parse and this codec read the double whose
  // shortest form it is.
  Decoded d = decode("3[0.36130268965844164,0.11258002984152021,0.9130737406249173]");
  ASSERT_EQ(d.error, DecodeError::none);
  const auto& a = d.packet.data.get_array();
  EXPECT_EQ(a[0].get_double(), 0.36130268965844164);
  EXPECT_EQ(a[1].get_double(), 0.11258002984152021);
  EXPECT_EQ(a[2].get_double(), 0.9130737406249173);
  EXPECT_EQ(encode_text(d.packet), "3[0.36130268965844164,0.11258002984152021,0.9130737406249173]");
}

TEST(SioPacketJson, NumberKinds) {
  Decoded d = decode("3[0,-0,1,-1,9223372036854775807,-9223372036854775808,18446744073709551615,"
                     "18446744073709551616,1.0,1e2,0.1,-0.0,1e400,-1e400,1e-400,5e-324]");
  ASSERT_EQ(d.error, DecodeError::none);
  const auto& a = d.packet.data.get_array();
  EXPECT_EQ(a[0], json::value(std::int64_t{0}));
  EXPECT_EQ(a[1], json::value(std::int64_t{0}));
  EXPECT_EQ(a[4], json::value(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(a[5], json::value(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(a[6], json::value(std::numeric_limits<std::uint64_t>::max()));
  EXPECT_EQ(a[7], json::value(18446744073709551616.0));
  EXPECT_EQ(a[8], json::value(1.0));
  EXPECT_EQ(a[9], json::value(100.0));
  EXPECT_EQ(a[10], json::value(0.1));
  EXPECT_TRUE(a[11].is_double() && std::signbit(a[11].get_double()));
  EXPECT_EQ(a[12], json::value(std::numeric_limits<double>::infinity()));  // JSON.parse: Infinity
  EXPECT_EQ(a[13], json::value(-std::numeric_limits<double>::infinity()));
  EXPECT_EQ(a[14], json::value(0.0));
  EXPECT_EQ(a[15], json::value(5e-324));
  // JSON.stringify's answer for the same array.
  EXPECT_EQ(encode_text(d.packet), "3[0,0,1,-1,9223372036854775807,-9223372036854775808,18446744073709551615,"
                                   "18446744073709552000,1,100,0.1,0,null,null,0,5e-324]");
}

// --- encoding: JSON.stringify's bytes -------------------------------------------------

std::string stringify(json::value v) {
  // An ACK carries any array, so the array's inside is JSON.stringify's output.
  std::string text = encode_text(make(PacketType::ack, "/", std::nullopt, json::array{std::move(v)}));
  return text.substr(2, text.size() - 3);
}

TEST(SioPacketEncodeJson, Integers) {
  EXPECT_EQ(stringify(std::int64_t{0}), "0");
  EXPECT_EQ(stringify(std::int64_t{-42}), "-42");
  EXPECT_EQ(stringify(std::int64_t{9007199254740991}), "9007199254740991");
  EXPECT_EQ(stringify(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(stringify(std::numeric_limits<std::int64_t>::max()), "9223372036854775807");
  // Exact digits past 2^53, where JSON.stringify would write the nearest double's
  // (18446744073709552000); JSON.parse reads both as the same double.
  EXPECT_EQ(stringify(std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
}

TEST(SioPacketEncodeJson, DoublesAsNumberToString) {
  // Each expected string is JSON.stringify's (Node 20). Boost.JSON 1.81's serialize
  // writes 1E0, 1E-1, 1.5E0, -0E0, Infinity.
  struct Case {
    double value;
    std::string_view js;
  };
  for (auto [value, js] : std::initializer_list<Case>{
           {1.0, "1"},
           {-1.0, "-1"},
           {0.1, "0.1"},
           {1.5, "1.5"},
           {-2.5, "-2.5"},
           {0.3, "0.3"},
           {4.35, "4.35"},
           {0.1 + 0.2, "0.30000000000000004"},
           {100.0, "100"},
           {12345.6789, "12345.6789"},
           {1e20, "100000000000000000000"},
           {123456789012345680000.0, "123456789012345680000"},
           {1e21, "1e+21"},
           {1.5e21, "1.5e+21"},
           {1e100, "1e+100"},
           {1.7976931348623157e308, "1.7976931348623157e+308"},
           {9007199254740992.0, "9007199254740992"},
           {18446744073709551616.0, "18446744073709552000"},
           {0.000001, "0.000001"},
           {0.000001234, "0.000001234"},
           {1e-7, "1e-7"},
           {1.5e-7, "1.5e-7"},
           {123e-20, "1.23e-18"},
           {5e-324, "5e-324"},
           {2.2250738585072014e-308, "2.2250738585072014e-308"},
           {0.0, "0"},
           {-0.0, "0"},
           {std::numeric_limits<double>::infinity(), "null"},
           {-std::numeric_limits<double>::infinity(), "null"},
           {std::numeric_limits<double>::quiet_NaN(), "null"},
       }) {
    EXPECT_EQ(stringify(value), js) << js;
  }
}

TEST(SioPacketEncodeJson, OtherScalars) {
  EXPECT_EQ(stringify(nullptr), "null");
  EXPECT_EQ(stringify(true), "true");
  EXPECT_EQ(stringify(false), "false");
}

TEST(SioPacketEncodeJson, StringsEscapeOnlyWhatJsonStringifyEscapes) {
  // JSON.stringify: '"' and '\', \b \t \n \f \r, other controls as lowercase \u00xx.
  EXPECT_EQ(stringify("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(stringify("\b\t\n\f\r"), R"("\b\t\n\f\r")");
  EXPECT_EQ(stringify(json::string(std::string_view("\0\x01\x0b\x1a\x1f", 5))), R"("\u0000\u0001\u000b\u001a\u001f")");
  // Not '/', not DEL, not U+2028/U+2029, not non-ASCII.
  EXPECT_EQ(stringify("</script>"), R"("</script>")");
  EXPECT_EQ(stringify("\x7f"), "\"\x7f\"");
  EXPECT_EQ(stringify("\xe2\x80\xa8\xe2\x80\xa9"), "\"\xe2\x80\xa8\xe2\x80\xa9\"");
  EXPECT_EQ(stringify("café 日本 \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf"),
            "\"café 日本 \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"");
  EXPECT_EQ(stringify(""), R"("")");
}

TEST(SioPacketEncodeJson, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  // One U+FFFD per maximal subpart (Unicode §3.9), so a text frame stays valid UTF-8.
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(stringify("a\xff" "b"), "\"a" + r + "b\"");
  EXPECT_EQ(stringify("\xff\xfe"), "\"" + r + r + "\"");
  EXPECT_EQ(stringify("\x80"), "\"" + r + "\"");
  EXPECT_EQ(stringify("\xe2\x82"), "\"" + r + "\"");                  // € cut short
  EXPECT_EQ(stringify("\xe2\x82x"), "\"" + r + "x\"");
  EXPECT_EQ(stringify("\xf0\x9f\x98"), "\"" + r + "\"");              // 😀 cut short
  EXPECT_EQ(stringify("\xed\xa0\x80"), "\"" + r + r + r + "\"");      // a surrogate
  EXPECT_EQ(stringify("\xc0\xaf"), "\"" + r + r + "\"");              // overlong '/'
  EXPECT_EQ(stringify("\xe0\x80\xaf"), "\"" + r + r + r + "\"");      // overlong '/'
  EXPECT_EQ(stringify("\xf4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // past U+10FFFF
  EXPECT_EQ(stringify("\xf8\x88\x80\x80\x80"), "\"" + r + r + r + r + r + "\"");
  EXPECT_EQ(stringify("\xc3\xa9\xc3"), "\"\xc3\xa9" + r + "\"");
  // In keys too.
  json::object o;
  o["\xff"] = 1;
  EXPECT_EQ(stringify(o), "{\"" + r + "\":1}");
}

TEST(SioPacketEncodeJson, ArraysAndObjectsAreCompact) {
  EXPECT_EQ(stringify(json::array{}), "[]");
  EXPECT_EQ(stringify(json::object{}), "{}");
  EXPECT_EQ(stringify(J(R"( { "a" : [ 1 , { "b" : null } , [ ] ] , "c" : "d" } )")), R"({"a":[1,{"b":null},[]],"c":"d"})");
  EXPECT_EQ(stringify(J(R"({"b":1,"a":2,"1":3})")), R"({"b":1,"a":2,"1":3})");  // in the object's order
  EXPECT_EQ(stringify(J(R"({"a\"b":"\n"})")), R"({"a\"b":"\n"})");
}

TEST(SioPacketEncodeJson, SameAsBoostJsonWhereThatIsRight) {
  // For values without doubles, Boost.JSON's serialize already writes JSON.stringify's
  // bytes; the encoder agrees with it there.
  for (std::string_view text :
       {R"(["a",1,-2,true,false,null,{"x":[{}],"y":"\u0001\u001f\"\\/"}])", R"({"sid":"oSO0OpakMV_3jnilAAAA"})",
        R"(["é€😀","\u2028",18446744073709551615,-9223372036854775808])", R"([[[[[]]]]])"}) {
    json::value v = J(text);
    EXPECT_EQ(stringify(v), json::serialize(v)) << text;
  }
}

TEST(SioPacketEncodeJson, LongValues) {
  // Long strings, escapes and multi-byte characters at every offset, and many small
  // values: checked against core::json_quote (which escapes the same characters but
  // \b and \f, left out here) and Boost.JSON's serialize (right where there is no double).
  std::string text;
  for (int i = 0; text.size() < 5000; ++i) {
    text += std::string(static_cast<std::size_t>(i % 13), 'x');
    text += i % 3 == 0 ? "\"" : i % 3 == 1 ? "é€😀" : "\n\x01\\";
  }
  // The first n bytes or fewer, cut between characters.
  auto head = [&](std::size_t n) {
    n = std::min(n, text.size());
    while (n > 0 && n < text.size() && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
    return text.substr(0, n);
  };
  for (std::size_t n : std::initializer_list<std::size_t>{0, 1, 7, 8, 9, 255, 256, 257, 511, 512, 513, 1000, 5000}) {
    std::string piece = head(n);
    EXPECT_TRUE(stringify(json::string(piece)) == core::json_quote(piece)) << n;
  }
  json::array many;
  for (std::size_t i = 0; i < 2000; ++i) {
    many.emplace_back(static_cast<std::int64_t>(i) * 7919 - 5000);
    many.emplace_back(head(i % 50));
    many.emplace_back(json::object{{head(i % 9), i % 2 == 0}});
  }
  EXPECT_TRUE(stringify(many) == json::serialize(many));
  // Appended after what the string held.
  std::string out = "prefix";
  append_text(out, make(PacketType::ack, "/", 1, json::array{json::string(text)}));
  EXPECT_TRUE(out == "prefix31[" + core::json_quote(text) + "]");
}

// --- encoding: the header --------------------------------------------------------------

TEST(SioPacketEncode, Header) {
  EXPECT_EQ(encode_text(make(PacketType::connect, "/", std::nullopt, nullptr)), "0");
  EXPECT_EQ(encode_text(make(PacketType::connect, "", std::nullopt, nullptr)), "0");  // as "/" (reference: !obj.nsp)
  EXPECT_EQ(encode_text(make(PacketType::connect, "/admin", std::nullopt, nullptr)), "0/admin,");
  EXPECT_EQ(encode_text(make(PacketType::disconnect, "/", 4, nullptr)), "14");
  EXPECT_EQ(encode_text(make(PacketType::event, "/", 0, J(R"(["a"])"))), R"(20["a"])");
  EXPECT_EQ(encode_text(make(PacketType::event, "/", max_safe, J(R"(["a"])"))), R"(29007199254740991["a"])");
  EXPECT_EQ(encode_text(make(PacketType::ack, "/x", 0, J("[]"))), "3/x,0[]");
  EXPECT_EQ(encode_text(make(PacketType::connect_error, "/", std::nullopt, "no")), R"(4"no")");
  // The attachment count is the number of attachments.
  std::vector<std::string> three = {"a", "b", "c"};
  EXPECT_EQ(encode_text(make(PacketType::binary_event, "/", std::nullopt, J(R"(["a"])"), three)), R"(53-["a"])");
  EXPECT_EQ(encode_text(make(PacketType::binary_ack, "/n", 9, J("[]"), std::vector<std::string>(12, "x"))),
            "612-/n,9[]");
  // Non-binary types carry no count, whatever attachments hold.
  EXPECT_EQ(encode_text(make(PacketType::event, "/", std::nullopt, J(R"(["a"])"), three)), R"(2["a"])");
}

// --- round trips -----------------------------------------------------------------------

::testing::AssertionResult round_trips(const Packet& p) {
  std::string text = encode_text(p);
  Decoder decoder;
  auto status = decoder.add_text(text);
  for (const auto& a : p.attachments) {
    if (status != Decoder::Status::need_attachments) break;
    status = decoder.add_binary(a);
  }
  if (status != Decoder::Status::complete)
    return ::testing::AssertionFailure() << text << ": status " << static_cast<int>(status) << " error "
                                         << ::testing::PrintToString(decoder.error());
  if (!same(decoder.packet(), p))
    return ::testing::AssertionFailure() << text << " decodes to " << ::testing::PrintToString(decoder.packet());
  if (encode_text(decoder.packet()) != text) return ::testing::AssertionFailure() << text << " re-encodes differently";
  return ::testing::AssertionSuccess() << text;
}

TEST(SioPacketRoundTrip, EveryTypeNamespaceAndId) {
  const std::vector<std::string> namespaces = {"/", "/admin", "/a/b", "/café", "/日本語", "/\xf0\x9f\x98\x80", "/1"};
  const std::vector<std::optional<std::uint64_t>> ids = {std::nullopt, 0, 1, 12, max_safe};
  const std::string two_placeholders = R"([{"_placeholder":true,"num":1},{"x":[{"_placeholder":true,"num":0}]}])";
  for (const auto& nsp : namespaces) {
    for (const auto& id : ids) {
      SCOPED_TRACE(nsp + " " + (id ? std::to_string(*id) : "-"));
      EXPECT_TRUE(round_trips(make(PacketType::connect, nsp, id, nullptr)));
      EXPECT_TRUE(round_trips(make(PacketType::connect, nsp, id, J(R"({"token":"abc","n":1.5})"))));
      EXPECT_TRUE(round_trips(make(PacketType::connect, nsp, id, json::object{})));
      EXPECT_TRUE(round_trips(make(PacketType::disconnect, nsp, id, nullptr)));
      EXPECT_TRUE(round_trips(make(PacketType::event, nsp, id, J(R"(["chat message","hi \"you\"",{"n":[1,2.5,-3]}])"))));
      EXPECT_TRUE(round_trips(make(PacketType::event, nsp, id, J(R"([42])"))));
      EXPECT_TRUE(round_trips(make(PacketType::ack, nsp, id, J("[]"))));
      EXPECT_TRUE(round_trips(make(PacketType::ack, nsp, id, J(R"([null,{"success":true}])"))));
      EXPECT_TRUE(round_trips(make(PacketType::connect_error, nsp, id, "nope")));
      EXPECT_TRUE(round_trips(make(PacketType::connect_error, nsp, id, J(R"({"message":"Not authorized"})"))));
      EXPECT_TRUE(round_trips(make(PacketType::binary_event, nsp, id,
                                   J(R"(["upload",{"_placeholder":true,"num":0}])"), {std::string("\0\xff", 2)})));
      EXPECT_TRUE(round_trips(make(PacketType::binary_event, nsp, id, J(std::string(R"(["two",)") + two_placeholders.substr(1)),
                                   {"first", ""})));
      EXPECT_TRUE(round_trips(make(PacketType::binary_ack, nsp, id, J(two_placeholders), {"a", "b"})));
    }
  }
}

TEST(SioPacketRoundTrip, StringsAndNumbers) {
  std::string all_ascii;
  for (int c = 1; c < 128; ++c) all_ascii += static_cast<char>(c);
  json::array data = {"s", json::string(all_ascii), json::string(std::string_view("\0", 1)),
                      "é€😀\xe2\x80\xa8", 0.1, 1e21, 1e-7, 5e-324, -0.5, 1.7976931348623157e308,
                      std::int64_t{-1}, std::numeric_limits<std::uint64_t>::max(), std::numeric_limits<std::int64_t>::min()};
  EXPECT_TRUE(round_trips(make(PacketType::event, "/", 5, json::value(data))));
}

// --- the Decoder -----------------------------------------------------------------------

TEST(SioPacketDecoder, TextPacketsCompleteAtOnce) {
  Decoder d;
  EXPECT_TRUE(d.idle());
  ASSERT_EQ(d.add_text(R"(2["foo"])"), Decoder::Status::complete);
  EXPECT_EQ(d.error(), DecodeError::none);
  EXPECT_TRUE(d.idle());
  EXPECT_TRUE(packets_equal(d.packet(), make(PacketType::event, "/", std::nullopt, J(R"(["foo"])"))));
  ASSERT_EQ(d.add_text("1/admin,"), Decoder::Status::complete);
  EXPECT_TRUE(packets_equal(d.packet(), make(PacketType::disconnect, "/admin", std::nullopt, nullptr)));
}

TEST(SioPacketDecoder, BinaryPacketWaitsForItsAttachments) {
  Decoder d;
  ASSERT_EQ(d.add_text(R"(51-["baz",{"_placeholder":true,"num":0}])"), Decoder::Status::need_attachments);
  EXPECT_FALSE(d.idle());
  EXPECT_EQ(d.error(), DecodeError::none);
  const std::string buf("\x01\x02\x03\x04", 4);
  ASSERT_EQ(d.add_binary(buf), Decoder::Status::complete);
  EXPECT_TRUE(d.idle());
  EXPECT_TRUE(packets_equal(d.packet(), make(PacketType::binary_event, "/", std::nullopt,
                                             J(R"(["baz",{"_placeholder":true,"num":0}])"), {buf})));
  // And the next packet starts afresh.
  ASSERT_EQ(d.add_text(R"(2["x"])"), Decoder::Status::complete);
  EXPECT_TRUE(d.packet().attachments.empty());
}

TEST(SioPacketDecoder, SeveralAttachmentsInOrder) {
  Decoder d;
  ASSERT_EQ(d.add_text(R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"),
            Decoder::Status::need_attachments);
  ASSERT_EQ(d.add_binary(std::string("\x01\x02", 2)), Decoder::Status::need_attachments);
  EXPECT_FALSE(d.idle());
  ASSERT_EQ(d.add_binary(std::string("\x03\x04", 2)), Decoder::Status::complete);
  EXPECT_EQ(d.packet().attachments, (std::vector<std::string>{std::string("\x01\x02", 2), std::string("\x03\x04", 2)}));
  EXPECT_EQ(d.packet().nsp, "/admin");
}

TEST(SioPacketDecoder, TenAttachmentsAndEmptyOnes) {
  std::string data = R"(["many")";
  for (int i = 0; i < 10; ++i) data += "," + placeholder(i);
  data += "]";
  Decoder d;
  ASSERT_EQ(d.add_text("510-" + data), Decoder::Status::need_attachments);
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
  for (int i = 0; i < 9; ++i) ASSERT_EQ(d.add_binary(i == 0 ? all_bytes : ""), Decoder::Status::need_attachments);
  ASSERT_EQ(d.add_binary("last"), Decoder::Status::complete);
  ASSERT_EQ(d.packet().attachments.size(), 10u);
  EXPECT_EQ(d.packet().attachments[0], all_bytes);
  EXPECT_EQ(d.packet().attachments[1], "");
  EXPECT_EQ(d.packet().attachments[9], "last");
}

TEST(SioPacketDecoder, BinaryWithoutATextPartIsAnError) {
  // socket.io-parser: "got binary data when not reconstructing a packet".
  Decoder d;
  EXPECT_EQ(d.add_binary("x"), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::bad_attachment_count);
  EXPECT_TRUE(d.idle());
  // One attachment too many.
  ASSERT_EQ(d.add_text(R"(51-["a",{"_placeholder":true,"num":0}])"), Decoder::Status::need_attachments);
  ASSERT_EQ(d.add_binary("1"), Decoder::Status::complete);
  EXPECT_EQ(d.add_binary("2"), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::bad_attachment_count);
  // After a text packet.
  ASSERT_EQ(d.add_text(R"(2["a"])"), Decoder::Status::complete);
  EXPECT_EQ(d.error(), DecodeError::none);
  EXPECT_EQ(d.add_binary("x"), Decoder::Status::error);
}

TEST(SioPacketDecoder, TextWhileAwaitingAttachmentsIsAnError) {
  // socket.io-parser: "got plaintext data when reconstructing a packet".
  Decoder d;
  ASSERT_EQ(d.add_text(R"(52-["a",{"_placeholder":true,"num":0}])"), Decoder::Status::need_attachments);
  ASSERT_EQ(d.add_binary("1"), Decoder::Status::need_attachments);
  EXPECT_EQ(d.add_text(R"(2["b"])"), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::bad_attachment_count);
  // The Decoder is idle again: the connection is closed anyway, but nothing lingers.
  EXPECT_TRUE(d.idle());
  EXPECT_EQ(d.add_binary("2"), Decoder::Status::error);
  ASSERT_EQ(d.add_text(R"(2["b"])"), Decoder::Status::complete);
  EXPECT_EQ(d.packet().data, J(R"(["b"])"));
}

TEST(SioPacketDecoder, BadTextIsAnError) {
  Decoder d;
  EXPECT_EQ(d.add_text(R"(2["connect"])"), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::invalid_payload);
  EXPECT_TRUE(d.idle());
  EXPECT_EQ(d.add_text(""), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::empty);
  EXPECT_EQ(d.add_text(R"(511-["a"])"), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::bad_attachment_count);
  EXPECT_EQ(d.add_binary("x"), Decoder::Status::error);  // the refused header awaits nothing
}

TEST(SioPacketDecoder, LimitsApply) {
  DecodeLimits limits;
  limits.max_attachments = 1;
  limits.max_json_depth = 2;
  Decoder d(limits);
  EXPECT_EQ(d.add_text(R"(52-["a"])"), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::bad_attachment_count);
  EXPECT_EQ(d.add_text(R"(2["a",[[1]]])"), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::bad_json);
  // A placeholder is an object: it counts towards the depth.
  EXPECT_EQ(d.add_text(R"(51-["a",[{"_placeholder":true,"num":0}]])"), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::bad_json);
  EXPECT_EQ(d.add_text(R"(51-["a",{"_placeholder":true,"num":0}])"), Decoder::Status::need_attachments);
}

TEST(SioPacketDecoder, PlaceholderNamingNoAttachmentIsAnError) {
  // socket.io-parser's reconstructPacket: "illegal attachments".
  Decoder d;
  ASSERT_EQ(d.add_text(R"(51-["a",{"_placeholder":true,"num":1}])"), Decoder::Status::need_attachments);
  EXPECT_EQ(d.add_binary("x"), Decoder::Status::error);
  EXPECT_EQ(d.error(), DecodeError::illegal_attachments);
  EXPECT_TRUE(d.idle());
}

TEST(SioPacketDecoder, ThePacketCanBeMovedOut) {
  Decoder d;
  ASSERT_EQ(d.add_text(R"(51-["a",{"_placeholder":true,"num":0}])"), Decoder::Status::need_attachments);
  ASSERT_EQ(d.add_binary("bin"), Decoder::Status::complete);
  Packet taken = std::move(d.packet());
  EXPECT_EQ(taken.attachments, std::vector<std::string>{"bin"});
  ASSERT_EQ(d.add_text(R"(3/x,1[])"), Decoder::Status::complete);
  EXPECT_TRUE(packets_equal(d.packet(), make(PacketType::ack, "/x", 1, J("[]"))));
}

// --- placeholders ------------------------------------------------------------------------

DecodeError check(PacketType type, std::string_view data, std::size_t attachments) {
  return check_attachments(make(type, "/", std::nullopt, J(data), std::vector<std::string>(attachments, "b")));
}

TEST(SioPacketPlaceholders, NumNamesAnAttachment) {
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"_placeholder":true,"num":0}])", 1), DecodeError::none);
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"_placeholder":true,"num":2}])", 3), DecodeError::none);
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"_placeholder":true,"num":1}])", 1),
            DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"_placeholder":true,"num":-1}])", 1),
            DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"_placeholder":true,"num":18446744073709551615}])", 1),
            DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":10}])", 10), DecodeError::illegal_attachments);
}

TEST(SioPacketPlaceholders, NumMustBeAWholeNumber) {
  // The reference takes any number in range (0.5 passes and becomes `undefined`).
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":0.5}])", 2), DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":"0"}])", 1), DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":null}])", 1), DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":[0]}])", 1), DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":true}])", 2), DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true}])", 1), DecodeError::illegal_attachments);
  // Whole numbers written as doubles are numbers all the same in JavaScript.
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":1.0}])", 2), DecodeError::none);
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":1e0}])", 2), DecodeError::none);
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":-0.0}])", 1), DecodeError::none);
  EXPECT_EQ(check(PacketType::binary_ack, R"([{"_placeholder":true,"num":2.0}])", 2), DecodeError::illegal_attachments);
}

TEST(SioPacketPlaceholders, NestedAtAnyDepth) {
  const std::string deep = R"(["a",{"x":[1,{"y":{"z":[{"_placeholder":true,"num":1}]}}]},[[{"_placeholder":true,"num":0}]]])";
  EXPECT_EQ(check(PacketType::binary_event, deep, 2), DecodeError::none);
  EXPECT_EQ(check(PacketType::binary_event, deep, 1), DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"k":{"_placeholder":true,"num":5}}])", 5),
            DecodeError::illegal_attachments);
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",[[[[{"_placeholder":true,"num":5}]]]]])", 6), DecodeError::none);
}

TEST(SioPacketPlaceholders, OnlyTrueMakesAPlaceholder) {
  // `data._placeholder === true`: anything else is an ordinary object, whose members are
  // visited; a placeholder's other members are not.
  for (std::string_view flag : {"false", "1", R"("true")", "null", "[true]"})
    EXPECT_EQ(check(PacketType::binary_event,
                    R"(["a",{"_placeholder":)" + std::string(flag) + R"(,"num":9,"x":{"_placeholder":true,"num":9}}])", 1),
              DecodeError::illegal_attachments)
        << flag;
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"_placeholder":false,"num":9}])", 1), DecodeError::none);
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":9}}])", 1),
            DecodeError::none);
  // Duplicate keys: the last one counts, as in JSON.parse.
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"_placeholder":true,"num":0,"num":3}])", 1),
            DecodeError::illegal_attachments);
}

TEST(SioPacketPlaceholders, NotEveryAttachmentNeedsAPlaceholder) {
  // reconstructPacket checks the nums only.
  EXPECT_EQ(check(PacketType::binary_event, R"(["a"])", 3), DecodeError::none);
  EXPECT_EQ(check(PacketType::binary_event, R"(["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])", 1),
            DecodeError::none);
}

TEST(SioPacketPlaceholders, OnlyBinaryPacketsHaveAttachments) {
  // In other packets a placeholder is plain data (socket.io-parser reconstructs binary
  // packets only).
  EXPECT_EQ(check(PacketType::event, R"(["a",{"_placeholder":true,"num":0}])", 0), DecodeError::none);
  EXPECT_EQ(check(PacketType::ack, R"([{"_placeholder":true,"num":7}])", 0), DecodeError::none);
  EXPECT_EQ(check(PacketType::event, R"(["a"])", 1), DecodeError::illegal_attachments);
  // And a binary packet has at least one.
  EXPECT_EQ(check(PacketType::binary_event, R"(["a"])", 0), DecodeError::illegal_attachments);
  // A text EVENT with a placeholder decodes as data.
  Decoder d;
  ASSERT_EQ(d.add_text(R"(2["a",{"_placeholder":true,"num":0}])"), Decoder::Status::complete);
  EXPECT_EQ(d.packet().type, PacketType::event);
}

// --- every split of the header: all prefixes of valid packets are handled ---------------

TEST(SioPacketPrefixes, EveryPrefixOfAValidPacketDecodesOrFailsCleanly) {
  for (const auto& ex : protocol_examples()) {
    for (std::size_t n = 0; n <= ex.text.size(); ++n) {
      std::string prefix = ex.text.substr(0, n);
      Decoded d = decode(prefix);
      if (d.error == DecodeError::none) {
        d.packet.attachments.assign(d.expected, "b");
        // What decodes re-encodes to something that decodes the same.
        Decoded again = decode(encode_text(d.packet));
        again.packet.attachments.assign(again.expected, "b");
        EXPECT_EQ(again.error, DecodeError::none) << prefix;
        EXPECT_TRUE(packets_equal(again.packet, d.packet)) << prefix;
      }
    }
  }
}

}  // namespace
}  // namespace switchboard::sio
