// Connection over real loopback sockets: a LoopGroup and a Listener with a test
// Protocol on the server side, plain blocking POSIX sockets on the test thread.

#include "net/connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/listener.hpp"
#include "net/loop.hpp"
#include "net/loop_group.hpp"

namespace switchboard::net {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------
// The client side.

class Client {
 public:
  // rcvbuf: a small receive buffer makes the server's queue fill up quickly.
  explicit Client(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  void send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ADD_FAILURE() << "send failed: " << std::strerror(errno);
        return;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  enum class End { none, eof, reset, timeout };
  struct Received {
    std::string data;
    End end = End::none;
  };

  // Reads until `n` bytes have come, or EOF, an error, or the timeout.
  Received read(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    Received r;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[65536];
    while (r.data.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) {
        r.end = End::timeout;
        break;
      }
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) continue;
      ssize_t got = ::recv(fd_, buffer, std::min(sizeof buffer, n - r.data.size()), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        r.end = End::reset;
        break;
      }
      if (got == 0) {
        r.end = End::eof;
        break;
      }
      r.data.append(buffer, static_cast<std::size_t>(got));
    }
    return r;
  }
  Received read_to_end(std::chrono::milliseconds timeout = 10s) { return read(SIZE_MAX, timeout); }

  // Whether anything (bytes or EOF) arrives within `wait`.
  bool readable_within(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  // Closing with SO_LINGER 0 sends a reset instead of a FIN.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::uint16_t local_port() const {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string pattern(std::size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed + i / 26) % 26);
  return s;
}

// ---------------------------------------------------------------------------------
// The server side: what the protocol saw, shared with the test thread.

struct Observed {
  std::mutex mutex;
  std::condition_variable changed;
  std::string data;
  std::vector<Connection*> connections;  // in the order they were created
  std::vector<CloseReason> closes;
  std::vector<std::size_t> drain_buffered;  // buffered_amount() seen in each on_drain
  int timers = 0;
  std::vector<WriteStatus> statuses;
  std::string remote_address;
  std::uint16_t remote_port = 0;

  template <class F>
  void update(F&& f) {
    {
      std::lock_guard lock(mutex);
      f();
    }
    changed.notify_all();
  }
  template <class P>
  bool wait(P&& predicate, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, std::forward<P>(predicate));
  }
  template <class F>
  auto read(F&& f) {
    std::lock_guard lock(mutex);
    return f();
  }
};

struct Hooks {
  // Called on the loop thread with the bytes received (after they are recorded).
  std::function<void(Connection&, std::string_view)> data;
  std::function<void(Connection&)> drain;
  std::function<void(Connection&)> timer;
};

class TestProtocol final : public Protocol {
 public:
  TestProtocol(Observed& observed, const Hooks& hooks) : observed_(observed), hooks_(hooks) {}
  void on_data(Connection& c, std::span<std::byte> bytes) override {
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    observed_.update([&] { observed_.data.append(text); });
    if (hooks_.data) hooks_.data(c, text);
  }
  void on_drain(Connection& c) override {
    observed_.update([&] { observed_.drain_buffered.push_back(c.buffered_amount()); });
    if (hooks_.drain) hooks_.drain(c);
  }
  void on_timer(Connection& c) override {
    observed_.update([&] { ++observed_.timers; });
    if (hooks_.timer) hooks_.timer(c);
  }
  void on_close(Connection& c, CloseReason reason) override {
    EXPECT_TRUE(c.closing());
    EXPECT_EQ(c.write(std::string_view("late")), WriteStatus::dropped) << "write after close";
    observed_.update([&] { observed_.closes.push_back(reason); });
  }

 private:
  Observed& observed_;
  const Hooks& hooks_;
};

