// sb-loadgen: drives thousands of WebSocket connections from one process, with one
// epoll loop per thread, and reports rates, latency percentiles and what the server
// spent (CPU, RSS) doing it. See bench/README.md.
//
// The main thread only keeps time: it starts the workers, moves the run through its
// phases (ramp → warmup → measure → done; idle: ramp → halfway → ramp_rest → measure →
// done), prints progress each second, samples /proc at the edges of the measured window
// (idle: also halfway), and reports at the end.

#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "clock.hpp"
#include "options.hpp"
#include "proc_stats.hpp"
#include "report.hpp"
#include "worker.hpp"

namespace switchboard::loadgen {
namespace {

// idle: how long the server gets, once the first half is open, to finish their
// handshakes and free what those left behind, before it is sampled halfway.
constexpr double halfway_settle_s = 1.0;

// Thousands of sockets need more than the usual soft limit of 1,024 descriptors.
void raise_file_limit(const Options& options) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  std::uint64_t wanted = options.scenario == ScenarioKind::connect ? options.concurrency : options.connections;
  if (wanted + 32 > limit.rlim_cur) {
    std::fprintf(stderr, "sb-loadgen: warning: %llu connections but only %llu open files allowed\n",
                 static_cast<unsigned long long>(wanted), static_cast<unsigned long long>(limit.rlim_cur));
  }
}

class Run {
 public:
  explicit Run(const Options& options) : options_(options), factory_(make_transport_factory(options)) {
    if (options.scenario == ScenarioKind::fanout) publisher_factory_ = make_publisher_factory(options);
    unsigned total = options.scenario == ScenarioKind::connect ? options.concurrency : options.connections;
    // idle: the first half, ceil(total / 2), shared out as the total is; no worker's part
    // of it exceeds its share.
    first_half_ = (total + 1) / 2;
    unsigned first = 0;  // chat: the number of this worker's first client
    for (unsigned i = 0; i < options.threads; ++i) {
      unsigned share = total / options.threads + (i < total % options.threads ? 1 : 0);
      unsigned first_half_share = first_half_ / options.threads + (i < first_half_ % options.threads ? 1 : 0);
      std::unique_ptr<Scenario> scenario;
      switch (options.scenario) {
        case ScenarioKind::echo: scenario = make_echo_scenario(options, share, i); break;
        case ScenarioKind::idle: scenario = make_idle_scenario(options, share, first_half_share); break;
        case ScenarioKind::connect: scenario = make_connect_scenario(options, share); break;
        case ScenarioKind::fanout:
          scenario = make_fanout_scenario(options, share, i, fanout_, *publisher_factory_);
          break;
        case ScenarioKind::chat: scenario = make_chat_scenario(options, share, first, chat_); break;
      }
      first += share;
      workers_.push_back(std::make_unique<Worker>(options, *factory_, control_, std::move(scenario)));
    }
  }

  // Returns the process exit code.
  int execute() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    // Blocked here and so in every worker (threads inherit the mask): only the main
    // thread takes them, in sigtimedwait, which doubles as its sleep.
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    if (options_.server_pid) {
      result_.server_before = sample_process(*options_.server_pid);
      if (!result_.server_before) {
        std::fprintf(stderr, "sb-loadgen: no process %d to watch (--server-pid)\n", *options_.server_pid);
        return 2;
      }
    }
    Phase phase = options_.scenario == ScenarioKind::connect ? Phase::warmup : Phase::ramp;
    control_.phase.store(phase);
    std::vector<std::thread> threads;
    for (auto& worker : workers_) threads.emplace_back([&worker] { worker->run(); });

    const std::int64_t start = now_ns();
    std::int64_t phase_start = start;
    std::int64_t next_tick = start + ns_per_s;
    StatsSnapshot last = sum();
    std::int64_t last_time = start;
    const auto seconds = [](double s) { return static_cast<std::int64_t>(s * ns_per_s); };

