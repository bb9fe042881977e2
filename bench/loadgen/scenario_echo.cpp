// echo: every connection keeps --inflight messages outstanding and sends a new one as
// each echo returns (a closed loop, like a chat client that waits for acks). Each
// payload carries its send time, and its other bytes are a function of (connection,
// sequence), so each echo is checked byte for byte without keeping copies.
//
// The load starts only when the ramp is over (every connection open or failed): a
// server saturated by the first connections' echoes would otherwise starve the
// handshakes of the last ones, and the warmup would measure a moving target.

#include <cstring>
#include <vector>

#include "clock.hpp"
#include "ramp.hpp"
#include "hex.hpp"
#include "scenario.hpp"
#include "worker.hpp"

namespace switchboard::loadgen {
namespace {

class EchoScenario final : public Scenario {
 public:
  EchoScenario(const Options& options, unsigned share, unsigned worker)
      : options_(options),
        ramp_(share, options.ramp_concurrency / options.threads / options.sockets_per_session()),
        worker_(worker),
        payload_(options.size),
        expected_(options.size) {}

  void on_turn(Worker& worker) override {
    ramp_.step(worker);
    if (!waiting_.empty() && worker.phase() != Phase::ramp) {
      for (Connection* c : waiting_) start(worker, *c);
      std::vector<Connection*>().swap(waiting_);
    }
  }

  void on_open(Worker& worker, Connection& c) override {
    if (states_.size() <= c.slot) {
      states_.resize(c.slot + 1);
      sent_at_.resize(states_.size() * options_.inflight);
    }
    states_[c.slot] = {};
    if (worker.phase() == Phase::ramp) {
      waiting_.push_back(&c);
    } else {
      start(worker, c);
    }
  }

  void on_closed(Worker& worker, Connection& c, Outcome outcome) override {
    std::erase(waiting_, &c);
  }

  void on_message(Worker& worker, Connection& c, std::span<const std::byte> payload,
                  bool binary) override {
    State& state = states_[c.slot];
    std::uint64_t seq = state.received++;
    if (seq >= state.sent) {  // an echo of something never sent
      worker.stats().mismatches.add();
      return;
    }
    std::int64_t sent_at = sent_at_[c.slot * options_.inflight + seq % options_.inflight];
    make_payload(expected_.data(), sent_at, id(c), seq);
    bool same = binary == !options_.text && payload.size() == expected_.size() &&
                std::memcmp(payload.data(), expected_.data(), payload.size()) == 0;
    if (!same) {
      worker.stats().mismatches.add();
    } else if (worker.phase() == Phase::measure) {
      worker.histogram().record(static_cast<std::uint64_t>(worker.now() - sent_at));
    }
    if (worker.phase() != Phase::done) send_one(worker, c);
  }

 private:
  struct State {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
  };

  // Unique across workers, so that two connections never send the same bytes.
  std::uint64_t id(const Connection& c) const noexcept {
    return (std::uint64_t{worker_} << 32) | c.slot;
  }

  void start(Worker& worker, Connection& c) {
    for (unsigned i = 0; i < options_.inflight; ++i) send_one(worker, c);
  }

  void send_one(Worker& worker, Connection& c) {
    State& state = states_[c.slot];
    std::uint64_t seq = state.sent++;
    std::int64_t now = worker.now();
    sent_at_[c.slot * options_.inflight + seq % options_.inflight] = now;
    make_payload(payload_.data(), now, id(c), seq);
    worker.send(c, payload_, !options_.text);
  }

  // Binary: the time as 8 raw bytes, then pseudo-random bytes. Text: the time as 16
  // hex digits, then pseudo-random lowercase letters (valid UTF-8, as text frames must be).
  void make_payload(std::byte* out, std::int64_t time, std::uint64_t id, std::uint64_t seq) const {
    Random pattern(id * 0x9e3779b97f4a7c15ULL ^ seq);
    std::size_t size = options_.size;
    if (!options_.text) {
      std::memcpy(out, &time, 8);
      pattern.fill(out + 8, size - 8);
      return;
    }
    auto bits = static_cast<std::uint64_t>(time);
    write_hex(reinterpret_cast<char*>(out), bits, 16);
    pattern.fill(out + 16, size - 16);
    for (std::size_t i = 16; i < size; ++i) {
      out[i] = std::byte('a' + std::to_integer<unsigned>(out[i]) % 26);
    }
  }

  const Options& options_;
  Ramp ramp_;
  unsigned worker_;
  std::vector<Connection*> waiting_;   // open, waiting for the ramp to end
  std::vector<State> states_;          // by connection slot
  std::vector<std::int64_t> sent_at_;  // by slot * inflight + seq % inflight
  std::vector<std::byte> payload_;
  std::vector<std::byte> expected_;
};

}  // namespace

std::unique_ptr<Scenario> make_echo_scenario(const Options& options, unsigned share, unsigned worker) {
  return std::make_unique<EchoScenario>(options, share, worker);
}

}  // namespace switchboard::loadgen
