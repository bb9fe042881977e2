#include <switchboard/http.hpp>

#include <atomic>
#include <optional>

#include <spdlog/spdlog.h>

#include "http/session.hpp"
#include "net/listener.hpp"
#include "net/loop_group.hpp"

namespace switchboard::http {

struct Server::Impl {
  explicit Impl(ServerOptions o) : options(std::move(o)), loops(options.threads) {}

  // One per loop: polls, on that loop, until its connections are gone or the grace
  // period is over.
  struct Drain {
    Drain(Impl* i, unsigned n) : impl(i), index(n) {}
    Impl* impl;
    unsigned index;
    net::TimerWheel::Timer timer{&Drain::fire, this};
    static void fire(void* self) {
      auto* drain = static_cast<Drain*>(self);
      drain->impl->check_drained(*drain);
    }
  };

  ServerOptions options;
  Router router;
  net::LoopGroup loops;
  std::atomic<bool> shutting_down{false};
  detail::SessionConfig session_config;
  std::optional<net::Listener> listener;
  std::vector<std::unique_ptr<Drain>> drains;
  std::vector<std::function<void()>> shutdown_hooks;
  std::chrono::steady_clock::time_point shutdown_deadline;

  void check_drained(Drain& drain);
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  if (impl_->options.health_check) {
    impl_->router.get("/healthz", [](Request&, Response& res) { res.send(200, "ok\n"); });
  }
}

Server::~Server() {
  // The listener's acceptors belong to the loops' contexts: close them first.
  impl_->listener.reset();
}

Router& Server::router() noexcept { return impl_->router; }
const ServerOptions& Server::options() const noexcept { return impl_->options; }
net::LoopGroup& Server::loops() noexcept { return impl_->loops; }

void Server::listen() {
  auto& config = impl_->session_config;
  config.router = &impl_->router;
  config.limits.max_header_size = impl_->options.max_header_size;
  config.limits.max_target_size = impl_->options.max_target_size;
  config.request_timeout = impl_->options.request_timeout;
  config.keep_alive_timeout = impl_->options.keep_alive_timeout;
  config.shutting_down = &impl_->shutting_down;
  net::ListenOptions listen;
  listen.host = impl_->options.host;
  listen.port = impl_->options.port;
  listen.max_connections = impl_->options.max_connections;
  impl_->listener.emplace(impl_->loops, listen, [&config](net::Connection& connection) {
    return std::make_unique<detail::HttpProtocol>(connection, config);
  });
}

std::uint16_t Server::port() const noexcept { return impl_->listener ? impl_->listener->port() : 0; }

unsigned Server::threads() const noexcept { return impl_->loops.size(); }

std::vector<Server::LoopStats> Server::loop_stats() const {
  std::vector<LoopStats> stats(impl_->loops.size());
  for (unsigned i = 0; i < stats.size(); ++i) {
    const net::LoopCounters& counters = impl_->loops.loop(i).counters();
    stats[i].bytes_in = counters.bytes_in.get();
    stats[i].bytes_out = counters.bytes_out.get();
    stats[i].slow_consumer_disconnects = counters.slow_consumer_disconnects.get();
  }
  return stats;
}

void Server::post(unsigned loop, std::function<void()> fn) { impl_->loops.loop(loop).post(std::move(fn)); }

std::optional<unsigned> Server::current_loop() const noexcept {
  net::Loop* current = net::Loop::current();
  if (!current || current->index() >= impl_->loops.size() || &impl_->loops.loop(current->index()) != current) {
    return std::nullopt;
  }
  return current->index();
}

void Server::run() { impl_->loops.run(); }

void Server::on_termination_signal(std::function<void(int)> handler) {
  impl_->loops.on_termination_signal(std::move(handler));
}

void Server::on_shutdown(std::function<void()> hook) { impl_->shutdown_hooks.push_back(std::move(hook)); }

void Server::shutdown(std::chrono::milliseconds grace) {
  if (impl_->shutting_down.exchange(true)) return;
  if (impl_->listener) impl_->listener->close();
  impl_->shutdown_deadline = std::chrono::steady_clock::now() + grace;
  auto& loops = impl_->loops;
  for (unsigned i = 0; i < loops.size(); ++i) {
    impl_->drains.push_back(std::make_unique<Impl::Drain>(impl_.get(), i));
  }
  for (unsigned i = 0; i < loops.size(); ++i) {
    loops.loop(i).post([impl = impl_.get(), drain = impl_->drains[i].get(), &loop = loops.loop(i)] {
      for (auto& hook : impl->shutdown_hooks) hook();
      loop.for_each_connection([](net::Connection& c) {
        if (c.protocol()) {
          c.protocol()->on_shutdown(c);
        } else {
          c.close(net::CloseReason::server_shutdown);
        }
      });
      drain->impl->check_drained(*drain);
    });
  }
}

void Server::Impl::check_drained(Drain& drain) {
  net::Loop& loop = loops.loop(drain.index);
  bool expired = std::chrono::steady_clock::now() >= shutdown_deadline;
  if (expired) {
    loop.for_each_connection([](net::Connection& c) { c.close(net::CloseReason::server_shutdown); });
  }
  if (loop.connection_count() == 0 || expired) {
    // Let this turn's closes and frees run before the loop stops.
    loop.at_end_of_turn([&loop] { loop.stop(); });
    return;
  }
  loop.schedule_timer(drain.timer, std::chrono::milliseconds(20));
}

}  // namespace switchboard::http
