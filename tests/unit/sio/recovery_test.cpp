// Connection state recovery's in-memory store (Node's SessionAwareAdapter semantics,
// ../shared/reference/connection-state-recovery.md §4).

#include "sio/recovery.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace switchboard::sio::detail {
namespace {

using namespace std::chrono_literals;

Args event(std::string name, std::string arg) {
  Args args;
  args.add(Json(name)).add(Json(arg));
  return args;
}

std::string offset_of(const Args& args) { return std::string(args.values.back().as_string()); }

TEST(SessionStore, RecordAppendsAnIncreasingOffsetAsTheLastArgument) {
  SessionStore store(120s);
  std::vector<std::string> offsets;
  for (int i = 0; i < 50; ++i) {
    Args args = event("news", std::to_string(i));
    store.record({}, {}, args);
    ASSERT_EQ(args.values.size(), 3u);
    ASSERT_TRUE(args.values.back().is_string());
    offsets.push_back(offset_of(args));
  }
  for (std::size_t i = 1; i < offsets.size(); ++i) EXPECT_NE(offsets[i], offsets[i - 1]);
}

TEST(SessionStore, RestoreReturnsThePacketsAfterTheOffsetForTheSessionsRooms) {
  SessionStore store(120s);
  Args first = event("news", "m1");
  store.record({"room-a"}, {}, first);
  store.persist({"sid1", "pid1", {"sid1", "room-a"}, std::any(std::string("data"))});
  Args to_room = event("news", "m2");
  store.record({"room-a"}, {}, to_room);
  Args to_all = event("all", "m3");
  store.record({}, {}, to_all);
  Args elsewhere = event("other", "m4");
  store.record({"room-b"}, {}, elsewhere);
  Args excluded = event("news", "m5");
  store.record({"room-a"}, {"sid1"}, excluded);
  Args private_emit = event("private", "p1");
  store.record({"sid1"}, {}, private_emit);

  auto restored = store.restore("pid1", offset_of(first));
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->session.sid, "sid1");
  EXPECT_EQ(restored->session.pid, "pid1");
  EXPECT_EQ(restored->session.rooms, (std::set<std::string>{"sid1", "room-a"}));
  EXPECT_EQ(std::any_cast<std::string>(restored->session.data), "data");
  ASSERT_EQ(restored->missed.size(), 3u);
  EXPECT_EQ(restored->missed[0].values[1].as_string(), "m2");
  EXPECT_EQ(restored->missed[1].values[1].as_string(), "m3");
  EXPECT_EQ(restored->missed[2].values[1].as_string(), "p1");
  EXPECT_EQ(offset_of(restored->missed[0]), offset_of(to_room)) << "each missed packet keeps its offset";
}

TEST(SessionStore, UnknownPidOrOffsetGivesNoSession) {
  SessionStore store(120s);
  Args first = event("news", "m1");
  store.record({}, {}, first);
  store.persist({"sid1", "pid1", {"sid1"}, {}});
  EXPECT_FALSE(store.restore("nobody", offset_of(first)));
  EXPECT_FALSE(store.restore("pid1", "not-an-offset"));
  EXPECT_FALSE(store.restore("pid1", "a")) << "a client's stray last string argument is no offset";
  EXPECT_TRUE(store.restore("pid1", offset_of(first)));
}

TEST(SessionStore, SessionsExpireAfterTheMaximumDisconnection) {
  SessionStore store(50ms);
  Args first = event("news", "m1");
  store.record({}, {}, first);
  store.persist({"sid1", "pid1", {"sid1"}, {}});
  std::this_thread::sleep_for(120ms);
  EXPECT_FALSE(store.restore("pid1", offset_of(first)));
}

TEST(SessionStore, ReasonsThatKeepASession) {
  for (std::string_view reason :
       {"transport error", "transport close", "forced close", "ping timeout", "server shutting down",
        "forced server close"}) {
    EXPECT_TRUE(recoverable_reason(reason)) << reason;
  }
  for (std::string_view reason : {"client namespace disconnect", "server namespace disconnect", "parse error"}) {
    EXPECT_FALSE(recoverable_reason(reason)) << reason;
  }
}

}  // namespace
}  // namespace switchboard::sio::detail
