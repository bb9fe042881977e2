// Unit tests of the load generator's pure parts: the histogram's bucket arithmetic and
// percentiles, URL parsing, the chat scenario's options and packets, HTTP responses, and
// the WebSocket, Engine.IO and Socket.IO
// client transports fed with the bytes a server would send (every split point of the
// input, as STYLE.md §13 asks of codecs).

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "chat_codec.hpp"
#include "core/encoding.hpp"
#include "eio_transport.hpp"
#include "histogram.hpp"
#include "http_response.hpp"
#include "options.hpp"
#include "random.hpp"
#include "sio/codec/packet.hpp"
#include "sio_transport.hpp"
#include "ws/codec/frame.hpp"
#include "ws_transport.hpp"

namespace switchboard::loadgen {
namespace {

TEST(Histogram, BucketsCoverEveryValueWithinOnePercent) {
  for (std::uint64_t v : std::initializer_list<std::uint64_t>{0, 1, 255, 256, 257, 1000, 123456, 999'999'999,
                          Histogram::max_trackable}) {
    std::size_t i = Histogram::index_of(v);
    ASSERT_LT(i, Histogram::bucket_count) << v;
    EXPECT_LE(Histogram::lowest_in_bucket(i), v) << v;
    EXPECT_GE(Histogram::highest_in_bucket(i), v) << v;
    double width = static_cast<double>(Histogram::highest_in_bucket(i) - Histogram::lowest_in_bucket(i));
    EXPECT_LE(width, 0.01 * static_cast<double>(v) + 1) << v;
  }
  EXPECT_EQ(Histogram::index_of(Histogram::max_trackable), Histogram::bucket_count - 1);
  EXPECT_EQ(Histogram::index_of(Histogram::max_trackable * 10), Histogram::bucket_count - 1);
}

TEST(Histogram, BucketsAreContiguous) {
  for (std::size_t i = 1; i < Histogram::bucket_count; ++i) {
    ASSERT_EQ(Histogram::lowest_in_bucket(i), Histogram::highest_in_bucket(i - 1) + 1) << i;
    ASSERT_EQ(Histogram::index_of(Histogram::lowest_in_bucket(i)), i);
    ASSERT_EQ(Histogram::index_of(Histogram::highest_in_bucket(i)), i);
  }
}

TEST(Histogram, Percentiles) {
  Histogram h;
  EXPECT_EQ(h.value_at_percentile(50), 0u);
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);  // 1 µs … 1 ms
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), 1'000'000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_NEAR(static_cast<double>(h.value_at_percentile(50)), 500'000, 5'000);
  EXPECT_NEAR(static_cast<double>(h.value_at_percentile(99)), 990'000, 9'900);
  EXPECT_EQ(h.value_at_percentile(100), 1'000'000u);
  EXPECT_NEAR(h.mean(), 500'500, 1);

  Histogram other;
  other.record(5'000'000);
  h.merge(other);
  EXPECT_EQ(h.count(), 1001u);
  EXPECT_EQ(h.max(), 5'000'000u);
  EXPECT_EQ(h.value_at_percentile(100), 5'000'000u);
}

TEST(Url, Parses) {
  std::string error;
  auto url = parse_url("ws://127.0.0.1:8080/echo?x=1", error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path, "/echo?x=1");
  EXPECT_EQ(url->authority(), "127.0.0.1:8080");

  url = parse_url("ws://localhost", error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->path, "/");
  EXPECT_EQ(url->authority(), "localhost");

  url = parse_url("ws://[::1]:9000/ws", error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->authority(), "[::1]:9000");

  url = parse_url("http://127.0.0.1:3000/engine.io/", error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->port, 3000);
  EXPECT_EQ(url->path, "/engine.io/");

  for (const char* bad : {"ftp://x/", "https://x/", "wss://x/", "ws://:80/", "ws://x:0/", "ws://x:65536/",
                          "ws://x:8a/", "ws://[::1/"}) {
    EXPECT_FALSE(parse_url(bad, error)) << bad;
  }
}

// parse_options with these arguments after the program name; the exit code if it refused.
std::optional<int> parse(std::vector<std::string> args, Options& options) {
  args.insert(args.begin(), "sb-loadgen");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), options);
}

