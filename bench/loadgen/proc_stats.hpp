#pragma once
// What /proc says about a process: CPU time (utime + stime, all threads, from
// /proc/PID/stat) and resident memory (VmRSS and its peak, VmHWM, from /proc/PID/status), and the load
// generator's own CPU time (getrusage), to tell when it, not the server, is the limit;
// and how long each waited for a CPU while runnable (/proc/PID/task/*/schedstat), to
// tell when something else on the machine took the cores the benchmark was pinned to.

#include <optional>

namespace switchboard::loadgen {

struct ProcSample {
  double cpu_s = 0;          // utime + stime, seconds
  long long rss_bytes = -1;  // VmRSS; -1 if unknown
  long long peak_rss_bytes = -1;  // VmHWM: the most VmRSS has been since the process started
  // RssAnon: the resident private memory (heap, stacks, a JIT's code), without the
  // file-backed pages (the binary and its libraries) that first use pages in.
  long long anon_rss_bytes = -1;
  double wait_s = -1;        // time runnable but not running, all threads; -1 if unknown
};

std::optional<ProcSample> sample_process(int pid);
double self_cpu_seconds();
// Run-queue wait of every thread of `pid` (0: this process), seconds; -1 if unknown.
double runqueue_wait_seconds(int pid);

}  // namespace switchboard::loadgen
