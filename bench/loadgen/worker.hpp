#pragma once
// One thread's epoll loop and the connections it owns for their whole life
// (DESIGN.md: shared-nothing per core — the load generator follows the same rule as the
// server, so that it is not the bottleneck it measures).
//
// A loop turn: wait for events; read each readable socket into the worker's buffer and
// feed its transport (no per-connection read buffer; the transport keeps only an
// unfinished frame or response); let the scenario act; then write each session's
// corked output with one send() per socket; arm EPOLLOUT only after a short write;
// free closed sessions. A session may own two sockets (Engine.IO polling: a GET
// channel and a POST channel, see transport.hpp); each socket's epoll entry names
// its session's slot and the channel.
//
// Thread safety: construct on any thread, then run() on one thread; wake() and
// stats() may be called from any thread. histogram() is for the owning thread, or for
// any thread after run() returned.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "connection.hpp"
#include "control.hpp"
#include "histogram.hpp"
#include "options.hpp"
#include "random.hpp"
#include "scenario.hpp"
#include "stats.hpp"
#include "transport.hpp"

namespace switchboard::loadgen {

class Worker final : private TransportEvents {
 public:
  Worker(const Options& options, const TransportFactory& factory, Control& control,
         std::unique_ptr<Scenario> scenario);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void run();
  void wake() noexcept;  // any thread: return from epoll_wait now
  const Stats& stats() const noexcept { return stats_; }
  const Histogram& histogram() const noexcept { return histogram_; }

  // For scenarios, on this worker's thread.
  // Starts a session: a TCP connect per transport channel; nullptr if a socket could
  // not be created (counted as a connect failure) or the worker is stopping. The
  // session speaks what `factory` makes (default: the run's transport).
  Connection* connect(const TransportFactory* factory = nullptr);
  void send(Connection& connection, std::span<const std::byte> payload, bool binary);
  // Starts the closing handshake of an open connection; aborts one still connecting.
  void close(Connection& connection);
  std::int64_t now() const noexcept { return now_; }  // time of the last read or turn
  Phase phase() const noexcept { return control_.phase.load(std::memory_order_relaxed); }
  std::size_t live() const noexcept { return live_; }  // connections not yet closed
  std::size_t handshaking() const noexcept { return handshaking_; }
  Histogram& histogram() noexcept { return histogram_; }
  Stats& stats() noexcept { return stats_; }
  Random& random() noexcept { return random_; }
  const Options& options() const noexcept { return options_; }

 private:
  void on_open() override;
  void on_message(std::span<const std::byte> payload, bool binary) override;

  Connection& allocate();
  bool open_channel(Connection& c, unsigned channel);
  void on_connected(Connection& c, unsigned channel);
  void on_readable(Connection& c, unsigned channel);
  void on_eof(Connection& c);
  void on_socket_error(Connection& c, unsigned channel);
  void on_session_closed(Connection& c);
  void queue_flush(Connection& c);
  void flush(Connection& c);
  void write(Connection& c, unsigned channel);
  void flush_all();
  void watch(Connection& c, unsigned channel, bool want_write);
  void finish(Connection& c, Outcome outcome);
  void scan_timeouts();
  void release_closed();
  void report_failure(const Connection& c, Outcome outcome);
  void begin_shutdown();

  const Options& options_;
  const TransportFactory& factory_;
  Control& control_;
  std::unique_ptr<Scenario> scenario_;
  Stats stats_;
  Histogram histogram_;
  Random random_;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::int64_t now_ = 0;
  std::int64_t next_timeout_scan_ = 0;
  std::int64_t shutdown_deadline_ = 0;
  bool stopping_ = false;
  std::size_t live_ = 0;
  std::size_t handshaking_ = 0;
  int last_errno_ = 0;  // errno of the socket error being handled, for report_failure
  int failures_reported_ = 0;
  Connection* current_ = nullptr;  // the connection whose bytes the transport is feeding

  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<Connection*> flush_list_;
  std::vector<Connection*> closed_;
  std::vector<std::byte> read_buffer_;
};

}  // namespace switchboard::loadgen