TEST(Options, Chat) {
  const std::string url = "http://127.0.0.1:3000/socket.io/";
  Options options;
  ASSERT_FALSE(parse({"--url", url, "--scenario", "chat", "--transport", "sio-websocket"}, options));
  EXPECT_EQ(options.connections, 10'000u);  // the issue's load unless told
  EXPECT_EQ(options.rooms, 100u);
  EXPECT_EQ(options.period_s, 10);
  Options small;
  ASSERT_FALSE(parse({"--url", url, "--scenario", "chat", "--transport", "sio-polling", "-c", "500", "--rooms", "20",
                      "--period", "2"},
                     small));
  EXPECT_EQ(small.connections, 500u);
  EXPECT_EQ(small.rooms, 20u);
  EXPECT_EQ(small.period_s, 2);
  Options refused;
  EXPECT_EQ(parse({"--url", url, "--scenario", "chat"}, refused), 2);  // rooms need Socket.IO
  EXPECT_EQ(parse({"--url", url, "--scenario", "chat", "--transport", "sio-websocket", "--size", "10001"}, refused), 2);
}

// --- chat packets ------------------------------------------------------------------------

// What both servers send for a new-message: the message as sent, and the room's name
// added at the end when it has none (as JSON.stringify of {...message, roomId} and
// Boost.JSON's insertion order write it).
std::string server_new_message(std::string_view message, std::string_view room, bool add_room) {
  boost::json::object object = boost::json::parse(message).as_object();
  if (add_room) object["roomId"] = room;
  return "2[\"new-message\"," + boost::json::serialize(object) + "]";
}

TEST(ChatCodec, WhatAClientSends) {
  ChatCodec codec(100, 12, 1'700'000'000'000'000'000 - 5'000'000'000);
  std::string out;
  codec.join_room(out, 0, 17);
  EXPECT_EQ(out, R"(20["join-room","room-17"])");
  out.clear();
  codec.typing(out, 1717);
  EXPECT_EQ(out, R"(2["typing",{"roomId":"room-17","username":"user 1717"}])");

  out.clear();
  ChatMessageId id{5'000'000'000 + 123'456'789, 1717, 42};
  codec.send_message(out, 43, id);
  ASSERT_EQ(out.rfind("243[", 0), 0u) << out;
  boost::json::array args = boost::json::parse(std::string_view(out).substr(3)).as_array();
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0], "send-message");
  const auto& payload = args[1].as_object();
  EXPECT_EQ(payload.at("roomId"), "room-17");
  // Every field follows from (send time, sender, number); the timestamp is wall-clock ms.
  EXPECT_EQ(boost::json::serialize(payload.at("message")),
            R"({"id":"000000013161bf15000006b50000002a","userId":"u1717","username":"user 1717",)"
            R"("text":"xyzabcdefghi","timestamp":1700000000123})");
  std::string alone;
  codec.message(alone, id);
  EXPECT_EQ(alone, boost::json::serialize(payload.at("message")));
}

TEST(ChatCodec, ReadsNewMessageAsEitherServerSendsIt) {
  ChatCodec codec(100, 32, 1'700'000'000'000'000'000);
  ChatMessageId sent{987'654'321'000, 1717, 7};
  std::string message, scratch;
  codec.message(message, sent);
  for (bool add_room : {true, false}) {
    std::string packet = server_new_message(message, "room-17", add_room);
    ChatMessageId got;
    ASSERT_TRUE(codec.read_new_message(packet, got, scratch)) << packet;
    EXPECT_EQ(got.sent_ns, sent.sent_ns);
    EXPECT_EQ(got.sender, 1717u);
    EXPECT_EQ(got.seq, 7u);
    EXPECT_EQ(ChatCodec::classify(packet), ChatPacketKind::new_message);
    // Any byte changed is noticed — a field, the text, the room's name, the end — but in
    // the send time, whose low digits may not change the timestamp's milliseconds.
    std::size_t time_digits = std::string_view(R"(2["new-message",{"id":")").size();
    for (std::size_t i = std::string_view(R"(2["new-message",)").size(); i < packet.size(); ++i) {
      if (i >= time_digits && i < time_digits + 16) continue;
      std::string bad = packet;
      bad[i] = bad[i] == 'a' ? 'b' : 'a';
      EXPECT_FALSE(codec.read_new_message(bad, got, scratch)) << bad;
    }
    EXPECT_FALSE(codec.read_new_message(packet.substr(0, packet.size() - 1), got, scratch));
  }
  ChatMessageId got;
  EXPECT_FALSE(codec.read_new_message(server_new_message(message, "room-18", true), got, scratch));
  // A message of another sender's number, in another room, reads as that sender's.
  ChatMessageId other{1, 18, 0};
  message.clear();
  codec.message(message, other);
  ASSERT_TRUE(codec.read_new_message(server_new_message(message, "room-18", true), got, scratch));
  EXPECT_EQ(codec.room_of(got.sender), 18u);
}

TEST(ChatCodec, TypingAcksAndTheRest) {
  std::uint32_t typist = 0;
  EXPECT_TRUE(ChatCodec::read_user_typing(R"(2["user-typing",{"userId":"Xy_z-1","username":"user 1717"}])", typist));
  EXPECT_EQ(typist, 1717u);
  for (std::string_view bad : {R"(2["user-typing",{"userId":"a","username":"user x"}])",
                               R"(2["user-typing",{"userId":"a","username":"user "}])",
                               R"(2["user-typing",{"userId":"a","username":"Alice"}])",
                               R"(2["user-typing",{"userId":"a\"","username":"user 1"}])",
                               R"(2["user-typing",{"username":"user 1"}])"}) {
    EXPECT_FALSE(ChatCodec::read_user_typing(bad, typist)) << bad;
  }

  std::uint64_t ack = 0;
  bool success = false;
  EXPECT_TRUE(ChatCodec::read_ack(R"(312[{"success":true}])", ack, success));
  EXPECT_EQ(ack, 12u);
  EXPECT_TRUE(success);
  EXPECT_TRUE(ChatCodec::read_ack(R"(30[{"success":false,"error":"roomId must …"}])", ack, success));
  EXPECT_EQ(ack, 0u);
  EXPECT_FALSE(success);
  for (std::string_view bad : {"3", "3[]", "31", "31{}", R"(2[{"success":true}])"}) {
    EXPECT_FALSE(ChatCodec::read_ack(bad, ack, success)) << bad;
  }

  EXPECT_EQ(ChatCodec::classify(R"(312[{"success":true}])"), ChatPacketKind::ack);
  EXPECT_EQ(ChatCodec::classify(R"(2["user-typing",{}])"), ChatPacketKind::user_typing);
  EXPECT_EQ(ChatCodec::classify(R"(2["user-joined",{}])"), ChatPacketKind::user_joined);
  EXPECT_EQ(ChatCodec::classify(R"(2["user-left",{}])"), ChatPacketKind::user_left);
  EXPECT_EQ(ChatCodec::classify(R"(2["online-users",[]])"), ChatPacketKind::online_users);
  EXPECT_EQ(ChatCodec::classify(R"(2["rate-limited",{}])"), ChatPacketKind::rate_limited);
  EXPECT_EQ(ChatCodec::classify(R"(2["new-messages",{}])"), ChatPacketKind::other);
  EXPECT_EQ(ChatCodec::classify(R"(2["direct-message",{}])"), ChatPacketKind::other);
}

// --- transports -----------------------------------------------------------------------

// Collects what the transport reports.
struct Events final : TransportEvents {
  void on_open() override { ++opens; }
  void on_message(std::span<const std::byte> payload, bool binary) override {
    messages.emplace_back(reinterpret_cast<const char*>(payload.data()), payload.size());
    binaries.push_back(binary);
  }
  int opens = 0;
  std::vector<std::string> messages;
  std::vector<bool> binaries;
};

