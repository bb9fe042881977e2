#pragma once
// The load generator's one clock: CLOCK_MONOTONIC in nanoseconds (a vDSO call, no
// syscall). Echo payloads carry it, so it must be the same clock on every thread.

#include <cstdint>
#include <ctime>

namespace switchboard::loadgen {

inline std::int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

constexpr std::int64_t ns_per_ms = 1'000'000;
constexpr std::int64_t ns_per_s = 1'000'000'000;

}  // namespace switchboard::loadgen
