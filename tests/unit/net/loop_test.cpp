// Loop (and LoopGroup, which only starts and stops loops): posting across threads,
// the end-of-turn hook, timers on the loop, stop and restart.

#include "net/loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "net/loop_group.hpp"

namespace switchboard::net {
namespace {

using namespace std::chrono_literals;

// Runs the loop on a thread; stops and joins it at the end.
class Running {
 public:
  explicit Running(Loop& loop) : loop_(loop), thread_([this] { loop_.run(); }) {}
  ~Running() {
    loop_.stop();
    thread_.join();
  }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  Loop& loop_;
  std::thread thread_;
};

template <class T>
T get(std::future<T>& f) {
  if (f.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "timed out";
    return T{};
  }
  return f.get();
}

TEST(Loop, PostRunsOnTheLoopThreadWithCurrentSet) {
  Loop loop(3);
  EXPECT_EQ(loop.index(), 3u);
  EXPECT_EQ(Loop::current(), nullptr);
  Running running(loop);
  std::promise<std::pair<std::thread::id, Loop*>> seen;
  auto f = seen.get_future();
  loop.post([&] { seen.set_value({std::this_thread::get_id(), Loop::current()}); });
  auto [id, current] = get(f);
  EXPECT_EQ(id, running.id());
  EXPECT_EQ(current, &loop);
  EXPECT_EQ(Loop::current(), nullptr) << "the test thread runs no loop";
}

TEST(Loop, PostedFunctionsRunInOrder) {
  Loop loop(0);
  Running running(loop);
  std::vector<int> order;  // touched only on the loop thread until the promise
  std::promise<void> done;
  for (int i = 0; i < 100; ++i) loop.post([&, i] { order.push_back(i); });
  loop.post([&] { done.set_value(); });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(Loop, PostsFromManyThreadsAllRun) {
  Loop loop(0);
  Running running(loop);
  std::atomic<int> count{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) loop.post([&] { count.fetch_add(1); });
    });
  }
  for (auto& p : posters) p.join();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (count.load() < 4000 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(count.load(), 4000);
}

TEST(Loop, AtEndOfTurnRunsAfterTheHandlerThatAskedForIt) {
  Loop loop(0);
  Running running(loop);
  std::vector<std::string> order;
  std::promise<void> done;
  loop.post([&] {
    loop.at_end_of_turn([&] {
      order.push_back("end of turn");
      loop.at_end_of_turn([&] {  // added while end-of-turn callbacks run
        order.push_back("nested");
        done.set_value();
      });
    });
    order.push_back("handler");
  });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(order, (std::vector<std::string>{"handler", "end of turn", "nested"}));
}

TEST(Loop, ScheduledTimerFiresOnTheLoopThread) {
  Loop loop(0, LoopOptions{.timer_tick = std::chrono::milliseconds(5)});
  Running running(loop);
  struct Fired {
    std::promise<std::chrono::steady_clock::time_point> when;
    std::thread::id thread;
  } fired;
  TimerWheel::Timer timer(
      [](void* self) {
        auto* f = static_cast<Fired*>(self);
        f->thread = std::this_thread::get_id();
        f->when.set_value(std::chrono::steady_clock::now());
      },
      &fired);
  auto f = fired.when.get_future();
  auto start = std::chrono::steady_clock::now();
  loop.post([&] { loop.schedule_timer(timer, 100ms); });
  auto when = get(f);
  EXPECT_EQ(fired.thread, running.id());
  // The wheel rounds to its tick; allow one tick of granularity below the delay.
  EXPECT_GE(when - start, 95ms);
}

TEST(Loop, TimerCancelledBeforeItFiresDoesNotFire) {
  Loop loop(0);
  Running running(loop);
  std::atomic<int> fired{0};
  TimerWheel::Timer timer([](void* self) { static_cast<std::atomic<int>*>(self)->fetch_add(1); }, &fired);
  std::promise<void> armed;
  loop.post([&] {
    loop.schedule_timer(timer, 50ms);
    timer.cancel();
    armed.set_value();
  });
  armed.get_future().wait();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fired.load(), 0);
}

TEST(Loop, ReadBufferHasTheConfiguredSize) {
  Loop loop(0, LoopOptions{.read_buffer_size = 4096});
  EXPECT_EQ(loop.read_buffer().size(), 4096u);
  Loop standard(1);
  EXPECT_EQ(standard.read_buffer().size(), 256u * 1024);
}

TEST(Loop, StopReturnsRunAndTheLoopCanRunAgain) {
  Loop loop(0);
  for (int round = 0; round < 2; ++round) {
    std::promise<void> ran;
    std::atomic<bool> returned{false};
    std::thread thread([&] {
      loop.run();
      returned = true;
    });
    loop.post([&] { ran.set_value(); });
    auto f = ran.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready) << "round " << round;
    std::this_thread::sleep_for(100ms);
    // "Runs the loop on the calling thread until stop()": also the second time.
    EXPECT_FALSE(returned.load()) << "round " << round << ": run() returned before stop()";
    loop.stop();
    thread.join();
  }
}

TEST(Loop, StopBeforeRunStillReturns) {
  Loop loop(0);
  loop.stop();
  auto done = std::async(std::launch::async, [&] { loop.run(); });
  EXPECT_EQ(done.wait_for(10s), std::future_status::ready);
}

TEST(Loop, RunWithNothingToDoWaitsForWork) {
  Loop loop(0);
  std::atomic<bool> returned{false};
  std::thread thread([&] {
    loop.run();
    returned = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(returned.load()) << "an idle loop must keep running until stop()";
  loop.stop();
  thread.join();
}

TEST(LoopGroup, RunsEveryLoopOnItsOwnThread) {
  LoopGroup group(3);
  ASSERT_EQ(group.size(), 3u);
  for (unsigned i = 0; i < 3; ++i) EXPECT_EQ(group.loop(i).index(), i);
  std::thread runner([&] { group.run(); });
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::set<Loop*> loops;
  std::atomic<int> ran{0};
  group.post_to_all([&] {
    std::lock_guard lock(mutex);
    threads.insert(std::this_thread::get_id());
    loops.insert(Loop::current());
    ran.fetch_add(1);
  });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ran.load() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  group.stop();
  auto joined = std::async(std::launch::async, [&] { runner.join(); });
  ASSERT_EQ(joined.wait_for(10s), std::future_status::ready) << "run() did not return after stop()";
  EXPECT_EQ(ran.load(), 3);
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_EQ(loops.size(), 3u);
  EXPECT_FALSE(threads.count(std::this_thread::get_id()));
}

TEST(LoopGroup, ZeroThreadsMeansOnePerCore) {
  LoopGroup group(0);
  EXPECT_EQ(group.size(), std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace switchboard::net
