// fanout: a room's broadcast. --connections members join room "room" (their handshake
// query has room=1); worker 0 also opens one publisher session, in no room. Once every
// session is open, the publisher emits "pub" with one string argument — its send time
// and the publication's number as 16 hex digits each, then letters that are a function
// of the number, --size bytes in all — and the server emits it to the room as "msg".
// Each member checks every "msg" byte for byte and that the numbers follow each other
// (a gap, a repeat or a reordering is a mismatch), and records now − send time.
//
// Pace: with --rate R, publication k leaves at start + k/R (an open loop: a slow server
// builds a queue and the latency shows it); with --rate 0, as fast as the room drains:
// the publisher sends while fewer than --inflight publications' worth of deliveries
// are outstanding (published × members − delivered, summed over every worker).

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "clock.hpp"
#include "hex.hpp"
#include "ramp.hpp"
#include "scenario.hpp"
#include "worker.hpp"

namespace switchboard::loadgen {
namespace {

constexpr std::uint64_t no_message_yet = std::numeric_limits<std::uint64_t>::max();
// A publisher that fell this far behind its schedule sends no more than this per turn.
constexpr std::uint64_t max_publications_per_turn = 10'000;

// The payload's numbers: 16 hex digits each.
void put_hex(std::byte* out, std::uint64_t value) { write_hex(reinterpret_cast<char*>(out), value, 16); }

bool get_hex(const std::byte* in, std::uint64_t& value) {
  return parse_hex(std::string_view(reinterpret_cast<const char*>(in), 16), value);
}

std::byte filler(std::uint64_t seq, std::size_t i) {
  return std::byte(static_cast<unsigned char>('a' + (seq + i) % 26));
}

class FanoutScenario final : public Scenario {
 public:
  FanoutScenario(const Options& options, unsigned share, unsigned worker, FanoutShared& shared,
                 const TransportFactory& publisher)
      : options_(options),
        ramp_(share, options.ramp_concurrency / options.threads / options.sockets_per_session()),
        worker_(worker),
        shared_(shared),
        publisher_factory_(publisher),
        payload_(options.size) {}

  void on_turn(Worker& worker) override {
    if (worker_ == 0 && !publisher_started_) {
      publisher_started_ = true;  // first, so that it is open when the members are
      publisher_ = worker.connect(&publisher_factory_);
    }
    ramp_.step(worker);
    Phase phase = worker.phase();
    if (publisher_open_ && phase != Phase::ramp && phase != Phase::done) publish(worker);
  }

  std::int64_t wake_at() const override {
    if (!publisher_open_ || options_.rate <= 0 || start_ns_ == 0) return 0;
    return next_due_ns_;
  }

  void on_open(Worker& worker, Connection& c) override {
    if (&c == publisher_) {
      publisher_open_ = true;
      return;
    }
    if (next_seq_.size() <= c.slot) next_seq_.resize(c.slot + 1);
    next_seq_[c.slot] = no_message_yet;
    shared_.members.fetch_add(1, std::memory_order_relaxed);
  }

  void on_closed(Worker& worker, Connection& c, Outcome outcome) override {
    if (&c == publisher_) {
      publisher_ = nullptr;
      publisher_open_ = false;
    } else if (c.opened) {
      shared_.members.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  void on_message(Worker& worker, Connection& c, std::span<const std::byte> payload, bool binary) override {
    if (&c == publisher_) {  // in no room: it gets nothing
      worker.stats().mismatches.add();
      return;
    }
    shared_.delivered.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t sent_at = 0, seq = 0;
    if (binary || payload.size() != options_.size || !get_hex(payload.data(), sent_at) ||
        !get_hex(payload.data() + 16, seq) || !filler_matches(payload, seq)) {
      worker.stats().mismatches.add();
      return;
    }
    std::uint64_t& next = next_seq_[c.slot];
    if (next != no_message_yet && seq != next) worker.stats().mismatches.add();
    next = seq + 1;
    auto now = static_cast<std::uint64_t>(worker.now());
    if (worker.phase() == Phase::measure && now >= sent_at) worker.histogram().record(now - sent_at);
  }

 private:
  bool filler_matches(std::span<const std::byte> payload, std::uint64_t seq) const {
    for (std::size_t i = Options::fanout_min_size; i < payload.size(); ++i) {
      if (payload[i] != filler(seq, i)) return false;
    }
    return true;
  }

  void publish(Worker& worker) {
    std::int64_t now = now_ns();
    if (start_ns_ == 0) start_ns_ = now;
    for (std::uint64_t n = 0; n < max_publications_per_turn; ++n) {
      if (options_.rate > 0) {
        if (now < next_due_ns_) break;
      } else {
        auto members = shared_.members.load(std::memory_order_relaxed);
        std::uint64_t delivered = shared_.delivered.load(std::memory_order_relaxed);
        std::uint64_t outstanding = expected_ > delivered ? expected_ - delivered : 0;
        if (members <= 0 || outstanding >= std::uint64_t{options_.inflight} * static_cast<std::uint64_t>(members)) {
          break;
        }
        expected_ += static_cast<std::uint64_t>(members);
      }
      send_one(worker, now);
      if (options_.rate > 0) {
        next_due_ns_ = start_ns_ + static_cast<std::int64_t>(static_cast<double>(sent_) * 1e9 / options_.rate);
      }
      now = now_ns();
    }
  }

  void send_one(Worker& worker, std::int64_t now) {
    std::uint64_t seq = sent_++;
    put_hex(payload_.data(), static_cast<std::uint64_t>(now));
    put_hex(payload_.data() + 16, seq);
    for (std::size_t i = Options::fanout_min_size; i < payload_.size(); ++i) payload_[i] = filler(seq, i);
    worker.send(*publisher_, payload_, false);
  }

  const Options& options_;
  Ramp ramp_;
  unsigned worker_;
  FanoutShared& shared_;
  const TransportFactory& publisher_factory_;
  Connection* publisher_ = nullptr;      // worker 0's publisher session, while it lives
  bool publisher_started_ = false;
  bool publisher_open_ = false;
  std::int64_t start_ns_ = 0;            // the first publication
  std::int64_t next_due_ns_ = 0;         // --rate: when the next one is due
  std::uint64_t sent_ = 0;               // publications sent
  std::uint64_t expected_ = 0;           // --rate 0: deliveries owed for what was sent
  std::vector<std::uint64_t> next_seq_;  // by member slot: the number the next "msg" must carry
  std::vector<std::byte> payload_;
};

}  // namespace

std::unique_ptr<Scenario> make_fanout_scenario(const Options& options, unsigned share, unsigned worker,
                                               FanoutShared& shared, const TransportFactory& publisher) {
  return std::make_unique<FanoutScenario>(options, share, worker, shared, publisher);
}

}  // namespace switchboard::loadgen
