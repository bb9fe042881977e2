#pragma once
// A scenario drives one worker's connections: when to open them, what to send, what
// to check. One instance per worker, called on the worker's thread only.

#include <memory>
#include <span>

#include "connection.hpp"

namespace switchboard::loadgen {

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
};

// `share` is this worker's part of --connections (echo, idle) or --concurrency (connect).
std::unique_ptr<Scenario> make_echo_scenario(const Options& options, unsigned share, unsigned worker);
std::unique_ptr<Scenario> make_idle_scenario(const Options& options, unsigned share);
std::unique_ptr<Scenario> make_connect_scenario(const Options& options, unsigned share);

}  // namespace switchboard::loadgen
