#include "net/listener.hpp"

#include <sys/socket.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/log.hpp"
#include "net/detail/asio.hpp"

namespace switchboard::net {
namespace {

using tcp = boost::asio::ip::tcp;

}  // namespace

// What every acceptor of one listener shares. It holds no Asio object, so whichever
// loop drops the last reference, it touches no other loop's io_context.
struct Listener::Shared {
  ListenOptions options;
  ProtocolFactory factory;
  std::shared_ptr<ConnectionCounter> counter = std::make_shared<ConnectionCounter>();
  std::atomic<bool> closed{false};
  std::uint16_t port = 0;
};


// One per loop, owned by the listener and by its own pending operations, which all
// belong to its loop: if that loop's io_context is destroyed with them pending, only
// its own Asio objects go with it.
struct Listener::State : std::enable_shared_from_this<Listener::State> {
  State(Loop& l, std::shared_ptr<Shared> s)
      : loop(&l), shared(std::move(s)), acceptor(detail::io_of(l).get_executor()), retry(detail::io_of(l)) {}

  Loop* loop;
  std::shared_ptr<Shared> shared;
  detail::Acceptor acceptor;
  boost::asio::steady_timer retry;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec, detail::Socket socket) {
      if (self->shared->closed.load()) return;
      if (ec) {
        if (ec == boost::asio::error::operation_aborted) return;
        // Out of file descriptors (or a transient error): back off instead of spinning.
        log::warn({.component = "net"}, "accept on port {} failed: {}; retrying in 100 ms", self->shared->port,
                  ec.message());
        self->retry.expires_after(std::chrono::milliseconds(100));
        self->retry.async_wait([self](const boost::system::error_code& wait_ec) {
          if (!wait_ec && !self->shared->closed.load()) self->accept();
        });
        return;
      }
      self->start_connection(std::move(socket));
      self->accept();
    });
  }

  void start_connection(detail::Socket socket) {
    const ListenOptions& options = shared->options;
    if (options.max_connections && shared->counter->open.load(std::memory_order_relaxed) >= options.max_connections) {
      log::warn({.component = "net"}, "refusing a connection on port {}: max_connections ({}) reached", shared->port,
                options.max_connections);
      return;  // the socket closes as it goes out of scope
    }
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    socket.set_option(tcp::no_delay(true), ec);
    // From here on the loop's own epoll set watches the socket (see Loop::watch).
    int fd = socket.release(ec);
    if (ec) return;
    Connection* connection = Connection::create(*loop, fd, shared->counter);
    connection->set_protocol(shared->factory(*connection));
    connection->start();
  }

  void close() {
    boost::system::error_code ec;
    acceptor.close(ec);
    retry.cancel();
  }
};

namespace {

// Every loop's socket joins the port with SO_REUSEPORT, which would also let a second
// server process join it silently and share the clients. A plain bind first proves
// the port is free.
void check_port_free(const tcp::endpoint& endpoint, const std::string& host) {
  boost::asio::io_context io;
  tcp::acceptor probe(io);
  boost::system::error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(endpoint.port()) + ": " +
                             ec.message() +
                             (ec == boost::asio::error::address_in_use ? " (is another server running on this port?)" : ""));
  }
}

}  // namespace

Listener::Listener(LoopGroup& loops, const ListenOptions& options, ProtocolFactory factory) {
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->factory = std::move(factory);
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(options.host, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on '" + options.host +
                             "': not an IP address (use e.g. 0.0.0.0, 127.0.0.1 or ::)");
  }
  std::uint16_t port = options.port;
  if (port != 0) check_port_free(tcp::endpoint(address, port), options.host);
  for (unsigned i = 0; i < loops.size(); ++i) {
    auto state = std::make_shared<State>(loops.loop(i), shared);
    tcp::endpoint endpoint(address, port);
    auto& acceptor = state->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(options.backlog, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + options.host + ":" + std::to_string(port) + ": " +
                               ec.message());
    }
    // With port 0 the first bind picks a free port; the other loops join it.
    port = acceptor.local_endpoint().port();
    acceptors_.push_back(std::move(state));
  }
  shared->port = port;
  shared_ = std::move(shared);
  for (auto& state : acceptors_) {
    state->loop->post([state] { state->accept(); });
  }
}

Listener::~Listener() { close(); }

std::uint16_t Listener::port() const noexcept { return shared_->port; }

std::size_t Listener::connection_count() const noexcept { return shared_->counter->open.load(); }

void Listener::close() {
  if (shared_->closed.exchange(true)) return;
  for (auto& state : acceptors_) {
    state->loop->post([state] { state->close(); });
  }
}

}  // namespace switchboard::net
