#pragma once
// Opens a worker's share of connections at a bounded pace: at most `limit` handshakes
// in flight, so the server sees a ramp rather than a SYN flood that overflows its
// accept backlog. Failed attempts count as done; the run reports them.

#include "worker.hpp"

namespace switchboard::loadgen {

class Ramp {
 public:
  Ramp(unsigned target, unsigned limit) noexcept : target_(target), limit_(limit ? limit : 1) {}

  void step(Worker& worker) {
    while (started_ < target_ && worker.handshaking() < limit_ && worker.phase() != Phase::done) {
      ++started_;
      worker.connect();  // a failure is counted by the worker
    }
  }
  bool done() const noexcept { return started_ >= target_; }

 private:
  unsigned target_;
  unsigned limit_;
  unsigned started_ = 0;
};

}  // namespace switchboard::loadgen
