#pragma once
// Per-socket rate limits: token buckets (a burst, refilled at a steady rate), one shared
// by every event of a socket, and one more for each event that has a limit of its own:
// such an event needs a token from both. Pure: the caller passes the time, so tests
// need no clock.
//
// Thread safety: none. A SocketRateLimiter belongs to one socket and is used on that
// socket's loop thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace switchboard::app {

struct RateLimit {
  std::uint32_t burst = 100;  // 0: no limit
  double per_second = 100;    // tokens added per second, up to `burst`; above 0 (the config checks)

  bool unlimited() const noexcept { return burst == 0; }
  friend bool operator==(const RateLimit&, const RateLimit&) = default;
};

struct RateLimits {
  RateLimit per_socket;
  // Events named here also draw on a bucket of their own: an event passes when its own
  // bucket and the shared one both have a token (and then takes one from each).
  std::map<std::string, RateLimit, std::less<>> per_event;
};

// A token bucket kept as a time (the generic cell rate algorithm, ITU-T I.371): one
// point in time says when the bucket will be full again, and every token taken moves it
// one interval later. Integer clock ticks, not a floating-point token count, so that a
// client sending at exactly the rate is never refused by rounding drift.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket() noexcept : TokenBucket(RateLimit{0, 0}, {}) {}  // unlimited
  TokenBucket(RateLimit limit, Clock::time_point now) noexcept;
  // Whether there is a token now.
  bool available(Clock::time_point now) const noexcept;
  // Takes one token if there is one.
  bool take(Clock::time_point now) noexcept;
  // How long until a token is there (zero if one is there now).
  Clock::duration time_to_next_token(Clock::time_point now) const noexcept;

 private:
  bool unlimited_;
  Clock::duration interval_;   // time to refill one token
  Clock::duration tolerance_;  // (burst - 1) intervals: how far ahead of now full_at may run
  Clock::time_point full_at_;  // when the bucket is full again (the "theoretical arrival time")
};

class SocketRateLimiter {
 public:
  using Clock = TokenBucket::Clock;

  struct Decision {
    bool allowed = true;
    // Refused by the event's own limit (false: by the socket-wide one).
    bool by_event_limit = false;
    // Tell the client it is being limited: once per second at most, so that a flood
    // of dropped events does not become a flood of notices.
    bool notify = false;
    std::chrono::milliseconds retry_after{0};
  };

  // `limits` must outlive the limiter (the server's configuration does).
  SocketRateLimiter(const RateLimits& limits, Clock::time_point now);

  Decision admit(std::string_view event, Clock::time_point now);

 private:
  // The event's own bucket, or null when it has no limit of its own.
  TokenBucket* own_bucket(std::string_view event, Clock::time_point now);

  const RateLimits& limits_;
  TokenBucket shared_;
  // One per entry of limits_.per_event, in its order; allocated at the first event
  // that has a limit of its own, so that a socket that never sends one (or a server
  // with no per-event limits) pays one null pointer.
  std::unique_ptr<TokenBucket[]> own_buckets_;
  Clock::time_point last_notice_{};
  bool noticed_ = false;
};

}  // namespace switchboard::app
