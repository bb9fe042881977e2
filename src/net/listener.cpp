#include "net/listener.hpp"

#include <sys/socket.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "net/detail/tcp_connection.hpp"

namespace switchboard::net {
namespace {

using tcp = boost::asio::ip::tcp;

// Counts this listener's open connections; the count outlives the listener if
// connections do.
class CountedConnection final : public detail::TcpConnection {
 public:
  CountedConnection(Loop& loop, tcp::socket socket, std::shared_ptr<std::atomic<std::size_t>> count)
      : TcpConnection(loop, std::move(socket)), count_(std::move(count)) {
    count_->fetch_add(1, std::memory_order_relaxed);
  }
  ~CountedConnection() override { count_->fetch_sub(1, std::memory_order_relaxed); }

 private:
  std::shared_ptr<std::atomic<std::size_t>> count_;
};

}  // namespace

struct Listener::State : std::enable_shared_from_this<Listener::State> {
  struct Acceptor {
    Acceptor(Loop& l) : loop(&l), acceptor(detail::io_of(l)), retry(detail::io_of(l)) {}
    Loop* loop;
    tcp::acceptor acceptor;
    boost::asio::steady_timer retry;
  };
  ListenOptions options;
  ProtocolFactory factory;
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  std::shared_ptr<std::atomic<std::size_t>> count = std::make_shared<std::atomic<std::size_t>>(0);
  std::uint16_t port = 0;
  std::atomic<bool> closed{false};

  void accept(Acceptor& a) {
    a.acceptor.async_accept([self = shared_from_this(), &a](const boost::system::error_code& ec,
                                                            tcp::socket socket) {
      if (self->closed.load()) return;
      if (ec) {
        if (ec == boost::asio::error::operation_aborted) return;
        // Out of file descriptors (or a transient error): back off instead of spinning.
        spdlog::warn("accept on port {} failed: {}; retrying in 100 ms", self->port, ec.message());
        a.retry.expires_after(std::chrono::milliseconds(100));
        a.retry.async_wait([self, &a](const boost::system::error_code& wait_ec) {
          if (!wait_ec && !self->closed.load()) self->accept(a);
        });
        return;
      }
      self->start_connection(a, std::move(socket));
      self->accept(a);
    });
  }

  void start_connection(Acceptor& a, tcp::socket socket) {
    if (options.max_connections && count->load(std::memory_order_relaxed) >= options.max_connections) {
      spdlog::warn("refusing a connection on port {}: max_connections ({}) reached", port,
                   options.max_connections);
      return;  // the socket closes as it goes out of scope
    }
    auto* connection = new CountedConnection(*a.loop, std::move(socket), count);
    connection->set_protocol(factory(*connection));
    connection->start();
  }
};

Listener::Listener(LoopGroup& loops, const ListenOptions& options, ProtocolFactory factory)
    : state_(std::make_shared<State>()) {
  state_->options = options;
  state_->factory = std::move(factory);
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(options.host, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on '" + options.host +
                             "': not an IP address (use e.g. 0.0.0.0, 127.0.0.1 or ::)");
  }
  std::uint16_t port = options.port;
  for (unsigned i = 0; i < loops.size(); ++i) {
    auto a = std::make_unique<State::Acceptor>(loops.loop(i));
    tcp::endpoint endpoint(address, port);
    a->acceptor.open(endpoint.protocol(), ec);
    if (!ec) a->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(a->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec) a->acceptor.bind(endpoint, ec);
    if (!ec) a->acceptor.listen(options.backlog, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + options.host + ":" + std::to_string(port) +
                               ": " + ec.message());
    }
    // With port 0 the first bind picks a free port; the other loops join it.
    port = a->acceptor.local_endpoint().port();
    state_->acceptors.push_back(std::move(a));
  }
  state_->port = port;
  for (auto& a : state_->acceptors) {
    a->loop->post([state = state_, acceptor = a.get()] { state->accept(*acceptor); });
  }
}

Listener::~Listener() { close(); }

std::uint16_t Listener::port() const noexcept { return state_->port; }

std::size_t Listener::connection_count() const noexcept { return state_->count->load(); }

void Listener::close() {
  if (state_->closed.exchange(true)) return;
  for (auto& a : state_->acceptors) {
    a->loop->post([state = state_, acceptor = a.get()] {
      boost::system::error_code ec;
      acceptor->acceptor.close(ec);
      acceptor->retry.cancel();
    });
  }
}

}  // namespace switchboard::net
