// ws::Hub end to end: a real server on 127.0.0.1 port 0 (one and two loops), clients
// on POSIX sockets speaking RFC 6455 through the project's frame codec. Topics,
// publish across threads, the upgrade hook, send statuses and drain.

#include <switchboard/websocket.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "support/ws_client.hpp"
#include "ws/codec/deflate.hpp"
#include "ws/codec/frame.hpp"

namespace switchboard::ws {
namespace {

using namespace std::chrono_literals;

using test::Client;
using test::Frame;

// A server with a Hub, running on its own thread(s) for the test's duration.
class Running {
 public:
  Running(unsigned threads, std::function<void(Hub&)> setup) : server_(options(threads)), hub_(server_) {
    setup(hub_);
    server_.listen();
    thread_ = std::thread([this] { server_.run(); });
  }
  ~Running() {
    server_.shutdown(1s);
    thread_.join();
  }
  std::uint16_t port() const { return server_.port(); }
  Hub& hub() { return hub_; }

 private:
  static http::ServerOptions options(unsigned threads) {
    http::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = threads;
    return o;
  }
  http::Server server_;
  Hub hub_;
  std::thread thread_;
};

// Subscribes on open to the topic the first message names, then acknowledges.
Behavior subscriber() {
  Behavior b;
  b.message = [](WebSocket& ws, std::string_view message, bool) {
    if (message.starts_with("sub ")) {
      ws.send(ws.subscribe(message.substr(4)) ? "subscribed" : "already");
    } else if (message.starts_with("unsub ")) {
      ws.send(ws.unsubscribe(message.substr(6)) ? "unsubscribed" : "not subscribed");
    } else if (message.starts_with("pub ")) {
      ws.publish("news", message.substr(4));
    }
  };
  return b;
}

void subscribe(Client& c, std::string_view topic) {
  c.send(Opcode::text, "sub " + std::string(topic));
  auto ack = c.read();
  ASSERT_TRUE(ack);
  ASSERT_EQ(ack->payload, "subscribed");
}

class HubThreads : public ::testing::TestWithParam<unsigned> {};
INSTANTIATE_TEST_SUITE_P(Threads, HubThreads, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "_threads"; });

TEST_P(HubThreads, PublishFromAnyThreadReachesEverySubscriberOnEveryLoop) {
  Running server(GetParam(), [](Hub& hub) { hub.route("/ws", subscriber()); });
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    ASSERT_TRUE(clients.back()->upgraded()) << clients.back()->head();
    subscribe(*clients.back(), "news");
  }
  Client bystander(server.port());
  server.hub().publish("news", "extra!");  // from the test thread, not a loop
  for (auto& c : clients) {
    auto frame = c->read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->opcode, Opcode::text);
    EXPECT_EQ(frame->payload, "extra!");
  }
  EXPECT_TRUE(bystander.quiet()) << "a socket that never subscribed got the message";
  server.hub().publish("sports", "nobody listens");
  for (auto& c : clients) EXPECT_TRUE(c->quiet(50ms));
}

TEST_P(HubThreads, BinaryPublishStaysBinaryAndKeepsOrder) {
  Running server(GetParam(), [](Hub& hub) { hub.route("/ws", subscriber()); });
  Client c(server.port());
  subscribe(c, "news");
  for (int i = 0; i < 100; ++i) server.hub().publish("news", std::string(1, char(i)) + "\x00\xff", true);
  for (int i = 0; i < 100; ++i) {
    auto frame = c.read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->opcode, Opcode::binary);
    EXPECT_EQ(frame->payload, std::string(1, char(i)) + "\x00\xff");
  }
}

TEST_P(HubThreads, SocketPublishSkipsTheSender) {
  Running server(GetParam(), [](Hub& hub) { hub.route("/ws", subscriber()); });
  Client a(server.port()), b(server.port());
  subscribe(a, "news");
  subscribe(b, "news");
  a.send(Opcode::text, "pub hello from a");
  auto got = b.read();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->payload, "hello from a");
  EXPECT_TRUE(a.quiet()) << "the sender received its own publish";
}