std::string text_of(const ByteBuffer& buffer) {
  auto bytes = buffer.readable();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string server_frame(ws::Opcode opcode, std::string_view payload, bool fin = true) {
  std::array<std::byte, ws::max_frame_header_size> header;
  std::size_t size = ws::write_frame_header(header.data(), opcode, payload.size(), fin);
  return std::string(reinterpret_cast<const char*>(header.data()), size) + std::string(payload);
}

// Reads the client frames in `out`, unmasking them: (opcode, payload) pairs.
std::vector<std::pair<ws::Opcode, std::string>> client_frames(ByteBuffer& out) {
  std::vector<std::pair<ws::Opcode, std::string>> frames;
  auto bytes = out.readable();
  std::size_t at = 0;
  while (at < bytes.size()) {
    ws::FrameHeader header;
    EXPECT_EQ(ws::parse_frame_header(bytes.subspan(at), header), ws::HeaderStatus::complete);
    EXPECT_TRUE(header.masked);  // §5.3: every client frame is masked
    auto payload = bytes.subspan(at + header.header_size, header.payload_length);
    ws::mask_bytes(payload, header.mask);
    frames.emplace_back(header.opcode,
                        std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
    at += header.header_size + header.payload_length;
  }
  out.clear();
  return frames;
}

class WsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    url_ = *parse_url("ws://example.com:9000/echo", error);
    factory_ = make_ws_transport_factory(url_);
    transport_ = factory_->create(random_);
    transport_->start(0, outs_);
    request_ = text_of(out_);
    out_.clear();
    auto at = request_.find("Sec-WebSocket-Key: ");
    key_ = request_.substr(at + 19, 24);
  }

  std::string response(std::string accept = "") {
    if (accept.empty()) {
      auto digest = core::sha1(key_ + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
      accept = core::base64_encode(std::span<const std::byte>(digest));
    }
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " + accept + "\r\n\r\n";
  }

  FeedStatus feed(std::string bytes) {
    std::vector<std::byte> input(bytes.size());
    if (!bytes.empty()) std::memcpy(input.data(), bytes.data(), bytes.size());
    return transport_->feed(0, input, events_, outs_);
  }

  Random random_{42};
  Url url_;
  std::unique_ptr<TransportFactory> factory_;
  std::unique_ptr<Transport> transport_;
  Outputs outs_;
  ByteBuffer& out_ = outs_[0];
  Events events_;
  std::string request_;
  std::string key_;
};

TEST_F(WsTransportTest, RequestIsAnRfc6455Upgrade) {
  EXPECT_EQ(request_.rfind("GET /echo HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(request_.find("\r\nHost: example.com:9000\r\n"), std::string::npos);
  EXPECT_NE(request_.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(request_.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
  EXPECT_NE(request_.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  ASSERT_EQ(key_.size(), 24u);
  auto nonce = core::base64_decode(key_);
  ASSERT_TRUE(nonce);
  EXPECT_EQ(nonce->size(), 16u);
  EXPECT_EQ(request_.substr(request_.size() - 4), "\r\n\r\n");
}

TEST_F(WsTransportTest, EveryMessageAtEverySplitPoint) {
  std::string frames = server_frame(ws::Opcode::text, "hello") +
                       server_frame(ws::Opcode::binary, std::string(300, 'b')) +
                       server_frame(ws::Opcode::text, "frag", false) +
                       server_frame(ws::Opcode::ping, "p") +  // control frames may interleave
                       server_frame(ws::Opcode::continuation, "mented") +
                       server_frame(ws::Opcode::binary, "");
  std::size_t stream_size = response().size() + frames.size();
  for (std::size_t split = 0; split <= stream_size; ++split) {
    SetUp();  // a new transport, so a new key
    events_ = Events{};
    std::string stream = response() + frames;
    ASSERT_EQ(feed(stream.substr(0, split)), FeedStatus::ok) << split;
    ASSERT_EQ(feed(stream.substr(split)), FeedStatus::ok) << split;
    ASSERT_EQ(events_.opens, 1) << split;
    ASSERT_EQ(events_.messages.size(), 4u) << split;
    EXPECT_EQ(events_.messages[0], "hello");
    EXPECT_FALSE(events_.binaries[0]);
    EXPECT_EQ(events_.messages[1], std::string(300, 'b'));
    EXPECT_TRUE(events_.binaries[1]);
    EXPECT_EQ(events_.messages[2], "fragmented");
    EXPECT_EQ(events_.messages[3], "");
    auto replies = client_frames(out_);
    ASSERT_EQ(replies.size(), 1u) << split;
    EXPECT_EQ(replies[0].first, ws::Opcode::pong);
    EXPECT_EQ(replies[0].second, "p");
  }
}

TEST_F(WsTransportTest, SendsMaskedFrames) {
  ASSERT_EQ(feed(response()), FeedStatus::ok);
  std::string big(70'000, 'x');
  transport_->send(std::as_bytes(std::span(big.data(), big.size())), true, outs_);
  std::string small = "hi";
  transport_->send(std::as_bytes(std::span(small.data(), small.size())), false, outs_);
  auto frames = client_frames(out_);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].first, ws::Opcode::binary);
  EXPECT_EQ(frames[0].second, big);
  EXPECT_EQ(frames[1].first, ws::Opcode::text);
  EXPECT_EQ(frames[1].second, "hi");
}

TEST_F(WsTransportTest, OurCloseAnswered) {
  ASSERT_EQ(feed(response()), FeedStatus::ok);
  transport_->close(outs_);
  auto frames = client_frames(out_);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, ws::Opcode::close);
  EXPECT_EQ(frames[0].second, std::string("\x03\xe8", 2));  // 1000
  EXPECT_EQ(feed(server_frame(ws::Opcode::close, std::string("\x03\xe8", 2))), FeedStatus::closed);
  EXPECT_FALSE(transport_->closed_by_peer());
  EXPECT_TRUE(out_.empty());  // nothing more to say
}

TEST_F(WsTransportTest, ServerCloseIsEchoed) {
  ASSERT_EQ(feed(response()), FeedStatus::ok);
  EXPECT_EQ(feed(server_frame(ws::Opcode::close, std::string("\x03\xe9", 2) + "bye")), FeedStatus::closed);
  EXPECT_TRUE(transport_->closed_by_peer());
  auto frames = client_frames(out_);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, ws::Opcode::close);
  EXPECT_EQ(frames[0].second, std::string("\x03\xe9", 2));
}

TEST_F(WsTransportTest, BadHandshakesFail) {
  for (std::string bad : {
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"),
           std::string("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n"),
           std::string(9000, 'x'),
       }) {
    SetUp();
    EXPECT_EQ(feed(bad), FeedStatus::failed) << bad.substr(0, 40);
    EXPECT_FALSE(transport_->error().empty());
    EXPECT_EQ(events_.opens, 0);
  }
  SetUp();
  std::string with_extension = response();
  with_extension.insert(with_extension.size() - 2, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  EXPECT_EQ(feed(with_extension), FeedStatus::failed);
}

TEST_F(WsTransportTest, ProtocolViolationsFail) {
  std::string masked;
  {
    std::array<std::byte, ws::max_frame_header_size> header;
    std::array<std::byte, 4> key{};
    std::size_t size = ws::write_frame_header(header.data(), ws::Opcode::text, 1, true, false, &key);
    masked = std::string(reinterpret_cast<const char*>(header.data()), size) + "a";
  }
  std::string rsv = server_frame(ws::Opcode::text, "a");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  for (const std::string& bad : {masked, rsv, server_frame(ws::Opcode::continuation, "x"),
                                 server_frame(ws::Opcode::ping, std::string(126, 'p')),
                                 server_frame(ws::Opcode::ping, "p", false),
                                 server_frame(static_cast<ws::Opcode>(3), "x"),
                                 server_frame(ws::Opcode::close, "x")}) {
    SetUp();
    ASSERT_EQ(feed(response()), FeedStatus::ok);
    EXPECT_EQ(feed(bad), FeedStatus::failed) << static_cast<int>(bad[0]);
  }
}

// --- HTTP responses ---------------------------------------------------------------------

struct Parsed {
  ResponseStatus status;
  HttpResponse response;
  std::size_t size = 0;
  std::string body;
  std::string_view error;
};

Parsed parse(std::string_view data) {
  Parsed p;
  std::string scratch;
  p.status = parse_response(data, p.response, p.size, scratch, p.error);
  p.body = std::string(p.response.body);
  return p;
}

TEST(HttpResponse, ContentLengthAndChunkedAtEverySplitPoint) {
  const std::string fixed = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nhello";
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nhel\r\nA\r\nlo, world!\r\n0\r\nX-T: 1\r\n\r\n";
  for (const auto& [response, body] : {std::pair{fixed, std::string("hello")},
                                       std::pair{chunked, std::string("hello, world!")}}) {
    for (std::size_t split = 0; split < response.size(); ++split) {
      EXPECT_EQ(parse(std::string_view(response).substr(0, split)).status, ResponseStatus::need_more) << split;
    }
    // Two responses back to back: the first one's size says where the second starts.
    std::string two = response + response;
    Parsed p = parse(two);
    ASSERT_EQ(p.status, ResponseStatus::complete) << p.error;
    EXPECT_EQ(p.response.status, 200);
    EXPECT_EQ(p.body, body);
    EXPECT_EQ(p.size, response.size());
    EXPECT_FALSE(p.response.connection_close);
  }
}

TEST(HttpResponse, ConnectionClose) {
  Parsed p = parse("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_EQ(p.status, ResponseStatus::complete);
  EXPECT_EQ(p.response.status, 400);
  EXPECT_TRUE(p.response.connection_close);
  p = parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(p.status, ResponseStatus::complete);
  EXPECT_TRUE(p.response.connection_close);
  p = parse("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_EQ(p.status, ResponseStatus::complete);
  EXPECT_EQ(p.body, "");
}

TEST(HttpResponse, Refusals) {
  for (std::string bad : {
           std::string("HTTP/1.1 200 OK\r\n\r\n"),  // framed by nothing
           std::string("HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 100 Continue\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
           std::string("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n"),
           std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
           std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n"),
           std::string("HTTP/1.1 200 OK\r\n folded\r\nContent-Length: 0\r\n\r\n"),
           std::string(20000, 'x'),
       }) {
    Parsed p = parse(bad);
    EXPECT_EQ(p.status, ResponseStatus::invalid) << bad.substr(0, 60);
    EXPECT_FALSE(p.error.empty());
  }
}

// --- Engine.IO -----------------------------------------------------------------------------

std::string http_ok(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

constexpr std::string_view open_json =
    R"({"sid":"AAb-c_d","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000})";

// "0{json}" (built by append: GCC 12 warns wrongly on "0" + std::string, PR 105651).
std::string open_packet() { return std::string(1, '0').append(open_json); }

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }

// The request heads and bodies in a channel's output.
struct SentRequest {
  std::string head;
  std::string body;
};
std::vector<SentRequest> requests_in(ByteBuffer& out) {
  std::vector<SentRequest> requests;
  std::string text = text_of(out);
  out.clear();
  while (!text.empty()) {
    auto end = text.find("\r\n\r\n");
    EXPECT_NE(end, std::string::npos);
    if (end == std::string::npos) break;
    SentRequest r;
    r.head = text.substr(0, end + 4);
    std::size_t length = 0;
    if (auto at = r.head.find("Content-Length: "); at != std::string::npos) length = std::stoul(r.head.substr(at + 16));
    r.body = text.substr(end + 4, length);
    text.erase(0, end + 4 + length);
    requests.push_back(std::move(r));
  }
  return requests;
}

class PollingTest : public ::testing::Test {
 protected:
  void SetUp() override { make(false); }

  void make(bool one_channel) {
    std::string error;
    url_ = *parse_url("http://example.com:3000/engine.io/", error);
    factory_ = make_eio_polling_factory(url_, one_channel);
    transport_ = factory_->create(random_);
    for (auto& out : outs_) out.clear();
    events_ = Events{};
  }

  FeedStatus feed(unsigned channel, std::string bytes) {
    std::vector<std::byte> input(bytes.size());
    if (!bytes.empty()) std::memcpy(input.data(), bytes.data(), bytes.size());
    return transport_->feed(channel, input, events_, outs_);
  }

  // Both connections up, handshake done, the first poll out.
  void open() {
    transport_->start(0, outs_);
    EXPECT_TRUE(outs_[0].empty());  // the handshake waits for the POST connection
    transport_->start(1, outs_);
    EXPECT_TRUE(outs_[1].empty());
    auto handshake = requests_in(outs_[0]);
    ASSERT_EQ(handshake.size(), 1u);
    EXPECT_EQ(handshake[0].head,
              "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: example.com:3000\r\n\r\n");
    ASSERT_EQ(feed(0, http_ok(open_packet())), FeedStatus::ok) << transport_->error();
    ASSERT_EQ(events_.opens, 1);
    auto poll = requests_in(outs_[0]);
    ASSERT_EQ(poll.size(), 1u);
    EXPECT_EQ(poll[0].head,
              "GET /engine.io/?EIO=4&transport=polling&sid=AAb-c_d HTTP/1.1\r\nHost: example.com:3000\r\n\r\n");
  }

  Random random_{7};
  Url url_;
  std::unique_ptr<TransportFactory> factory_;
  std::unique_ptr<Transport> transport_;
  Outputs outs_;
  Events events_;
};

TEST_F(PollingTest, QueuedMessagesLeaveInOnePostAtATime) {
  open();
  transport_->send(bytes_of("hello"), false, outs_);
  transport_->send(bytes_of(std::string("\x00\xff\x10", 3)), true, outs_);
  transport_->before_flush(outs_);
  auto posts = requests_in(outs_[1]);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].head.rfind("POST /engine.io/?EIO=4&transport=polling&sid=AAb-c_d HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(posts[0].head.find("\r\nContent-Type: text/plain;charset=UTF-8\r\n"), std::string::npos);
  EXPECT_EQ(posts[0].head.find("Connection"), std::string::npos);
  EXPECT_EQ(posts[0].body, "4hello\x1e" "bAP8Q");
  // One POST in flight: what is sent meanwhile waits for the "ok".
  transport_->send(bytes_of("a"), false, outs_);
  transport_->send(bytes_of("b"), false, outs_);
  transport_->before_flush(outs_);
  EXPECT_TRUE(outs_[1].empty());
  ASSERT_EQ(feed(1, http_ok("ok")), FeedStatus::ok);
  transport_->before_flush(outs_);
  posts = requests_in(outs_[1]);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].body, "4a\x1e" "4b");
  EXPECT_TRUE(outs_[0].empty());  // the poll is still out: no second GET
}

TEST_F(PollingTest, PollAnswersAtEverySplitPoint) {
  // Two answers: text and binary messages and a ping, then a noop; each answer is
  // followed by the next GET, and the ping by a pong in the next POST.
  std::string stream = http_ok("4hi\x1e" "bAP8Q\x1e" "2\x1e" "4there") +
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n6\r\n0\r\n\r\n";
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    make(false);
    open();
    ASSERT_EQ(feed(0, stream.substr(0, split)), FeedStatus::ok) << split << transport_->error();
    ASSERT_EQ(feed(0, stream.substr(split)), FeedStatus::ok) << split << transport_->error();
    ASSERT_EQ(events_.messages.size(), 3u) << split;
    EXPECT_EQ(events_.messages[0], "hi");
    EXPECT_FALSE(events_.binaries[0]);
    EXPECT_EQ(events_.messages[1], std::string("\x00\xff\x10", 3));
    EXPECT_TRUE(events_.binaries[1]);
    EXPECT_EQ(events_.messages[2], "there");
    EXPECT_EQ(requests_in(outs_[0]).size(), 2u) << split;
    transport_->before_flush(outs_);
    auto posts = requests_in(outs_[1]);
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0].body, "3");
  }
}

