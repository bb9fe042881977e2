#pragma once
// The worker threads: one Loop each. Loop 0 runs on the thread that calls run().
//
// Thread safety: stop() and post_to_all() from any thread; the rest before run().

#include <csignal>
#include <functional>
#include <memory>
#include <vector>

#include "net/loop.hpp"

namespace switchboard::net {

class LoopGroup {
 public:
  // threads == 0 means one per core.
  explicit LoopGroup(unsigned threads = 0, const LoopOptions& options = {});
  ~LoopGroup();

  unsigned size() const noexcept { return static_cast<unsigned>(loops_.size()); }
  Loop& loop(unsigned index) noexcept { return *loops_[index]; }

  // Runs every loop; returns once all have stopped.
  void run();
  void stop();
  void post_to_all(const std::function<void()>& fn);

  // Calls `handler` on loop 0's thread when SIGINT or SIGTERM arrives. Install before
  // run().
  void on_termination_signal(std::function<void(int signal)> handler);

 private:
  struct Signals;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::unique_ptr<Signals> signals_;
};

}  // namespace switchboard::net
