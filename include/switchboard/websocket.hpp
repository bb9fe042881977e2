#pragma once
// Native WebSocket endpoints (RFC 6455, permessage-deflate per RFC 7692) on an
// http::Server, and topics with publish/subscribe.
//
//   switchboard::http::Server server({.port = 3000});
//   switchboard::ws::Hub hub(server);
//   hub.route("/echo", {.message = [](ws::WebSocket& ws, std::string_view m, bool binary) {
//     ws.send(m, binary);
//   }});
//   server.listen();
//   server.run();
//
// Thread safety and lifetime: every callback of a socket runs on the loop thread that
// owns it, and the WebSocket& it gets is valid until the close callback returns. Only
// Hub::publish may be called from any thread.

#include <any>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <switchboard/http.hpp>

namespace switchboard::ws {

namespace detail {
struct HubState;
}

enum class SendStatus : std::uint8_t {
  sent,     // queued, below the high-water mark: the kernel takes it this loop turn
  queued,   // queued, but past the high-water mark: wait for the drain callback
  dropped,  // not queued: the socket is closing, or it passed max_backpressure and
            // was disconnected as a slow consumer
};

class WebSocket {
 public:
  SendStatus send(std::string_view message, bool binary = false, bool compress = true);
  // Starts the closing handshake (RFC 6455 §7.1.2); the close callback follows once
  // the peer answers or the close timeout passes.
  void close(std::uint16_t code = 1000, std::string_view reason = {});
  // Drops the connection without a closing handshake.
  void terminate();
  void ping(std::string_view payload = {});

  // Topics of this socket's Hub. publish() here reaches every subscriber but this one.
  bool subscribe(std::string_view topic);
  bool unsubscribe(std::string_view topic);
  bool is_subscribed(std::string_view topic) const;
  void publish(std::string_view topic, std::string_view message, bool binary = false);

  std::size_t buffered_amount() const noexcept;
  std::string remote_address() const;
  // The subprotocol agreed in the handshake, or empty.
  std::string_view protocol() const noexcept;
  // What the upgrade hook attached (Upgrade::user_data).
  std::any& user_data() noexcept;

 protected:
  WebSocket() = default;
  ~WebSocket() = default;
};

// What the upgrade hook sees before the 101 is sent.
class Upgrade {
 public:
  explicit Upgrade(const http::Request& request) : request_(request) {}
  const http::Request& request() const noexcept { return request_; }
  // Refuse the upgrade: the client gets this status and body instead of a 101.
  void reject(int status = 403, std::string body = "Forbidden\n") {
    reject_status_ = status;
    reject_body_ = std::move(body);
  }
  bool rejected() const noexcept { return reject_status_ != 0; }
  int reject_status() const noexcept { return reject_status_; }
  const std::string& reject_body() const noexcept { return reject_body_; }
  // Moved into the WebSocket if the upgrade goes ahead.
  std::any& user_data() noexcept { return user_data_; }
  // The subprotocol chosen by default (the first one the client offers that the
  // route supports); the hook may choose another the client offered, or none.
  std::string& protocol() noexcept { return protocol_; }

 private:
  const http::Request& request_;
  int reject_status_ = 0;
  std::string reject_body_;
  std::any user_data_;
  std::string protocol_;
};

struct Compression {
  bool enabled = false;
  // Messages shorter than this are sent uncompressed (compressing them costs more
  // than it saves).
  std::size_t threshold = 1024;
  // The default: one compressor per thread serves every socket, and no 32 KiB window
  // is kept per connection. false keeps a compressor (~256 KiB) per socket for better
  // ratios on repetitive streams.
  bool server_no_context_takeover = true;
  // Ask clients to drop their window between messages, so ours can be freed too.
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
  int level = 6;
  int mem_level = 8;
};

struct Behavior {
  // Largest message accepted (after inflation), summed over its fragments; larger
  // ones close the socket with 1009.
  std::size_t max_message_size = 1024 * 1024;
  // A socket silent for half of this gets a ping; silent for all of it, it is dropped.
  std::chrono::seconds idle_timeout{120};
  bool send_pings = true;
  // Queued bytes past which send() reports `queued` and drain follows.
  std::size_t high_water = 64 * 1024;
  // Queued bytes past which the socket is disconnected as a slow consumer.
  std::size_t max_backpressure = 16 * 1024 * 1024;
  // How long close() waits for the peer's close frame.
  std::chrono::milliseconds close_timeout{5000};
  Compression compression;
  // Subprotocols this route speaks, in no particular order.
  std::vector<std::string> protocols;
  // Origins allowed to connect (exact "scheme://host[:port]"). Empty: any, and a
  // request without Origin (not from a browser) always passes unless the list is set.
  std::vector<std::string> allowed_origins;

  std::function<void(Upgrade&)> upgrade;
  std::function<void(WebSocket&)> open;
  std::function<void(WebSocket&, std::string_view message, bool binary)> message;
  std::function<void(WebSocket&)> drain;
  std::function<void(WebSocket&, std::string_view payload)> ping;
  std::function<void(WebSocket&, std::string_view payload)> pong;
  // code 1005 when the peer's close frame had none, 1006 when the connection dropped
  // without a close frame.
  std::function<void(WebSocket&, std::uint16_t code, std::string_view reason)> close;
};

// WebSocket routes and topics on one http::Server.
class Hub {
 public:
  explicit Hub(http::Server& server);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Adds a WebSocket endpoint at exactly `path`. Before the server runs.
  void route(std::string path, Behavior behavior);

  // Any thread. The frame is built once; every subscriber on every thread queues the
  // same buffer.
  void publish(std::string_view topic, std::string_view message, bool binary = false);

  // Handshakes this hub's routes refused since the start, for metrics; counted per loop
  // without locks, summed here (any thread).
  struct Stats {
    std::uint64_t bad_request = 0;       // 400: a malformed handshake
    std::uint64_t upgrade_required = 0;  // 426: not an upgrade, or not version 13
    std::uint64_t forbidden_origin = 0;  // 403: an Origin outside allowed_origins
    std::uint64_t rejected = 0;          // refused by the route's upgrade hook
  };
  Stats stats() const;

 private:
  std::shared_ptr<detail::HubState> state_;
};

}  // namespace switchboard::ws
