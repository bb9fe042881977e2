// Listener over real loopback sockets: binding, port 0, spreading connections over the
// loops, max_connections, close(), and readable errors.

#include "net/listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "net/loop.hpp"
#include "net/loop_group.hpp"

namespace switchboard::net {
namespace {

using namespace std::chrono_literals;

// A blocking loopback client (IPv4 or IPv6).
class Client {
 public:
  explicit Client(std::uint16_t port, bool v6 = false) {
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (v6) {
      sockaddr_in6 address{};
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(port);
      address.sin6_addr = in6addr_loopback;
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    } else {
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void send(std::string_view data) { ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL), ssize_t(data.size())); }
  // Up to `n` bytes; stops early at EOF, an error or the timeout. `eof` tells which.
  std::string read(std::size_t n, bool* eof = nullptr, std::chrono::milliseconds timeout = 10s) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    if (eof) *eof = false;
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      ssize_t got = ::recv(fd_, buffer, std::min(sizeof buffer, n - out.size()), 0);
      if (got <= 0) {
        if (eof) *eof = true;  // EOF or reset: the server closed it
        break;
      }
      out.append(buffer, static_cast<std::size_t>(got));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// Echoes every byte; records which loop each connection landed on.
struct Seen {
  std::mutex mutex;
  std::set<unsigned> loops;
  std::string address;
};

class Echo final : public Protocol {
 public:
  explicit Echo(Seen& seen) : seen_(seen) {}
  void on_data(Connection& c, std::span<std::byte> bytes) override {
    {
      std::lock_guard lock(seen_.mutex);
      seen_.loops.insert(c.loop().index());
      seen_.address = c.remote_address();
    }
    c.write(std::span<const std::byte>(bytes));
  }

 private:
  Seen& seen_;
};

// Waits until every loop has run what is queued now and what that queued in turn
// (the aborted accepts that Listener::close() causes), so that the listener's state is
// freed with the Listener and not from inside a loop's io_context destructor: see
// DestroyingTheLoopsRightAfterCloseIsSafe for what happens otherwise.
void drain_posted_work(LoopGroup& loops) {
  for (unsigned i = 0; i < loops.size(); ++i) {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    Loop& loop = loops.loop(i);
    loop.post([&loop, done] { loop.post([&loop, done] { loop.post([done] { done->set_value(); }); }); });
    if (future.wait_for(10s) != std::future_status::ready) ADD_FAILURE() << "loop " << i << " does not run";
  }
}

class Running {
 public:
  Running(unsigned threads, ListenOptions options, Seen& seen) : loops_(threads) {
    listener_.emplace(loops_, options, [&seen](Connection&) { return std::make_unique<Echo>(seen); });
    thread_ = std::thread([this] { loops_.run(); });
  }
  ~Running() {
    listener_->close();
    drain_posted_work(loops_);
    loops_.stop();
    thread_.join();
    listener_.reset();
  }
  Listener& listener() { return *listener_; }

