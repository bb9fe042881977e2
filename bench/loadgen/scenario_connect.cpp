// connect: keep --concurrency connections in progress; each one connects, upgrades,
// sends a close frame as soon as it is open, waits for the server's close frame and
// FIN, and is replaced. A completed connection is one whose closing handshake finished
// (Outcome::clean). The histogram holds the time from connect() to the 101.

#include "scenario.hpp"
#include "worker.hpp"

namespace switchboard::loadgen {
namespace {

class ConnectScenario final : public Scenario {
 public:
  explicit ConnectScenario(unsigned share) : share_(share ? share : 1) {}

  void on_turn(Worker& worker) override {
    if (worker.phase() == Phase::done) return;
    // A failed connect() leaves live() unchanged, so the attempts are bounded per turn.
    for (std::size_t attempts = share_ - std::min<std::size_t>(share_, worker.live()); attempts; --attempts) {
      worker.connect();
    }
  }

  void on_open(Worker& worker, Connection& c) override {
    if (worker.phase() == Phase::measure) {
      worker.histogram().record(static_cast<std::uint64_t>(worker.now() - c.started_ns));
    }
    worker.close(c);
  }

 private:
  std::size_t share_;
};

}  // namespace

std::unique_ptr<Scenario> make_connect_scenario(const Options& options, unsigned share) {
  return std::make_unique<ConnectScenario>(share);
}

}  // namespace switchboard::loadgen
