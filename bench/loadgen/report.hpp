#pragma once
// The end of a run: a summary for people (stderr) and one JSON object for scripts
// (stdout). Every rate is over the measured window only.

#include <optional>

#include "histogram.hpp"
#include "options.hpp"
#include "proc_stats.hpp"
#include "stats.hpp"

namespace switchboard::loadgen {

struct RunResult {
  double ramp_s = 0;           // echo, idle: time to open the connections
  bool all_opened = false;     // every connection opened within --ramp-timeout
  double window_s = 0;         // measured window, wall clock
  bool interrupted = false;    // SIGINT/SIGTERM ended the window early
  StatsSnapshot totals;        // at the end of the window
  StatsSnapshot window;        // counted inside the window
  ChatCounts chat_totals;      // chat: at the end of the window
  ChatCounts chat_window;      // chat: counted inside the window
  Histogram histogram;         // echo: round trip; connect: connect() to 101; fanout, chat: sender to member
  double self_cpu_s = 0;       // the load generator's CPU time inside the window
  double self_wait_s = -1;     // the load generator's run-queue wait inside the window
  std::optional<ProcSample> server_before;  // before the first connection
  // idle: once the first half of the connections was open and the server had settled,
  // and how many were open then
  std::optional<ProcSample> server_half;
  std::optional<std::uint64_t> open_at_half;
  std::optional<ProcSample> server_open;    // idle: when all connections were open
  std::optional<ProcSample> server_start;   // start of the window
  std::optional<ProcSample> server_end;     // end of the window
};

void print_summary(const Options& options, const RunResult& result);
void print_json(const Options& options, const RunResult& result);

}  // namespace switchboard::loadgen
