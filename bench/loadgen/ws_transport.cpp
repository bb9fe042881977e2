#include "ws_transport.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/encoding.hpp"
#include "options.hpp"
#include "random.hpp"
#include "ws/codec/accept_key.hpp"
#include "ws/codec/frame.hpp"

namespace switchboard::loadgen {
namespace {

using ws::FrameHeader;
using ws::HeaderStatus;
using ws::Opcode;

// A 101 response is a few hundred bytes; more than this is not a WebSocket server.
constexpr std::size_t max_response_head = 8192;
// Largest message the load generator accepts back; the scenarios send far less.
constexpr std::uint64_t max_message_size = 64 * 1024 * 1024;

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

using core::has_token;
constexpr auto trim = core::trim_whitespace;

class WsTransport final : public Transport {
 public:
  WsTransport(const std::string& request_head, Random& random)
      : request_head_(request_head), random_(random) {}

  void start(unsigned, Outputs& outputs) override {
    ByteBuffer& out = outputs[0];
    std::array<std::byte, 16> nonce;
    random_.fill(nonce.data(), nonce.size());
    std::string key = core::base64_encode(std::span<const std::byte>(nonce));
    accept_ = ws::accept_key(key);
    out.append(request_head_);
    out.append(key);
    out.append("\r\n\r\n");
  }

  FeedStatus feed(unsigned, std::span<std::byte> input, TransportEvents& events, Outputs& outputs) override {
    ByteBuffer& out = outputs[0];
    if (phase_ == Phase::failed) return FeedStatus::failed;
    if (phase_ == Phase::done) return FeedStatus::closed;  // bytes after the close: ignored

    // Parse straight from the worker's read buffer; copy only an unfinished tail.
    bool buffered = !pending_.empty();
    std::span<std::byte> data = input;
    if (buffered) {
      pending_.insert(pending_.end(), input.begin(), input.end());
      data = pending_;
    }
    std::size_t used = 0;
    FeedStatus status = FeedStatus::ok;
    if (phase_ == Phase::handshake) {
      std::size_t head = read_handshake(as_text(data));
      if (head > 0) {
        used = head;
        phase_ = Phase::open;
        std::string().swap(accept_);
        events.on_open();
      }
    }
    while (phase_ == Phase::open) {
      FrameHeader header;
      auto rest = data.subspan(used);
      HeaderStatus hs = ws::parse_frame_header(rest, header);
      if (hs == HeaderStatus::need_more) break;
      if (hs == HeaderStatus::invalid) {
        fail("frame length with its top bit set (§5.2)");
        break;
      }
      if (!check_header(header)) break;
      if (rest.size() - header.header_size < header.payload_length) break;
      auto payload = rest.subspan(header.header_size, static_cast<std::size_t>(header.payload_length));
      used += header.header_size + payload.size();
      status = on_frame(header, payload, events, out);
      if (status != FeedStatus::ok) break;
    }

    if (phase_ == Phase::failed) {
      std::vector<std::byte>().swap(pending_);
      return FeedStatus::failed;
    }
    if (phase_ == Phase::done) {
      std::vector<std::byte>().swap(pending_);
      return FeedStatus::closed;
    }
    if (buffered) {
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
      // An idle connection should not keep the memory of a large message.
      if (pending_.empty() && pending_.capacity() > 64 * 1024) std::vector<std::byte>().swap(pending_);
    } else if (used < data.size()) {
      pending_.assign(data.begin() + static_cast<std::ptrdiff_t>(used), data.end());
    }
    if (phase_ == Phase::handshake && pending_.size() > max_response_head) {
      fail("handshake: response head too large");
      return FeedStatus::failed;
    }
    return FeedStatus::ok;
  }

  void send(std::span<const std::byte> payload, bool binary, Outputs& out) override {
    write_frame(binary ? Opcode::binary : Opcode::text, payload, out[0]);
  }

  void close(Outputs& outputs) override {
    ByteBuffer& out = outputs[0];
    if (phase_ != Phase::open || close_sent_) return;
    std::array<std::byte, 2> code{std::byte{ws::close_code::normal >> 8},
                                  std::byte{ws::close_code::normal & 0xff}};
    write_frame(Opcode::close, code, out);
    close_sent_ = true;
  }

  bool closed_by_peer() const noexcept override { return closed_by_peer_; }
  std::string_view error() const noexcept override { return error_; }

 private:
  enum class Phase : std::uint8_t { handshake, open, done, failed };

  void fail(std::string_view why) {
    phase_ = Phase::failed;
    error_ = why;
  }

