#pragma once
// What the main thread tells the workers: the phase of the run, and when to stop.

#include <atomic>

namespace switchboard::loadgen {

enum class Phase {
  ramp,       // opening connections (idle: the first half of them)
  halfway,    // idle: the first half is open; nothing opens while the server settles and is sampled
  ramp_rest,  // idle: opening the second half
  warmup,     // load runs, nothing is recorded
  measure,    // the measured window: latencies are recorded
  done,       // the window closed: scenarios send nothing new
};

struct Control {
  std::atomic<Phase> phase{Phase::ramp};
  std::atomic<bool> stop{false};  // workers close their connections and return
};

}  // namespace switchboard::loadgen