TEST_P(HubThreads, UnsubscribeAndCloseStopDelivery) {
  Running server(GetParam(), [](Hub& hub) { hub.route("/ws", subscriber()); });
  Client stays(server.port());
  subscribe(stays, "news");
  auto leaves = std::make_unique<Client>(server.port());
  subscribe(*leaves, "news");
  leaves->send(Opcode::text, "unsub news");
  ASSERT_EQ(leaves->read()->payload, "unsubscribed");
  leaves->send(Opcode::text, "unsub news");
  ASSERT_EQ(leaves->read()->payload, "not subscribed");
  server.hub().publish("news", "one");
  EXPECT_EQ(stays.read()->payload, "one");
  EXPECT_TRUE(leaves->quiet());
  subscribe(*leaves, "news");
  leaves.reset();  // the TCP connection drops; the socket must leave the topic
  std::this_thread::sleep_for(100ms);
  server.hub().publish("news", "two");
  EXPECT_EQ(stays.read()->payload, "two");
}

TEST(Hub, CompressedSubscribersGetAFrameThatInflatesToTheMessage) {
  Running server(1, [](Hub& hub) {
    Behavior b = subscriber();
    b.compression.enabled = true;
    b.compression.threshold = 16;
    hub.route("/ws", std::move(b));
  });
  Client plain(server.port());
  Client compressed(server.port(), "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  ASSERT_NE(compressed.head().find("permessage-deflate"), std::string::npos) << compressed.head();
  subscribe(plain, "news");
  // The "subscribed" ack is shorter than the threshold: sent plain.
  subscribe(compressed, "news");
  std::string message(500, 'z');
  server.hub().publish("news", message);
  auto p = plain.read();
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->rsv1);
  EXPECT_EQ(p->payload, message);
  auto c = compressed.read();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->rsv1);
  EXPECT_LT(c->payload.size(), message.size());
  Inflater inflater(15, true);
  std::string out;
  ASSERT_EQ(inflater.inflate(c->payload, out, 1 << 20), PayloadInflater::Result::ok);
  ASSERT_EQ(inflater.finish(out, 1 << 20), PayloadInflater::Result::ok);
  EXPECT_EQ(out, message);
}

TEST(Hub, UpgradeHookRejectsOrAttachesData) {
  std::promise<std::string> opened_with;
  Running server(1, [&](Hub& hub) {
    Behavior b;
    b.protocols = {"chat.v1", "chat.v2"};
    b.upgrade = [](Upgrade& up) {
      std::string token(up.request().header("X-Token"));
      if (token != "secret") {
        up.reject(401, "no token\n");
        return;
      }
      up.user_data() = std::string("user-7");
    };
    b.open = [&opened_with](WebSocket& ws) {
      opened_with.set_value(std::any_cast<std::string>(ws.user_data()) + "/" + std::string(ws.protocol()));
    };
    hub.route("/ws", std::move(b));
  });
  Client refused(server.port(), "X-Token: wrong\r\n");
  EXPECT_TRUE(refused.head().starts_with("HTTP/1.1 401")) << refused.head();
  Client accepted(server.port(), "X-Token: secret\r\nSec-WebSocket-Protocol: chat.v0, chat.v2\r\n");
  ASSERT_TRUE(accepted.upgraded()) << accepted.head();
  EXPECT_NE(accepted.head().find("Sec-WebSocket-Protocol: chat.v2\r\n"), std::string::npos) << accepted.head();
  auto future = opened_with.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), "user-7/chat.v2");
  Hub::Stats stats = server.hub().stats();
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.bad_request + stats.upgrade_required + stats.forbidden_origin, 0u);
}

