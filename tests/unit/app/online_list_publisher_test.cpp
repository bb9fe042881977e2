// OnlineListPublisher: sends the list as it is after the change, from its own thread,
// folds bursts of changes, forgets changes once muted, and sends what is pending on stop.

#include "app/online_list_publisher.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "app/memory_presence.hpp"

namespace switchboard::app {
namespace {

struct Sent {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::pair<std::string, PresenceStore::UserIds>> lists;
  std::vector<std::thread::id> threads;

  void add(const std::string& nsp, PresenceStore::UserIds ids) {
    std::lock_guard lock(mutex);
    lists.emplace_back(nsp, std::move(ids));
    threads.push_back(std::this_thread::get_id());
    cv.notify_all();
  }
  // Waits for a list of `nsp` equal to `want`.
  bool wait_for(const std::string& nsp, const PresenceStore::UserIds& want) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] {
      for (const auto& [n, ids] : lists) {
        if (n == nsp && ids == want) return true;
      }
      return false;
    });
  }
};

TEST(OnlineListPublisher, SendsTheCurrentListFromItsOwnThread) {
  MemoryPresenceStore store;
  Sent sent;
  OnlineListPublisher publisher(store, [&](const std::string& nsp, PresenceStore::UserIds ids) { sent.add(nsp, ids); });
  store.on_online_change([&](const std::string& nsp) { publisher.changed(nsp); });
  store.connect("/chat", "c1", "c1");
  store.announce("/chat", "c1", "alice");
  ASSERT_TRUE(sent.wait_for("/chat", {"alice"}));
  store.disconnect("/chat", "c1");
  ASSERT_TRUE(sent.wait_for("/chat", {}));
  publisher.stop();
  std::lock_guard lock(sent.mutex);
  for (auto id : sent.threads) EXPECT_NE(id, std::this_thread::get_id());
  EXPECT_EQ(sent.lists.back().second, PresenceStore::UserIds{}) << "the last list sent is the current one";
}

TEST(OnlineListPublisher, FoldsABurstAndEndsOnTheCurrentList) {
  MemoryPresenceStore store;
  Sent sent;
  OnlineListPublisher publisher(store, [&](const std::string& nsp, PresenceStore::UserIds ids) { sent.add(nsp, ids); });
  store.on_online_change([&](const std::string& nsp) { publisher.changed(nsp); });
  for (int i = 0; i < 1000; ++i) {
    auto c = std::to_string(i);
    store.connect("/", c, c);
    std::string user = "user ";  // appended, not "u" + ...: g++ 12 warns falsely on that (-Wrestrict)
    user += std::to_string(i % 10);
    store.announce("/", c, user);
  }
  publisher.stop();  // sends what is pending first
  std::lock_guard lock(sent.mutex);
  ASSERT_FALSE(sent.lists.empty());
  EXPECT_LT(sent.lists.size(), 1000u) << "changes that come faster than lists go are folded";
  EXPECT_EQ(sent.lists.back().second.size(), 10u);
}

TEST(OnlineListPublisher, MutedChangesAreForgotten) {
  MemoryPresenceStore store;
  Sent sent;
  OnlineListPublisher publisher(store, [&](const std::string& nsp, PresenceStore::UserIds ids) { sent.add(nsp, ids); });
  publisher.mute();
  publisher.changed("/");
  publisher.stop();
  EXPECT_TRUE(sent.lists.empty());
}

TEST(OnlineListPublisher, ASendThatThrowsDoesNotStopIt) {
  MemoryPresenceStore store;
  Sent sent;
  std::atomic<bool> thrown{false};
  OnlineListPublisher publisher(store, [&](const std::string& nsp, PresenceStore::UserIds ids) {
    if (!thrown) {
      thrown = true;
      throw std::runtime_error("boom");
    }
    sent.add(nsp, ids);
  });
  publisher.changed("/a");
  // Wait until the first (throwing) send happened, then change again.
  for (int i = 0; i < 500 && !thrown; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  publisher.changed("/b");
  ASSERT_TRUE(sent.wait_for("/b", {}));
  publisher.stop();
}

}  // namespace
}  // namespace switchboard::app
