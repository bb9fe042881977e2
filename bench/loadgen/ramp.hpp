#pragma once
// Opens a worker's share of connections at a bounded pace: at most `limit` handshakes
// in flight, so the server sees a ramp rather than a SYN flood that overflows its
// accept backlog. Failed attempts count as done; the run reports them.
//
// idle opens its share in two parts: `first_part` while the run is in Phase::ramp, the
// rest once the main thread has sampled the server halfway (Phase::ramp_rest or later).
// Other scenarios open the whole share at once (first_part = target).

#include <algorithm>

#include "worker.hpp"

namespace switchboard::loadgen {

class Ramp {
 public:
  Ramp(unsigned target, unsigned limit) noexcept : Ramp(target, limit, target) {}
  Ramp(unsigned target, unsigned limit, unsigned first_part) noexcept
      : target_(target), first_part_(std::min(first_part, target)), limit_(limit ? limit : 1) {}

  void step(Worker& worker) {
    Phase phase = worker.phase();
    unsigned allowed = phase == Phase::ramp || phase == Phase::halfway ? first_part_ : target_;
    while (started_ < allowed && worker.handshaking() < limit_ && worker.phase() != Phase::done) {
      ++started_;
      worker.connect();  // a failure is counted by the worker
    }
  }
  bool done() const noexcept { return started_ >= target_; }

 private:
  unsigned target_;
  unsigned first_part_;
  unsigned limit_;
  unsigned started_ = 0;
};

}  // namespace switchboard::loadgen
