#pragma once
// A TCP connection as the layers above see it: bytes in through a Protocol, bytes out
// through a corked write queue. The socket itself stays inside net.
//
// Reading: the loop's epoll set reports readability (edge-triggered), then the
// connection reads without blocking into the loop's one per-thread buffer and hands
// the bytes to the protocol, which keeps only what it cannot consume yet. Writing: everything written during one loop turn leaves in one
// gathered write at the end of the turn; what the kernel does not take waits in the
// queue. Shared buffers are queued by reference.
//
// Lifetime: a connection is freed by its loop at the end of the turn in which it
// closed, never inside a callback, so a pointer to it stays valid for the rest of the
// turn. Thread safety: loop thread only.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/container/small_vector.hpp>

#include <switchboard/buffer.hpp>

#include "core/pool.hpp"
#include "net/timer_wheel.hpp"

namespace switchboard::net {

class Loop;
class Connection;

enum class CloseReason : std::uint8_t {
  closed_locally,   // close() or end() from this side
  closed_by_peer,   // the peer closed its end (EOF)
  io_error,         // reset, broken pipe, or another socket error
  slow_consumer,    // the write queue passed its hard limit
  server_shutdown,  // the server is stopping
};
std::string_view to_string(CloseReason reason) noexcept;

// What a connection speaks (HTTP, then perhaps WebSocket after an upgrade).
class Protocol {
 public:
  virtual ~Protocol() = default;
  // Bytes arrived. The span is the loop's read buffer: valid only during the call, and
  // writable so that a protocol may decode in place (WebSocket unmasking).
  virtual void on_data(Connection& connection, std::span<std::byte> bytes) = 0;
  // The write queue fell back below the high-water mark after passing it.
  virtual void on_drain(Connection& connection) {}
  // The connection's timer (Connection::set_timer) fired.
  virtual void on_timer(Connection& connection) {}
  // The socket is closed; nothing can be written any more. Called once.
  virtual void on_close(Connection& connection, CloseReason reason) {}
  // The server is stopping: finish politely (a WebSocket close frame, the response
  // in flight), then close. The default closes at once.
  virtual void on_shutdown(Connection& connection);
};

enum class WriteStatus : std::uint8_t {
  accepted,      // queued, and the queue is below the high-water mark
  backpressure,  // queued, but the queue is past the high-water mark: wait for on_drain
  dropped,       // not queued: the connection is closing, or the hard limit was passed
};

struct WriteLimits {
  std::uint32_t high_water = 64 * 1024;          // on_drain is due once below this again
  std::uint32_t hard_limit = 16 * 1024 * 1024;  // past this the peer is a slow consumer
};

// Open connections of one listener, across every loop (max_connections). A connection
// handed to another loop keeps counting.
struct ConnectionCounter {
  std::atomic<std::size_t> open{0};
};

class Connection : public core::PoolAllocated<Connection> {
 public:
  // A connection on `loop` around a connected, non-blocking socket: owned by the loop
  // from here on, and not reading until start(). Loop thread only.
  static Connection* create(Loop& loop, int fd, std::shared_ptr<ConnectionCounter> counter = {});

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  virtual ~Connection();

  Loop& loop() const noexcept { return *loop_; }
  Protocol* protocol() const noexcept { return protocol_.get(); }
  // Switches protocol (an HTTP upgrade). The previous one is kept alive until the end
  // of the turn, so it may call this from inside its own on_data.
  void set_protocol(std::unique_ptr<Protocol> next);

  WriteStatus write(std::span<const std::byte> bytes);
  WriteStatus write(std::string_view bytes) {
    return write(std::as_bytes(std::span(bytes.data(), bytes.size())));
  }
  // Queues the buffer by reference (encode once, send many).
  WriteStatus write(SharedBuffer buffer);
  // Room for an encoder to write up to `max` bytes in place at the end of the queue;
  // commit_write(n) then queues the first n. For frame headers and small packets.
  std::byte* reserve_write(std::size_t max);
  WriteStatus commit_write(std::size_t n);

  std::size_t buffered_amount() const noexcept { return buffered_; }
  void set_write_limits(const WriteLimits& limits) noexcept { limits_ = limits; }
  const WriteLimits& write_limits() const noexcept { return limits_; }

  void pause_reading() noexcept;
  void resume_reading();

  // Writes what is queued, then closes (FIN, then the socket once the peer is done or
  // a short linger passes).
  void end();
  // Closes now; queued bytes are dropped.
  void close(CloseReason reason = CloseReason::closed_locally);
  bool closing() const noexcept { return state_ != State::open; }

  // One timer per connection; the protocol decides what it means.
  void set_timer(std::chrono::milliseconds delay);
  void cancel_timer() noexcept { timer_.cancel(); }

  // "1.2.3.4" or "::1" and the port.
  std::string remote_address() const;
  std::uint16_t remote_port() const noexcept { return remote_port_; }

  // Registers with the loop's epoll set and reads what may already have arrived.
  void start();

  // Takes the socket out of this connection and this loop's epoll set, for another
  // loop to adopt (Connection::create there, then start). This connection then closes
  // as if closed locally, without touching the socket. Returns -1 if already closed.
  int detach_socket();
  const std::shared_ptr<ConnectionCounter>& counter() const noexcept { return counter_; }

 private:
  Connection(Loop& loop, int fd, std::shared_ptr<ConnectionCounter> counter) noexcept;

  friend class Loop;
  enum class State : std::uint8_t { open, ending, closed };
  // The loop's epoll set reported `events` (EPOLLIN, EPOLLOUT, ...) for this socket.
  void on_events(std::uint32_t events);
  // The socket is readable (or may be): read, dispatch, and wait again or continue.
  void on_readable();
  void on_writable();
  void finish_close(CloseReason reason);

  struct Segment {
    SharedBuffer owner;
    std::uint32_t offset;
    std::uint32_t length;
  };

  WriteStatus queued(std::size_t n);
  void flush();  // called by the loop at the end of the turn
  enum class ReadResult : std::uint8_t { full, partial, drained, ended };
  ReadResult read_once();
  void on_peer_eof();
  void begin_linger();
  void post_read();
  static void on_timer_fired(void* self);

  // Ordered so that there are no holes, the flags one bit each: every idle
  // connection has one of these, and 192 bytes fill their pool blocks exactly.
  Loop* loop_;
  int fd_;
  std::uint16_t remote_port_ = 0;
  // Functions posted with this connection's address; it is not freed while any wait.
  std::uint16_t pending_posts_ = 0;
  std::shared_ptr<ConnectionCounter> counter_;
  std::unique_ptr<Protocol> protocol_;
  boost::container::small_vector<Segment, 1> queue_;
  std::size_t buffered_ = 0;
  WriteLimits limits_;
  TimerWheel::Timer timer_;
  // The loop's list of connections.
  Connection* prev_ = nullptr;
  Connection* next_ = nullptr;
  std::array<std::uint8_t, 16> remote_ip_{};
  State state_ = State::open;
  CloseReason end_reason_ = CloseReason::closed_locally;
  bool reading_paused_ : 1 = false;
  bool in_flush_list_ : 1 = false;
  bool over_high_water_ : 1 = false;
  bool peer_eof_ : 1 = false;
  bool read_waiting_ : 1 = false;   // the next EPOLLIN edge means: read
  bool peer_hup_ : 1 = false;       // epoll reported the peer's half-close (or a hang-up)
  bool write_waiting_ : 1 = false;  // the kernel's send buffer was full
  bool remote_v6_ : 1 = false;
};

}  // namespace switchboard::net
