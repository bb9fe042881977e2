#pragma once
// One event loop per worker thread. A loop owns its connections for life; work from
// other threads arrives as posted functions. Asio stays behind this header.
//
// Thread safety: post() and stop() may be called from any thread; everything else
// only from the loop's own thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "net/timer_wheel.hpp"

namespace switchboard::net {

class Connection;

struct LoopOptions {
  // The timer wheel's resolution. Engine.IO's heartbeat in its test mode (pingInterval
  // 300 ms, pingTimeout 200 ms) must end a silent session as promptly as Node's
  // setTimeout does: the official test suite polls right at 500 ms.
  std::chrono::milliseconds timer_tick{1};
  // Every connection of this loop reads into this one buffer; an idle connection holds
  // no read buffer at all.
  std::size_t read_buffer_size = 256 * 1024;
};

// Counters of one loop, for metrics. Written only by the loop's own thread (a plain
// load and store, no locked instruction: one writer), read from any thread with a
// relaxed load — a snapshot may be a moment old, never torn.
class LoopCounter {
 public:
  void add(std::uint64_t n) noexcept { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

struct LoopCounters {
  LoopCounter bytes_in;   // read from sockets
  LoopCounter bytes_out;  // taken by the kernel (sendmsg)
  LoopCounter slow_consumer_disconnects;  // closed for passing WriteLimits::hard_limit
};

class Loop {
 public:
  explicit Loop(unsigned index, const LoopOptions& options = {});
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  unsigned index() const noexcept { return index_; }

  // Runs the loop on the calling thread until stop().
  void run();
  void stop();

  // Runs `fn` on this loop's thread, after the work already queued there.
  void post(std::function<void()> fn);
  // Runs `fn` now when called on this loop's thread, else posts it: for what another
  // thread hands back (an answer, a next()) to state that lives on this loop.
  void dispatch(std::function<void()> fn);
  // Runs `fn` once the current loop turn's handlers have run: after the flush of
  // every connection written to in this turn. Loop thread only.
  void at_end_of_turn(std::function<void()> fn);

  // Arms a timer of this loop's wheel (and the loop's tick, if it was idle).
  void schedule_timer(TimerWheel::Timer& timer, std::chrono::milliseconds delay);
  void schedule_timer_at(TimerWheel::Timer& timer, TimerWheel::Clock::time_point deadline);
  TimerWheel::Clock::time_point now() const noexcept { return timers_.now(); }
  std::span<std::byte> read_buffer() noexcept { return read_buffer_; }

  // The loop running on this thread, or nullptr.
  static Loop* current() noexcept;

  // For net's own files only: the io_context.
  void* native_context() noexcept;

  // Called by Connection: queue this connection's writes for the end of the turn
  // (corking), and free it once the turn is over.
  void schedule_flush(Connection& connection);
  // Adds a connection's socket to this loop's epoll set (edge-triggered).
  void watch(int fd, Connection& connection);
  int epoll_descriptor() const noexcept;
  void schedule_reap(Connection& connection);
  void adopt(Connection& connection);
  // Every live connection of this loop (for shutdown).
  void for_each_connection(const std::function<void(Connection&)>& fn);
  std::size_t connection_count() const noexcept;
  // This loop's counters: written on its thread, readable from any.
  LoopCounters& counters() noexcept { return counters_; }
  const LoopCounters& counters() const noexcept { return counters_; }

 private:
  struct Impl;
  void arm_tick();
  void arm_epoll();
  void end_turn();

  unsigned index_;
  LoopCounters counters_;
  TimerWheel timers_;
  std::unique_ptr<std::byte[]> read_storage_;
  std::span<std::byte> read_buffer_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::net
