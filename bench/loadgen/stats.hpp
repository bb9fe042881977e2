#pragma once
// Counters a worker keeps and the main thread reads every second. Each counter has
// one writer (its worker), so relaxed atomics are enough: the reader wants a recent
// value, not an ordering.

#include <atomic>
#include <cstdint>

namespace switchboard::loadgen {

struct Counter {
  std::atomic<std::uint64_t> value{0};
  void add(std::uint64_t n = 1) noexcept {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(std::uint64_t n = 1) noexcept {
    value.store(value.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

// A plain copy, for sums and differences.
struct StatsSnapshot {
  std::uint64_t connects_started = 0;
  std::uint64_t opened = 0;             // handshakes completed
  std::uint64_t open_now = 0;           // open sessions (gauge)
  std::uint64_t connect_failures = 0;   // TCP connect refused, reset or timed out
  std::uint64_t handshake_failures = 0; // bad or missing 101, or timed out
  std::uint64_t closed_clean = 0;       // we closed, the server answered
  std::uint64_t dropped = 0;            // an open session that the server ended
  std::uint64_t protocol_errors = 0;    // malformed frames from the server
  std::uint64_t close_timeouts = 0;     // the server never answered our close
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t mismatches = 0;         // echoes that differ from what was sent
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;

  std::uint64_t errors() const noexcept {
    return connect_failures + handshake_failures + dropped + protocol_errors + close_timeouts +
           mismatches;
  }
  StatsSnapshot& operator+=(const StatsSnapshot& o) noexcept;
  StatsSnapshot operator-(const StatsSnapshot& o) const noexcept;
};

struct Stats {
  Counter connects_started, opened, open_now, connect_failures, handshake_failures, closed_clean,
      dropped, protocol_errors, close_timeouts, messages_sent, messages_received, mismatches,
      bytes_sent, bytes_received;

  StatsSnapshot snapshot() const noexcept {
    return {connects_started.get(), opened.get(),          open_now.get(),
            connect_failures.get(), handshake_failures.get(), closed_clean.get(),
            dropped.get(),          protocol_errors.get(),  close_timeouts.get(),
            messages_sent.get(),    messages_received.get(), mismatches.get(),
            bytes_sent.get(),       bytes_received.get()};
  }
};

inline StatsSnapshot& StatsSnapshot::operator+=(const StatsSnapshot& o) noexcept {
  connects_started += o.connects_started;
  opened += o.opened;
  open_now += o.open_now;
  connect_failures += o.connect_failures;
  handshake_failures += o.handshake_failures;
  closed_clean += o.closed_clean;
  dropped += o.dropped;
  protocol_errors += o.protocol_errors;
  close_timeouts += o.close_timeouts;
  messages_sent += o.messages_sent;
  messages_received += o.messages_received;
  mismatches += o.mismatches;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  return *this;
}

// Differences of the monotonic counters; the gauge keeps the later value.
inline StatsSnapshot StatsSnapshot::operator-(const StatsSnapshot& o) const noexcept {
  StatsSnapshot d = *this;
  d.connects_started -= o.connects_started;
  d.opened -= o.opened;
  d.connect_failures -= o.connect_failures;
  d.handshake_failures -= o.handshake_failures;
  d.closed_clean -= o.closed_clean;
  d.dropped -= o.dropped;
  d.protocol_errors -= o.protocol_errors;
  d.close_timeouts -= o.close_timeouts;
  d.messages_sent -= o.messages_sent;
  d.messages_received -= o.messages_received;
  d.mismatches -= o.mismatches;
  d.bytes_sent -= o.bytes_sent;
  d.bytes_received -= o.bytes_received;
  return d;
}

// The chat scenario's own counts (the Stats above count every packet alike: a join's
// ack, a user-joined and a new-message are each a message received).
struct ChatCounts {
  std::uint64_t messages_sent = 0;      // send-message emitted
  std::uint64_t typing_sent = 0;        // typing emitted
  std::uint64_t deliveries = 0;         // new-message received, the sender's own included
  std::uint64_t typing_deliveries = 0;  // user-typing received
  std::uint64_t acks = 0;               // send-message acks {success: true}
  // Errors (each is also counted in Stats::mismatches):
  std::uint64_t ack_failures = 0;       // an ack other than {success: true}, or out of order
  std::uint64_t lost = 0;               // new-messages a member never got (a gap in a sender's numbers)
  std::uint64_t rate_limited = 0;       // rate-limited notices
  std::uint64_t unexpected = 0;         // any other packet, or one of the above not as sent

  ChatCounts operator-(const ChatCounts& o) const noexcept {
    return {messages_sent - o.messages_sent, typing_sent - o.typing_sent, deliveries - o.deliveries,
            typing_deliveries - o.typing_deliveries, acks - o.acks, ack_failures - o.ack_failures,
            lost - o.lost, rate_limited - o.rate_limited, unexpected - o.unexpected};
  }
};

}  // namespace switchboard::loadgen