// A LoopGroup running on a test thread with one Listener on 127.0.0.1, port 0.
class Server {
 public:
  Server(unsigned threads, Observed& observed, const Hooks& hooks, ListenOptions options = {})
      : loops_(threads) {
    options.host = "127.0.0.1";
    options.port = 0;
    listener_.emplace(loops_, options, [&observed, &hooks](Connection& c) {
      observed.update([&] { observed.connections.push_back(&c); });
      return std::make_unique<TestProtocol>(observed, hooks);
    });
    thread_ = std::thread([this] { loops_.run(); });
  }
  ~Server() {
    listener_->close();
    // Let the aborted accepts run before the loops stop, so that the listener's state
    // goes with the Listener (see ListenerLifetime.DestroyingTheLoopsRightAfterCloseIsSafe).
    for (unsigned i = 0; i < loops_.size(); ++i) {
      auto done = std::make_shared<std::promise<void>>();
      auto future = done->get_future();
      Loop& loop = loops_.loop(i);
      loop.post([&loop, done] { loop.post([&loop, done] { loop.post([done] { done->set_value(); }); }); });
      if (future.wait_for(10s) != std::future_status::ready) ADD_FAILURE() << "loop " << i << " does not run";
    }
    loops_.stop();
    thread_.join();
    listener_.reset();
  }
  std::uint16_t port() const { return listener_->port(); }
  Listener& listener() { return *listener_; }
  // The loops' counters, summed (LoopCounters: any thread).
  std::uint64_t sum(LoopCounter LoopCounters::*counter) {
    std::uint64_t total = 0;
    for (unsigned i = 0; i < loops_.size(); ++i) total += (loops_.loop(i).counters().*counter).get();
    return total;
  }

  // Runs `fn` on the connection's loop thread and waits for it.
  static void run_on(Connection* c, std::function<void(Connection&)> fn) {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    c->loop().post([c, fn = std::move(fn), done] {
      fn(*c);
      done->set_value();
    });
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  }

 private:
  LoopGroup loops_;
  std::optional<Listener> listener_;
  std::thread thread_;
};

class ConnectionTest : public ::testing::TestWithParam<unsigned> {
 protected:
  Observed observed;
  Hooks hooks;
  unsigned threads() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Threads, ConnectionTest, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "_threads"; });

// ---------------------------------------------------------------------------------

TEST_P(ConnectionTest, OnDataReceivesTheBytes) {
  Server server(threads(), observed, hooks);
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  client.send("hello world");
  EXPECT_TRUE(observed.wait([&] { return observed.data == "hello world"; }));
}

TEST_P(ConnectionTest, MoreThanOneReadBufferArrivesIntactAndInOrder) {
  Server server(threads(), observed, hooks);
  Client client(server.port());
  const std::string big = pattern(3 * 1024 * 1024 + 17);  // several 256 KiB read buffers
  client.send(big);
  ASSERT_TRUE(observed.wait([&] { return observed.data.size() >= big.size(); }));
  EXPECT_TRUE(observed.read([&] { return observed.data == big; }));
}

