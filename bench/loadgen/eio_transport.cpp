#include "eio_transport.hpp"

#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eio/codec/packet.hpp"
#include "http_response.hpp"
#include "options.hpp"
#include "ws_transport.hpp"

namespace switchboard::loadgen {
namespace {

using eio::Packet;
using eio::PacketType;
using eio::Protocol;

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

// PATH plus the Engine.IO query, after any query the URL already has.
std::string with_query(const std::string& path, std::string_view query) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + std::string(query);
}

// The raw text of `"name": value` in the flat JSON object of an open packet: a string
// without its quotes, or a number. The fields read here (sid, maxPayload) hold no
// escapes; a string with one is refused rather than misread.
std::optional<std::string_view> json_field(std::string_view json, std::string_view name) {
  std::string key;  // appended, not `"\"" + name + "\""`: GCC 12 warns wrongly on that (PR 105651)
  key.reserve(name.size() + 2);
  key.append(1, '"').append(name).append(1, '"');
  std::size_t at = json.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  at += key.size();
  auto skip_space = [&] {
    while (at < json.size() && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r')) ++at;
  };
  skip_space();
  if (at >= json.size() || json[at] != ':') return std::nullopt;
  ++at;
  skip_space();
  if (at >= json.size()) return std::nullopt;
  if (json[at] == '"') {
    std::size_t end = json.find('"', at + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view value = json.substr(at + 1, end - at - 1);
    if (value.find('\\') != std::string_view::npos) return std::nullopt;
    return value;
  }
  std::size_t end = at;
  while (end < json.size() && ((json[end] >= '0' && json[end] <= '9') || json[end] == '.' || json[end] == '-' ||
                               json[end] == '+' || json[end] == 'e' || json[end] == 'E')) {
    ++end;
  }
  if (end == at) return std::nullopt;
  return json.substr(at, end - at);
}

std::optional<std::uint64_t> json_unsigned(std::string_view json, std::string_view name) {
  auto text = json_field(json, name);
  if (!text || text->empty() || text->size() > 18) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

// Percent-encodes all but RFC 3986's unreserved characters (a sid is base64url already).
std::string query_escape(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Engine.IO over WebSocket: a layer over the raw WebSocket transport, which does the
// upgrade, the framing, WebSocket pings and the close handshake. This layer reads each
// message as an Engine.IO packet.

class EioWebSocketTransport final : public Transport, private TransportEvents {
 public:
  explicit EioWebSocketTransport(std::unique_ptr<Transport> ws) : ws_(std::move(ws)) {}

  void start(unsigned channel, Outputs& out) override { ws_->start(channel, out); }

  FeedStatus feed(unsigned channel, std::span<std::byte> input, TransportEvents& events, Outputs& out) override {
    if (!error_.empty()) return FeedStatus::failed;
    events_ = &events;
    out_ = &out;
    FeedStatus status = ws_->feed(channel, input, *this, out);
    events_ = nullptr;
    out_ = nullptr;
    return error_.empty() ? status : FeedStatus::failed;
  }

  void send(std::span<const std::byte> payload, bool binary, Outputs& out) override {
    if (binary) {
      ws_->send(payload, true, out);  // v4: a binary frame is a message packet, as is
      return;
    }
    text_.assign(1, '4');
    text_.append(as_text(payload));
    ws_->send(as_bytes(text_), false, out);
  }

  void close(Outputs& out) override { ws_->close(out); }
  bool closed_by_peer() const noexcept override { return closed_by_peer_ || ws_->closed_by_peer(); }
  std::string_view error() const noexcept override { return error_.empty() ? ws_->error() : error_; }

 private:
  // The WebSocket's 101: the Engine.IO session opens with the open packet that follows.
  void on_open() override {}

  void on_message(std::span<const std::byte> payload, bool binary) override {
    if (!error_.empty()) return;  // the rest of this read is dropped with the session
    auto packet = eio::decode_frame(as_text(payload), binary, Protocol::v4);
    if (!packet) {
      error_ = binary ? "empty binary frame" : "a text frame that is no Engine.IO packet";
      return;
    }
    if (!opened_) {
      if (packet->type != PacketType::open || !json_field(packet->data, "sid")) {
        error_ = "the first packet is not an open packet with a sid";
        return;
      }
      opened_ = true;
      events_->on_open();
      return;
    }
    switch (packet->type) {
      case PacketType::message:
        events_->on_message(as_bytes(packet->data), packet->binary);
        return;
      case PacketType::ping:
        pong_.assign(1, '3');
        pong_.append(packet->data);
        ws_->send(as_bytes(pong_), false, *out_);
        return;
      case PacketType::close:
        closed_by_peer_ = true;  // the server ends the session; its close frame follows
        return;
      case PacketType::noop:
        return;
      default:
        error_ = "unexpected packet type " + std::to_string(static_cast<int>(packet->type));
        return;
    }
  }

  std::unique_ptr<Transport> ws_;
  TransportEvents* events_ = nullptr;  // during feed()
  Outputs* out_ = nullptr;             // during feed()
  std::string text_;                   // "4<data>" of the message being sent
  std::string pong_;
  std::string error_;
  bool opened_ = false;
  bool closed_by_peer_ = false;
};

class EioWebSocketFactory final : public TransportFactory {
 public:
  explicit EioWebSocketFactory(const Url& url) {
    Url ws = url;
    ws.path = with_query(url.path, "EIO=4&transport=websocket");
    ws_ = make_ws_transport_factory(ws);
  }
  std::unique_ptr<Transport> create(Random& random) const override {
    return std::make_unique<EioWebSocketTransport>(ws_->create(random));
  }

 private:
  std::unique_ptr<TransportFactory> ws_;
};

// ---------------------------------------------------------------------------------------
// Engine.IO over HTTP long-polling.

// Splits one connection's bytes into HTTP responses, keeping only an unfinished one
// (no per-connection buffer while nothing is half-read).
class ResponseReader {
 public:
  // Calls on_response for each complete response while it returns true. Returns false
  // on a malformed response (`error` says why). What follows a response on which
  // on_response returned false is dropped.
  template <class OnResponse>
  bool feed(std::string_view input, OnResponse&& on_response, std::string_view& error) {
    bool buffered = !pending_.empty();
    std::string_view data = input;
    if (buffered) {
      pending_.append(input);
      data = pending_;
    }
    std::size_t used = 0;
    bool valid = true, stopped = false;
    while (used < data.size()) {
      HttpResponse response;
      std::size_t size = 0;
      ResponseStatus status = parse_response(data.substr(used), response, size, scratch_, error);
      if (status == ResponseStatus::need_more) break;
      if (status == ResponseStatus::invalid) {
        valid = false;
        break;
      }
      used += size;
      if (!on_response(response)) {
        stopped = true;
        break;
      }
    }
    if (!valid || stopped) {
      std::string().swap(pending_);
    } else if (buffered) {
      pending_.erase(0, used);
      if (pending_.empty() && pending_.capacity() > 64 * 1024) std::string().swap(pending_);
    } else if (used < data.size()) {
      pending_.assign(data.substr(used));
    }
    return valid;
  }

 private:
  std::string pending_;  // an unfinished response
  std::string scratch_;  // a chunked body, decoded
};

struct PollingConfig {
  std::string handshake_request;  // the whole handshake GET
  std::string target_prefix;      // PATH?EIO=4&transport=polling&sid=
  std::string host_line;          // Host: ...\r\n
  bool one_channel = false;
};

// What each response answers: one request at a time per connection (no pipelining).
enum class Request : std::uint8_t { none, handshake, poll, post, close_post };

const char* name_of(Request request) {
  switch (request) {
    case Request::handshake: return "the handshake";
    case Request::poll: return "a poll";
    case Request::post: return "a POST";
    case Request::close_post: return "the close POST";
    case Request::none: break;
  }
  return "no request";
}

class PollingTransport final : public Transport {
 public:
  explicit PollingTransport(const PollingConfig& config) : config_(config) {}

  unsigned channels() const noexcept override { return config_.one_channel ? 1 : 2; }

  void start(unsigned channel, Outputs& out) override {
    connected_[channel] = true;
    // The handshake waits for both connections: once the session exists, the server
    // expects a pong within pingInterval + pingTimeout (500 ms in the benchmarks), and a
    // POST connection whose SYN the server's full accept queue dropped would come back
    // only after the kernel's 1 s retransmission — too late to answer the first ping.
    if (connected_[0] && (config_.one_channel || connected_[1])) {
      out[0].append(config_.handshake_request);
      in_flight_[0] = Request::handshake;
    }
  }

  FeedStatus feed(unsigned channel, std::span<std::byte> input, TransportEvents& events, Outputs& out) override {
    if (phase_ == Phase::failed) return FeedStatus::failed;
    if (phase_ == Phase::done) return FeedStatus::closed;
    events_ = &events;
    out_ = &out;
    std::string_view parse_error;
    bool valid = readers_[channel].feed(
        as_text(input), [&](const HttpResponse& response) { return on_response(channel, response); },
        parse_error);
    events_ = nullptr;
    out_ = nullptr;
    if (!valid && phase_ != Phase::failed) fail("malformed HTTP response: " + std::string(parse_error));
    if (phase_ == Phase::failed) return FeedStatus::failed;
    return phase_ == Phase::done ? FeedStatus::closed : FeedStatus::ok;
  }

  void send(std::span<const std::byte> payload, bool binary, Outputs&) override {
    queue(Packet{PacketType::message, binary, as_text(payload)});
  }

  void close(Outputs&) override { close_requested_ = true; }

  void before_flush(Outputs& out) override {
    if (phase_ != Phase::open || close_sent_) return;
    unsigned channel = config_.one_channel ? 0 : 1;
    if (in_flight_[channel] != Request::none) return;
    if (queue_.empty() && !close_requested_) return;
    // Every queued packet, unless that is more than the server's maxPayload: then the
    // most whole packets that fit (at least one), and the rest in the next POST.
    std::size_t count = ends_.size();
    std::size_t cut = queue_.size();
    if (cut > max_payload_) {
      count = 1;
      while (count < ends_.size() && ends_[count] <= max_payload_) ++count;
      cut = ends_[count - 1];
    }
    bool with_close = close_requested_ && count == ends_.size();
    std::size_t length = cut + (with_close ? (cut ? 2 : 1) : 0);
    ByteBuffer& o = out[channel];
    o.append(post_head_);
    if (with_close) o.append("Connection: close\r\n");
    o.append("Content-Length: ");
    o.append(std::to_string(length));
    o.append("\r\n\r\n");
    o.append(std::string_view(queue_).substr(0, cut));
    if (with_close) o.append(cut ? "\x1e" "1" : "1");
    if (count == ends_.size()) {
      queue_.clear();
      ends_.clear();
      if (queue_.capacity() > 64 * 1024) std::string().swap(queue_);
    } else {
      queue_.erase(0, cut + 1);  // the packets sent and the separator after them
      ends_.erase(ends_.begin(), ends_.begin() + static_cast<std::ptrdiff_t>(count));
      for (auto& end : ends_) end -= cut + 1;
    }
    in_flight_[channel] = with_close ? Request::close_post : Request::post;
    close_sent_ = with_close;
  }

  bool server_closes_tcp() const noexcept override { return close_sent_ && !peer_closed_; }
  bool closed_by_peer() const noexcept override { return peer_closed_; }
  std::string_view error() const noexcept override { return error_; }

 private:
  enum class Phase : std::uint8_t { handshake, open, done, failed };

  bool fail(std::string why) {
    phase_ = Phase::failed;
    error_ = std::move(why);
    return false;
  }

  // Returns false to stop reading this connection's responses.
  bool on_response(unsigned channel, const HttpResponse& response) {
    Request request = in_flight_[channel];
    in_flight_[channel] = Request::none;
    if (request == Request::none) return fail("a response to no request");
    if (response.status != 200) {
      return fail(std::string(name_of(request)) + " answered HTTP " + std::to_string(response.status) + ": " +
                  std::string(response.body.substr(0, 120)));
    }
    switch (request) {
      case Request::handshake: return on_handshake(response.body);
      case Request::poll: return on_poll(response.body);
      case Request::post:
      case Request::close_post:
        if (response.body != "ok") return fail(std::string(name_of(request)) + " answered other than \"ok\"");
        if (request == Request::close_post) {
          phase_ = Phase::done;
          return false;
        }
        // One connection: the GET's turn, unless more waits to be sent.
        if (config_.one_channel && queue_.empty() && !close_requested_) poll();
        return true;
      case Request::none: break;
    }
    return true;
  }

  bool on_handshake(std::string_view body) {
    std::size_t separator = body.find('\x1e');
    std::string_view open = body.substr(0, separator);
    if (open.empty() || open.front() != '0') return fail("the handshake did not answer an open packet");
    std::string_view json = open.substr(1);
    auto sid = json_field(json, "sid");
    if (!sid || sid->empty()) return fail("the open packet has no sid");
    if (auto max = json_unsigned(json, "maxPayload"); max && *max > 0) max_payload_ = *max;
    std::string target = config_.target_prefix + query_escape(*sid);
    poll_request_ = "GET " + target + " HTTP/1.1\r\n" + config_.host_line + "\r\n";
    post_head_ = "POST " + target + " HTTP/1.1\r\n" + config_.host_line + "Content-Type: text/plain;charset=UTF-8\r\n";
    phase_ = Phase::open;
    events_->on_open();
    if (phase_ != Phase::open) return false;
    // Packets after the open one (a server may flush its first messages with it).
    if (separator != std::string_view::npos && !on_packets(body.substr(separator + 1))) return false;
    if (!config_.one_channel && !close_requested_) poll();
    return true;
  }

  bool on_poll(std::string_view body) {
    if (!on_packets(body)) return false;
    // One connection: a POST's turn if something waits to be sent (before_flush sends it).
    bool post_waits = config_.one_channel && (!queue_.empty() || close_requested_);
    if (!close_sent_ && !post_waits) poll();
    return true;
  }

  // The packets of a poll's answer. False when the session ended or failed.
  bool on_packets(std::string_view payload) {
    eio::PayloadLimits limits;
    limits.max_packets = 1u << 30;  // what the server sends is bounded by what we sent
    bool valid = eio::decode_payload(payload, Protocol::v4, limits, scratch_, [this](const Packet& packet) {
      switch (packet.type) {
        case PacketType::message:
          events_->on_message(as_bytes(packet.data), packet.binary);
          return true;
        case PacketType::ping:
          queue(Packet{PacketType::pong, false, packet.data});  // leaves with the next POST
          return true;
        case PacketType::noop:
          return true;
        case PacketType::close:
          peer_closed_ = true;
          phase_ = Phase::done;
          return false;
        default:
          fail("unexpected packet type " + std::to_string(static_cast<int>(packet.type)) + " in a poll");
          return false;
      }
    });
    if (phase_ != Phase::open) return false;
    if (!valid) return fail("malformed payload in a poll's answer");
    return true;
  }

  void poll() {
    (*out_)[0].append(poll_request_);
    in_flight_[0] = Request::poll;
  }

  void queue(const Packet& packet) {
    eio::append_payload_packet(queue_, packet, Protocol::v4, queue_.empty());
    ends_.push_back(queue_.size());
  }

  const PollingConfig& config_;
  std::array<ResponseReader, max_channels> readers_;
  std::array<Request, max_channels> in_flight_{};
  std::string poll_request_;     // the GET with our sid
  std::string post_head_;        // the POST head up to Content-Length
  std::string queue_;            // packets waiting for a POST, joined by 0x1e
  std::vector<std::size_t> ends_;  // where each queued packet ends in queue_
  std::string scratch_;          // a binary packet's data, decoded from base64
  std::string error_;
  std::size_t max_payload_ = 1'000'000;  // until the open packet says
  TransportEvents* events_ = nullptr;    // during feed()
  Outputs* out_ = nullptr;               // during feed()
  Phase phase_ = Phase::handshake;
  std::array<bool, max_channels> connected_{};
  bool close_requested_ = false;
  bool close_sent_ = false;
  bool peer_closed_ = false;
};

class PollingFactory final : public TransportFactory {
 public:
  PollingFactory(const Url& url, bool one_channel) {
    config_.host_line = "Host: " + url.authority() + "\r\n";
    std::string base = with_query(url.path, "EIO=4&transport=polling");
    config_.handshake_request = "GET " + base + " HTTP/1.1\r\n" + config_.host_line + "\r\n";
    config_.target_prefix = base + "&sid=";
    config_.one_channel = one_channel;
  }
  std::unique_ptr<Transport> create(Random&) const override { return std::make_unique<PollingTransport>(config_); }

 private:
  PollingConfig config_;
};

}  // namespace

std::unique_ptr<TransportFactory> make_eio_websocket_factory(const Url& url) {
  return std::make_unique<EioWebSocketFactory>(url);
}

std::unique_ptr<TransportFactory> make_eio_polling_factory(const Url& url, bool one_channel) {
  return std::make_unique<PollingFactory>(url, one_channel);
}

}  // namespace switchboard::loadgen
