// idle: open the connections, then send nothing. The server must keep them (answering
// its pings is the transport's job); what it costs to hold them is the server's RSS
// growth, which the main thread reads from /proc. The connections open in two halves,
// with the server sampled in between: the second half's growth is what each further
// connection costs, without the one-time costs the first connections bring on (code
// paged in, heap arenas made).

#include "ramp.hpp"
#include "scenario.hpp"
#include "worker.hpp"

namespace switchboard::loadgen {
namespace {

class IdleScenario final : public Scenario {
 public:
  IdleScenario(const Options& options, unsigned share, unsigned first_half_share)
      : ramp_(share, options.ramp_concurrency / options.threads / options.sockets_per_session(),
              first_half_share) {}

  void on_turn(Worker& worker) override { ramp_.step(worker); }

 private:
  Ramp ramp_;
};

}  // namespace

std::unique_ptr<Scenario> make_idle_scenario(const Options& options, unsigned share, unsigned first_half_share) {
  return std::make_unique<IdleScenario>(options, share, first_half_share);
}

}  // namespace switchboard::loadgen
