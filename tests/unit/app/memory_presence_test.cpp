// MemoryPresenceStore: online while any connection of the user is, per-namespace lists,
// room members counted by user, and the change notifications.

#include "app/memory_presence.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace switchboard::app {
namespace {

using Ids = PresenceStore::UserIds;

Ids online(const PresenceStore& store, std::string_view nsp) {
  Ids out;
  store.online_users(nsp, [&](Ids ids) { out = std::move(ids); });
  return out;
}

Ids members(const PresenceStore& store, std::string_view nsp, std::string_view room) {
  Ids out;
  store.room_members(nsp, room, [&](Ids ids) { out = std::move(ids); });
  return out;
}

TEST(MemoryPresenceStore, AUserIsOnlineWhileAnyConnectionIs) {
  MemoryPresenceStore store;
  std::vector<std::string> changes;
  store.on_online_change([&](const std::string& nsp) { changes.push_back(nsp); });
  store.connect("/", "c1", "c1");
  store.connect("/", "c2", "c2");
  store.connect("/", "c3", "c3");
  EXPECT_EQ(online(store, "/"), Ids{});
  EXPECT_TRUE(changes.empty()) << "a connection that has not announced changes no list";
  store.announce("/", "c1", "alice");
  store.announce("/", "c2", "alice");
  store.announce("/", "c3", "bob");
  EXPECT_EQ(online(store, "/"), (Ids{"alice", "bob"})) << "sorted, no duplicates";
  store.disconnect("/", "c1");
  EXPECT_EQ(online(store, "/"), (Ids{"alice", "bob"}));
  store.disconnect("/", "c2");
  EXPECT_EQ(online(store, "/"), Ids{"bob"});
  EXPECT_EQ(changes.size(), 5u);
}

TEST(MemoryPresenceStore, ANewAnnouncementReplacesTheOld) {
  MemoryPresenceStore store;
  store.connect("/", "c1", "c1");
  store.announce("/", "c1", "old");
  store.announce("/", "c1", "new");
  EXPECT_EQ(online(store, "/"), Ids{"new"});
  store.announce("/", "c1", "");  // ignored
  EXPECT_EQ(online(store, "/"), Ids{"new"});
}

TEST(MemoryPresenceStore, NamespacesAreSeparate) {
  MemoryPresenceStore store;
  store.connect("/", "c1", "u");
  store.connect("/chat", "c1", "u");  // one id may appear in two namespaces
  store.announce("/chat", "c1", "u");
  EXPECT_EQ(online(store, "/"), Ids{});
  EXPECT_EQ(online(store, "/chat"), Ids{"u"});
  store.disconnect("/", "c1");
  EXPECT_EQ(online(store, "/chat"), Ids{"u"});
}

TEST(MemoryPresenceStore, UnknownConnectionsChangeNothing) {
  MemoryPresenceStore store;
  int changes = 0;
  store.on_online_change([&](const std::string&) { ++changes; });
  store.announce("/", "ghost", "x");
  store.join("/", "ghost", "r");
  store.leave("/", "ghost", "r");
  store.disconnect("/", "ghost");
  EXPECT_EQ(online(store, "/"), Ids{});
  EXPECT_EQ(members(store, "/", "r"), Ids{});
  EXPECT_EQ(changes, 0);
}

TEST(MemoryPresenceStore, RoomMembersAreCountedByUser) {
  MemoryPresenceStore store;
  store.connect("/", "c1", "alice");
  store.connect("/", "c2", "alice");
  store.connect("/", "c3", "bob");
  store.join("/", "c1", "r");
  store.join("/", "c1", "r");  // twice: still one membership
  store.join("/", "c2", "r");
  store.join("/", "c3", "r");
  EXPECT_EQ(members(store, "/", "r"), (Ids{"alice", "bob"}));
  store.leave("/", "c1", "r");
  EXPECT_EQ(members(store, "/", "r"), (Ids{"alice", "bob"}));
  store.disconnect("/", "c2");
  EXPECT_EQ(members(store, "/", "r"), Ids{"bob"});
  store.leave("/", "c3", "r");
  EXPECT_EQ(members(store, "/", "r"), Ids{});
}

TEST(MemoryPresenceStore, ManyThreadsAtOnce) {
  MemoryPresenceStore store;
  std::atomic<int> changes{0};
  store.on_online_change([&](const std::string&) { changes.fetch_add(1); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 500; ++i) {
        std::string conn = std::to_string(t) + "-" + std::to_string(i);
        store.connect("/", conn, conn);
        store.announce("/", conn, "user" + std::to_string(i % 7));
        store.join("/", conn, "room");
        if (i % 2) store.disconnect("/", conn);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(online(store, "/").size(), 7u);
  EXPECT_EQ(changes.load(), 4 * 500 + 4 * 250);
}

}  // namespace
}  // namespace switchboard::app