 private:
  LoopGroup loops_;
  std::optional<Listener> listener_;
  std::thread thread_;
};

ListenOptions loopback(std::uint16_t port = 0) {
  ListenOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  return options;
}

bool echoes(std::uint16_t port) {
  Client client(port);
  if (!client.connected()) return false;
  client.send("ping");
  return client.read(4) == "ping";
}

class ListenerTest : public ::testing::TestWithParam<unsigned> {
 protected:
  Seen seen;
};

INSTANTIATE_TEST_SUITE_P(Threads, ListenerTest, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "_threads"; });

TEST_P(ListenerTest, PortZeroPicksAFreePortThatPortReports) {
  Running running(GetParam(), loopback(), seen);
  EXPECT_NE(running.listener().port(), 0);
  EXPECT_TRUE(echoes(running.listener().port()));
}

TEST_P(ListenerTest, ListensOnTheGivenPort) {
  // Ask the kernel for a free port, then release it for the listener.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  std::uint16_t port = ntohs(address.sin_port);
  ::close(probe);

  Running running(GetParam(), loopback(port), seen);
  EXPECT_EQ(running.listener().port(), port);
  EXPECT_TRUE(echoes(port));
}

TEST_P(ListenerTest, EveryLoopGetsConnections) {
  Running running(GetParam(), loopback(), seen);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 40; ++i) {
    clients.push_back(std::make_unique<Client>(running.listener().port()));
    clients.back()->send("x");
    EXPECT_EQ(clients.back()->read(1), "x");
  }
  std::lock_guard lock(seen.mutex);
  EXPECT_EQ(seen.loops.size(), GetParam()) << "the kernel spreads connections over the loops (SO_REUSEPORT)";
  EXPECT_EQ(seen.address, "127.0.0.1");
}

TEST_P(ListenerTest, ConnectionCountFollowsOpenConnections) {
  Running running(GetParam(), loopback(), seen);
  EXPECT_EQ(running.listener().connection_count(), 0u);
  {
    Client a(running.listener().port());
    Client b(running.listener().port());
    a.send("a");
    b.send("b");
    ASSERT_EQ(a.read(1), "a");
    ASSERT_EQ(b.read(1), "b");
    EXPECT_EQ(running.listener().connection_count(), 2u);
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (running.listener().connection_count() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(running.listener().connection_count(), 0u);
}

TEST_P(ListenerTest, MaxConnectionsRefusesTheExtraConnection) {
  ListenOptions options = loopback();
  options.max_connections = 2;
  Running running(GetParam(), options, seen);
  const auto port = running.listener().port();
  auto a = std::make_unique<Client>(port);
  Client b(port);
  a->send("a");
  b.send("b");
  ASSERT_EQ(a->read(1), "a");
  ASSERT_EQ(b.read(1), "b");

  Client extra(port);  // the kernel completes the handshake; the listener closes it
  bool eof = false;
  EXPECT_EQ(extra.read(1, &eof), "");
  EXPECT_TRUE(eof) << "the connection past max_connections is closed";
  EXPECT_EQ(running.listener().connection_count(), 2u);

  // Once one leaves, there is room again.
  a.reset();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (running.listener().connection_count() > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(echoes(port));
}

TEST_P(ListenerTest, CloseStopsAcceptingAndKeepsLiveConnections) {
  Running running(GetParam(), loopback(), seen);
  const auto port = running.listener().port();
  Client live(port);
  live.send("1");
  ASSERT_EQ(live.read(1), "1");
  running.listener().close();
  bool refused = false;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    Client probe(port);
    refused = !probe.connected();
    if (!refused) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(refused) << "still accepting after close()";
  live.send("2");
  EXPECT_EQ(live.read(1), "2") << "close() must not touch live connections";
}

// The loops of one group share the port with SO_REUSEPORT, which would also let a
// second group (or a second server process) join the port silently; a listener checks
// first that the port is free, so the second one fails with a message saying so.
TEST(ListenerPort, SecondListenerOnTheSamePortIsRefused) {
  Seen seen;
  Running first(1, loopback(), seen);
  LoopGroup other(1);
  try {
    Listener second(other, loopback(first.listener().port()),
                    [&seen](Connection&) { return std::make_unique<Echo>(seen); });
    FAIL() << "a second listener joined port " << first.listener().port();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
}

// The usual order: close the listener, stop the loops, join, destroy the listener,
// destroy the loops. The aborted accepts may still be queued when the loops stop, so
// the last reference to a loop's acceptor can go while that loop's io_context is
// destroyed; it must not touch another loop's Asio objects (it once did: UBSan
// "invalid vptr" in ~basic_waitable_timer). Run in a child process, so that under the
// sanitizers a failure aborts the child, not the test binary.
TEST(ListenerLifetime, DestroyingTheLoopsRightAfterCloseIsSafe) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Seen seen;
        {
          auto loops = std::make_unique<LoopGroup>(2);
          auto listener = std::make_unique<Listener>(
              *loops, loopback(), [&seen](Connection&) { return std::make_unique<Echo>(seen); });
          std::thread thread([&] { loops->run(); });
          bool ok = echoes(listener->port());
          listener->close();
          loops->stop();
          thread.join();
          listener.reset();
          loops.reset();
          if (!ok) std::exit(2);
        }
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ListenerErrors, PortHeldWithoutReusePortThrowsNamingTheAddress) {
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);
  const std::uint16_t port = ntohs(address.sin_port);

  LoopGroup loops(1);
  try {
    Listener listener(loops, loopback(port), [](Connection&) -> std::unique_ptr<Protocol> { return nullptr; });
    ADD_FAILURE() << "bound a port held by another socket";
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
    EXPECT_NE(message.find("in use"), std::string::npos) << message;
  }
  ::close(holder);
}

TEST(ListenerErrors, HostThatIsNotAnAddressThrowsAReadableMessage) {
  LoopGroup loops(1);
  ListenOptions options;
  options.host = "not-an-ip";
  try {
    Listener listener(loops, options, [](Connection&) -> std::unique_ptr<Protocol> { return nullptr; });
    ADD_FAILURE() << "listened on 'not-an-ip'";
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("not-an-ip"), std::string::npos) << message;
    EXPECT_NE(message.find("not an IP address"), std::string::npos) << message;
  }
}

TEST(ListenerErrors, AddressNotOnThisMachineThrowsNamingIt) {
  LoopGroup loops(1);
  ListenOptions options;
  options.host = "192.0.2.1";  // TEST-NET-1 (RFC 5737): never a local address
  try {
    Listener listener(loops, options, [](Connection&) -> std::unique_ptr<Protocol> { return nullptr; });
    ADD_FAILURE() << "listened on 192.0.2.1";
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("192.0.2.1"), std::string::npos) << message;
    EXPECT_NE(message.find("cannot listen"), std::string::npos) << message;
  }
}

TEST(ListenerV6, ListensOnIpv6Loopback) {
  int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  bool available = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  if (probe >= 0) ::close(probe);
  if (!available) GTEST_SKIP() << "no IPv6 loopback here";
  Seen seen;
  ListenOptions options;
  options.host = "::1";
  Running running(1, options, seen);
  Client client(running.listener().port(), true);
  ASSERT_TRUE(client.connected());
  client.send("6");
  EXPECT_EQ(client.read(1), "6");
  std::lock_guard lock(seen.mutex);
  EXPECT_EQ(seen.address, "::1");
}

}  // namespace
}  // namespace switchboard::net
