#pragma once
// Engine.IO v4 (and v3 with allow_eio3) on an http::Server: sessions over HTTP
// long-polling and WebSocket, the upgrade between them, and the heartbeat — what the
// official engine.io-client and socket.io-client talk to first.
//
//   switchboard::http::Server http({.port = 3000});
//   switchboard::eio::Server engine(http, {});
//   engine.on_message([](switchboard::eio::Socket& socket, std::string_view data, bool binary) {
//     socket.send(data, binary);
//   });
//
// The callbacks are the server's, not each session's (a session carries none: what an
// application keeps per session goes in its user_data()).
//
// Thread safety and lifetime: a session lives on one loop thread for life; its Socket
// and every callback run there. A Socket& is valid until the close callback returns.
// Server::make_packet may be called from any thread.

#include <any>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <switchboard/buffer.hpp>
#include <switchboard/http.hpp>

namespace switchboard::eio {

namespace detail {
class Session;
struct ServerState;
}  // namespace detail

struct Cors {
  // Allowed origins; "*" allows any (and, with credentials, reflects the request's).
  std::vector<std::string> origins = {"*"};
  std::vector<std::string> methods = {"GET", "POST"};
  std::vector<std::string> allowed_headers;  // empty: reflect Access-Control-Request-Headers
  bool credentials = false;
  std::chrono::seconds max_age{0};  // 0: no Access-Control-Max-Age
};

struct Cookie {
  std::string name = "io";
  std::string path = "/";
  bool http_only = true;
  std::string same_site = "Lax";
};

struct ServerOptions {
  std::string path = "/engine.io/";
  std::chrono::milliseconds ping_interval{25'000};
  std::chrono::milliseconds ping_timeout{20'000};
  std::chrono::milliseconds upgrade_timeout{10'000};
  std::size_t max_http_buffer_size = 1'000'000;  // bytes per POST body or WebSocket message
  std::vector<std::string> transports = {"polling", "websocket"};
  bool allow_upgrades = true;
  bool per_message_deflate = false;  // on the WebSocket transport
  // gzip/deflate of polling responses of at least `http_compression_threshold` bytes,
  // when the client accepts it.
  bool http_compression = true;
  std::size_t http_compression_threshold = 1024;
  std::optional<Cookie> cookie;  // the sid cookie on the handshake response
  std::optional<Cors> cors;      // no CORS headers unless set
  bool allow_eio3 = false;
  // Take the client address (Handshake::address) from X-Forwarded-For: only behind a
  // proxy you trust, which sets it.
  bool trust_proxy = false;
  // Decides whether a handshake (a new session) may proceed; a false return refuses
  // it with 403 {"code":4,"message":"Forbidden"} (or the message set in `error`).
  std::function<bool(const http::Request&, std::string& error)> allow_request;
  // Headers added to the handshake response only, and to every response.
  std::function<void(const http::Request&, std::vector<std::pair<std::string, std::string>>&)> initial_headers;
  std::function<void(const http::Request&, std::vector<std::pair<std::string, std::string>>&)> headers;
};

// What the session was opened with (the handshake request), for the layers above.
struct Handshake {
  // The target, address, time and headers: one block that copies share.
  http::RequestHead request;

  // The client's: the peer's, or with ServerOptions::trust_proxy the first of
  // X-Forwarded-For.
  std::string_view address() const noexcept { return request.address(); }
  std::chrono::system_clock::time_point time() const noexcept { return request.time(); }
  // Always false: Switchboard serves plain HTTP (TLS ends at a proxy in front of it).
  bool secure() const noexcept { return false; }

  std::string_view url() const noexcept { return request.target(); }
  std::string_view query() const noexcept { return request.query(); }
  std::optional<std::string> query_param(std::string_view name) const { return request.query_param(name); }
  // The first value of a header, or empty.
  std::string_view header(std::string_view name) const noexcept { return request.header(name); }
  std::vector<std::pair<std::string_view, std::string_view>> headers() const { return request.headers(); }
};

// A message framed once for many sessions (see Server::make_packet and Socket::send).
struct SharedPacket {
  SharedBuffer websocket_frame;  // the whole WebSocket frame, uncompressed
  std::string polling_text;      // its form inside a v4 polling payload ("4..." or "b...")
  std::size_t frame_header_size = 0;
  bool binary = false;
  // The message itself.
  std::string_view data() const noexcept {
    return binary ? websocket_frame.view().substr(frame_header_size) : std::string_view(polling_text).substr(1);
  }
};

class Socket {
 public:
  std::string_view id() const noexcept;
  // "polling" or "websocket".
  std::string_view transport() const noexcept;
  int protocol() const noexcept;  // 3 or 4
  const Handshake& handshake() const noexcept;

  // Queues a message packet. Returns false if the session is closed.
  bool send(std::string_view data, bool binary = false);
  // Queues a message framed once for many sessions (a broadcast).
  bool send(const SharedPacket& packet);
  // Closes the session (reason "forced close"), after flushing what is queued.
  void close();
  bool open() const noexcept;
  // Bytes waiting to be written (WebSocket) or packets waiting for a GET (polling).
  std::size_t buffered_amount() const noexcept;
  // Whether a packet sent now would leave at once: a WebSocket below its high-water
  // mark, or a polling session with a GET waiting (Socket.IO's volatile emits).
  bool writable() const noexcept;

  std::any& user_data() noexcept;

 protected:
  Socket() = default;
  ~Socket() = default;
};

class Server {
 public:
  Server(http::Server& http, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Every session's events, on its loop thread. Set them before the server runs.
  void on_connection(std::function<void(Socket&)> handler);
  void on_message(std::function<void(Socket&, std::string_view data, bool binary)> handler);
  // reason: "transport close", "transport error", "ping timeout", "parse error",
  // "forced close", "server shutting down".
  void on_close(std::function<void(Socket&, std::string_view reason)> handler);
  void on_upgrade(std::function<void(Socket&)> handler);  // now on WebSocket
  void on_drain(std::function<void(Socket&)> handler);    // the WebSocket queue fell below its high-water mark
  const ServerOptions& options() const noexcept;

  // A message packet framed once; any thread.
  static SharedPacket make_packet(std::string_view data, bool binary);

  // Sessions open now, on every loop.
  std::size_t session_count() const noexcept;

  // For metrics: sessions by transport now, and requests refused with an Engine.IO
  // error since the start. Counted per loop without locks; any thread.
  struct Stats {
    static constexpr std::size_t refusal_codes = 6;
    std::size_t polling = 0;
    std::size_t websocket = 0;  // from the start, or upgraded
    std::uint64_t opened = 0;   // sessions opened since the start (closed: opened - open now)
    // By Engine.IO error code: 0 Transport unknown, 1 Session ID unknown, 2 Bad
    // handshake method, 3 Bad request, 4 Forbidden (allow_request), 5 Unsupported
    // protocol version.
    std::array<std::uint64_t, refusal_codes> refused{};
  };
  Stats stats() const;
  // A label for an error code of Stats::refused ("unknown_transport", ...).
  static std::string_view refusal_reason(int code) noexcept;

 private:
  std::shared_ptr<detail::ServerState> state_;
};

}  // namespace switchboard::eio
