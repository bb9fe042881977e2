#pragma once
// ws-internal: one server-side WebSocket connection — the net::Protocol after the
// upgrade. Frames in through the pure MessageReader, frames out through the
// connection's corked queue; the closing handshake, the heartbeat and topics.

#include <any>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <switchboard/buffer.hpp>
#include <switchboard/websocket.hpp>

#include "core/pool.hpp"
#include "net/connection.hpp"
#include "ws/codec/deflate.hpp"
#include "ws/codec/reader.hpp"

namespace switchboard::ws::detail {

class Socket;
struct HubState;

// A route's settings, shared by its sockets (read-only once the server runs).
struct Route {
  Behavior behavior;
  std::optional<DeflateOptions> deflate;
  HubState* hub = nullptr;
};

// The subscribers of one topic on one loop thread.
struct Topic {
  std::string name;
  std::vector<Socket*> subscribers;
};

// Per loop thread: its topics. Only that thread touches it.
struct ThreadTopics {
  std::unordered_map<std::string, std::unique_ptr<Topic>> topics;
};

// The compressor shared by every socket of this thread that agreed on these settings
// without server context takeover (RFC 7692 §7.1.1.1): it keeps no window between
// messages, so one serves them all.
Deflater& shared_deflater(int window_bits, int level, int mem_level);

// The per-connection compression state, present only when negotiated.
struct DeflateState {
  DeflateParams params;
  std::size_t threshold;
  Inflater inflater;
  std::unique_ptr<Deflater> own_deflater;  // only with server context takeover
  int level;
  int mem_level;
};

class Socket final : public WebSocket,
                     public net::Protocol,
                     public core::PoolAllocated<Socket>,
                     private MessageReader::Handler {
 public:
  Socket(net::Connection& connection, const Route& route, std::any user_data, std::string protocol,
         std::optional<DeflateParams> deflate);
  ~Socket() override;

  // Called once the 101 is queued.
  void opened();

  SendStatus send_message(std::string_view message, bool binary, bool compress);
  // One message made of two pieces (a protocol's prefix and the payload), framed as one
  // without joining them first.
  SendStatus send_parts(std::string_view head, std::string_view body, bool binary, bool compress);
  // Queues a whole frame built once for many sockets (a publish).
  SendStatus send_shared(const SharedBuffer& frame);
  void start_close(std::uint16_t code, std::string_view reason);
  void terminate();
  void send_ping(std::string_view payload);

  bool subscribe(std::string_view topic);
  bool unsubscribe(std::string_view topic);
  bool is_subscribed(std::string_view topic) const;
  void publish(std::string_view topic, std::string_view message, bool binary);

  std::size_t buffered() const noexcept { return connection_ ? connection_->buffered_amount() : 0; }
  std::string address() const { return connection_ ? connection_->remote_address() : std::string(); }
  // The conn field of its log lines ("address:port"; empty once closed).
  std::string peer() const;
  std::string_view subprotocol() const noexcept { return extras_ ? std::string_view(extras_->protocol) : std::string_view{}; }
  std::any& data() noexcept { return user_data_; }
  const DeflateState* deflate() const noexcept { return deflate_.get(); }
  bool open() const noexcept { return state_ == State::open; }

 private:
  enum class State : std::uint8_t { open, closing, closed };

  // net::Protocol
  void on_data(net::Connection&, std::span<std::byte> bytes) override;
  void on_drain(net::Connection&) override;
  void on_timer(net::Connection&) override;
  void on_close(net::Connection&, net::CloseReason reason) override;
  void on_shutdown(net::Connection&) override;
  // MessageReader::Handler
  void on_message(std::string_view payload, bool binary) override;
  void on_ping(std::string_view payload) override;
  void on_pong(std::string_view payload) override;
  void on_close(std::uint16_t code, std::string_view reason) override;

  net::WriteStatus write_frame(Opcode opcode, std::string_view payload, bool rsv1);
  net::WriteStatus write_frame(Opcode opcode, std::string_view head, std::string_view body, bool rsv1);
  void write_close(std::uint16_t code, std::string_view reason);
  void fail(std::uint16_t code);
  void schedule_heartbeat();
  Deflater& deflater();
  template <class Fn>
  void guarded(const char* what, Fn&& fn);

  net::Connection* connection_;
  const Route& route_;
  std::unique_ptr<DeflateState> deflate_;  // before reader_, which points into it
  MessageReader reader_;
  std::any user_data_;
  // What many sockets never have, out of line: every connection holds this object.
  struct Extras {
    std::string protocol;  // the subprotocol agreed on
    std::string close_reason;
    std::vector<Topic*> topics;
  };
  Extras& extras() {
    if (!extras_) extras_ = std::make_unique<Extras>();
    return *extras_;
  }
  std::unique_ptr<Extras> extras_;
  std::int64_t last_received_ms_ = 0;
  std::uint16_t close_code_ = close_code::abnormal;  // reported to the close callback
  State state_ = State::open;
  bool ping_outstanding_ = false;
};

}  // namespace switchboard::ws::detail
