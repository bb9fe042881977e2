#pragma once
// The server's numbers: what /metrics exposes (Prometheus text) and what the dashboard
// shows. docs/OPERATIONS.md lists every metric and what it costs.
//
// Cheap on the hot path: every counter that moves per message lives in a block owned by
// one thread (ThreadCounters), bumped with a plain load and store of a relaxed atomic —
// one writer, so no locked instruction and no line shared between cores — and summed
// only when someone reads (a scrape, the dashboard's tick). Nothing allocates or locks
// per message. Numbers owned by lower layers (bytes, slow consumers, Engine.IO sessions
// and refusals) come from their stats() snapshots; socket and room counts from sio.
//
// Hooks (set up before the server runs):
//   - adapter_factory(): each namespace's adapter counts events out per delivery (and
//     volatile drops), keeps room counts, and hands broadcasts to a RoomFeed (SSE, /ws).
//   - instrument(io): a server observer that counts the events each socket of the
//     namespaces given to add_namespace() receives and is sent one by one.
//   - instrument(behavior): counts a native WebSocket route's open sockets.
//
// Thread safety: local() and the hooks from any thread; render()/totals() from any
// thread; probe_loops() from one thread at a time.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <switchboard/adapter.hpp>
#include <switchboard/engineio.hpp>
#include <switchboard/http.hpp>
#include <switchboard/socketio.hpp>
#include <switchboard/websocket.hpp>

namespace switchboard::app {

class RoomFeed;

// The event names counted by name (the chat contract's, both ways, and the dashboard's
// `stats`); any other name counts as "other", so a client cannot grow the label set.
inline constexpr std::array<std::string_view, 15> tracked_events = {
    "join-room",    "leave-room", "send-message", "typing",      "user-online",
    "direct-message", "room-members", "refresh-token", "new-message", "user-joined",
    "user-left",    "user-typing", "online-users", "rate-limited", "stats"};
inline constexpr std::size_t event_slots = tracked_events.size() + 1;  // + "other"
// The slot of an event name: its index in tracked_events, or tracked_events.size().
std::size_t event_slot(std::string_view event) noexcept;
std::string_view event_label(std::size_t slot) noexcept;

// A counter written by one thread only; read by any.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// One thread's counters. Cache-line aligned so that two threads' blocks never share one.
struct alignas(64) ThreadCounters {
  std::array<Counter, event_slots> events_in;   // received from clients (before middleware)
  std::array<Counter, event_slots> events_out;  // queued to clients, per recipient
  Counter dropped_volatile;      // volatile broadcasts not sent to a connection that could not take them
  Counter dropped_rate_limited;  // events refused by the per-socket rate limit
  Counter connect_refused_auth;  // Socket.IO connections refused with "Authentication error"
  Counter native_ws_opened, native_ws_closed;
  Counter sse_opened, sse_closed;
};

// Sums over every thread's block.
struct Totals {
  std::array<std::uint64_t, event_slots> events_in{};
  std::array<std::uint64_t, event_slots> events_out{};
  std::uint64_t dropped_volatile = 0;
  std::uint64_t dropped_rate_limited = 0;
  std::uint64_t connect_refused_auth = 0;
  std::uint64_t native_ws = 0;  // open now
  std::uint64_t sse = 0;        // open now
  std::uint64_t events_in_sum() const noexcept;
  std::uint64_t events_out_sum() const noexcept;
};

class Metrics {
 public:
  explicit Metrics(http::Server& http);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The calling thread's block (made on a thread's first use, under a lock, once).
  ThreadCounters& local();
  Totals totals() const;

  // What render() and the dashboard read; set before the server runs.
  void set_engine(const eio::Server* engine) noexcept { engine_ = engine; }
  void set_hub(const ws::Hub* hub) noexcept { hub_ = hub; }
  void add_namespace(sio::Namespace& nsp) { namespaces_.push_back(&nsp); }
  const std::vector<sio::Namespace*>& namespaces() const noexcept { return namespaces_; }

  // Makes namespace adapters that count (see above). `feed` may be null. Events of
  // namespaces in `uncounted` (the dashboard's own feed) are not counted.
  adapter::AdapterFactory adapter_factory(RoomFeed* feed, std::vector<std::string> uncounted = {});
  // After add_namespace(), before the server runs.
  void instrument(sio::Server& io);
  void instrument(ws::Behavior& behavior);

  // Posts a probe to every loop: the time it waits in the loop's queue is the loop's lag.
  // Call periodically from one thread (the Ticker).
  void probe_loops();
  // Per loop: the last probe's wait, or how long the probe in flight has waited if longer.
  std::vector<double> loop_lag_seconds() const;

  // Rooms of a namespace now, by kind: chat ("room:..."), user ("user:..."), other (each
  // socket's own room, and any other).
  struct RoomCounts {
    std::int64_t chat = 0, user = 0, other = 0;
    std::int64_t total() const noexcept { return chat + user + other; }
  };
  RoomCounts rooms(sio::Namespace& nsp) const;
  // The same for an adapter this factory made (zero for any other).
  static RoomCounts rooms_of(adapter::Adapter& adapter);

  eio::Server::Stats engine_stats() const { return engine_ ? engine_->stats() : eio::Server::Stats{}; }
  // Bytes in and out, over every loop.
  std::pair<std::uint64_t, std::uint64_t> bytes() const;

  // The Prometheus text of everything.
  std::string render() const;

 private:
  struct LagProbe {
    std::atomic<std::int64_t> sent_ns{0};
    std::atomic<std::int64_t> done_ns{0};
    std::atomic<std::int64_t> lag_ns{0};
  };

  http::Server& http_;
  const eio::Server* engine_ = nullptr;
  const ws::Hub* hub_ = nullptr;
  std::vector<sio::Namespace*> namespaces_;
  std::uint64_t instance_;
  mutable std::mutex blocks_mutex_;
  std::vector<std::unique_ptr<ThreadCounters>> blocks_;
  std::shared_ptr<std::vector<LagProbe>> lag_;
};

// Runs tasks every period on a thread of its own (lag probes, the dashboard's tick, SSE
// heartbeats). Tasks are added before start(); stop() joins.
class Ticker {
 public:
  explicit Ticker(std::chrono::milliseconds period) : period_(period) {}
  ~Ticker() { stop(); }
  // `task` runs every `every`-th tick.
  void add(std::function<void()> task, unsigned every = 1) { tasks_.push_back({std::move(task), every}); }
  void start();
  void stop();

 private:
  struct Task {
    std::function<void()> fn;
    unsigned every;
  };
  std::chrono::milliseconds period_;
  std::vector<Task> tasks_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace switchboard::app
