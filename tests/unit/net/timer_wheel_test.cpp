#include "net/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

namespace switchboard::net {
namespace {

using namespace std::chrono_literals;
using Clock = TimerWheel::Clock;
using std::chrono::milliseconds;

// A timer with a counter and an optional action, run when it fires.
struct Probe {
  int fired = 0;
  std::function<void()> action;
  TimerWheel::Timer timer{&Probe::fire, this};
  static void fire(void* self) {
    auto* probe = static_cast<Probe*>(self);
    ++probe->fired;
    if (probe->action) probe->action();
  }
};

// The wheel is driven with synthetic time points. schedule() also reads the real
// clock (so that a late tick does not make timers fire early), so the synthetic time
// starts an hour after the wheel's start: the real clock never catches up during a
// test, and every delay counts from the tick the wheel has reached.
class TimerWheelTest : public ::testing::Test {
 protected:
  const Clock::time_point start = Clock::now();
  const Clock::time_point base = start + 1h;
  TimerWheel wheel{10ms, start};

  void SetUp() override { wheel.advance(base); }
  void advance_to(milliseconds offset) { wheel.advance(base + offset); }
  // Advances 1 ms at a time up to `limit` and returns the offset at which the probe
  // first fired, or -1.
  milliseconds::rep first_fire(Probe& probe, milliseconds from, milliseconds limit) {
    for (milliseconds t = from; t <= limit; t += 1ms) {
      advance_to(t);
      if (probe.fired) return t.count();
    }
    return -1;
  }
};

TEST_F(TimerWheelTest, TickIsClampedToOneMillisecond) {
  TimerWheel zero(0ms, start);
  EXPECT_EQ(zero.tick(), 1ms);
  EXPECT_EQ(wheel.tick(), 10ms);
}

TEST_F(TimerWheelTest, FiresOnItsTickNotBefore) {
  Probe p;
  wheel.schedule(p.timer, 50ms);
  EXPECT_TRUE(p.timer.armed());
  EXPECT_EQ(wheel.size(), 1u);
  advance_to(49ms);
  EXPECT_EQ(p.fired, 0);
  advance_to(50ms);
  EXPECT_EQ(p.fired, 1);
  EXPECT_FALSE(p.timer.armed());
  EXPECT_EQ(wheel.size(), 0u);
  advance_to(1000ms);
  EXPECT_EQ(p.fired, 1) << "a timer fires once";
}

// Scheduled on a tick boundary: never before the delay, at most one tick after it.
TEST_F(TimerWheelTest, EveryDelayFiresWithinOneTickAfterIt) {
  for (int delay = 1; delay <= 120; ++delay) {
    Clock::time_point s = start;
    TimerWheel w(10ms, s);
    w.advance(s + 1h);
    Probe p;
    w.schedule(p.timer, milliseconds(delay));
    int fired_at = -1;
    for (int t = 0; t <= delay + 20 && fired_at < 0; ++t) {
      w.advance(s + 1h + milliseconds(t));
      if (p.fired) fired_at = t;
    }
    ASSERT_GE(fired_at, 0) << "delay " << delay << " never fired";
    EXPECT_GE(fired_at, delay) << "delay " << delay << " fired early";
    EXPECT_LE(fired_at, delay + 10) << "delay " << delay << " fired more than a tick late";
  }
}

// Scheduled part-way through a tick: the delay counts from the moment of scheduling,
// so the timer may not fire before `delay` has passed since then.
TEST_F(TimerWheelTest, ScheduledMidTickDoesNotFireEarly) {
  for (int phase = 1; phase < 10; ++phase) {
    Clock::time_point s = start;
    TimerWheel w(10ms, s);
    w.advance(s + 1h + milliseconds(phase));  // the wheel's clock is `phase` ms into a tick
    Probe p;
    w.schedule(p.timer, 10ms);
    int fired_at = -1;
    for (int t = phase; t <= phase + 30 && fired_at < 0; ++t) {
      w.advance(s + 1h + milliseconds(t));
      if (p.fired) fired_at = t;
    }
    ASSERT_GE(fired_at, 0);
    EXPECT_GE(fired_at - phase, 10) << "scheduled " << phase << " ms into a tick, a 10 ms timer fired after "
                                    << fired_at - phase << " ms";
  }
}

TEST_F(TimerWheelTest, ZeroAndNegativeDelaysFireOnTheNextTick) {
  Probe zero, negative;
  wheel.schedule(zero.timer, 0ms);
  wheel.schedule(negative.timer, -50ms);
  advance_to(9ms);
  EXPECT_EQ(zero.fired + negative.fired, 0);
  advance_to(10ms);
  EXPECT_EQ(zero.fired, 1);
  EXPECT_EQ(negative.fired, 1);
}

TEST_F(TimerWheelTest, AdvancingBackwardsFiresNothing) {
  Probe p;
  wheel.schedule(p.timer, 10ms);
  wheel.advance(base - 1s);
  wheel.advance(base);
  EXPECT_EQ(p.fired, 0);
  advance_to(10ms);
  EXPECT_EQ(p.fired, 1);
}

TEST_F(TimerWheelTest, CancelledTimerDoesNotFire) {
  Probe p;
  wheel.schedule(p.timer, 30ms);
  p.timer.cancel();
  EXPECT_FALSE(p.timer.armed());
  EXPECT_EQ(wheel.size(), 0u);
  p.timer.cancel();  // twice is harmless
  advance_to(1s);
  EXPECT_EQ(p.fired, 0);
}

TEST_F(TimerWheelTest, CancellingAnUnarmedTimerIsHarmless) {
  Probe p;
  p.timer.cancel();
  EXPECT_FALSE(p.timer.armed());
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, RescheduleReplacesTheDueTime) {
  Probe p;
  wheel.schedule(p.timer, 50ms);
  advance_to(30ms);
  wheel.schedule(p.timer, 50ms);  // now due at 80 ms
  EXPECT_EQ(wheel.size(), 1u);
  advance_to(79ms);
  EXPECT_EQ(p.fired, 0);
  advance_to(80ms);
  EXPECT_EQ(p.fired, 1);
  advance_to(500ms);
  EXPECT_EQ(p.fired, 1);
}

TEST_F(TimerWheelTest, RescheduleToAnEarlierTime) {
  Probe p;
  wheel.schedule(p.timer, 5s);
  wheel.schedule(p.timer, 20ms);
  advance_to(20ms);
  EXPECT_EQ(p.fired, 1);
  advance_to(6s);
  EXPECT_EQ(p.fired, 1);
}

TEST_F(TimerWheelTest, ReschedulingAFiredTimerArmsItAgain) {
  Probe p;
  wheel.schedule(p.timer, 10ms);
  advance_to(10ms);
  wheel.schedule(p.timer, 10ms);
  advance_to(20ms);
  EXPECT_EQ(p.fired, 2);
}

TEST_F(TimerWheelTest, ManyTimersInOneSlotAllFireOnce) {
  std::vector<std::unique_ptr<Probe>> probes;
  for (int i = 0; i < 1000; ++i) {
    probes.push_back(std::make_unique<Probe>());
    wheel.schedule(probes.back()->timer, 70ms);
  }
  EXPECT_EQ(wheel.size(), 1000u);
  advance_to(69ms);
  for (auto& p : probes) ASSERT_EQ(p->fired, 0);
  advance_to(70ms);
  for (auto& p : probes) EXPECT_EQ(p->fired, 1);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, OneSlotHoldsTimersOfDifferentRevolutions) {
  // 1024 slots of 10 ms: 100 ms and 100 ms + 10.24 s share a slot.
  Probe soon, later, much_later;
  wheel.schedule(soon.timer, 100ms);
  wheel.schedule(later.timer, 100ms + 10240ms);
  wheel.schedule(much_later.timer, 100ms + 2 * 10240ms);
  advance_to(100ms);
  EXPECT_EQ(soon.fired, 1);
  EXPECT_EQ(later.fired, 0);
  EXPECT_EQ(much_later.fired, 0);
  advance_to(100ms + 10240ms - 1ms);
  EXPECT_EQ(later.fired, 0);
  advance_to(100ms + 10240ms);
  EXPECT_EQ(later.fired, 1);
  EXPECT_EQ(much_later.fired, 0);
  advance_to(100ms + 2 * 10240ms);
  EXPECT_EQ(much_later.fired, 1);
}

TEST_F(TimerWheelTest, LongerThanOneRevolutionFiresOnTimeWhenTicked) {
  Probe p;
  wheel.schedule(p.timer, 15000ms);  // 1500 ticks, more than the 1024 slots
  for (milliseconds t = 10ms; t < 15000ms; t += 10ms) {
    advance_to(t);
    ASSERT_EQ(p.fired, 0) << "fired early at " << t.count() << " ms";
  }
  advance_to(15000ms);
  EXPECT_EQ(p.fired, 1);
}

TEST_F(TimerWheelTest, SeveralRevolutionsAhead) {
  Probe p;
  wheel.schedule(p.timer, 35s);
  EXPECT_EQ(first_fire(p, 34990ms, 35100ms), 35000);
}

TEST_F(TimerWheelTest, CatchUpAfterALongGapFiresEverythingDueOnce) {
  const milliseconds delays[] = {10ms, 990ms, 5s, 10230ms, 10240ms, 10250ms, 12s, 19990ms, 20s,
                                 20010ms, 30s, 100s};
  std::vector<std::unique_ptr<Probe>> probes;
  for (milliseconds d : delays) {
    probes.push_back(std::make_unique<Probe>());
    wheel.schedule(probes.back()->timer, d);
  }
  advance_to(20s);  // one advance over almost two revolutions
  for (std::size_t i = 0; i < probes.size(); ++i) {
    EXPECT_EQ(probes[i]->fired, delays[i] <= 20s ? 1 : 0) << "delay " << delays[i].count() << " ms";
  }
  advance_to(20s + 10ms);
  advance_to(25s);
  for (std::size_t i = 0; i < probes.size(); ++i) {
    int expected = delays[i] <= 25s ? 1 : 0;
    EXPECT_EQ(probes[i]->fired, expected) << "delay " << delays[i].count() << " ms";
  }
  advance_to(200s);
  for (std::size_t i = 0; i < probes.size(); ++i) {
    EXPECT_EQ(probes[i]->fired, 1) << "delay " << delays[i].count() << " ms";
  }
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, CatchUpFiresEveryTimerOfEverySlot) {
  // One timer per tick for three revolutions, then one advance past all of them.
  std::vector<std::unique_ptr<Probe>> probes;
  for (int tick = 1; tick <= 3 * 1024; ++tick) {
    probes.push_back(std::make_unique<Probe>());
    wheel.schedule(probes.back()->timer, milliseconds(tick * 10));
  }
  advance_to(31s);
  for (int tick = 1; tick <= 3 * 1024; ++tick) {
    ASSERT_EQ(probes[tick - 1]->fired, tick * 10 <= 31000 ? 1 : 0) << "tick " << tick;
  }
  advance_to(40s);
  for (auto& p : probes) ASSERT_EQ(p->fired, 1);
}

TEST_F(TimerWheelTest, CallbackCancelsAnotherTimerAlreadyCollected) {
  // Both are due on the same tick, so both are collected by one advance; whichever
  // runs first cancels the other, which then must not run.
  Probe a, b;
  a.action = [&] { b.timer.cancel(); };
  b.action = [&] { a.timer.cancel(); };
  wheel.schedule(a.timer, 40ms);
  wheel.schedule(b.timer, 40ms);
  advance_to(40ms);
  EXPECT_EQ(a.fired + b.fired, 1);
  EXPECT_EQ(wheel.size(), 0u);
  advance_to(1s);
  EXPECT_EQ(a.fired + b.fired, 1);
}

TEST_F(TimerWheelTest, CallbackReschedulesAnotherTimerAlreadyCollected) {
  Probe a, b;
  bool first = true;
  auto push_other = [&](Probe& other) {
    if (!first) return;
    first = false;
    wheel.schedule(other.timer, 50ms);
  };
  a.action = [&] { push_other(b); };
  b.action = [&] { push_other(a); };
  wheel.schedule(a.timer, 40ms);
  wheel.schedule(b.timer, 40ms);
  advance_to(40ms);
  EXPECT_EQ(a.fired + b.fired, 1) << "the rescheduled timer ran in the same advance";
  EXPECT_EQ(wheel.size(), 1u);
  advance_to(89ms);
  EXPECT_EQ(a.fired + b.fired, 1);
  advance_to(90ms);
  EXPECT_EQ(a.fired, 1);
  EXPECT_EQ(b.fired, 1);
}

TEST_F(TimerWheelTest, CallbackDestroysAnotherTimerAlreadyCollected) {
  auto a = std::make_unique<Probe>();
  auto b = std::make_unique<Probe>();
  bool destroyed = false;
  a->action = [&] {
    if (!destroyed) b.reset(), destroyed = true;
  };
  b->action = [&] {
    if (!destroyed) a.reset(), destroyed = true;
  };
  wheel.schedule(a->timer, 40ms);
  wheel.schedule(b->timer, 40ms);
  advance_to(40ms);
  EXPECT_TRUE(destroyed);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ((a ? a->fired : 0) + (b ? b->fired : 0), 1);
}

TEST_F(TimerWheelTest, PeriodicTimerReschedulesItself) {
  Probe p;
  p.action = [&] { wheel.schedule(p.timer, 20ms); };
  wheel.schedule(p.timer, 20ms);
  for (milliseconds t = 10ms; t <= 200ms; t += 10ms) advance_to(t);
  EXPECT_EQ(p.fired, 10);
  // After a long gap it fires once, not once per missed period.
  advance_to(5s);
  EXPECT_EQ(p.fired, 11);
  EXPECT_TRUE(p.timer.armed());
}

TEST_F(TimerWheelTest, TimerScheduledFromACallbackFiresOnALaterAdvance) {
  Probe outer, inner;
  outer.action = [&] { wheel.schedule(inner.timer, 0ms); };
  wheel.schedule(outer.timer, 10ms);
  advance_to(10ms);
  EXPECT_EQ(outer.fired, 1);
  EXPECT_EQ(inner.fired, 0);
  advance_to(20ms);
  EXPECT_EQ(inner.fired, 1);
}

TEST_F(TimerWheelTest, CallbackCancelsItself) {
  Probe p;
  p.action = [&] { p.timer.cancel(); };
  wheel.schedule(p.timer, 10ms);
  advance_to(10ms);
  EXPECT_EQ(p.fired, 1);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, SizeCountsArmedTimers) {
  Probe a, b, c;
  wheel.schedule(a.timer, 10ms);
  wheel.schedule(b.timer, 20ms);
  wheel.schedule(c.timer, 20s);
  EXPECT_EQ(wheel.size(), 3u);
  b.timer.cancel();
  EXPECT_EQ(wheel.size(), 2u);
  advance_to(10ms);
  EXPECT_EQ(wheel.size(), 1u);
}

TEST(TimerWheelLifetime, TimerOutlivesTheWheel) {
  auto start = Clock::now();
  Probe p;
  {
    TimerWheel wheel(10ms, start);
    wheel.advance(start + 1h);
    wheel.schedule(p.timer, 50ms);
    EXPECT_TRUE(p.timer.armed());
  }
  EXPECT_FALSE(p.timer.armed()) << "the wheel disarms its timers when destroyed";
  p.timer.cancel();  // touches nothing freed (ASan)
}

TEST(TimerWheelLifetime, WheelOutlivesTheTimer) {
  auto start = Clock::now();
  TimerWheel wheel(10ms, start);
  wheel.advance(start + 1h);
  Probe keep;
  wheel.schedule(keep.timer, 50ms);
  {
    Probe gone;
    wheel.schedule(gone.timer, 50ms);
    EXPECT_EQ(wheel.size(), 2u);
  }
  EXPECT_EQ(wheel.size(), 1u);
  wheel.advance(start + 1h + 50ms);  // walks the slot the destroyed timer was in
  EXPECT_EQ(keep.fired, 1);
}

}  // namespace
}  // namespace switchboard::net

