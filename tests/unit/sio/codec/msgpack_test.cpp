// The msgpack parser against the bytes notepack.io 2.2 (under socket.io-msgpack-parser
// 3.0.2) writes for the same JavaScript values; the hex strings were produced once with
// `node -e 'console.log(require("notepack.io").encode(value).toString("hex"))'`.

#include "sio/codec/msgpack.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::sio {
namespace {

namespace json = boost::json;

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

Packet event(json::value data, std::string nsp = "/") {
  Packet p;
  p.type = PacketType::event;
  p.nsp = std::move(nsp);
  p.data = std::move(data);
  return p;
}

Packet decoded(std::string_view hex_bytes) {
  Packet p;
  EXPECT_EQ(decode_msgpack(unhex(hex_bytes), {}, p), DecodeError::none) << hex_bytes;
  return p;
}

DecodeError error_of(std::string_view hex_bytes, DecodeLimits limits = {}) {
  Packet p;
  return decode_msgpack(unhex(hex_bytes), limits, p);
}

TEST(Msgpack, EncodesAnEventAsNotepackDoes) {
  // {type:2, data:['hello',1,-1,1.5,null,true,{a:[1,2]}], nsp:'/'}
  Packet p = event(json::parse(R"(["hello",1,-1,1.5,null,true,{"a":[1,2]}])"));
  EXPECT_EQ(hex(encode_msgpack(p)),
            "83a47479706502a46461746197a568656c6c6f01ffcb3ff8000000000000c0c381a161920102a36e7370a12f");
}

TEST(Msgpack, BinaryTravelsInlineAsBinWithTheEventType) {
  // {type:2, data:['bin', Buffer.from([1,2,3])], nsp:'/chat', id:7}
  Packet p = event(json::parse(R"(["bin",{"_placeholder":true,"num":0}])"), "/chat");
  p.type = PacketType::binary_event;
  p.attachments = {std::string("\x01\x02\x03", 3)};
  p.id = 7;
  const std::string bytes = encode_msgpack(p);
  EXPECT_EQ(hex(bytes), "84a47479706502a46461746192a362696ec403010203a36e7370a52f63686174a2696407");

  Packet back;
  ASSERT_EQ(decode_msgpack(bytes, {}, back), DecodeError::none);
  EXPECT_EQ(back.type, PacketType::binary_event);
  EXPECT_EQ(back.nsp, "/chat");
  EXPECT_EQ(back.id, 7u);
  EXPECT_EQ(back.data, p.data);
  EXPECT_EQ(back.attachments, p.attachments);
}

TEST(Msgpack, IntegersInTheSmallestFormAndWholeDoublesAsIntegers) {
  const std::pair<json::value, const char*> cases[] = {
      {127, "7f"},
      {128, "cc80"},
      {255, "ccff"},
      {256, "cd0100"},
      {65535, "cdffff"},
      {65536, "ce00010000"},
      {4294967295LL, "ceffffffff"},
      {4294967296LL, "cf0000000100000000"},
      {9007199254740991LL, "cf001fffffffffffff"},
      {-32, "e0"},
      {-33, "d0df"},
      {-128, "d080"},
      {-129, "d1ff7f"},
      {-32768, "d18000"},
      {-32769, "d2ffff7fff"},
      {-2147483648LL, "d280000000"},
      {-2147483649LL, "d3ffffffff7fffffff"},
      {-9007199254740991LL, "d3ffe0000000000001"},
      {0.1, "cb3fb999999999999a"},
      {65536.0, "ce00010000"},
      {-0.0, "00"},
  };
  for (const auto& [value, expected] : cases) {
    Packet p = event(json::array{value});
    const std::string bytes = encode_msgpack(p);
    // 83 a4"type" 02 a4"data" 91 <value> a3"nsp" a12f
    const std::string prefix = "83a47479706502a46461746191";
    EXPECT_EQ(hex(bytes), prefix + expected + "a36e7370a12f") << json::serialize(value);
  }
  // notepack.io writes 1e300 as a broken uint64; a double that large stays a double here.
  Packet big = event(json::array{1e300});
  Packet back;
  ASSERT_EQ(decode_msgpack(encode_msgpack(big), {}, back), DecodeError::none);
  EXPECT_EQ(back.data.at(0).as_double(), 1e300);
}

TEST(Msgpack, StringArrayAndMapHeadersAtEachSize) {
  auto header_of = [](const json::value& v) {
    Packet p = event(json::array{v});
    std::string h = hex(encode_msgpack(p));
    return h.substr(std::string("83a47479706502a46461746191").size(), 12);
  };
  EXPECT_EQ(header_of(json::string(31, 'a')).substr(0, 4), "bf61");
  EXPECT_EQ(header_of(json::string(32, 'a')).substr(0, 6), "d92061");
  EXPECT_EQ(header_of(json::string(256, 'a')).substr(0, 8), "da010061");
  EXPECT_EQ(header_of(json::string(65536, 'a')).substr(0, 12), "db0001000061");
  EXPECT_EQ(header_of(json::array(16, 0)).substr(0, 8), "dc001000");
  json::object sixteen;
  for (int i = 0; i < 16; ++i) sixteen["k" + std::to_string(i)] = i;
  EXPECT_EQ(header_of(sixteen).substr(0, 8), "de0010a2");
}

TEST(Msgpack, DecodesWhatTheClientSends) {
  // socket.io-client's emit('x', arrayBuffer, undefined, date) with its options member:
  // {type:2, data:['x', new Uint8Array([9,8]).buffer, undefined,
  //  new Date(Date.UTC(2026,10,26,10,46,24,5))], options:{compress:true}, nsp:'/'}
  Packet p = decoded(
      "84a47479706502a46461746194a178c702000908d40000d700000001a21776b005a76f7074696f6e7381a8636f6d707265"
      "7373c3a36e7370a12f");
  EXPECT_EQ(p.type, PacketType::binary_event);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_FALSE(p.id);
  EXPECT_EQ(p.data, json::parse(R"(["x",{"_placeholder":true,"num":0},null,"2026-11-26T10:46:24.005Z"])"));
  EXPECT_EQ(p.attachments, (std::vector<std::string>{std::string("\x09\x08", 2)}));
}

TEST(Msgpack, OtherValuesAsNotepackDecodesThem) {
  // float 32 1.5; ext type 5 → [5, bytes]; fixext 4 type 0 → [0, bytes]; an integer key.
  Packet p = decoded("83a474797065" "02" "a464617461" "95a178" "ca3fc00000" "c7010561" "d60001020304"
                     "81" "07" "c3" "a36e7370a12f");
  EXPECT_EQ(p.data, json::parse(R"(["x",1.5,[5,{"_placeholder":true,"num":0}],[0,{"_placeholder":true,"num":1}],{"7":true}])"));
  EXPECT_EQ(p.attachments, (std::vector<std::string>{"a", std::string("\x01\x02\x03\x04", 4)}));
  // A Date before 1970 and one past year 9999.
  EXPECT_EQ(decoded("83a47479706502a46461746192a178d700ffffffffffffffff" "a36e7370a12f").data.at(1),
            "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(decoded("83a47479706502a46461746192a178d70000038d7ea4c68000" "a36e7370a12f").data.at(1),
            "+033658-09-27T01:46:40.000Z");  // new Date(1e15)
  EXPECT_EQ(decoded("83a47479706502a46461746192a178d7000000e8d4a5100000" "a36e7370a12f").data.at(1),
            "+010082-04-25T23:06:40.000Z");
}

TEST(Msgpack, PacketTypesAndTheirPayloads) {
  // CONNECT with auth, CONNECT without, DISCONNECT, ACK with an id.
  Packet c = decoded("83a47479706500a46461746181a178a179a36e7370a12f");
  EXPECT_EQ(c.type, PacketType::connect);
  EXPECT_EQ(c.data, json::parse(R"({"x":"y"})"));
  EXPECT_EQ(decoded("82a47479706500a36e7370a12f").data, nullptr);
  EXPECT_EQ(decoded("82a47479706501a36e7370a52f63686174").type, PacketType::disconnect);
  Packet ack = decoded("84a47479706503a46461746191c3a36e7370a12fa2696405");
  EXPECT_EQ(ack.type, PacketType::ack);
  EXPECT_EQ(ack.id, 5u);

  // What the server sends: CONNECT with the sid, CONNECT_ERROR with message and data.
  Packet reply;
  reply.type = PacketType::connect;
  reply.data = json::object{{"sid", "abc"}};
  EXPECT_EQ(hex(encode_msgpack(reply)), "83a47479706500a46461746181a3736964a3616263a36e7370a12f");
  Packet back;
  ASSERT_EQ(decode_msgpack(encode_msgpack(reply), {}, back), DecodeError::none);
  EXPECT_EQ(back.data, reply.data);
}

TEST(Msgpack, RefusesWhatIsNotAPacket) {
  EXPECT_EQ(error_of(""), DecodeError::empty);
  EXPECT_EQ(error_of("c1"), DecodeError::bad_json);                        // never used
  EXPECT_EQ(error_of("92a47479706502"), DecodeError::bad_json);            // not a map
  EXPECT_EQ(error_of("82a47479706502a36e7370a12f00"), DecodeError::bad_json);  // trailing byte
  EXPECT_EQ(error_of("83a47479706502a46461746191a5616263"), DecodeError::bad_json);  // cut short
  EXPECT_EQ(error_of("dd7fffffff"), DecodeError::bad_json);  // 2^31 elements in 0 bytes
  EXPECT_EQ(error_of("df7fffffff"), DecodeError::bad_json);
  EXPECT_EQ(error_of("83a47479706502a46461746191a1ffa36e7370a12f"), DecodeError::bad_json);  // not UTF-8
  EXPECT_EQ(error_of("83a47479706502a46461746191" "81c0c0" "a36e7370a12f"), DecodeError::bad_json);  // nil key

  EXPECT_EQ(error_of("82a47479706505a36e7370a12f"), DecodeError::unknown_type);  // BINARY_EVENT
  EXPECT_EQ(error_of("82a474797065ffa36e7370a12f"), DecodeError::unknown_type);  // -1
  EXPECT_EQ(error_of("82a474797065cb3ff8000000000000a36e7370a12f"), DecodeError::unknown_type);  // 1.5
  EXPECT_EQ(error_of("81a47479706502"), DecodeError::bad_namespace);
  EXPECT_EQ(error_of("82a47479706502a36e737001"), DecodeError::bad_namespace);
  EXPECT_EQ(error_of("84a47479706503a46461746190a36e7370a12fa26964ff"), DecodeError::bad_ack_id);
  EXPECT_EQ(error_of("84a47479706503a46461746190a36e7370a12fa26964a131"), DecodeError::bad_ack_id);

  // Payload rules: an event needs a name that is not reserved; DISCONNECT carries nothing.
  EXPECT_EQ(error_of("83a47479706502a46461746190a36e7370a12f"), DecodeError::invalid_payload);
  EXPECT_EQ(error_of("83a47479706502a464617461" "91aa646973636f6e6e656374" "a36e7370a12f"),
            DecodeError::invalid_payload);
  EXPECT_EQ(error_of("83a47479706501a46461746190a36e7370a12f"), DecodeError::invalid_payload);
  EXPECT_EQ(error_of("83a47479706500a46461746190a36e7370a12f"), DecodeError::invalid_payload);
  // Binary in a CONNECT's auth has nowhere to go.
  EXPECT_EQ(error_of("83a47479706500a46461746181a162c40101a36e7370a12f"), DecodeError::invalid_payload);
}

TEST(Msgpack, NestingDeeperThanTheLimitIsRefused) {
  auto nested = [](int depth) {
    std::string h = "83a47479706502a464617461" "92a178";
    for (int i = 0; i < depth; ++i) h += "91";
    h += "01a36e7370a12f";
    return h;
  };
  DecodeLimits limits;
  limits.max_json_depth = 8;
  // As the JSON parser counts: data and 7 arrays inside it are 8 levels.
  EXPECT_EQ(error_of(nested(7), limits), DecodeError::none);
  EXPECT_EQ(error_of(nested(8), limits), DecodeError::bad_json);
}

}  // namespace
}  // namespace switchboard::sio
