#pragma once
// A scenario drives one worker's connections: when to open them, what to send, what
// to check. One instance per worker, called on the worker's thread only.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "connection.hpp"
#include "stats.hpp"

namespace switchboard::loadgen {

class TransportFactory;
class Worker;
struct Options;

class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual void on_open(Worker& worker, Connection& connection) {}
  virtual void on_message(Worker& worker, Connection& connection,
                          std::span<const std::byte> payload, bool binary) {}
  // After the socket closed; the slot is reused only after the turn.
  virtual void on_closed(Worker& worker, Connection& connection, Outcome outcome) {}
  // Once per loop turn, after the events and before the corked writes leave.
  virtual void on_turn(Worker& worker) {}
  // When (now_ns()) the scenario wants its next on_turn even if no socket is ready (a
  // publication due on a schedule); 0: no such time.
  virtual std::int64_t wake_at() const { return 0; }
};

// fanout: what the workers share (the publisher lives on worker 0; members anywhere).
struct FanoutShared {
  std::atomic<std::uint64_t> delivered{0};  // "msg" events received by members
  std::atomic<std::int64_t> members{0};     // members open now
};

// chat: what the workers share. Every worker writes, the main thread reads.
struct ChatShared {
  // Clients whose join is settled: its ack came (either way), or the client closed first.
  std::atomic<std::uint64_t> joins_settled{0};
  std::atomic<std::uint64_t> joined{0};         // join-room acks {success: true}
  std::atomic<std::uint64_t> messages_sent{0}, typing_sent{0}, deliveries{0}, typing_deliveries{0}, acks{0},
      ack_failures{0}, lost{0}, rate_limited{0}, unexpected{0};

  ChatCounts snapshot() const noexcept {
    auto get = [](const std::atomic<std::uint64_t>& v) { return v.load(std::memory_order_relaxed); };
    return {get(messages_sent), get(typing_sent), get(deliveries), get(typing_deliveries), get(acks),
            get(ack_failures), get(lost), get(rate_limited), get(unexpected)};
  }
};

// `share` is this worker's part of --connections (echo, idle) or --concurrency (connect).
std::unique_ptr<Scenario> make_echo_scenario(const Options& options, unsigned share, unsigned worker);
// idle: `first_half_share` of `share` opens before the main thread samples the server
// halfway (Phase::halfway), the rest after.
std::unique_ptr<Scenario> make_idle_scenario(const Options& options, unsigned share, unsigned first_half_share);
std::unique_ptr<Scenario> make_connect_scenario(const Options& options, unsigned share);
// `publisher` makes the publisher's session (worker 0 only opens one).
// `first_client` numbers this worker's clients (client i is in room i % --rooms).
std::unique_ptr<Scenario> make_chat_scenario(const Options& options, unsigned share, unsigned first_client,
                                             ChatShared& shared);
std::unique_ptr<Scenario> make_fanout_scenario(const Options& options, unsigned share, unsigned worker,
                                               FanoutShared& shared, const TransportFactory& publisher);

}  // namespace switchboard::loadgen
