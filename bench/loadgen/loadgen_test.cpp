// Unit tests of the load generator's pure parts: the histogram's bucket arithmetic and
// percentiles, URL parsing, and the WebSocket client transport fed with the bytes a
// server would send (every split point of the input, as STYLE.md §13 asks of codecs).

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/encoding.hpp"
#include "histogram.hpp"
#include "options.hpp"
#include "random.hpp"
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

  for (const char* bad : {"http://x/", "wss://x/", "ws://:80/", "ws://x:0/", "ws://x:65536/",
                          "ws://x:8a/", "ws://[::1/"}) {
    EXPECT_FALSE(parse_url(bad, error)) << bad;
  }
}

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
    transport_->start(out_);
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
    return transport_->feed(input, events_, out_);
  }

  Random random_{42};
  Url url_;
  std::unique_ptr<TransportFactory> factory_;
  std::unique_ptr<Transport> transport_;
  ByteBuffer out_;
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
  transport_->send(std::as_bytes(std::span(big.data(), big.size())), true, out_);
  std::string small = "hi";
  transport_->send(std::as_bytes(std::span(small.data(), small.size())), false, out_);
  auto frames = client_frames(out_);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].first, ws::Opcode::binary);
  EXPECT_EQ(frames[0].second, big);
  EXPECT_EQ(frames[1].first, ws::Opcode::text);
  EXPECT_EQ(frames[1].second, "hi");
}

TEST_F(WsTransportTest, OurCloseAnswered) {
  ASSERT_EQ(feed(response()), FeedStatus::ok);
  transport_->close(out_);
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

}  // namespace
}  // namespace switchboard::loadgen