TEST_F(PollingTest, PostsAreCutAtTheServersMaxPayload) {
  transport_->start(1, outs_);
  transport_->start(0, outs_);
  ASSERT_EQ(requests_in(outs_[0]).size(), 1u);
  ASSERT_EQ(feed(0, http_ok(R"(0{"sid":"s","maxPayload":11})")), FeedStatus::ok) << transport_->error();
  for (const char* m : {"1234", "5678", "abcdefghijklmn", "x"}) transport_->send(bytes_of(m), false, outs_);
  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) {
    transport_->before_flush(outs_);
    auto posts = requests_in(outs_[1]);
    ASSERT_LE(posts.size(), 1u);
    if (posts.empty()) break;
    bodies.push_back(posts[0].body);
    ASSERT_EQ(feed(1, http_ok("ok")), FeedStatus::ok);
  }
  // "41234" 0x1e "45678" is 11 bytes: it fits; a packet larger than the limit goes alone.
  EXPECT_EQ(bodies, (std::vector<std::string>{"41234\x1e" "45678", "4abcdefghijklmn", "4x"}));
}

TEST_F(PollingTest, OurCloseIsTheLastPost) {
  open();
  transport_->send(bytes_of("bye"), false, outs_);
  transport_->close(outs_);
  transport_->before_flush(outs_);
  auto posts = requests_in(outs_[1]);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_NE(posts[0].head.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(posts[0].body, "4bye\x1e" "1");
  EXPECT_EQ(feed(0, http_ok("6")), FeedStatus::ok);  // the poll, released: no new GET
  EXPECT_TRUE(outs_[0].empty());
  EXPECT_EQ(feed(1, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), FeedStatus::closed);
  EXPECT_FALSE(transport_->closed_by_peer());
  EXPECT_TRUE(transport_->server_closes_tcp());
}

TEST_F(PollingTest, OneChannelHandshakeThenClose) {
  make(true);
  EXPECT_EQ(transport_->channels(), 1u);
  transport_->start(0, outs_);
  requests_in(outs_[0]);
  ASSERT_EQ(feed(0, http_ok(open_packet())), FeedStatus::ok);
  EXPECT_EQ(events_.opens, 1);
  EXPECT_TRUE(outs_[0].empty());  // no long-polling GET
  transport_->close(outs_);
  transport_->before_flush(outs_);
  auto posts = requests_in(outs_[0]);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].body, "1");
  EXPECT_EQ(feed(0, http_ok("ok")), FeedStatus::closed);
}

