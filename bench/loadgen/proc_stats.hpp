#pragma once
// What /proc says about a process: CPU time (utime + stime, all threads, from
// /proc/PID/stat) and resident memory (VmRSS from /proc/PID/status), and the load
// generator's own CPU time (getrusage), to tell when it, not the server, is the limit.

#include <optional>

namespace switchboard::loadgen {

struct ProcSample {
  double cpu_s = 0;          // utime + stime, seconds
  long long rss_bytes = -1;  // VmRSS; -1 if unknown
};

std::optional<ProcSample> sample_process(int pid);
double self_cpu_seconds();

}  // namespace switchboard::loadgen