TEST_P(ConnectionTest, ManySmallWritesInOneTurnArriveInOrder) {
  std::string expected;
  for (int i = 0; i < 2000; ++i) expected += std::to_string(i) + ",";
  hooks.data = [](Connection& c, std::string_view) {
    for (int i = 0; i < 2000; ++i) EXPECT_EQ(c.write(std::to_string(i) + ","), WriteStatus::accepted);
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("go");
  auto r = client.read(expected.size());
  EXPECT_EQ(r.data, expected);
}

TEST_P(ConnectionTest, EveryKindOfWriteKeepsItsPlaceInTheQueue) {
  hooks.data = [](Connection& c, std::string_view) {
    c.write(std::string_view("a"));
    c.write(SharedBuffer::copy_of(std::string_view("b")));
    std::byte* p = c.reserve_write(8);
    std::memcpy(p, "cd", 2);
    c.commit_write(2);
    c.write(std::string_view("e"));
    c.write(SharedBuffer::copy_of(pattern(40000)));  // larger than a standard block
    c.write(std::string_view("f"));
    p = c.reserve_write(3);
    std::memcpy(p, "ghi", 3);
    c.commit_write(3);
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("go");
  const std::string expected = "abcde" + pattern(40000) + "fghi";
  EXPECT_EQ(client.read(expected.size()).data, expected);
}

TEST_P(ConnectionTest, LaterWritesNeverChangeASharedBufferQueuedByReference) {
  auto shared = std::make_shared<SharedBuffer>(SharedBuffer::copy_of(std::string_view("frame")));
  hooks.data = [shared](Connection& c, std::string_view) {
    c.write(*shared);
    c.write(std::string_view("-tail"));
    std::byte* p = c.reserve_write(4);
    std::memcpy(p, "!", 1);
    c.commit_write(1);
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("go");
  EXPECT_EQ(client.read(11).data, "frame-tail!");
  EXPECT_EQ(shared->view(), "frame");
}

TEST_P(ConnectionTest, OneSharedBufferWrittenToSeveralConnections) {
  hooks.data = [&](Connection& c, std::string_view) {};
  Server server(threads(), observed, hooks);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    clients.back()->send("x");
  }
  ASSERT_TRUE(observed.wait([&] { return observed.data.size() == 6 && observed.connections.size() == 6; }));
  SharedBuffer frame = SharedBuffer::copy_of(pattern(100000, 3));
  auto connections = observed.read([&] { return observed.connections; });
  for (Connection* c : connections) {
    Server::run_on(c, [frame](Connection& connection) {
      EXPECT_EQ(connection.write(frame), WriteStatus::backpressure) << "100000 bytes is past 64 KiB";
    });
  }
  for (auto& client : clients) EXPECT_EQ(client->read(frame.size()).data, frame.view());
  // Once every queue has sent it, the test holds the only reference again.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!frame.unique() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(frame.unique());
}

TEST_P(ConnectionTest, EndDeliversQueuedBytesThenFin) {
  const std::string body = pattern(4 * 1024 * 1024, 5);
  hooks.data = [&](Connection& c, std::string_view) {
    c.write(body);
    c.end();
    EXPECT_TRUE(c.closing());
    EXPECT_EQ(c.write(std::string_view("more")), WriteStatus::dropped) << "write after end()";
  };
  Server server(threads(), observed, hooks);
  Client client(server.port(), 16 * 1024);
  client.send("go");
  auto r = client.read_to_end();
  EXPECT_EQ(r.end, Client::End::eof);
  EXPECT_EQ(r.data.size(), body.size());
  EXPECT_TRUE(r.data == body);
  EXPECT_TRUE(observed.read([&] { return observed.closes.empty(); }))
      << "the connection lingers until the peer closes its side";
  client.close();
  ASSERT_TRUE(observed.wait([&] { return !observed.closes.empty(); }));
  std::this_thread::sleep_for(100ms);
  observed.read([&] {
    ASSERT_EQ(observed.closes.size(), 1u);
    EXPECT_EQ(observed.closes[0], CloseReason::closed_locally);
  });
}

TEST_P(ConnectionTest, EndOnAnIdleConnectionSendsFin) {
  hooks.data = [](Connection& c, std::string_view) { c.end(); };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("go");
  auto r = client.read_to_end();
  EXPECT_EQ(r.end, Client::End::eof);
  EXPECT_EQ(r.data, "");
}

// A client that sends its request and half-closes (shutdown(SHUT_WR), as `nc -N` or an
// HTTP/1.0 client may) still reads: everything queued before end() must reach it.
TEST_P(ConnectionTest, EndWithQueuedBytesSurvivesThePeerHalfClosing) {
  const std::string body = pattern(8 * 1024 * 1024, 9);
  hooks.data = [&](Connection& c, std::string_view) {
    c.write(body);
    c.end();
  };
  Server server(threads(), observed, hooks);
  Client client(server.port(), 16 * 1024);
  client.send("go");
  client.shutdown_write();
  auto r = client.read_to_end(20s);
  EXPECT_EQ(r.end, Client::End::eof);
  EXPECT_EQ(r.data.size(), body.size()) << "bytes queued before end() were dropped when the peer's FIN arrived";
}

TEST_P(ConnectionTest, PeerHalfCloseWithQueuedBytesDeliversThemThenCloses) {
  const std::string body = pattern(8 * 1024 * 1024, 2);
  hooks.data = [&](Connection& c, std::string_view) { c.write(body); };
  Server server(threads(), observed, hooks);
  Client client(server.port(), 16 * 1024);
  client.send("go");
  client.shutdown_write();
  auto r = client.read_to_end(20s);
  EXPECT_EQ(r.end, Client::End::eof);
  EXPECT_EQ(r.data.size(), body.size());
  ASSERT_TRUE(observed.wait([&] { return !observed.closes.empty(); }));
  observed.read([&] { EXPECT_EQ(observed.closes[0], CloseReason::closed_by_peer); });
}

TEST_P(ConnectionTest, CloseDropsQueuedBytes) {
  hooks.data = [](Connection& c, std::string_view) {
    c.write(pattern(1024 * 1024));
    c.close();
    EXPECT_EQ(c.buffered_amount(), 0u);
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("go");
  auto r = client.read_to_end();
  EXPECT_NE(r.end, Client::End::timeout);
  EXPECT_EQ(r.data.size(), 0u);
  ASSERT_TRUE(observed.wait([&] { return !observed.closes.empty(); }));
  std::this_thread::sleep_for(100ms);
  observed.read([&] {
    ASSERT_EQ(observed.closes.size(), 1u);
    EXPECT_EQ(observed.closes[0], CloseReason::closed_locally);
  });
}

TEST_P(ConnectionTest, CloseWithAReasonReportsIt) {
  hooks.data = [](Connection& c, std::string_view) {
    c.close(CloseReason::server_shutdown);
    c.close(CloseReason::io_error);  // a second close changes nothing
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("go");
  ASSERT_TRUE(observed.wait([&] { return !observed.closes.empty(); }));
  std::this_thread::sleep_for(100ms);
  observed.read([&] {
    ASSERT_EQ(observed.closes.size(), 1u);
    EXPECT_EQ(observed.closes[0], CloseReason::server_shutdown);
  });
}

TEST_P(ConnectionTest, PeerCloseIsReportedOnceAsClosedByPeer) {
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("x");
  ASSERT_TRUE(observed.wait([&] { return observed.data == "x"; }));
  client.close();
  ASSERT_TRUE(observed.wait([&] { return !observed.closes.empty(); }));
  std::this_thread::sleep_for(100ms);
  observed.read([&] {
    ASSERT_EQ(observed.closes.size(), 1u);
    EXPECT_EQ(observed.closes[0], CloseReason::closed_by_peer);
  });
}

TEST_P(ConnectionTest, PeerResetIsReportedAsIoError) {
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("x");
  ASSERT_TRUE(observed.wait([&] { return observed.data == "x"; }));
  client.reset();
  ASSERT_TRUE(observed.wait([&] { return !observed.closes.empty(); }));
  observed.read([&] {
    ASSERT_EQ(observed.closes.size(), 1u);
    EXPECT_EQ(observed.closes[0], CloseReason::io_error);
  });
}

TEST_P(ConnectionTest, SlowConsumerIsDisconnectedPastTheHardLimit) {
  hooks.data = [](Connection& c, std::string_view) {
    c.set_write_limits({.high_water = 64 * 1024, .hard_limit = 1024 * 1024});
    c.set_timer(1ms);
  };
  // Writes 128 KiB per timer tick; records each status and whether the write closed it.
  std::vector<std::pair<WriteStatus, bool>> writes;  // guarded by observed.mutex
  hooks.timer = [&](Connection& c) {
    WriteStatus status = c.write(pattern(128 * 1024));
    observed.update([&] { writes.emplace_back(status, c.closing()); });
    c.set_timer(1ms);  // no-op once closed
  };
  Server server(threads(), observed, hooks);
  Client client(server.port(), 4096);  // and it never reads
  client.send("go");
  ASSERT_TRUE(observed.wait([&] { return !writes.empty() && writes.back().second; }, 30s));
  observed.read([&] {
    ASSERT_EQ(observed.closes.size(), 1u);
    EXPECT_EQ(observed.closes[0], CloseReason::slow_consumer);
    EXPECT_EQ(writes.back().first, WriteStatus::dropped) << "the write that passed the limit";
    bool backpressure = false;
    for (auto [status, closing] : writes) backpressure |= status == WriteStatus::backpressure;
    EXPECT_TRUE(backpressure) << "backpressure is reported before the limit is passed";
  });
  EXPECT_EQ(server.sum(&LoopCounters::slow_consumer_disconnects), 1u);
}

TEST_P(ConnectionTest, LoopCountersCountBytesBothWays) {
  hooks.data = [](Connection& c, std::string_view text) { c.write(text); };
  Server server(threads(), observed, hooks);
  EXPECT_EQ(server.sum(&LoopCounters::bytes_in), 0u);
  Client client(server.port());
  client.send("hello, loop");
  EXPECT_EQ(client.read(11).data, "hello, loop");
  // Counted right after sendmsg returns, which may be a moment after the client read.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server.sum(&LoopCounters::bytes_out) < 11 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(server.sum(&LoopCounters::bytes_out), 11u);
  EXPECT_EQ(server.sum(&LoopCounters::bytes_in), 11u);
  EXPECT_EQ(server.sum(&LoopCounters::slow_consumer_disconnects), 0u);
}

TEST_P(ConnectionTest, OnDrainFollowsBackpressureOnceThePeerReads) {
  const std::string body = pattern(16 * 1024 * 1024, 4);
  hooks.data = [&](Connection& c, std::string_view) {
    c.set_write_limits({.high_water = 64 * 1024, .hard_limit = 64 * 1024 * 1024});
    WriteStatus status = c.write(body);
    observed.update([&] { observed.statuses.push_back(status); });
  };
  Server server(threads(), observed, hooks);
  Client client(server.port(), 8 * 1024);
  client.send("go");
  ASSERT_TRUE(observed.wait([&] { return !observed.statuses.empty(); }));
  EXPECT_EQ(observed.read([&] { return observed.statuses[0]; }), WriteStatus::backpressure);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(observed.read([&] { return observed.drain_buffered.empty(); }))
      << "on_drain before the peer read anything";
  auto r = client.read(body.size(), 30s);
  EXPECT_EQ(r.data.size(), body.size());
  EXPECT_TRUE(r.data == body);
  ASSERT_TRUE(observed.wait([&] { return !observed.drain_buffered.empty(); }));
  std::this_thread::sleep_for(50ms);
  observed.read([&] {
    EXPECT_EQ(observed.drain_buffered.size(), 1u);
    EXPECT_LT(observed.drain_buffered[0], 64u * 1024);
  });
}

TEST_P(ConnectionTest, BytesSentWhilePausedArriveAfterResume) {
  hooks.data = [](Connection& c, std::string_view text) {
    if (text.starts_with("first")) c.pause_reading();
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("first");
  ASSERT_TRUE(observed.wait([&] { return observed.data == "first"; }));
  client.send("second");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(observed.read([&] { return observed.data; }), "first") << "read while paused";
  Connection* c = observed.read([&] { return observed.connections.at(0); });
  Server::run_on(c, [](Connection& connection) { connection.resume_reading(); });
  EXPECT_TRUE(observed.wait([&] { return observed.data == "firstsecond"; }));
}

TEST_P(ConnectionTest, ResumeWithNothingPendingKeepsReading) {
  hooks.data = [](Connection& c, std::string_view) {
    c.pause_reading();
    c.resume_reading();
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("a");
  ASSERT_TRUE(observed.wait([&] { return observed.data == "a"; }));
  client.send("b");
  EXPECT_TRUE(observed.wait([&] { return observed.data == "ab"; }));
}

TEST_P(ConnectionTest, TimerFiresOnTimerOnce) {
  hooks.data = [](Connection& c, std::string_view) { c.set_timer(30ms); };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("go");
  ASSERT_TRUE(observed.wait([&] { return observed.timers == 1; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(observed.read([&] { return observed.timers; }), 1);
}

TEST_P(ConnectionTest, CancelledTimerDoesNotFire) {
  hooks.data = [](Connection& c, std::string_view text) {
    c.set_timer(50ms);
    if (text == "cancel") c.cancel_timer();
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("cancel");
  ASSERT_TRUE(observed.wait([&] { return observed.data == "cancel"; }));
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(observed.read([&] { return observed.timers; }), 0);
}

TEST_P(ConnectionTest, RemoteAddressAndPortAreThePeers) {
  hooks.data = [&](Connection& c, std::string_view) {
    observed.update([&] {
      observed.remote_address = c.remote_address();
      observed.remote_port = c.remote_port();
    });
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("go");
  ASSERT_TRUE(observed.wait([&] { return observed.remote_port != 0; }));
  observed.read([&] {
    EXPECT_EQ(observed.remote_address, "127.0.0.1");
    EXPECT_EQ(observed.remote_port, client.local_port());
  });
}

// An upgrade: the protocol replaces itself from inside its own on_data.
TEST_P(ConnectionTest, SetProtocolHandsTheNextBytesToTheNewProtocol) {
  struct Second final : Protocol {
    explicit Second(Observed& o) : observed(o) {}
    Observed& observed;
    void on_data(Connection& c, std::span<std::byte> bytes) override {
      std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      observed.update([&] { observed.data += "[second:" + text + "]"; });
      c.write(std::string_view("from second"));
    }
  };
  hooks.data = [&](Connection& c, std::string_view) {
    c.set_protocol(std::make_unique<Second>(observed));
    c.write(std::string_view("switched;"));
  };
  Server server(threads(), observed, hooks);
  Client client(server.port());
  client.send("upgrade");
  EXPECT_EQ(client.read(9).data, "switched;");
  client.send("hi");
  EXPECT_EQ(client.read(11).data, "from second");
  EXPECT_EQ(observed.read([&] { return observed.data; }), "upgrade[second:hi]");
}

TEST(CloseReasonTest, HasReadableNames) {
  EXPECT_EQ(to_string(CloseReason::closed_locally), "closed locally");
  EXPECT_EQ(to_string(CloseReason::closed_by_peer), "closed by peer");
  EXPECT_EQ(to_string(CloseReason::io_error), "I/O error");
  EXPECT_EQ(to_string(CloseReason::slow_consumer), "slow consumer");
  EXPECT_EQ(to_string(CloseReason::server_shutdown), "server shutdown");
}

}  // namespace
}  // namespace switchboard::net