TEST_F(PollingTest, ServerCloseAndErrors) {
  open();
  EXPECT_EQ(feed(0, http_ok("4last\x1e" "1")), FeedStatus::closed);
  EXPECT_EQ(events_.messages.size(), 1u);
  EXPECT_TRUE(transport_->closed_by_peer());
  EXPECT_FALSE(transport_->server_closes_tcp());

  for (std::string bad : {
           std::string("HTTP/1.1 400 Bad Request\r\nContent-Length: 38\r\n\r\n{\"code\":1,\"message\":\"Session ID unknown\"}"),
           http_ok("0{}"),   // an open packet in a poll
           http_ok("9x"),    // no such packet type
           http_ok(""),      // an empty payload
           http_ok("bA"),    // bad base64
       }) {
    make(false);
    open();
    EXPECT_EQ(feed(0, bad), FeedStatus::failed) << bad;
    EXPECT_FALSE(transport_->error().empty());
  }
  for (std::string bad : {http_ok("1"), http_ok(R"(0{"upgrades":[]})"),
                          std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")}) {
    make(false);
    transport_->start(0, outs_);
    transport_->start(1, outs_);
    EXPECT_EQ(feed(0, bad), FeedStatus::failed) << bad;
    EXPECT_EQ(events_.opens, 0);
  }
  make(false);
  open();
  EXPECT_EQ(feed(1, http_ok("ok")), FeedStatus::failed);  // a response to no request
}

class EioWebSocketTest : public WsTransportTest {
 protected:
  void SetUp() override {
    std::string error;
    url_ = *parse_url("ws://example.com:9000/engine.io/", error);
    factory_ = make_eio_websocket_factory(url_);
    transport_ = factory_->create(random_);
    transport_->start(0, outs_);
    request_ = text_of(out_);
    out_.clear();
    auto at = request_.find("Sec-WebSocket-Key: ");
    key_ = request_.substr(at + 19, 24);
    events_ = Events{};
  }
};

TEST_F(EioWebSocketTest, OpensOnTheOpenPacket) {
  EXPECT_EQ(request_.rfind("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n", 0), 0u);
  std::string stream = response() + server_frame(ws::Opcode::text, open_packet()) +
                       server_frame(ws::Opcode::text, "4hello") +
                       server_frame(ws::Opcode::binary, std::string("\x00\x01", 2)) +
                       server_frame(ws::Opcode::text, "2") + server_frame(ws::Opcode::text, "6");
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    SetUp();
    std::string s = response() + stream.substr(response().size());  // the new key's accept
    ASSERT_EQ(feed(s.substr(0, split)), FeedStatus::ok) << split << transport_->error();
    ASSERT_EQ(feed(s.substr(split)), FeedStatus::ok) << split << transport_->error();
    ASSERT_EQ(events_.opens, 1);
    ASSERT_EQ(events_.messages.size(), 2u);
    EXPECT_EQ(events_.messages[0], "hello");
    EXPECT_FALSE(events_.binaries[0]);
    EXPECT_EQ(events_.messages[1], std::string("\x00\x01", 2));
    EXPECT_TRUE(events_.binaries[1]);
    auto replies = client_frames(out_);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].first, ws::Opcode::text);
    EXPECT_EQ(replies[0].second, "3");
  }
}

