// TokenBucket and SocketRateLimiter with a hand-driven clock: the burst, the refill, the
// cap at the burst, per-event buckets, and notices at most once a second.

#include "app/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace switchboard::app {
namespace {

using Clock = TokenBucket::Clock;
using std::chrono::milliseconds;

const Clock::time_point t0{};

TEST(TokenBucket, AllowsTheBurstThenRefillsAtTheRate) {
  TokenBucket bucket({100, 100}, t0);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(bucket.take(t0)) << i;
  EXPECT_FALSE(bucket.take(t0));
  EXPECT_FALSE(bucket.take(t0 + milliseconds(9)));
  EXPECT_TRUE(bucket.take(t0 + milliseconds(10)));  // 100/s: one token per 10 ms
  EXPECT_FALSE(bucket.take(t0 + milliseconds(10)));
  // A second later 100 are back, and no more than the burst.
  auto later = t0 + milliseconds(5000);
  int taken = 0;
  while (bucket.take(later)) ++taken;
  EXPECT_EQ(taken, 100);
}

TEST(TokenBucket, TimeToNextToken) {
  TokenBucket bucket({2, 4}, t0);
  EXPECT_EQ(bucket.time_to_next_token(t0), Clock::duration::zero());
  bucket.take(t0);
  bucket.take(t0);
  EXPECT_EQ(std::chrono::ceil<milliseconds>(bucket.time_to_next_token(t0)), milliseconds(250));
  EXPECT_EQ(std::chrono::ceil<milliseconds>(bucket.time_to_next_token(t0 + milliseconds(100))), milliseconds(150));
}

TEST(TokenBucket, BurstZeroIsUnlimited) {
  TokenBucket bucket({0, 1}, t0);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(bucket.take(t0));
}

TEST(TokenBucket, ATimeBeforeTheLastRefillAddsNothing) {
  TokenBucket bucket({1, 1}, t0 + milliseconds(1000));
  EXPECT_TRUE(bucket.take(t0 + milliseconds(1000)));
  EXPECT_FALSE(bucket.take(t0));
  EXPECT_FALSE(bucket.take(t0 + milliseconds(1500)));
  EXPECT_TRUE(bucket.take(t0 + milliseconds(2000)));
}

TEST(SocketRateLimiter, EveryEventDrawsOnTheSharedBucket) {
  RateLimits limits;
  limits.per_socket = {3, 1};
  SocketRateLimiter limiter(limits, t0);
  EXPECT_TRUE(limiter.admit("a", t0).allowed);
  EXPECT_TRUE(limiter.admit("b", t0).allowed);
  EXPECT_TRUE(limiter.admit("c", t0).allowed);
  auto refused = limiter.admit("a", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_TRUE(refused.notify);
  EXPECT_EQ(refused.retry_after, milliseconds(1000));
}

TEST(SocketRateLimiter, NoticesAtMostOnceASecond) {
  RateLimits limits;
  limits.per_socket = {1, 0.5};
  SocketRateLimiter limiter(limits, t0);
  EXPECT_TRUE(limiter.admit("e", t0).allowed);
  EXPECT_TRUE(limiter.admit("e", t0).notify);
  EXPECT_FALSE(limiter.admit("e", t0 + milliseconds(10)).notify);
  EXPECT_FALSE(limiter.admit("e", t0 + milliseconds(999)).notify);
  auto again = limiter.admit("e", t0 + milliseconds(1000));
  EXPECT_FALSE(again.allowed);
  EXPECT_TRUE(again.notify);
}

TEST(SocketRateLimiter, AnEventWithItsOwnLimitNeedsATokenFromBothBuckets) {
  RateLimits limits;
  limits.per_socket = {3, 1};
  limits.per_event["typing"] = {1, 1};
  SocketRateLimiter limiter(limits, t0);
  EXPECT_TRUE(limiter.admit("typing", t0).allowed);
  auto refused = limiter.admit("typing", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_TRUE(refused.by_event_limit);
  EXPECT_EQ(refused.retry_after, milliseconds(1000));
  // The refused typing took no token from the shared bucket; the first one did.
  EXPECT_TRUE(limiter.admit("send-message", t0).allowed);
  EXPECT_TRUE(limiter.admit("send-message", t0).allowed);
  auto shared = limiter.admit("send-message", t0);
  EXPECT_FALSE(shared.allowed);
  EXPECT_FALSE(shared.by_event_limit);
}

TEST(SocketRateLimiter, AnEventWithRoomInItsOwnBucketIsStillHeldByTheSharedOne) {
  RateLimits limits;
  limits.per_socket = {2, 1};
  limits.per_event["typing"] = {10, 10};
  SocketRateLimiter limiter(limits, t0);
  EXPECT_TRUE(limiter.admit("typing", t0).allowed);
  EXPECT_TRUE(limiter.admit("typing", t0).allowed);
  auto refused = limiter.admit("typing", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_FALSE(refused.by_event_limit);
  EXPECT_FALSE(limiter.admit("send-message", t0).allowed);
  EXPECT_TRUE(limiter.admit("typing", t0 + milliseconds(1000)).allowed);
}

TEST(SocketRateLimiter, EventsWithoutALimitOfTheirOwnUseOnlyTheSharedBucket) {
  RateLimits limits;
  limits.per_socket = {2, 1};
  limits.per_event["send-message"] = {1, 1};
  limits.per_event["typing"] = {5, 1};
  SocketRateLimiter limiter(limits, t0);
  EXPECT_TRUE(limiter.admit("custom-event", t0).allowed);
  EXPECT_TRUE(limiter.admit("typing", t0).allowed);
  auto refused = limiter.admit("custom-event", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_FALSE(refused.by_event_limit);
}

TEST(SocketRateLimiter, AnUnlimitedSocketStillHasPerEventLimits) {
  RateLimits limits;
  limits.per_socket = {0, 1};
  limits.per_event["typing"] = {2, 1};
  SocketRateLimiter limiter(limits, t0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.admit("send-message", t0).allowed);
  EXPECT_TRUE(limiter.admit("typing", t0).allowed);
  EXPECT_TRUE(limiter.admit("typing", t0).allowed);
  EXPECT_FALSE(limiter.admit("typing", t0).allowed);
}

TEST(SocketRateLimiter, StaysSmallPerSocket) {
  // Every chat socket holds one, idle or not: the shared bucket, the notice state and
  // one pointer for the per-event buckets, which exist only once the socket sends an
  // event that has its own limit. (A std::map of buckets per socket was 48 bytes more.)
  EXPECT_LE(sizeof(SocketRateLimiter), 64u);
}

}  // namespace
}  // namespace switchboard::app
