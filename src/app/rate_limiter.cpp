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

bool TokenBucket::available(Clock::time_point now) const noexcept {
  return unlimited_ || std::max(full_at_, now) - now <= tolerance_;
}

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

TokenBucket* SocketRateLimiter::own_bucket(std::string_view event, Clock::time_point now) {
  auto limit = limits_.per_event.find(event);
  if (limit == limits_.per_event.end()) return nullptr;
  if (!own_buckets_) {
    // Every configured bucket starts full now; one untouched until later is still full
    // then, so making them all at once is the same as making each when first needed.
    own_buckets_ = std::make_unique<TokenBucket[]>(limits_.per_event.size());
    std::size_t i = 0;
    for (const auto& [name, each] : limits_.per_event) own_buckets_[i++] = TokenBucket(each, now);
  }
  return &own_buckets_[static_cast<std::size_t>(std::distance(limits_.per_event.begin(), limit))];
}

SocketRateLimiter::Decision SocketRateLimiter::admit(std::string_view event, Clock::time_point now) {
  TokenBucket* own = own_bucket(event, now);
  // Both buckets are checked before either is drawn on, so a refused event costs no token.
  const TokenBucket* refusing = nullptr;
  if (own && !own->available(now)) {
    refusing = own;
  } else if (!shared_.available(now)) {
    refusing = &shared_;
  }
  if (!refusing) {
    if (own) own->take(now);
    shared_.take(now);
    return {};
  }
  Decision decision;
  decision.allowed = false;
  decision.by_event_limit = refusing == own;
  decision.retry_after = std::chrono::ceil<std::chrono::milliseconds>(refusing->time_to_next_token(now));
  if (!noticed_ || now - last_notice_ >= std::chrono::seconds(1)) {
    decision.notify = true;
    noticed_ = true;
    last_notice_ = now;
  }
  return decision;
}

}  // namespace switchboard::app
