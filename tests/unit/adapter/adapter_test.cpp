// The in-memory adapter against a Host that plays the event loops on one thread: a
// "loop" is the value current_loop() returns while its tasks run, and posted tasks wait
// in a queue until the test drains it. So every ordering question (which loop ran what,
// whether a callback came back before the call returned) has one answer.

#include <switchboard/adapter.hpp>

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace switchboard::adapter {
namespace {

class FakeMember final : public Member {
 public:
  explicit FakeMember(std::string id) : id_(std::move(id)) {}
  const std::string& id() const noexcept override { return id_; }
  bool connected() const noexcept override { return connected_; }
  bool connected_ = true;

 private:
  std::string id_;
};

struct FakePrepared final : Prepared {
  explicit FakePrepared(Packet p) : packet(std::move(p)) {}
  Packet packet;
};

class FakeHost final : public Host {
 public:
  explicit FakeHost(unsigned loops) : loops_(loops) {}

  unsigned loops() const noexcept override { return loops_; }
  std::optional<unsigned> current_loop() const noexcept override { return current_; }
  void run_on(unsigned loop, std::function<void()> task) override {
    if (current_ == loop) {
      task();
      return;
    }
    post(loop, std::move(task));
  }
  void post(unsigned loop, std::function<void()> task) override {
    queue_.emplace_back(loop, std::move(task));
  }

  std::shared_ptr<const Prepared> prepare(const Packet& packet, const BroadcastOptions&) override {
    ++prepared;
    return std::make_shared<FakePrepared>(packet);
  }
  bool deliver(Member& member, const Prepared& prepared, const std::shared_ptr<AckCollector>&) override {
    const auto& packet = static_cast<const FakePrepared&>(prepared).packet;
    delivered.push_back(member.id() + ":" + packet.data.at(0).as_string().c_str() + "@" +
                        std::to_string(*current_));
    return true;
  }
  void join(Member& member, const Room& room) override { log.push_back("join " + member.id() + " " + room); }
  void leave(Member& member, const Room& room) override { log.push_back("leave " + member.id() + " " + room); }
  void disconnect(Member& member, bool close) override {
    log.push_back("disconnect " + member.id() + (close ? " close" : ""));
  }
  SocketInfo describe(const Member& member) override { return {member.id(), {}, {}}; }

  // Runs `fn` as if on `loop`.
  template <typename Fn>
  void on(unsigned loop, Fn&& fn) {
    const auto saved = current_;
    current_ = loop;
    fn();
    current_ = saved;
  }
  // Runs queued tasks (and the ones they queue) until none is left.
  void drain() {
    while (!queue_.empty()) {
      auto [loop, task] = std::move(queue_.front());
      queue_.pop_front();
      on(loop, task);
    }
  }

  int prepared = 0;
  std::vector<std::string> delivered;
  std::vector<std::string> log;

 private:
  unsigned loops_;
  std::optional<unsigned> current_;
  std::deque<std::pair<unsigned, std::function<void()>>> queue_;
};

Packet event(const char* name) {
  Packet packet;
  packet.nsp = "/";
  packet.data.emplace_back(name);
  return packet;
}

BroadcastOptions to(std::set<Room> rooms, std::set<Room> except = {}) {
  BroadcastOptions options;
  options.rooms = std::move(rooms);
  options.except = std::move(except);
  return options;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Adapter, RoomsOfFollowsJoinsAndLeaves) {
  FakeHost host(1);
  Adapter adapter(host);
  FakeMember a("a");
  host.on(0, [&] {
    adapter.add_all(a, {"a", "r1", "r2"});
    EXPECT_EQ(adapter.rooms_of(a), (std::set<Room>{"a", "r1", "r2"}));
    adapter.del(a, "r1");
    adapter.del(a, "never-joined");
    EXPECT_EQ(adapter.rooms_of(a), (std::set<Room>{"a", "r2"}));
    adapter.del_all(a);
    EXPECT_TRUE(adapter.rooms_of(a).empty());
  });
}

TEST(Adapter, LeavingByAReferenceIntoTheMembersOwnRooms) {
  // Socket::leave(room) may be handed a string that lives in the set it leaves (as when
  // leaving every room in a loop over rooms()); under ASan a use after free shows here.
  FakeHost host(1);
  Adapter adapter(host);
  FakeMember a("a");
  std::vector<std::string> left;
  adapter.events().leave_room = [&](const Room& room, const std::string&) { left.push_back(room); };
  host.on(0, [&] {
    adapter.add_all(a, {"a", "a-long-room-name-past-the-small-string-buffer"});
    while (!adapter.rooms_of(a).empty()) adapter.del(a, *adapter.rooms_of(a).begin());
  });
  EXPECT_EQ(left, (std::vector<std::string>{"a", "a-long-room-name-past-the-small-string-buffer"}));
}

TEST(Adapter, RoomEventsInNodesOrder) {
  FakeHost host(1);
  Adapter adapter(host);
  std::vector<std::string> events;
  auto& e = adapter.events();
  e.create_room = [&](const Room& room) { events.push_back("create " + room); };
  e.delete_room = [&](const Room& room) { events.push_back("delete " + room); };
  e.join_room = [&](const Room& room, const std::string& id) { events.push_back("join " + room + " " + id); };
  e.leave_room = [&](const Room& room, const std::string& id) { events.push_back("leave " + room + " " + id); };
  FakeMember a("a"), b("b");
  host.on(0, [&] {
    adapter.add_all(a, {"r"});
    adapter.add_all(b, {"r"});
    adapter.add_all(a, {"r"});  // already in: nothing
    adapter.del(a, "r");
    adapter.del(b, "r");
  });
  EXPECT_EQ(events, (std::vector<std::string>{"create r", "join r a", "join r b", "leave r a",
                                              "leave r b", "delete r"}));
}

TEST(Adapter, ARoomExistsWhileAMemberOnAnyLoopIsInIt) {
  FakeHost host(2);
  Adapter adapter(host);
  std::vector<std::string> events;
  adapter.events().create_room = [&](const Room& room) { events.push_back("create " + room); };
  adapter.events().delete_room = [&](const Room& room) { events.push_back("delete " + room); };
  FakeMember a("a"), b("b");
  host.on(0, [&] { adapter.add_all(a, {"r"}); });
  host.on(1, [&] { adapter.add_all(b, {"r"}); });
  host.on(0, [&] { adapter.del_all(a); });
  EXPECT_EQ(events, (std::vector<std::string>{"create r"}));
  host.on(1, [&] { adapter.del_all(b); });
  EXPECT_EQ(events, (std::vector<std::string>{"create r", "delete r"}));
}

TEST(Adapter, ChoosesRoomsMinusExceptWithoutDuplicatesAndOnlyConnected) {
  FakeHost host(1);
  Adapter adapter(host);
  FakeMember a("a"), b("b"), c("c"), d("d"), waiting("w");
  waiting.connected_ = false;  // still in its namespace's middleware
  host.on(0, [&] {
    adapter.add_all(a, {"a", "r1", "r2"});
    adapter.add_all(b, {"b", "r1"});
    adapter.add_all(c, {"c", "r2", "muted"});
    adapter.add_all(d, {"d"});
    adapter.add_all(waiting, {"w", "r1"});
  });
  auto chosen = [&](const BroadcastOptions& options) {
    std::vector<std::string> ids;
    host.on(0, [&] { adapter.for_each_local(options, [&](Member& m) { ids.push_back(m.id()); }); });
    return sorted(ids);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(chosen(to({})), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(chosen(to({"r1"})), (V{"a", "b"}));
  EXPECT_EQ(chosen(to({"r1", "r2"})), (V{"a", "b", "c"}));
  EXPECT_EQ(chosen(to({"r1", "r2"}, {"muted"})), (V{"a", "b"}));
  EXPECT_EQ(chosen(to({}, {"a", "muted"})), (V{"b", "d"}));
  EXPECT_EQ(chosen(to({"nobody"})), V{});
  EXPECT_EQ(chosen(to({"r2"}, {"r2"})), V{});
}

TEST(Adapter, AMembersOwnRoomBehavesAsAnyRoom) {
  // The own room is kept as a flag on the member, not as an index entry; nothing of
  // that may show: leaving it, a room named like a member's id, and its events.
  FakeHost host(1);
  Adapter adapter(host);
  std::vector<std::string> events;
  adapter.events().create_room = [&](const Room& room) { events.push_back("create " + room); };
  adapter.events().delete_room = [&](const Room& room) { events.push_back("delete " + room); };
  adapter.events().join_room = [&](const Room& room, const std::string& id) { events.push_back("join " + room + " " + id); };
  FakeMember a("a"), b("b");
  auto chosen = [&](const BroadcastOptions& options) {
    std::vector<std::string> ids;
    host.on(0, [&] { adapter.for_each_local(options, [&](Member& m) { ids.push_back(m.id()); }); });
    return sorted(ids);
  };
  using V = std::vector<std::string>;
  host.on(0, [&] {
    adapter.add_all(a, {"a"});
    adapter.add_all(b, {"a", "b"});  // b joins a room named like a's id
    EXPECT_TRUE(adapter.in_room(b, "a"));
    EXPECT_FALSE(adapter.in_room(a, "b"));
  });
  EXPECT_EQ(events, (V{"create a", "join a a", "join a b", "create b", "join b b"}));
  EXPECT_EQ(chosen(to({"a"})), (V{"a", "b"}));
  EXPECT_EQ(chosen(to({"a"}, {"b"})), (V{"a"}));
  EXPECT_EQ(chosen(to({}, {"a"})), V{});
  host.on(0, [&] { adapter.del(a, "a"); });
  EXPECT_EQ(adapter.rooms_of(a), std::set<Room>{});
  EXPECT_EQ(events.back(), "join b b");  // b is still in "a": no delete
  EXPECT_EQ(chosen(to({"a"})), (V{"b"}));
  EXPECT_EQ(chosen(to({})), (V{"a", "b"}));  // still a member of the namespace
  host.on(0, [&] { adapter.del_all(b); });
  EXPECT_EQ(events, (V{"create a", "join a a", "join a b", "create b", "join b b", "delete a", "delete b"}));
  EXPECT_EQ(chosen(to({"a"})), V{});
  host.on(0, [&] { adapter.add_all(a, {"a"}); });
  EXPECT_EQ(chosen(to({"a"})), (V{"a"}));
  host.on(0, [&] { adapter.del_all(a); });
  EXPECT_EQ(chosen(to({})), V{});
}

TEST(Adapter, LeavingFromTheMiddleOfARoomKeepsEveryOtherMember) {
  // A room's members are an array and a leaving member's place goes to the last one:
  // every order of leaving must leave exactly the others, each still able to leave.
  FakeHost host(1);
  Adapter adapter(host);
  std::vector<std::unique_ptr<FakeMember>> members;
  for (char c : std::string("abcdef")) members.push_back(std::make_unique<FakeMember>(std::string(1, c)));
  auto chosen = [&] {
    std::vector<std::string> ids;
    host.on(0, [&] { adapter.for_each_local(to({"r"}), [&](Member& m) { ids.push_back(m.id()); }); });
    return sorted(ids);
  };
  using V = std::vector<std::string>;
  host.on(0, [&] {
    for (auto& m : members) adapter.add_all(*m, {"r", "s"});
    adapter.del(*members[1], "r");  // b, from the middle
    adapter.del(*members[0], "r");  // a, the first
    adapter.del(*members[5], "r");  // f, the last
  });
  EXPECT_EQ(chosen(), (V{"c", "d", "e"}));
  host.on(0, [&] {
    adapter.del_all(*members[3]);  // d
    EXPECT_EQ(adapter.rooms_of(*members[2]), (std::set<Room>{"r", "s"}));
  });
  EXPECT_EQ(chosen(), (V{"c", "e"}));
  host.on(0, [&] {
    adapter.del(*members[4], "r");
    adapter.del(*members[2], "r");
  });
  EXPECT_EQ(chosen(), V{});
  std::vector<std::string> in_s;
  host.on(0, [&] { adapter.for_each_local(to({"s"}), [&](Member& m) { in_s.push_back(m.id()); }); });
  EXPECT_EQ(sorted(in_s), (V{"a", "b", "c", "e", "f"}));
  host.on(0, [&] {
    for (auto& m : members) adapter.del_all(*m);
  });
}

TEST(Adapter, AnActionMayChangeRoomsWhileTargetsAreWalked) {
  FakeHost host(1);
  Adapter adapter(host);
  std::vector<FakeMember> members;
  members.reserve(50);
  for (int i = 0; i < 50; ++i) members.emplace_back("m" + std::to_string(i));
  host.on(0, [&] {
    for (auto& m : members) adapter.add_all(m, {m.id(), "r"});
    int reached = 0;
    adapter.for_each_local(to({"r"}), [&](Member& m) {
      ++reached;
      adapter.del(m, "r");
      adapter.add_all(m, {"moved"});
    });
    EXPECT_EQ(reached, 50);
    int in_moved = 0;
    adapter.for_each_local(to({"moved"}), [&](Member&) { ++in_moved; });
    EXPECT_EQ(in_moved, 50);
    adapter.for_each_local(to({"r"}), [&](Member&) { ADD_FAILURE() << "r is empty"; });
  });
}

TEST(Adapter, BroadcastEncodesOnceAndReachesEveryLoop) {
  FakeHost host(2);
  Adapter adapter(host);
  FakeMember a("a"), b("b"), c("c");
  host.on(0, [&] {
    adapter.add_all(a, {"a", "r"});
    adapter.add_all(b, {"b"});
  });
  host.on(1, [&] { adapter.add_all(c, {"c", "r"}); });

  host.on(0, [&] { adapter.broadcast(event("news"), to({"r"})); });
  // Loop 0's share ran in the call; loop 1's waits for its loop.
  EXPECT_EQ(host.delivered, (std::vector<std::string>{"a:news@0"}));
  host.drain();
  EXPECT_EQ(host.delivered, (std::vector<std::string>{"a:news@0", "c:news@1"}));
  EXPECT_EQ(host.prepared, 1);
}

TEST(Adapter, FetchIdsAnswersLaterOnTheCallingLoop) {
  FakeHost host(2);
  Adapter adapter(host);
  FakeMember a("a"), b("b"), c("c");
  host.on(0, [&] { adapter.add_all(a, {"a", "r"}); });
  host.on(1, [&] {
    adapter.add_all(b, {"b", "r"});
    adapter.add_all(c, {"c"});
  });
  std::optional<std::vector<std::string>> ids;
  host.on(1, [&] {
    adapter.fetch_ids(to({"r"}), [&](std::vector<std::string> found) {
      EXPECT_EQ(host.current_loop(), 1u);
      ids = sorted(std::move(found));
    });
  });
  EXPECT_FALSE(ids) << "the answer came before fetch_ids returned";
  host.drain();
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b"}));
}

TEST(Adapter, FetchSocketsDescribesEachTargetOnce) {
  FakeHost host(1);
  Adapter adapter(host);
  FakeMember a("a"), b("b");
  host.on(0, [&] {
    adapter.add_all(a, {"a", "r1", "r2"});
    adapter.add_all(b, {"b"});
  });
  std::vector<std::string> ids;
  host.on(0, [&] {
    adapter.fetch_sockets(to({"r1", "r2"}), [&](std::vector<SocketInfo> found) {
      for (auto& info : found) ids.push_back(info.id);
    });
  });
  host.drain();
  EXPECT_EQ(ids, (std::vector<std::string>{"a"}));
}

TEST(Adapter, SocketOperationsGoThroughTheHostOnEachMembersLoop) {
  FakeHost host(2);
  Adapter adapter(host);
  FakeMember a("a"), b("b"), c("c");
  host.on(0, [&] {
    adapter.add_all(a, {"a", "r"});
    adapter.add_all(b, {"b"});
  });
  host.on(1, [&] { adapter.add_all(c, {"c", "r"}); });
  // From outside the loops (a thread of the application): everything is queued.
  adapter.add_sockets(to({"r"}), {"x", "y"});
  adapter.del_sockets(to({}, {"r"}), {"b"});
  adapter.disconnect_sockets(to({"c"}), true);
  EXPECT_TRUE(host.log.empty());
  host.drain();
  EXPECT_EQ(sorted(host.log), sorted({"join a x", "join a y", "join c x", "join c y", "leave b b",
                                      "disconnect c close"}));
}

class CountingCollector final : public AckCollector {
 public:
  void expect_reports(std::size_t reports) override { expected = reports; }
  void reached(std::size_t targets) override {
    ++reports;
    asked += targets;
  }
  std::size_t expected = 0, reports = 0, asked = 0;
};

TEST(Adapter, BroadcastWithAckReportsOncePerLoopWithHowManyWereAsked) {
  FakeHost host(2);
  Adapter adapter(host);
  FakeMember a("a"), b("b"), c("c");
  host.on(0, [&] {
    adapter.add_all(a, {"a", "r"});
    adapter.add_all(b, {"b", "r"});
  });
  host.on(1, [&] { adapter.add_all(c, {"c", "r"}); });
  auto acks = std::make_shared<CountingCollector>();
  host.on(0, [&] { adapter.broadcast_with_ack(event("q"), to({"r"}, {"b"}), acks); });
  host.drain();
  EXPECT_EQ(acks->expected, 2u);
  EXPECT_EQ(acks->reports, 2u);
  EXPECT_EQ(acks->asked, 2u);  // a and c
  EXPECT_EQ(sorted(host.delivered), (std::vector<std::string>{"a:q@0", "c:q@1"}));
}

}  // namespace
}  // namespace switchboard::adapter
