#pragma once
// A scenario drives one worker's connections: when to open them, what to send, what
// to check. One instance per worker, called on the worker's thread only.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "connection.hpp"

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

// `share` is this worker's part of --connections (echo, idle) or --concurrency (connect).
std::unique_ptr<Scenario> make_echo_scenario(const Options& options, unsigned share, unsigned worker);
std::unique_ptr<Scenario> make_idle_scenario(const Options& options, unsigned share);
std::unique_ptr<Scenario> make_connect_scenario(const Options& options, unsigned share);
// `publisher` makes the publisher's session (worker 0 only opens one).
std::unique_ptr<Scenario> make_fanout_scenario(const Options& options, unsigned share, unsigned worker,
                                               FanoutShared& shared, const TransportFactory& publisher);

}  // namespace switchboard::loadgen