TEST_F(EioWebSocketTest, MessagesAndErrors) {
  ASSERT_EQ(feed(response()), FeedStatus::ok);
  EXPECT_EQ(events_.opens, 0);  // the 101 alone does not open the session
  ASSERT_EQ(feed(server_frame(ws::Opcode::text, open_packet())), FeedStatus::ok);
  EXPECT_EQ(events_.opens, 1);
  transport_->send(bytes_of("hi"), false, outs_);
  transport_->send(bytes_of(std::string("\x00", 1)), true, outs_);
  auto frames = client_frames(out_);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], std::make_pair(ws::Opcode::text, std::string("4hi")));
  EXPECT_EQ(frames[1], std::make_pair(ws::Opcode::binary, std::string("\x00", 1)));
  EXPECT_EQ(feed(server_frame(ws::Opcode::text, "x")), FeedStatus::failed);

  SetUp();
  ASSERT_EQ(feed(response()), FeedStatus::ok);
  EXPECT_EQ(feed(server_frame(ws::Opcode::text, "4early")), FeedStatus::failed);
  EXPECT_FALSE(transport_->error().empty());
}

TEST_F(PollingTest, OneChannelTakesTurns) {
  // A Socket.IO connect on one connection: handshake GET, POST, GET, POST.
  make(true);
  transport_->start(0, outs_);
  requests_in(outs_[0]);
  ASSERT_EQ(feed(0, http_ok(open_packet())), FeedStatus::ok);
  transport_->send(bytes_of("0"), false, outs_);
  transport_->before_flush(outs_);
  auto requests = requests_in(outs_[0]);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, "40");
  ASSERT_EQ(feed(0, http_ok("ok")), FeedStatus::ok);  // nothing queued: the GET's turn
  requests = requests_in(outs_[0]);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].head.rfind("GET ", 0), 0u);
  transport_->send(bytes_of("1"), false, outs_);  // queued while the GET is out
  transport_->before_flush(outs_);
  EXPECT_TRUE(outs_[0].empty());
  ASSERT_EQ(feed(0, http_ok("4x")), FeedStatus::ok);  // something queued: no GET
  EXPECT_TRUE(outs_[0].empty());
  transport_->close(outs_);
  transport_->before_flush(outs_);
  requests = requests_in(outs_[0]);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests[0].head.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(requests[0].body, "41\x1e" "1");
  EXPECT_EQ(feed(0, http_ok("ok")), FeedStatus::closed);
}

// --- Socket.IO -------------------------------------------------------------------------------

TEST(JsonString, EscapesAsJsonStringify) {
  std::string out;
  append_json_string_body(out, std::string_view("plain"));
  EXPECT_EQ(out, "plain");
  out.clear();
  append_json_string_body(out, std::string_view("a\"b\\c\b\f\n\r\t\x01\x1f\x7f" "\xc3\xa9z", 16));
  EXPECT_EQ(out, "a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f\x7f" "\xc3\xa9z");
  // The same as the project's codec writes a string.
  std::string all;
  for (int c = 1; c < 128; ++c) all += static_cast<char>(c);
  out = "\"";
  append_json_string_body(out, all);
  out += '"';
  EXPECT_EQ(out, boost::json::serialize(boost::json::value(boost::json::string_view(all))));
}

constexpr std::string_view sio_connect_answer = R"(40{"sid":"Xy_z"})";

// The client's text frames, without the Engine.IO "4" of a message.
class SioWebSocketTest : public WsTransportTest {
 protected:
  void SetUp() override { make({"", "echo", "echo"}); }

  void make(const SioConfig& config) {
    std::string error;
    url_ = *parse_url("http://example.com:9000/socket.io/", error);
    factory_ = make_sio_factory(url_, SioOver::websocket, config);
    transport_ = factory_->create(random_);
    out_.clear();
    transport_->start(0, outs_);
    request_ = text_of(out_);
    out_.clear();
    auto at = request_.find("Sec-WebSocket-Key: ");
    key_ = request_.substr(at + 19, 24);
    events_ = Events{};
  }

  // The upgrade, the open packet, CONNECT and its answer.
  void open() {
    ASSERT_EQ(feed(response() + server_frame(ws::Opcode::text, open_packet())), FeedStatus::ok) << transport_->error();
    auto frames = client_frames(out_);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0], std::make_pair(ws::Opcode::text, std::string("40")));
    EXPECT_EQ(events_.opens, 0);  // the Engine.IO session alone does not open it
    ASSERT_EQ(feed(server_frame(ws::Opcode::text, sio_connect_answer)), FeedStatus::ok) << transport_->error();
    ASSERT_EQ(events_.opens, 1);
  }

  // What the project's codec writes for an event with these arguments, in Engine.IO
  // messages (text ones with their "4").
  static std::vector<std::pair<ws::Opcode, std::string>> codec_event(boost::json::array args,
                                                                      std::vector<std::string> attachments = {}) {
    sio::Packet packet;
    packet.type = attachments.empty() ? sio::PacketType::event : sio::PacketType::binary_event;
    packet.data = std::move(args);
    packet.attachments = attachments;
    std::vector<std::pair<ws::Opcode, std::string>> frames{{ws::Opcode::text, "4" + sio::encode_text(packet)}};
    for (auto& a : attachments) frames.emplace_back(ws::Opcode::binary, a);
    return frames;
  }
};

