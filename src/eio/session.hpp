#pragma once
// eio-internal: one Engine.IO session on its loop thread — the transports (polling,
// WebSocket), the upgrade between them, the heartbeat and the write buffer.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <switchboard/engineio.hpp>
#include <switchboard/websocket.hpp>

#include "core/pool.hpp"
#include "eio/codec/packet.hpp"
#include "net/loop.hpp"
#include "net/timer_wheel.hpp"
#include "ws/socket.hpp"

namespace switchboard::eio::detail {

class Session;

// The answer to one polling request, which may have arrived on another loop: send()
// runs the HTTP response on the loop that owns the request (home).
class Reply {
 public:
  Reply(http::Response response, net::Loop& home, std::vector<std::pair<std::string, std::string>> headers,
        bool gzip, bool deflate)
      : response_(std::move(response)), home_(&home), headers_(std::move(headers)), gzip_(gzip), deflate_(deflate) {}

  // A polling payload (compressed when it is long and the client accepts it).
  void send_payload(std::string body, const ServerOptions& options);
  // "ok" for a POST.
  void send_ok();
  // {"code":N,"message":...} with 400 (403 for code 4).
  void send_error(int code, std::string_view message);
  std::uint64_t id() const noexcept { return id_; }
  void set_id(std::uint64_t id) noexcept { id_ = id; }

 private:
  void send(int status, std::string body, std::vector<std::pair<std::string, std::string>> headers);

  http::Response response_;
  net::Loop* home_;
  std::vector<std::pair<std::string, std::string>> headers_;  // CORS, hooks
  bool gzip_ = false;
  bool deflate_ = false;
  std::uint64_t id_ = 0;
};

// Per loop: the sessions it owns.
struct ThreadSessions {
  // Keyed by a view of the session's own id: no second copy of it. The nodes live as
  // long as their sessions, so they come from the pools (core/pool.hpp).
  std::unordered_map<std::string_view, std::shared_ptr<Session>, std::hash<std::string_view>,
                     std::equal_to<std::string_view>,
                     core::PoolAllocator<std::pair<const std::string_view, std::shared_ptr<Session>>>>
      by_id;
};

// Per loop, for Server::stats(): written only on that loop's thread.
struct LoopStats {
  net::LoopCounter opened;            // sessions made on this loop since the start
  net::LoopCounter websocket_opened;  // sessions whose transport became WebSocket
  net::LoopCounter websocket_closed;  // ... and closed while on it
  net::LoopCounter refused[Server::Stats::refusal_codes];
};

// What every session of a server shares.
struct ServerState : std::enable_shared_from_this<ServerState> {
  http::Server* http = nullptr;
  ServerOptions options;
  std::function<void(Socket&)> on_connection;
  std::function<void(Socket&, std::string_view data, bool binary)> on_message;
  std::function<void(Socket&, std::string_view reason)> on_close;
  std::function<void(Socket&)> on_upgrade;
  std::function<void(Socket&)> on_drain;
  ws::detail::Route websocket_route;  // the WebSocket transport's behaviour
  // Before `threads`: a session destroyed with the maps still counts its close here.
  std::unique_ptr<LoopStats[]> stats;  // one per loop
  std::vector<ThreadSessions> threads;
  std::atomic<std::size_t> session_count{0};
  std::string upgrades_json;

  // Counts an Engine.IO error answer on the calling loop.
  void count_refusal(int code);
  // Answers {"code", "message"} with 400/403, and counts it.
  void refuse(http::Response& response, const std::vector<std::pair<std::string, std::string>>& headers, int code,
              std::string_view message = {});

  void handle(http::Request& request, http::Response& response);
  // `headers`: CORS and hook headers for HTTP answers; `hooked`: the hooks' only, for a
  // WebSocket's 101.
  void handle_local(const std::string& sid, http::Request& request, http::Response& response, Protocol protocol,
                    bool websocket, std::vector<std::pair<std::string, std::string>> headers,
                    const std::vector<std::pair<std::string, std::string>>& hooked);
  void handshake(http::Request& request, http::Response& response, Protocol protocol, bool websocket,
                 std::vector<std::pair<std::string, std::string>> headers,
                 std::vector<std::pair<std::string, std::string>> hooked);
  std::shared_ptr<Session> find(unsigned thread, const std::string& sid);
  bool polling_allowed() const;
  bool websocket_allowed() const;
};

class Session final : public Socket, public std::enable_shared_from_this<Session> {
 public:
  Session(ServerState& server, net::Loop& loop, std::string id, Protocol protocol, Handshake handshake);
  ~Session();

