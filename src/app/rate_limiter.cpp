#include "app/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace switchboard::app {

TokenBucket::TokenBucket(RateLimit limit, Clock::time_point now) noexcept
    : limit_(limit), tokens_(limit.burst), last_refill_(now) {}

void TokenBucket::refill(Clock::time_point now) noexcept {
  if (now <= last_refill_) return;
  std::chrono::duration<double> elapsed = now - last_refill_;
  tokens_ = std::min<double>(limit_.burst, tokens_ + elapsed.count() * limit_.per_second);
  last_refill_ = now;
}

bool TokenBucket::take(Clock::time_point now) noexcept {
  if (limit_.unlimited()) return true;
  refill(now);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

TokenBucket::Clock::duration TokenBucket::time_to_next_token(Clock::time_point now) noexcept {
  if (limit_.unlimited()) return Clock::duration::zero();
  refill(now);
  if (tokens_ >= 1 || limit_.per_second <= 0) return Clock::duration::zero();
  std::chrono::duration<double> wait((1 - tokens_) / limit_.per_second);
  return std::chrono::ceil<Clock::duration>(wait);
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