TEST_P(HubThreads, StatsCountRefusedHandshakesByKind) {
  Running server(GetParam(), [](Hub& hub) {
    Behavior b;
    b.allowed_origins = {"https://app.example"};
    hub.route("/ws", std::move(b));
  });
  auto exchange = [&](std::string request) {
    Client c(server.port(), Client::NoHandshake{});
    return c.http_body(request);
  };
  // 426: a plain GET, and a version other than 13.
  ASSERT_TRUE(exchange("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(exchange("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"));
  // 400: a key that is not 16 bytes.
  ASSERT_TRUE(exchange("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  // 403: an origin outside the list; then one inside it opens.
  Client refused(server.port(), "Origin: https://evil.example\r\n");
  EXPECT_TRUE(refused.head().starts_with("HTTP/1.1 403")) << refused.head();
  Client accepted(server.port(), "Origin: https://app.example\r\n");
  ASSERT_TRUE(accepted.upgraded()) << accepted.head();
  Hub::Stats stats = server.hub().stats();
  EXPECT_EQ(stats.upgrade_required, 2u);
  EXPECT_EQ(stats.bad_request, 1u);
  EXPECT_EQ(stats.forbidden_origin, 1u);
  EXPECT_EQ(stats.rejected, 0u);
}

TEST(Hub, SendReportsBackpressureThenDrainThenDropped) {
  std::promise<void> drained;
  std::atomic<int> statuses[3] = {};
  std::atomic<bool> drained_once{false};
  Running server(1, [&](Hub& hub) {
    Behavior b;
    b.high_water = 64 * 1024;
    b.max_backpressure = 64 * 1024 * 1024;
    b.message = [&](WebSocket& ws, std::string_view message, bool) {
      if (message == "flood") {
        std::string chunk(16 * 1024, 'x');
        for (int i = 0; i < 256; ++i) statuses[static_cast<int>(ws.send(chunk, true))]++;
      }
    };
    b.drain = [&](WebSocket&) {
      if (!drained_once.exchange(true)) drained.set_value();
    };
    hub.route("/ws", std::move(b));
  });
  Client c(server.port());
  c.send(Opcode::text, "flood");
  // Read everything: the queue empties and drain follows.
  std::size_t received = 0;
  while (received < 256u * 16 * 1024) {
    auto frame = c.read();
    ASSERT_TRUE(frame) << "after " << received << " bytes";
    received += frame->payload.size();
  }
  EXPECT_GE(statuses[static_cast<int>(SendStatus::sent)].load(), 1);
  EXPECT_GE(statuses[static_cast<int>(SendStatus::queued)].load(), 1) << "256 x 16 KiB in one turn never passed the high-water mark";
  EXPECT_EQ(statuses[static_cast<int>(SendStatus::dropped)].load(), 0);
  EXPECT_EQ(drained.get_future().wait_for(5s), std::future_status::ready);
}

TEST(Hub, ASlowConsumerIsDisconnectedAndReportedToClose) {
  std::promise<std::string> closed;
  Running server(1, [&](Hub& hub) {
    Behavior b;
    b.max_backpressure = 1024 * 1024;
    b.message = [](WebSocket& ws, std::string_view, bool) {
      std::string chunk(256 * 1024, 'x');
      for (int i = 0; i < 64; ++i) {
        if (ws.send(chunk, true) == SendStatus::dropped) break;
      }
    };
    b.close = [&closed](WebSocket&, std::uint16_t code, std::string_view reason) {
      closed.set_value(std::to_string(code) + " " + std::string(reason));
    };
    hub.route("/ws", std::move(b));
  });
  Client c(server.port());
  c.stop_reading_and_shrink_buffer();
  c.send(Opcode::text, "go");
  auto future = closed.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), "1006 slow consumer");
}

TEST(Hub, ShutdownSendsGoingAway) {
  auto server = std::make_unique<Running>(2, [](Hub& hub) { hub.route("/ws", subscriber()); });
  Client c(server->port());
  ASSERT_TRUE(c.upgraded());
  std::thread stopper([&] { server.reset(); });
  auto frame = c.read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, Opcode::close);
  ASSERT_GE(frame->payload.size(), 2u);
  EXPECT_EQ((std::uint8_t(frame->payload[0]) << 8) | std::uint8_t(frame->payload[1]), 1001);
  c.send(Opcode::close, frame->payload.substr(0, 2));
  stopper.join();
}

}  // namespace
}  // namespace switchboard::ws
