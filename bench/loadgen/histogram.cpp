#include "histogram.hpp"

#include <algorithm>
#include <cmath>

namespace switchboard::loadgen {

std::uint64_t Histogram::lowest_in_bucket(std::size_t index) noexcept {
  if (index < sub_bucket_count) return index;
  std::size_t above = index - sub_bucket_count;
  int shift = static_cast<int>(above / half_count) + 1;
  std::uint64_t top = half_count + above % half_count;
  return top << shift;
}

std::uint64_t Histogram::highest_in_bucket(std::size_t index) noexcept {
  if (index < sub_bucket_count) return index;
  std::size_t above = index - sub_bucket_count;
  int shift = static_cast<int>(above / half_count) + 1;
  std::uint64_t top = half_count + above % half_count;
  return ((top + 1) << shift) - 1;
}

void Histogram::record(std::uint64_t value) noexcept {
  ++counts_[index_of(value)];
  ++total_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void Histogram::merge(const Histogram& other) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::reset() noexcept { *this = Histogram{}; }

double Histogram::mean() const noexcept {
  return total_ ? static_cast<double>(sum_ / static_cast<long double>(total_)) : 0.0;
}

std::uint64_t Histogram::value_at_percentile(double percentile) const noexcept {
  if (total_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  auto wanted = static_cast<std::uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(total_)));
  wanted = std::clamp<std::uint64_t>(wanted, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= wanted) return std::min(highest_in_bucket(i), max_);
  }
  return max_;
}

}  // namespace switchboard::loadgen
