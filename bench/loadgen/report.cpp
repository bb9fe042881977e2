#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace switchboard::loadgen {
namespace {

struct Derived {
  double primary_rate = 0;           // echo: messages/s; connect: connections/s; fanout: deliveries/s; idle: 0
  const char* primary_name = "";
  std::optional<double> server_cpu_s;
  std::optional<double> server_cpu_share;
  std::optional<double> per_server_cpu_s;    // primary count / server CPU seconds
  std::optional<double> rss_per_connection;       // idle
  std::optional<double> anon_rss_per_connection;  // idle: private memory only
  // idle: the same between the halfway sample and the end, per connection opened in
  // between: what a further connection costs, without a fresh server's one-time costs
  std::optional<double> marginal_rss_per_connection;
  std::optional<double> marginal_anon_rss_per_connection;
  std::optional<double> server_wait_share;   // run-queue wait ÷ window
  std::optional<double> self_wait_share;
  std::uint64_t open_at_end = 0;
};

// Memory growth between two samples ÷ the connections added between them; nullopt when
// either sample lacks the figure or no connection was added.
std::optional<double> growth_per_connection(long long bytes_before, long long bytes_after,
                                            std::uint64_t open_before, std::uint64_t open_after) {
  if (bytes_before < 0 || bytes_after < 0 || open_after <= open_before) return std::nullopt;
  return static_cast<double>(bytes_after - bytes_before) / static_cast<double>(open_after - open_before);
}

Derived derive(const Options& options, const RunResult& r) {
  Derived d;
  double window = r.window_s > 0 ? r.window_s : 1e-9;
  std::uint64_t count = 0;
  switch (options.scenario) {
    case ScenarioKind::echo:
      count = r.window.messages_received;
      d.primary_name = "messages";
      break;
    case ScenarioKind::connect:
      count = r.window.closed_clean;
      d.primary_name = "connections";
      break;
    case ScenarioKind::fanout:
      count = r.window.messages_received;
      d.primary_name = "deliveries";
      break;
    case ScenarioKind::chat:
      count = r.chat_window.deliveries;  // new-message only: not the acks, typing, joins
      d.primary_name = "deliveries";
      break;
    case ScenarioKind::idle:
      d.primary_name = "";
      break;
  }
  d.primary_rate = static_cast<double>(count) / window;
  d.open_at_end = r.totals.open_now;
  if (r.server_start && r.server_end) {
    d.server_cpu_s = r.server_end->cpu_s - r.server_start->cpu_s;
    d.server_cpu_share = *d.server_cpu_s / window;
    if (*d.server_cpu_s > 0 && count > 0) d.per_server_cpu_s = static_cast<double>(count) / *d.server_cpu_s;
  }
  if (r.server_start && r.server_end && r.server_start->wait_s >= 0 && r.server_end->wait_s >= 0) {
    d.server_wait_share = (r.server_end->wait_s - r.server_start->wait_s) / window;
  }
  if (r.self_wait_s >= 0) d.self_wait_share = r.self_wait_s / window;
  if (options.scenario == ScenarioKind::idle && r.server_before && r.server_end &&
      r.server_before->rss_bytes >= 0 && r.server_end->rss_bytes >= 0 && d.open_at_end > 0) {
    d.rss_per_connection = static_cast<double>(r.server_end->rss_bytes - r.server_before->rss_bytes) /
                           static_cast<double>(d.open_at_end);
    if (r.server_before->anon_rss_bytes >= 0 && r.server_end->anon_rss_bytes >= 0) {
      d.anon_rss_per_connection = static_cast<double>(r.server_end->anon_rss_bytes - r.server_before->anon_rss_bytes) /
                                  static_cast<double>(d.open_at_end);
    }
  }
  if (options.scenario == ScenarioKind::idle && r.server_half && r.open_at_half && r.server_end) {
    d.marginal_rss_per_connection = growth_per_connection(r.server_half->rss_bytes, r.server_end->rss_bytes,
                                                          *r.open_at_half, d.open_at_end);
    if (d.marginal_rss_per_connection) {
      d.marginal_anon_rss_per_connection = growth_per_connection(
          r.server_half->anon_rss_bytes, r.server_end->anon_rss_bytes, *r.open_at_half, d.open_at_end);
    }
  }
  return d;
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// A JSON object of numbers (and a few strings), one key per line for diffs and grep.
class JsonObject {
 public:
  void number(const char* key, double value) {
    char text[64];
    if (!std::isfinite(value)) {
      add(key, "null");
      return;
    }
    std::snprintf(text, sizeof text, "%.6g", value);
    if (value == std::floor(value) && std::fabs(value) < 1e15) {
      std::snprintf(text, sizeof text, "%.0f", value);
    }
    add(key, text);
  }
  void number(const char* key, std::uint64_t value) { add(key, std::to_string(value)); }
  void number(const char* key, const std::optional<double>& value) {
    if (value) {
      number(key, *value);
    } else {
      add(key, "null");
    }
  }
  void boolean(const char* key, bool value) { add(key, value ? "true" : "false"); }
  void string(const char* key, const std::string& value) {
    std::string quoted = "\"";
    for (char c : value) {
      if (c == '"' || c == '\\') quoted += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      quoted += c;
    }
    add(key, quoted + "\"");
  }
  void print() const {
    std::string out = "{";
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      out += i ? ",\n  " : "\n  ";
      out += fields_[i];
    }
    out += "\n}\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  }

 private:
  void add(const char* key, const std::string& value) {
    fields_.push_back(std::string("\"") + key + "\": " + value);
  }
  std::vector<std::string> fields_;
};

std::optional<double> rss(const std::optional<ProcSample>& sample) {
  if (!sample || sample->rss_bytes < 0) return std::nullopt;
  return static_cast<double>(sample->rss_bytes);
}

std::optional<double> peak_rss(const std::optional<ProcSample>& sample) {
  if (!sample || sample->peak_rss_bytes < 0) return std::nullopt;
  return static_cast<double>(sample->peak_rss_bytes);
}

}  // namespace

void print_summary(const Options& options, const RunResult& r) {
  Derived d = derive(options, r);
  const auto& w = r.window;
  std::fprintf(stderr, "\n== sb-loadgen %s %s, %s, %u thread(s)%s\n", to_string(options.scenario),
               to_string(options.transport), options.url.text.c_str(), options.threads,
               r.interrupted ? " (interrupted)" : "");
  switch (options.scenario) {
    case ScenarioKind::echo:
      std::fprintf(stderr, "connections %u, inflight %u, %u-byte %s messages; window %.2f s\n",
                   options.connections, options.inflight, options.size,
                   options.text ? "text" : "binary", r.window_s);
      std::fprintf(stderr, "messages/s     %12.0f   (%llu echoes, %llu sent)\n", d.primary_rate,
                   static_cast<unsigned long long>(w.messages_received),
                   static_cast<unsigned long long>(w.messages_sent));
      break;
    case ScenarioKind::connect:
      std::fprintf(stderr, "concurrency %u; window %.2f s\n", options.concurrency, r.window_s);
      // Engine.IO: a completed connection is a session opened (handshake) and closed.
      std::fprintf(stderr, "%s  %12.0f   (%llu completed)\n",
                   options.transport == TransportKind::websocket ? "connections/s" : "handshakes/s ",
                   d.primary_rate, static_cast<unsigned long long>(w.closed_clean));
      break;
    case ScenarioKind::fanout: {
      double window = r.window_s > 0 ? r.window_s : 1e-9;
      char pace[96];
      if (options.rate > 0) {
        std::snprintf(pace, sizeof pace, "at %g/s", options.rate);
      } else {
        std::snprintf(pace, sizeof pace, "as fast as the room drains (%u in flight)", options.inflight);
      }
      std::fprintf(stderr, "members %u, %u-byte \"pub\" %s; window %.2f s\n", options.connections, options.size,
                   pace, r.window_s);
      std::fprintf(stderr, "deliveries/s   %12.0f   (%llu delivered; %.1f publications/s)\n", d.primary_rate,
                   static_cast<unsigned long long>(w.messages_received),
                   static_cast<double>(w.messages_sent) / window);
      break;
    }
    case ScenarioKind::chat: {
      double window = r.window_s > 0 ? r.window_s : 1e-9;
      const ChatCounts& c = r.chat_window;
      std::fprintf(stderr, "clients %u in %u rooms, a message every %g s each (%u-character text); window %.2f s\n",
                   options.connections, options.rooms, options.period_s, options.size, r.window_s);
      std::fprintf(stderr, "deliveries/s   %12.0f   (%llu new-message received; %.1f sent/s, %llu acked)\n",
                   d.primary_rate, static_cast<unsigned long long>(c.deliveries),
                   static_cast<double>(c.messages_sent) / window, static_cast<unsigned long long>(c.acks));
      std::fprintf(stderr, "typing/s       %12.0f   (%llu user-typing received; %llu typing sent)\n",
                   static_cast<double>(c.typing_deliveries) / window,
                   static_cast<unsigned long long>(c.typing_deliveries),
                   static_cast<unsigned long long>(c.typing_sent));
      const ChatCounts& t = r.chat_totals;
      std::fprintf(stderr,
                   "chat errors    lost %llu, ack failures %llu, rate-limited %llu, unexpected %llu since start\n",
                   static_cast<unsigned long long>(t.lost), static_cast<unsigned long long>(t.ack_failures),
                   static_cast<unsigned long long>(t.rate_limited), static_cast<unsigned long long>(t.unexpected));
      break;
    }
    case ScenarioKind::idle:
      std::fprintf(stderr, "held %.2f s; opened %llu of %u in %.2f s; %llu still open at the end\n",
                   r.window_s, static_cast<unsigned long long>(r.totals.opened), options.connections,
                   r.ramp_s, static_cast<unsigned long long>(d.open_at_end));
      break;
  }
  if (r.histogram.count() > 0) {
    const auto& h = r.histogram;
    std::fprintf(stderr, "%s (us)  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
                 options.scenario == ScenarioKind::connect ? "handshake" : "latency  ",
                 us(h.value_at_percentile(50)), us(h.value_at_percentile(90)),
                 us(h.value_at_percentile(99)), us(h.value_at_percentile(99.9)), us(h.max()),
                 h.mean() / 1000.0);
  }
  if (d.server_cpu_share) {
    std::fprintf(stderr, "server CPU     %12.3f s  (%.1f%% of one core)", *d.server_cpu_s,
                 *d.server_cpu_share * 100);
    if (d.per_server_cpu_s) std::fprintf(stderr, ";  %.0f %s per server-CPU-second", *d.per_server_cpu_s, d.primary_name);
    std::fprintf(stderr, "\n");
  }
  if (r.server_before && r.server_end && r.server_end->rss_bytes >= 0) {
    std::fprintf(stderr, "server RSS     %.1f MiB before, %.1f MiB at the end", r.server_before->rss_bytes / 1048576.0,
                 r.server_end->rss_bytes / 1048576.0);
    if (r.server_end->peak_rss_bytes >= 0) std::fprintf(stderr, " (peak %.1f MiB)", r.server_end->peak_rss_bytes / 1048576.0);
    if (d.rss_per_connection) std::fprintf(stderr, ";  %.0f bytes per open connection", *d.rss_per_connection);
    if (d.anon_rss_per_connection) std::fprintf(stderr, " (%.0f of them private)", *d.anon_rss_per_connection);
    std::fprintf(stderr, "\n");
  }
  if (d.marginal_rss_per_connection) {
    std::fprintf(stderr, "marginal RSS   %.0f bytes per further connection", *d.marginal_rss_per_connection);
    if (d.marginal_anon_rss_per_connection) {
      std::fprintf(stderr, " (%.0f private)", *d.marginal_anon_rss_per_connection);
    }
    std::fprintf(stderr, ", between %llu and %llu open\n", static_cast<unsigned long long>(*r.open_at_half),
                 static_cast<unsigned long long>(d.open_at_end));
  }
  double self_share = r.window_s > 0 ? r.self_cpu_s / r.window_s : 0;
  std::fprintf(stderr, "load generator %.1f%% CPU over %u thread(s)\n", self_share * 100, options.threads);
  // Time runnable but not running: another process had the CPU. A benchmark wants ~0.
  double busy = std::max(d.server_wait_share.value_or(0), d.self_wait_share.value_or(0));
  if (r.window_s >= 1 && busy > 0.05) {
    std::fprintf(stderr,
                 "warning: CPU contention: waited for a CPU %.0f%% of the window (server), %.0f%% "
                 "(load generator); other processes skew these numbers\n",
                 d.server_wait_share.value_or(0) * 100, d.self_wait_share.value_or(0) * 100);
  }
  if (options.scenario != ScenarioKind::idle && r.window_s >= 1 && self_share > 0.9 * options.threads) {
    std::fprintf(stderr,
                 "warning: the load generator was CPU-bound; the server may be faster than measured "
                 "(use --threads, or compare per server-CPU-second)\n");
  }
  std::fprintf(stderr,
               "errors         %llu  (connect %llu, handshake %llu, dropped %llu, protocol %llu, "
               "close timeout %llu, mismatched echoes %llu) since start\n",
               static_cast<unsigned long long>(r.totals.errors()),
               static_cast<unsigned long long>(r.totals.connect_failures),
               static_cast<unsigned long long>(r.totals.handshake_failures),
               static_cast<unsigned long long>(r.totals.dropped),
               static_cast<unsigned long long>(r.totals.protocol_errors),
               static_cast<unsigned long long>(r.totals.close_timeouts),
               static_cast<unsigned long long>(r.totals.mismatches));
}

void print_json(const Options& options, const RunResult& r) {
  Derived d = derive(options, r);
  const auto& h = r.histogram;
  JsonObject j;
  j.string("scenario", to_string(options.scenario));
  j.string("transport", to_string(options.transport));
  j.string("url", options.url.text);
  j.number("threads", std::uint64_t{options.threads});
  j.number("connections", std::uint64_t{options.connections});
  j.number("inflight", std::uint64_t{options.inflight});
  j.number("size", std::uint64_t{options.size});
  j.boolean("text", options.text);
  j.number("concurrency", std::uint64_t{options.concurrency});
  j.number("warmup_s", options.warmup_s);
  j.number("duration_s", options.duration_s);
  j.number("window_s", r.window_s);
  j.boolean("interrupted", r.interrupted);
  j.number("ramp_s", r.ramp_s);
  j.boolean("all_opened", r.all_opened);
  j.number("opened", r.totals.opened);
  j.number("open_at_end", d.open_at_end);
  j.number("messages_sent", r.window.messages_sent);
  j.number("messages_received", r.window.messages_received);
  bool messages = options.scenario == ScenarioKind::echo || options.scenario == ScenarioKind::fanout ||
                  options.scenario == ScenarioKind::chat;
  j.number("messages_per_s", messages ? d.primary_rate : 0.0);  // fanout, chat: deliveries/s
  j.number("rate", options.scenario == ScenarioKind::fanout ? options.rate : 0.0);
  j.number("publications_per_s", options.scenario == ScenarioKind::fanout && r.window_s > 0
                                     ? static_cast<double>(r.window.messages_sent) / r.window_s
                                     : 0.0);
  if (options.scenario == ScenarioKind::chat) {
    const ChatCounts& c = r.chat_window;
    double window = r.window_s > 0 ? r.window_s : 1e-9;
    j.number("rooms", std::uint64_t{options.rooms});
    j.number("period_s", options.period_s);
    j.number("chat_messages_sent", c.messages_sent);
    j.number("chat_messages_per_s", static_cast<double>(c.messages_sent) / window);
    j.number("chat_deliveries", c.deliveries);
    j.number("chat_typing_sent", c.typing_sent);
    j.number("chat_typing_deliveries", c.typing_deliveries);
    j.number("chat_typing_deliveries_per_s", static_cast<double>(c.typing_deliveries) / window);
    j.number("chat_acks", c.acks);
    // Errors since the start, as the other error counts (each is in "mismatches" too).
    j.number("chat_lost", r.chat_totals.lost);
    j.number("chat_ack_failures", r.chat_totals.ack_failures);
    j.number("chat_rate_limited", r.chat_totals.rate_limited);
    j.number("chat_unexpected", r.chat_totals.unexpected);
  }
  j.number("connections_completed", r.window.closed_clean);
  j.number("connections_per_s", options.scenario == ScenarioKind::connect ? d.primary_rate : 0.0);
  j.number("bytes_sent", r.window.bytes_sent);
  j.number("bytes_received", r.window.bytes_received);
  j.number("latency_count", h.count());
  j.number("latency_p50_us", us(h.value_at_percentile(50)));
  j.number("latency_p90_us", us(h.value_at_percentile(90)));
  j.number("latency_p99_us", us(h.value_at_percentile(99)));
  j.number("latency_p999_us", us(h.value_at_percentile(99.9)));
  j.number("latency_max_us", us(h.max()));
  j.number("latency_mean_us", h.mean() / 1000.0);
  j.number("server_cpu_s", d.server_cpu_s);
  j.number("server_cpu_share", d.server_cpu_share);
  j.number("per_server_cpu_s", d.per_server_cpu_s);
  j.number("server_rss_before_bytes", rss(r.server_before));
  j.number("server_rss_half_bytes", rss(r.server_half));
  j.number("open_at_half", r.open_at_half ? std::optional<double>(static_cast<double>(*r.open_at_half))
                                          : std::nullopt);
  j.number("server_rss_open_bytes", rss(r.server_open));
  j.number("server_rss_start_bytes", rss(r.server_start));
  j.number("server_rss_end_bytes", rss(r.server_end));
  j.number("server_rss_peak_bytes", peak_rss(r.server_end));
  j.number("server_rss_per_connection_bytes", d.rss_per_connection);
  j.number("server_anon_rss_per_connection_bytes", d.anon_rss_per_connection);
  j.number("server_rss_marginal_per_connection_bytes", d.marginal_rss_per_connection);
  j.number("server_anon_rss_marginal_per_connection_bytes", d.marginal_anon_rss_per_connection);
  j.number("loadgen_cpu_share", r.window_s > 0 ? r.self_cpu_s / r.window_s : 0.0);
  j.number("server_runqueue_wait_share", d.server_wait_share);
  j.number("loadgen_runqueue_wait_share", d.self_wait_share);
  j.number("errors", r.totals.errors());
  j.number("errors_in_window", r.window.errors());
  j.number("connect_failures", r.totals.connect_failures);
  j.number("handshake_failures", r.totals.handshake_failures);
  j.number("dropped", r.totals.dropped);
  j.number("protocol_errors", r.totals.protocol_errors);
  j.number("close_timeouts", r.totals.close_timeouts);
  j.number("mismatches", r.totals.mismatches);
  j.print();
}

}  // namespace switchboard::loadgen