boost::json::object placeholder(int num) { return {{"_placeholder", true}, {"num", num}}; }

TEST_F(SioWebSocketTest, ConnectsToTheMainNamespace) {
  EXPECT_EQ(request_.rfind("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n", 0), 0u);
  open();
  make({"room=1", "pub", "msg"});
  EXPECT_EQ(request_.rfind("GET /socket.io/?room=1&EIO=4&transport=websocket HTTP/1.1\r\n", 0), 0u);
}

TEST_F(SioWebSocketTest, EmitsWhatTheCodecWrites) {
  open();
  std::string odd = "a\"b\\\n\x01";
  for (const std::string& text : {std::string("hi"), odd}) {
    transport_->send(bytes_of(text), false, outs_);
    EXPECT_EQ(client_frames(out_), codec_event({"echo", boost::json::string_view(text)})) << text;
  }
  std::string bytes("\x00\xff", 2);
  transport_->send(bytes_of(bytes), true, outs_);
  EXPECT_EQ(client_frames(out_), codec_event({"echo", placeholder(0)}, {bytes}));

  make({"", "pub", "msg"});
  open();
  transport_->send(bytes_of("x"), false, outs_);
  EXPECT_EQ(client_frames(out_), codec_event({"pub", "x"}));
}

TEST_F(SioWebSocketTest, EventsAtEverySplitPoint) {
  std::string events;
  auto add = [&](const std::vector<std::pair<ws::Opcode, std::string>>& frames) {
    for (const auto& [opcode, payload] : frames) events += server_frame(opcode, payload);
  };
  add(codec_event({"echo", "hello"}));                                       // the hot path
  add(codec_event({"echo", placeholder(0)}, {std::string("\x00\x01", 2)}));  // the hot path, binary
  events += server_frame(ws::Opcode::text, "2");                             // an Engine.IO ping
  add(codec_event({"echo", "a\"b\xc3\xa9"}));                                // an escape: the codec
  events += server_frame(ws::Opcode::text, R"(42["echo","\u0041"])");
  add(codec_event({"echo", "x", 1}));                                        // the wrong shape
  events += server_frame(ws::Opcode::text, R"(451-["echo",{"num":0,"_placeholder":true}])") +
            server_frame(ws::Opcode::binary, "zz");                          // other key order
  std::string stream_after_101 = server_frame(ws::Opcode::text, open_packet()) +
                                 server_frame(ws::Opcode::text, sio_connect_answer) + events;
  std::size_t size = response().size() + stream_after_101.size();
  for (std::size_t split = 0; split <= size; ++split) {
    SetUp();
    std::string stream = response() + stream_after_101;
    ASSERT_EQ(feed(stream.substr(0, split)), FeedStatus::ok) << split << transport_->error();
    ASSERT_EQ(feed(stream.substr(split)), FeedStatus::ok) << split << transport_->error();
    ASSERT_EQ(events_.opens, 1);
    ASSERT_EQ(events_.messages.size(), 6u) << split;
    EXPECT_EQ(events_.messages[0], "hello");
    EXPECT_FALSE(events_.binaries[0]);
    EXPECT_EQ(events_.messages[1], std::string("\x00\x01", 2));
    EXPECT_TRUE(events_.binaries[1]);
    EXPECT_EQ(events_.messages[2], "a\"b\xc3\xa9");
    EXPECT_EQ(events_.messages[3], "A");
    EXPECT_EQ(events_.messages[4], R"(2["echo","x",1])");  // reported as its text: a mismatch
    EXPECT_FALSE(events_.binaries[4]);
    EXPECT_EQ(events_.messages[5], "zz");
    EXPECT_TRUE(events_.binaries[5]);
    auto replies = client_frames(out_);
    ASSERT_EQ(replies.size(), 2u);
    EXPECT_EQ(replies[0].second, "40");
    EXPECT_EQ(replies[1].second, "3");  // the pong
  }
}

TEST_F(SioWebSocketTest, PacketsModeSendsAndReportsWholePackets) {
  SioConfig config;
  config.packets = true;
  make(config);
  open();
  transport_->send(bytes_of(R"(21["join-room","room-1"])"), false, outs_);
  auto frames = client_frames(out_);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], std::make_pair(ws::Opcode::text, std::string(R"(421["join-room","room-1"])")));

  std::string events;
  for (std::string_view packet : {
           std::string_view(R"(31[{"success":true}])"),                     // the hot path: an ack
           std::string_view(R"(2["new-message",{"text":"a\"b"}])"),        // an event, escapes and all
           std::string_view(R"(2["user-joined",{"userId":"x"}])"),
           std::string_view(R"(25["asks-for-an-ack"])"),                    // the codec's path
       }) {
    events += server_frame(ws::Opcode::text, "4" + std::string(packet));
  }
  events += server_frame(ws::Opcode::text, R"(451-["file",{"_placeholder":true,"num":0}])") +
            server_frame(ws::Opcode::binary, "zz");
  for (std::size_t split = 0; split <= events.size(); ++split) {
    make(config);
    open();
    ASSERT_EQ(feed(events.substr(0, split)), FeedStatus::ok) << split << transport_->error();
    ASSERT_EQ(feed(events.substr(split)), FeedStatus::ok) << split << transport_->error();
    ASSERT_EQ(events_.messages.size(), 5u) << split;
    EXPECT_EQ(events_.messages[0], R"(31[{"success":true}])");
    EXPECT_EQ(events_.messages[1], R"(2["new-message",{"text":"a\"b"}])");
    EXPECT_EQ(events_.messages[2], R"(2["user-joined",{"userId":"x"}])");
    EXPECT_EQ(events_.messages[3], R"(25["asks-for-an-ack"])");
    EXPECT_EQ(events_.messages[4], R"(51-["file",{"_placeholder":true,"num":0}])");  // its text only
    for (bool binary : events_.binaries) EXPECT_FALSE(binary);
  }
}

TEST_F(SioWebSocketTest, CloseIsDisconnectThenTheWebSocketClose) {
  open();
  transport_->close(outs_);
  auto frames = client_frames(out_);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], std::make_pair(ws::Opcode::text, std::string("41")));
  EXPECT_EQ(frames[1].first, ws::Opcode::close);
  EXPECT_EQ(feed(server_frame(ws::Opcode::close, std::string("\x03\xe8", 2))), FeedStatus::closed);
  EXPECT_FALSE(transport_->closed_by_peer());
}

