#include "app/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace switchboard::app {

TokenBucket::TokenBucket(RateLimit limit, Clock::time_point now) noexcept
    : unlimited_(limit.unlimited() || limit.per_second <= 0),
      interval_(unlimited_ ? Clock::duration::zero()
                           : std::chrono::round<Clock::duration>(std::chrono::duration<double>(1 / limit.per_second))),
      tolerance_(unlimited_ ? Clock::duration::zero() : interval_ * (limit.burst - 1)),
      full_at_(now) {}

bool TokenBucket::take(Clock::time_point now) noexcept {
  if (unlimited_) return true;
  auto start = std::max(full_at_, now);  // a bucket cannot be fuller than full
  if (start - now > tolerance_) return false;
  full_at_ = start + interval_;
  return true;
}

TokenBucket::Clock::duration TokenBucket::time_to_next_token(Clock::time_point now) const noexcept {
  if (unlimited_) return Clock::duration::zero();
  auto wait = std::max(full_at_, now) - now - tolerance_;
  return std::max(wait, Clock::duration::zero());
}

SocketRateLimiter::SocketRateLimiter(const RateLimits& limits, Clock::time_point now)
    : limits_(limits), shared_(limits.per_socket, now) {}

TokenBucket& SocketRateLimiter::bucket_for(std::string_view event, Clock::time_point now) {
  auto limit = limits_.per_event.find(event);
  if (limit == limits_.per_event.end()) return shared_;
  auto it = own_buckets_.find(event);
  if (it == own_buckets_.end()) it = own_buckets_.emplace(std::string(event), TokenBucket(limit->second, now)).first;
  return it->second;
}

SocketRateLimiter::Decision SocketRateLimiter::admit(std::string_view event, Clock::time_point now) {
  TokenBucket& bucket = bucket_for(event, now);
  if (bucket.take(now)) return {};
  Decision decision;
  decision.allowed = false;
  decision.retry_after = std::chrono::ceil<std::chrono::milliseconds>(bucket.time_to_next_token(now));
  if (!noticed_ || now - last_notice_ >= std::chrono::seconds(1)) {
    decision.notify = true;
    noticed_ = true;
    last_notice_ = now;
  }
  return decision;
}

}  // namespace switchboard::app
