#pragma once
// A log-linear latency histogram in the manner of HdrHistogram: fixed memory, O(1)
// record, 2 significant decimal digits (relative error below 1 %), values from 1 ns to
// 60 s. Values above the range are counted in the top bucket; the exact maximum is
// kept apart.
//
// Layout: values below 2^sub_bucket_bits are counted exactly; above that, each power of
// two [2^k, 2^(k+1)) is split into half_count equal sub-buckets, so a bucket is never
// wider than 1/128 of its values. With 8 sub-bucket bits that is 3,808 counters (30 KiB).
//
// Thread safety: none. Each worker records into its own and the main thread merges
// them after the workers have stopped.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace switchboard::loadgen {

class Histogram {
 public:
  static constexpr int sub_bucket_bits = 8;
  static constexpr std::uint64_t sub_bucket_count = 1u << sub_bucket_bits;  // 256
  static constexpr std::uint64_t half_count = sub_bucket_count / 2;         // 128
  static constexpr std::uint64_t max_trackable = 60ULL * 1'000'000'000;     // 60 s in ns

  // The bucket of a value: exact below sub_bucket_count; above, the top 8 bits of the
  // value (v >> shift lands in [half_count, sub_bucket_count)) within its power of two.
  static constexpr std::size_t index_of(std::uint64_t value) noexcept {
    if (value > max_trackable) value = max_trackable;
    if (value < sub_bucket_count) return static_cast<std::size_t>(value);
    int msb = 63 - std::countl_zero(value);
    int shift = msb - (sub_bucket_bits - 1);
    std::uint64_t top = value >> shift;
    return static_cast<std::size_t>(sub_bucket_count + static_cast<std::uint64_t>(shift - 1) * half_count +
                                    (top - half_count));
  }
  // 60 s: msb 35, shift 28, top 223, so index 256 + 27 × 128 + 95 (checked below).
  static constexpr std::size_t bucket_count = 3808;

  void record(std::uint64_t value) noexcept;
  void merge(const Histogram& other) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t min() const noexcept { return total_ ? min_ : 0; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;
  // The smallest recorded value v such that at least `percentile` % of the values are
  // <= v, rounded up to the top of its bucket (never above max()). 0 when empty.
  std::uint64_t value_at_percentile(double percentile) const noexcept;

  // The range of values a bucket counts (for percentiles and the tests).
  static std::uint64_t highest_in_bucket(std::size_t index) noexcept;
  static std::uint64_t lowest_in_bucket(std::size_t index) noexcept;

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

static_assert(Histogram::index_of(Histogram::max_trackable) + 1 == Histogram::bucket_count);

}  // namespace switchboard::loadgen