TEST_F(SioWebSocketTest, ServerDisconnectEndsTheSession) {
  open();
  ASSERT_EQ(feed(server_frame(ws::Opcode::text, "41")), FeedStatus::ok);
  EXPECT_TRUE(transport_->closed_by_peer());
  auto frames = client_frames(out_);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, ws::Opcode::close);  // no DISCONNECT back
  EXPECT_EQ(feed(server_frame(ws::Opcode::close, std::string("\x03\xe8", 2))), FeedStatus::closed);
}

TEST_F(SioWebSocketTest, Errors) {
  // Before the CONNECT answer.
  for (std::string bad : {std::string(R"(44{"message":"not allowed"})"), std::string(R"(42["echo","x"])"),
                          std::string("40"), std::string(R"(40/admin,{"sid":"x"})"), std::string("4x")}) {
    SetUp();
    ASSERT_EQ(feed(response() + server_frame(ws::Opcode::text, open_packet())), FeedStatus::ok);
    EXPECT_EQ(feed(server_frame(ws::Opcode::text, bad)), FeedStatus::failed) << bad;
    EXPECT_EQ(events_.opens, 0);
    EXPECT_FALSE(transport_->error().empty());
  }
  SetUp();
  ASSERT_EQ(feed(response() + server_frame(ws::Opcode::text, open_packet())), FeedStatus::ok);
  EXPECT_EQ(feed(server_frame(ws::Opcode::text, R"(44{"message":"not allowed"})")), FeedStatus::failed);
  EXPECT_NE(transport_->error().find("not allowed"), std::string_view::npos);
  // After it.
  for (std::string bad : {std::string(R"(42["other","x"])"), std::string("43[]"), std::string(sio_connect_answer),
                          std::string(R"(42/admin,["echo","x"])"), std::string("4" "9")}) {
    SetUp();
    open();
    EXPECT_EQ(feed(server_frame(ws::Opcode::text, bad)), FeedStatus::failed) << bad;
  }
  SetUp();
  open();
  EXPECT_EQ(feed(server_frame(ws::Opcode::binary, "x")), FeedStatus::failed);  // an attachment no header announced
  SetUp();
  open();
  EXPECT_EQ(feed(server_frame(ws::Opcode::text, R"(451-["echo",{"_placeholder":true,"num":0}])") +
                 server_frame(ws::Opcode::text, R"(42["echo","x"])")),
            FeedStatus::failed);  // text where the attachment was due
}

TEST_F(PollingTest, SocketIoConnectOnOneConnection) {
  std::string error;
  url_ = *parse_url("http://example.com:3000/socket.io/", error);
  factory_ = make_sio_factory(url_, SioOver::polling_one_channel, {"room=1", "echo", "echo"});
  transport_ = factory_->create(random_);
  EXPECT_EQ(transport_->channels(), 1u);
  transport_->start(0, outs_);
  auto requests = requests_in(outs_[0]);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].head.rfind("GET /socket.io/?room=1&EIO=4&transport=polling HTTP/1.1\r\n", 0), 0u);
  ASSERT_EQ(feed(0, http_ok(open_packet())), FeedStatus::ok) << transport_->error();
  transport_->before_flush(outs_);
  requests = requests_in(outs_[0]);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, "40");
  ASSERT_EQ(feed(0, http_ok("ok")), FeedStatus::ok);
  requests = requests_in(outs_[0]);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].head.rfind("GET /socket.io/?room=1&EIO=4&transport=polling&sid=AAb-c_d ", 0), 0u);
  EXPECT_EQ(events_.opens, 0);
  ASSERT_EQ(feed(0, http_ok(sio_connect_answer)), FeedStatus::ok) << transport_->error();
  EXPECT_EQ(events_.opens, 1);
  // Nothing to send: a GET. (The connect scenario closes from on_open, so its DISCONNECT
  // is queued by then and no GET leaves.)
  EXPECT_EQ(requests_in(outs_[0]).size(), 1u);
  transport_->close(outs_);
  transport_->before_flush(outs_);
  EXPECT_TRUE(outs_[0].empty());  // the GET's turn still
  ASSERT_EQ(feed(0, http_ok("6")), FeedStatus::ok);
  transport_->before_flush(outs_);
  requests = requests_in(outs_[0]);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, "41\x1e" "1");
  EXPECT_EQ(feed(0, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), FeedStatus::closed);
  EXPECT_TRUE(transport_->server_closes_tcp());
}

TEST_F(PollingTest, SocketIoEventsOverPolling) {
  std::string error;
  url_ = *parse_url("http://example.com:3000/socket.io/", error);
  factory_ = make_sio_factory(url_, SioOver::polling, {"room=1", "pub", "msg"});
  transport_ = factory_->create(random_);
  transport_->start(0, outs_);
  transport_->start(1, outs_);
  requests_in(outs_[0]);
  ASSERT_EQ(feed(0, http_ok(open_packet())), FeedStatus::ok);
  transport_->before_flush(outs_);
  EXPECT_EQ(requests_in(outs_[1]).at(0).body, "40");
  EXPECT_EQ(requests_in(outs_[0]).size(), 1u);  // the long poll
  ASSERT_EQ(feed(1, http_ok("ok")), FeedStatus::ok);
  ASSERT_EQ(feed(0, http_ok(std::string(sio_connect_answer) + "\x1e" R"(42["msg","m1"])" "\x1e"
                            R"(451-["msg",{"_placeholder":true,"num":0}])" "\x1e" "bAP8Q")),
            FeedStatus::ok)
      << transport_->error();
  ASSERT_EQ(events_.opens, 1);
  ASSERT_EQ(events_.messages.size(), 2u);
  EXPECT_EQ(events_.messages[0], "m1");
  EXPECT_EQ(events_.messages[1], std::string("\x00\xff\x10", 3));
  EXPECT_TRUE(events_.binaries[1]);
  transport_->send(bytes_of("p"), false, outs_);
  transport_->send(bytes_of(std::string("\x00\xff\x10", 3)), true, outs_);
  transport_->before_flush(outs_);
  EXPECT_EQ(requests_in(outs_[1]).at(0).body,
            R"(42["pub","p"])" "\x1e" R"(451-["pub",{"_placeholder":true,"num":0}])" "\x1e" "bAP8Q");
}

}  // namespace
}  // namespace switchboard::loadgen
