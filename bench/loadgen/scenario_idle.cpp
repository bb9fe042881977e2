// idle: open the connections, then send nothing. The server must keep them (answering
// its pings is the transport's job); what it costs to hold them is the server's RSS
// growth, which the main thread reads from /proc.

#include "ramp.hpp"
#include "scenario.hpp"
#include "worker.hpp"

namespace switchboard::loadgen {
namespace {

class IdleScenario final : public Scenario {
 public:
  IdleScenario(const Options& options, unsigned share)
      : ramp_(share, options.ramp_concurrency / options.threads / options.sockets_per_session()) {}

  void on_turn(Worker& worker) override { ramp_.step(worker); }

 private:
  Ramp ramp_;
};

}  // namespace

std::unique_ptr<Scenario> make_idle_scenario(const Options& options, unsigned share) {
  return std::make_unique<IdleScenario>(options, share);
}

}  // namespace switchboard::loadgen
