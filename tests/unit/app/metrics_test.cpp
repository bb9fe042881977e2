// Metrics' counting adapter against a Host that plays one event loop on the test thread
// (as tests/unit/adapter does): deliveries counted per event name, volatile drops,
// uncounted namespaces, room counts by kind; the per-thread blocks summed from several
// threads; and the exposition text carrying them.

#include "app/metrics.hpp"

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace switchboard::app {
namespace {

using adapter::BroadcastOptions;
using adapter::Packet;
using adapter::Room;

class FakeMember final : public adapter::Member {
 public:
  FakeMember(std::string id, bool takes) : id_(std::move(id)), takes_(takes) {}
  const std::string& id() const noexcept override { return id_; }
  bool connected() const noexcept override { return true; }
  bool takes() const noexcept { return takes_; }

 private:
  std::string id_;
  bool takes_;
};

struct FakePrepared final : adapter::Prepared {
  Packet packet;
};

// One loop (0), run on the calling thread. deliver() fails for members that do not
// take packets, as Socket.IO's does for a volatile packet to a busy connection.
class FakeHost final : public adapter::Host {
 public:
  unsigned loops() const noexcept override { return 1; }
  std::optional<unsigned> current_loop() const noexcept override { return 0; }
  void run_on(unsigned, std::function<void()> task) override { task(); }
  void post(unsigned, std::function<void()> task) override { task(); }
  std::shared_ptr<const adapter::Prepared> prepare(const Packet& packet, const BroadcastOptions&) override {
    auto prepared = std::make_shared<FakePrepared>();
    prepared->packet = packet;
    return prepared;
  }
  bool deliver(adapter::Member& member, const adapter::Prepared& prepared,
               const std::shared_ptr<adapter::AckCollector>&) override {
    // The counting host hands on the prepared packet it was given, unwrapped.
    EXPECT_NE(dynamic_cast<const FakePrepared*>(&prepared), nullptr);
    bool takes = static_cast<FakeMember&>(member).takes();
    if (takes) delivered.push_back(member.id());
    return takes;
  }
  void join(adapter::Member&, const Room&) override {}
  void leave(adapter::Member&, const Room&) override {}
  void disconnect(adapter::Member&, bool) override {}
  adapter::SocketInfo describe(const adapter::Member& member) override { return {member.id(), {}, {}}; }
  std::vector<std::string> delivered;
};

Packet event(std::string nsp, const char* name) {
  Packet packet;
  packet.nsp = std::move(nsp);
  packet.data.emplace_back(name);
  packet.data.emplace_back(1);
  return packet;
}

BroadcastOptions to(Room room, bool volatile_ = false) {
  BroadcastOptions options;
  options.rooms = {std::move(room)};
  options.volatile_ = volatile_;
  return options;
}

http::ServerOptions one_loop() {
  http::ServerOptions options;
  options.threads = 1;
  options.port = 0;
  return options;
}

TEST(MetricsAdapter, CountsDeliveriesByEventAndVolatileDrops) {
  http::Server http(one_loop());
  Metrics metrics(http);
  FakeHost host;
  auto adapter = metrics.adapter_factory(nullptr, {"/dashboard"})(host);
  FakeMember fast("fast", true), busy("busy", false);
  adapter->add_all(fast, {"fast", "room:x", "user:1"});
  adapter->add_all(busy, {"busy", "room:x"});

  adapter->broadcast(event("/", "new-message"), to("room:x"));
  adapter->broadcast(event("/", "user-typing"), to("room:x", true));
  adapter->broadcast(event("/", "my-own-event"), to("room:x"));
  adapter->broadcast(event("/dashboard", "stats"), to("room:x"));
  EXPECT_EQ(host.delivered, (std::vector<std::string>{"fast", "fast", "fast", "fast"}));

  Totals t = metrics.totals();
  EXPECT_EQ(t.events_out[event_slot("new-message")], 1u);
  EXPECT_EQ(t.events_out[event_slot("user-typing")], 1u);
  EXPECT_EQ(t.events_out[event_slot("other")], 1u) << "my-own-event";
  EXPECT_EQ(t.events_out[event_slot("stats")], 0u) << "the dashboard's namespace is not counted";
  EXPECT_EQ(t.events_out_sum(), 3u);
  EXPECT_EQ(t.dropped_volatile, 1u) << "only the volatile packet the busy member could not take";

  std::string text = metrics.render();
  EXPECT_NE(text.find("switchboard_events_out_total{event=\"new-message\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("switchboard_events_out_total{event=\"other\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("switchboard_dropped_total{reason=\"volatile\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("switchboard_event_loop_lag_seconds{loop=\"0\"} 0\n"), std::string::npos);
  adapter->del_all(fast);
  adapter->del_all(busy);
}

TEST(MetricsAdapter, CountsRoomsByKindWhileTheyHaveMembers) {
  http::Server http(one_loop());
  Metrics metrics(http);
  FakeHost host;
  auto adapter = metrics.adapter_factory(nullptr)(host);
  FakeMember a("a", true), b("b", true);
  adapter->add_all(a, {"a", "room:lobby", "user:alice"});
  adapter->add_all(b, {"b", "room:lobby", "room:other", "user:alice"});
  auto rooms = Metrics::rooms_of(*adapter);
  EXPECT_EQ(rooms.chat, 2);
  EXPECT_EQ(rooms.user, 1);
  EXPECT_EQ(rooms.other, 2);
  adapter->del(b, "room:other");
  adapter->del_all(a);
  rooms = Metrics::rooms_of(*adapter);
  EXPECT_EQ(rooms.chat, 1);
  EXPECT_EQ(rooms.user, 1);
  EXPECT_EQ(rooms.other, 1);
  adapter->del_all(b);
  EXPECT_EQ(Metrics::rooms_of(*adapter).total(), 0);
}

TEST(Metrics, SumsEveryThreadsBlock) {
  http::Server http(one_loop());
  Metrics metrics(http);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&metrics] {
      for (int n = 0; n < 1000; ++n) metrics.local().events_in[event_slot("typing")].add();
      metrics.local().sse_opened.add();
    });
  }
  for (auto& t : threads) t.join();
  metrics.local().sse_closed.add();
  Totals t = metrics.totals();
  EXPECT_EQ(t.events_in[event_slot("typing")], 4000u);
  EXPECT_EQ(t.events_in_sum(), 4000u);
  EXPECT_EQ(t.sse, 3u) << "opened on four threads, closed on a fifth";
}

TEST(Metrics, ASecondInstanceStartsFromZeroOnTheSameThread) {
  http::Server http(one_loop());
  {
    Metrics first(http);
    first.local().dropped_rate_limited.add(5);
    EXPECT_EQ(first.totals().dropped_rate_limited, 5u);
  }
  Metrics second(http);
  EXPECT_EQ(second.totals().dropped_rate_limited, 0u);
  second.local().dropped_rate_limited.add();
  EXPECT_EQ(second.totals().dropped_rate_limited, 1u);
}

}  // namespace
}  // namespace switchboard::app