    for (;;) {
      std::int64_t now = now_ns();
      std::int64_t wake_at = next_tick;
      // While opening, look often: the warmup (or the idle hold) starts when all are open.
      if (phase == Phase::ramp || phase == Phase::ramp_rest) wake_at = std::min(wake_at, now + 20 * ns_per_ms);
      if (phase == Phase::halfway) wake_at = std::min(wake_at, phase_start + seconds(halfway_settle_s));
      if (phase == Phase::warmup) wake_at = std::min(wake_at, phase_start + seconds(options_.warmup_s));
      if (phase == Phase::measure && options_.duration_s > 0) {
        wake_at = std::min(wake_at, window_start_ + seconds(options_.duration_s));
      }
      std::int64_t wait = std::max<std::int64_t>(wake_at - now, ns_per_ms);
      timespec timeout{static_cast<time_t>(wait / ns_per_s), static_cast<long>(wait % ns_per_s)};
      bool interrupted = sigtimedwait(&signals, nullptr, &timeout) > 0;
      now = now_ns();
      StatsSnapshot stats = sum();
      if (now >= next_tick) {
        progress(phase, now - start, stats, last, now - last_time);
        last = stats;
        last_time = now;
        next_tick += ns_per_s;
        if (next_tick <= now) next_tick = now + ns_per_s;
      }
      if (interrupted) {
        result_.interrupted = true;
        if (phase != Phase::measure) start_window(now);
        break;
      }
      if (phase == Phase::ramp || phase == Phase::ramp_rest) {
        std::uint64_t resolved = stats.opened + stats.connect_failures + stats.handshake_failures;
        // The halfway pause is not time spent opening.
        std::int64_t opening = now - start - halfway_pause_ns_;
        bool timed_out = opening >= seconds(options_.ramp_timeout_s);
        // chat: and every open client's join answered, so that each message reaches the
        // whole room from the first on.
        bool joined = options_.scenario != ScenarioKind::chat ||
                      chat_.joins_settled.load(std::memory_order_relaxed) >= stats.opened;
        bool opening_first_half = options_.scenario == ScenarioKind::idle && phase == Phase::ramp;
        // If none of the first half opened, the server is not there: the branch below ends the run.
        if (opening_first_half && resolved >= first_half_ && stats.opened > 0 && !timed_out) {
          std::fprintf(stderr, "half open: %llu of %u connections open after %.2f s (%llu failed)\n",
                       static_cast<unsigned long long>(stats.open_now), options_.sessions(),
                       static_cast<double>(opening) / ns_per_s,
                       static_cast<unsigned long long>(stats.connect_failures + stats.handshake_failures));
          phase = Phase::halfway;
          phase_start = now;
          control_.phase.store(phase);
        } else if ((resolved >= (opening_first_half ? first_half_ : options_.sessions()) && joined) || timed_out) {
          result_.ramp_s = static_cast<double>(opening) / ns_per_s;
          result_.all_opened = stats.opened >= options_.sessions();
          std::fprintf(stderr, "%s: %llu of %u connections open after %.2f s (%llu failed)\n",
                       result_.all_opened ? "all open" : "ramp ended",
                       static_cast<unsigned long long>(stats.open_now), options_.sessions(),
                       result_.ramp_s,
                       static_cast<unsigned long long>(stats.connect_failures + stats.handshake_failures));
          if (options_.scenario == ScenarioKind::chat) {
            std::fprintf(stderr, "joined: %llu of them, in %u rooms\n",
                         static_cast<unsigned long long>(chat_.joined.load()), options_.rooms);
          }
          if (stats.opened == 0) {
            std::fprintf(stderr, "sb-loadgen: no connection opened; is the server at %s?\n",
                         options_.url.text.c_str());
            start_window(now);
            break;
          }
          if (options_.scenario == ScenarioKind::idle) {
            if (options_.server_pid) result_.server_open = sample_process(*options_.server_pid);
            phase = Phase::measure;
            start_window(now);
          } else {
            phase = Phase::warmup;
            phase_start = now;
            control_.phase.store(phase);
          }
        }
      } else if (phase == Phase::halfway) {
        if (now - phase_start >= seconds(halfway_settle_s)) {
          result_.open_at_half = stats.open_now;
          if (options_.server_pid) result_.server_half = sample_process(*options_.server_pid);
          halfway_pause_ns_ = now - phase_start;
          phase = Phase::ramp_rest;
          control_.phase.store(phase);
          // Now rather than at their next 100 ms epoll timeout, which would count as ramp time.
          for (auto& worker : workers_) worker->wake();
        }
      } else if (phase == Phase::warmup) {
        if (now - phase_start >= seconds(options_.warmup_s)) {
          phase = Phase::measure;
          start_window(now);
        }
      } else if (phase == Phase::measure) {
        if (options_.duration_s > 0 && now - window_start_ >= seconds(options_.duration_s)) break;
      }
    }
    end_window();
    control_.stop.store(true);
    for (auto& worker : workers_) worker->wake();
    for (auto& thread : threads) thread.join();
    for (auto& worker : workers_) result_.histogram.merge(worker->histogram());