namespace switchboard::net {
namespace {

using namespace std::chrono_literals;
using Clock = TimerWheel::Clock;

// The wheel's two levels against a plain model: random timers from 1 ms to ten
// minutes, random cancels, and advances in random steps (some far past a coarse
// boundary): every timer fires exactly once, on the first advance at or after its
// deadline rounded up to the tick, never before.
TEST(TimerWheelLevels, RandomTimersFireOnTheirTickAcrossBothLevels) {
  // Synthetic time an hour ahead of the real clock, as in the tests above: "now" is
  // always the last advance.
  const Clock::time_point start = Clock::now() + 1h;
  TimerWheel wheel{1ms, Clock::now()};
  struct Entry {
    std::unique_ptr<TimerWheel::Timer> timer;
    std::int64_t due_ms = 0;
    int fired = 0;
    std::int64_t fired_at = -1;
    bool cancelled = false;
  };
  std::vector<Entry> entries(3000);
  std::int64_t now_ms = 0;
  std::uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  wheel.advance(start);
  // Fired exactly at the first advance at or after the deadline, rounded up to the tick.
  for (auto& e : entries) {
    e.timer = std::make_unique<TimerWheel::Timer>(
        [](void* context) { static_cast<Entry*>(context)->fired++; }, &e);
  }
  // Arm them in batches while time moves, so they are placed against different
  // current ticks.
  std::size_t armed = 0;
  while (armed < entries.size() || wheel.size() > 0) {
    for (int i = 0; i < 50 && armed < entries.size(); ++i, ++armed) {
      Entry& e = entries[armed];
      std::int64_t delay = static_cast<std::int64_t>(next() % 4 == 0 ? next() % 600'000 : next() % 2'000) + 1;
      e.due_ms = now_ms + delay;
      wheel.schedule_at(*e.timer, start + std::chrono::milliseconds(e.due_ms));
      if (next() % 10 == 0) {
        e.timer->cancel();
        e.cancelled = true;
      }
    }
    std::int64_t step = static_cast<std::int64_t>(next() % 8 == 0 ? next() % 5'000 : next() % 40) + 1;
    now_ms += step;
    wheel.advance(start + std::chrono::milliseconds(now_ms));
    for (auto& e : entries) {
      if (e.fired && e.fired_at < 0) e.fired_at = now_ms;
    }
  }
  for (const auto& e : entries) {
    if (e.cancelled) {
      EXPECT_EQ(e.fired, 0);
      continue;
    }
    ASSERT_EQ(e.fired, 1) << "due at " << e.due_ms;
    EXPECT_GE(e.fired_at, e.due_ms) << "fired early";
    EXPECT_LT(e.fired_at - e.due_ms, 5'001) << "fired later than the first advance after its deadline";
  }
}

TEST(TimerWheelLevels, NextWakeIsTheNextDueTickOrTheNextCoarseBoundary) {
  const Clock::time_point origin = Clock::now();
  const Clock::time_point start = origin + 1h;  // synthetic time, ahead of the real clock
  TimerWheel wheel{1ms, origin};
  wheel.advance(start + 1000ms);
  EXPECT_FALSE(wheel.next_wake()) << "no timer, no wake";
  TimerWheel::Timer soon([](void*) {}, nullptr);
  wheel.schedule_at(soon, start + 1020ms);
  ASSERT_TRUE(wheel.next_wake());
  EXPECT_EQ(*wheel.next_wake(), start + 1020ms);
  soon.cancel();
  TimerWheel::Timer later([](void*) {}, nullptr);
  wheel.schedule_at(later, start + 120s);
  // The cancelled timer's slot may cost one spurious wake (its bit is cleared lazily).
  wheel.advance(start + 1020ms);
  // Only a far timer: the wheel wakes at coarse boundaries (every 256 ticks), not
  // every tick.
  ASSERT_TRUE(wheel.next_wake());
  const auto boundary = origin + std::chrono::milliseconds((std::chrono::duration_cast<std::chrono::milliseconds>(start - origin).count() + 1000) / 256 * 256 + 256);
  EXPECT_EQ(*wheel.next_wake(), boundary);
  int wakes = 0;
  while (later.armed() && wakes < 10'000) {
    wheel.advance(*wheel.next_wake());
    ++wakes;
  }
  EXPECT_FALSE(later.armed());
  EXPECT_LE(wakes, 119'000 / 256 + 8) << "woke more often than once per coarse slot";
}

}  // namespace
}  // namespace switchboard::net
