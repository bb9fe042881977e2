#include "proc_stats.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace switchboard::loadgen {

std::optional<ProcSample> sample_process(int pid) {
  std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat_file(base + "/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // proc(5): "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so
  // count fields from the last ')'. utime and stime are fields 14 and 15.
  std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int index = 3; index <= 15 && (fields >> field); ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
  }
  ProcSample sample;
  sample.wait_s = runqueue_wait_seconds(pid);
  sample.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));

  std::ifstream status(base + "/status");
  std::string line;
  while (std::getline(status, line)) {
    // "VmHWM:", then "VmRSS:", then "RssAnon:", each "   1234 kB"
    if (line.rfind("VmHWM:", 0) == 0) sample.peak_rss_bytes = std::stoll(line.substr(6)) * 1024;
    if (line.rfind("VmRSS:", 0) == 0) sample.rss_bytes = std::stoll(line.substr(6)) * 1024;
    if (line.rfind("RssAnon:", 0) == 0) {
      sample.anon_rss_bytes = std::stoll(line.substr(8)) * 1024;
      break;
    }
  }
  return sample;
}

double runqueue_wait_seconds(int pid) {
  // sched(7) schedstat: "time on CPU (ns), time waiting on a run queue (ns), timeslices".
  std::filesystem::path tasks = pid ? "/proc/" + std::to_string(pid) + "/task" : "/proc/self/task";
  std::error_code error;
  double total = 0;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream file(task.path() / "schedstat");
    unsigned long long on_cpu = 0, waiting = 0;
    if (file >> on_cpu >> waiting) {
      total += static_cast<double>(waiting) / 1e9;
      any = true;
    }
  }
  return any ? total : -1;
}

double self_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace switchboard::loadgen