    print_summary(options_, result_);
    print_json(options_, result_);
    return result_.totals.opened > 0 ? 0 : 1;
  }

 private:
  StatsSnapshot sum() const {
    StatsSnapshot total;
    for (const auto& worker : workers_) total += worker->stats().snapshot();
    return total;
  }

  void start_window(std::int64_t now) {
    window_stats_ = sum();
    chat_window_start_ = chat_.snapshot();
    if (options_.server_pid) result_.server_start = sample_process(*options_.server_pid);
    self_cpu_start_ = self_cpu_seconds();
    self_wait_start_ = runqueue_wait_seconds(0);
    window_start_ = now;
    control_.phase.store(Phase::measure);
  }

  void end_window() {
    control_.phase.store(Phase::done);
    std::int64_t now = now_ns();
    StatsSnapshot stats = sum();
    if (options_.server_pid) result_.server_end = sample_process(*options_.server_pid);
    result_.self_cpu_s = self_cpu_seconds() - self_cpu_start_;
    double wait = runqueue_wait_seconds(0);
    if (wait >= 0 && self_wait_start_ >= 0) result_.self_wait_s = wait - self_wait_start_;
    result_.window_s = static_cast<double>(now - window_start_) / ns_per_s;
    result_.totals = stats;
    result_.window = stats - window_stats_;
    result_.chat_totals = chat_.snapshot();
    result_.chat_window = result_.chat_totals - chat_window_start_;
  }

  void progress(Phase phase, std::int64_t elapsed, const StatsSnapshot& now,
                const StatsSnapshot& before, std::int64_t interval) {
    if (!options_.progress) return;
    double per_s = static_cast<double>(ns_per_s) / static_cast<double>(interval > 0 ? interval : 1);
    static constexpr const char* names[] = {"ramp", "halfway", "ramp", "warmup", "measure", "done"};
    char rate[64] = "";
    if (options_.scenario == ScenarioKind::chat) {
      ChatCounts counts = chat_.snapshot();
      std::snprintf(rate, sizeof rate, "%6.0f sent/s %9.0f deliveries/s  ",
                    static_cast<double>(counts.messages_sent - chat_last_.messages_sent) * per_s,
                    static_cast<double>(counts.deliveries - chat_last_.deliveries) * per_s);
      chat_last_ = counts;
    } else if (options_.scenario == ScenarioKind::echo || options_.scenario == ScenarioKind::fanout) {
      std::snprintf(rate, sizeof rate, "%10.0f msg/s  ",
                    static_cast<double>(now.messages_received - before.messages_received) * per_s);
    } else if (options_.scenario == ScenarioKind::connect) {
      std::snprintf(rate, sizeof rate, "%8.0f conn/s  ",
                    static_cast<double>(now.closed_clean - before.closed_clean) * per_s);
    }
    std::size_t handshaking = 0;
    for (const auto& worker : workers_) handshaking += worker->handshaking();
    std::fprintf(stderr, "[%6.1fs] %-7s %sopen %llu  handshaking %zu  errors %llu\n",
                 static_cast<double>(elapsed) / ns_per_s, names[static_cast<int>(phase)], rate,
                 static_cast<unsigned long long>(now.open_now), handshaking,
                 static_cast<unsigned long long>(now.errors()));
  }

  const Options& options_;
  std::unique_ptr<TransportFactory> factory_;
  std::unique_ptr<TransportFactory> publisher_factory_;  // fanout
  FanoutShared fanout_;
  ChatShared chat_;
  ChatCounts chat_last_;          // at the last progress line
  ChatCounts chat_window_start_;
  Control control_;
  std::vector<std::unique_ptr<Worker>> workers_;
  RunResult result_;
  StatsSnapshot window_stats_;
  std::int64_t window_start_ = 0;
  unsigned first_half_ = 0;             // idle: connections opened before the halfway sample
  std::int64_t halfway_pause_ns_ = 0;  // idle: time spent halfway, opening nothing
  double self_cpu_start_ = 0;
  double self_wait_start_ = -1;
};

}  // namespace
}  // namespace switchboard::loadgen

int main(int argc, char** argv) {
  using namespace switchboard::loadgen;
  Options options;
  if (auto code = parse_options(argc, argv, options)) return *code;
  raise_file_limit(options);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    Run run(options);
    return run.execute();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sb-loadgen: %s\n", e.what());
    return 2;
  }
}