  // §4.1, the client's checks of the server's response. Returns the size of the
  // response head once it is complete and valid, else 0 (need more, or failed).
  std::size_t read_handshake(std::string_view data) {
    std::size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) return 0;
    std::string_view head = data.substr(0, end + 2);
    std::size_t eol = head.find("\r\n");
    std::string_view status = head.substr(0, eol);
    if (status.rfind("HTTP/1.1 101", 0) != 0 || (status.size() > 12 && status[12] != ' ')) {
      fail("handshake: the server did not answer 101 Switching Protocols");
      return 0;
    }
    bool upgrade = false, connection = false, accept = false;
    head.remove_prefix(eol + 2);
    while (!head.empty()) {
      eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      head.remove_prefix(eol + 2);
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        fail("handshake: malformed header line");
        return 0;
      }
      std::string_view name = trim(line.substr(0, colon));
      std::string_view value = trim(line.substr(colon + 1));
      if (core::iequals(name, "upgrade")) {
        upgrade = core::iequals(value, "websocket");
      } else if (core::iequals(name, "connection")) {
        connection = has_token(value, "upgrade");
      } else if (core::iequals(name, "sec-websocket-accept")) {
        accept = value == accept_;
      } else if (core::iequals(name, "sec-websocket-extensions") ||
                 core::iequals(name, "sec-websocket-protocol")) {
        // We asked for neither; the server must not pick one (§4.1, items 5 and 6).
        fail("handshake: the server chose an extension or subprotocol we did not offer");
        return 0;
      }
    }
    if (!upgrade || !connection) {
      fail("handshake: missing Upgrade: websocket or Connection: Upgrade");
      return 0;
    }
    if (!accept) {
      fail("handshake: wrong or missing Sec-WebSocket-Accept");
      return 0;
    }
    return end + 4;
  }

  bool check_header(const FrameHeader& header) {
    if (header.masked) {
      fail("masked frame from the server (§5.1)");
    } else if (header.rsv1 || header.rsv2 || header.rsv3) {
      fail("reserved bit set without a negotiated extension (§5.2)");
    } else if (ws::is_control(header.opcode) && (!header.fin || header.payload_length > 125)) {
      fail("fragmented or oversized control frame (§5.5)");
    } else if (header.payload_length > max_message_size) {
      fail("message larger than the load generator accepts");
    } else {
      return true;
    }
    return false;
  }

  FeedStatus on_frame(const FrameHeader& header, std::span<std::byte> payload,
                      TransportEvents& events, ByteBuffer& out) {
    switch (header.opcode) {
      case Opcode::text:
      case Opcode::binary:
        if (fragmented_) {
          fail("new data frame inside a fragmented message (§5.4)");
          return FeedStatus::failed;
        }
        if (header.fin) {
          events.on_message(payload, header.opcode == Opcode::binary);
        } else {
          fragmented_ = true;
          fragment_binary_ = header.opcode == Opcode::binary;
          message_.assign(payload.begin(), payload.end());
        }
        return FeedStatus::ok;
      case Opcode::continuation:
        if (!fragmented_) {
          fail("continuation frame with no message to continue (§5.4)");
          return FeedStatus::failed;
        }
        if (message_.size() + payload.size() > max_message_size) {
          fail("message larger than the load generator accepts");
          return FeedStatus::failed;
        }
        message_.insert(message_.end(), payload.begin(), payload.end());
        if (header.fin) {
          fragmented_ = false;
          events.on_message(message_, fragment_binary_);
          message_.clear();
          if (message_.capacity() > 64 * 1024) std::vector<std::byte>().swap(message_);
        }
        return FeedStatus::ok;
      case Opcode::ping:
        if (!close_sent_) write_frame(Opcode::pong, payload, out);  // §5.5.2
        return FeedStatus::ok;
      case Opcode::pong:
        return FeedStatus::ok;
      case Opcode::close:
        if (payload.size() == 1) {
          fail("close frame with a 1-byte body (§5.5.1)");
          return FeedStatus::failed;
        }
        if (!close_sent_) {
          // The server closes first: answer with its code (§5.5.1), then wait for its FIN.
          closed_by_peer_ = true;
          write_frame(Opcode::close, payload.first(std::min<std::size_t>(payload.size(), 2)), out);
          close_sent_ = true;
        }
        phase_ = Phase::done;
        return FeedStatus::closed;
    }
    fail("reserved opcode (§5.2)");
    return FeedStatus::failed;
  }

  void write_frame(Opcode opcode, std::span<const std::byte> payload, ByteBuffer& out) {
    auto key = random_.mask_key();
    std::byte* p = out.extend(ws::max_frame_header_size + payload.size());
    std::size_t header = ws::write_frame_header(p, opcode, payload.size(), true, false, &key);
    if (!payload.empty()) std::memcpy(p + header, payload.data(), payload.size());
    ws::mask_bytes({p + header, payload.size()}, key);
    out.shrink_back(ws::max_frame_header_size - header);
  }

  const std::string& request_head_;
  Random& random_;
  std::string accept_;              // the Sec-WebSocket-Accept we expect, until the 101
  std::vector<std::byte> pending_;  // an unfinished response head or frame
  std::vector<std::byte> message_;  // a fragmented message so far
  std::string_view error_;
  Phase phase_ = Phase::handshake;
  bool fragmented_ = false;
  bool fragment_binary_ = false;
  bool close_sent_ = false;
  bool closed_by_peer_ = false;
};

class WsTransportFactory final : public TransportFactory {
 public:
  explicit WsTransportFactory(const Url& url)
      : request_head_("GET " + url.path + " HTTP/1.1\r\nHost: " + url.authority() +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ") {}

  std::unique_ptr<Transport> create(Random& random) const override {
    return std::make_unique<WsTransport>(request_head_, random);
  }

 private:
  std::string request_head_;  // the request up to the key, shared by every connection
};

}  // namespace

std::unique_ptr<TransportFactory> make_ws_transport_factory(const Url& url) {
  return std::make_unique<WsTransportFactory>(url);
}


}  // namespace switchboard::loadgen