  // Transport events, on the session's loop.
  void start_polling(Reply handshake_reply);
  void start_websocket(ws::detail::Socket& socket);
  void on_poll(Reply reply);
  void on_post(std::string_view body, bool binary_content, Reply reply);
  void on_poll_aborted(std::uint64_t reply_id);
  void on_probe_socket(ws::detail::Socket& socket);
  void on_websocket_message(ws::detail::Socket& socket, std::string_view payload, bool binary);
  void on_websocket_closed(ws::detail::Socket& socket);
  void on_websocket_drain(ws::detail::Socket& socket);
  void shut_down() { close("server shutting down"); }

  // Socket's implementation.
  std::string_view id_view() const noexcept { return {id_.data(), id_size_}; }
  std::string_view transport_name() const noexcept { return websocket_ ? "websocket" : "polling"; }
  Protocol protocol_version() const noexcept { return protocol_; }
  const Handshake& handshake_data() const noexcept { return handshake_; }
  bool send_message(std::string_view data, bool binary);
  bool send_shared(const SharedPacket& packet);
  void close_by_server();
  bool is_open() const noexcept { return state_ == State::open; }
  std::size_t buffered() const noexcept;
  bool can_write() const noexcept;
  std::any& data() noexcept { return user_data_; }
  bool upgraded() const noexcept { return websocket_ != nullptr; }
  bool upgrading() const noexcept { return probe_ != nullptr; }
  net::Loop& loop() const noexcept { return *loop_; }

 private:
  enum class State : std::uint8_t { open, closed };
  struct Outgoing {
    PacketType type;
    bool binary;
    std::string data;
    SharedBuffer frame;  // a broadcast's prebuilt WebSocket frame, or empty
  };

  void on_packet(const Packet& packet);
  void queue(PacketType type, std::string_view data = {}, bool binary = false);
  void write_websocket(const Outgoing& packet);
  // Answers the pending GET with what is buffered (or `fallback` when nothing is).
  void flush_poll(std::optional<PacketType> fallback = std::nullopt);
  void schedule_flush();
  void close(std::string_view reason);
  // Out of the loop's session table (which may hold the last reference).
  void forget();
  void schedule_ping();
  void expect_pong_by(net::TimerWheel::Clock::time_point deadline);
  // Closes the session if its pong is overdue; true if it is no longer open.
  bool timed_out();
  static void on_heartbeat_timer(void* self);
  static void on_upgrade_or_linger_timer(void* self);
  void arm_upgrade_or_linger(std::chrono::milliseconds delay);
  void cancel_upgrade_or_linger();
  void finish_upgrade();
  void abandon_probe();

  // Members ordered by size, the one-byte ones together at the end: every idle
  // connection has a session, and holes between them cost about 30 bytes each.
  ServerState& server_;
  net::Loop* loop_;
  std::array<char, 24> id_{};  // the sid (make_sid's 24 characters), inline
  Handshake handshake_;
  std::any user_data_;
  ws::detail::Socket* websocket_ = nullptr;  // the transport, once upgraded (or from the start)
  ws::detail::Socket* probe_ = nullptr;      // a WebSocket being upgraded to
  std::unique_ptr<Reply> pending_get_;  // a polling client's waiting GET (not inline: most sessions are WebSocket)
  std::vector<Outgoing> buffer_;
  net::TimerWheel::Clock::time_point ping_due_{};
  net::TimerWheel::Clock::time_point pong_deadline_{};
  // One timer per pair of deadlines that never overlap (a timer is 48 bytes, and every
  // session has them): the next ping, then the pong it awaits (v3: the client's next
  // ping); the upgrade's deadline while open, then how long a closed session lingers.
  net::TimerWheel::Timer heartbeat_timer_{&Session::on_heartbeat_timer, this};
  // Out of line, made when first armed: a WebSocket-only session never needs it.
  std::unique_ptr<net::TimerWheel::Timer> upgrade_or_linger_timer_;
  std::uint8_t id_size_ = 0;
  Protocol protocol_;
  State state_ = State::open;
  bool probed_ = false;  // "2probe" answered on probe_
  bool flush_scheduled_ = false;
  bool awaiting_pong_ = false;
  bool awaiting_last_poll_ = false;  // closed by the client's close packet, no GET seen
  bool websocket_lost_ = false;      // the WebSocket transport closed under the session
  bool base64_binary_ = false;       // the client asked for b64=1: binary goes as base64 text
};

// The session a WebSocket of the Engine.IO route belongs to (its user data).
std::shared_ptr<Session> session_of(ws::WebSocket& socket);

}  // namespace switchboard::eio::detail
