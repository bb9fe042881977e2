#include "net/loop_group.hpp"

#include <thread>

#include <boost/asio/signal_set.hpp>

#include "net/detail/asio.hpp"

namespace switchboard::net {

struct LoopGroup::Signals {
  explicit Signals(boost::asio::io_context& io) : set(io, SIGINT, SIGTERM) {}
  boost::asio::signal_set set;
  std::function<void(int)> handler;
  void wait() {
    set.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      handler(signal);
      wait();  // a second signal may come while shutting down
    });
  }
};

LoopGroup::LoopGroup(unsigned threads, const LoopOptions& options) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) loops_.push_back(std::make_unique<Loop>(i, options));
}

LoopGroup::~LoopGroup() = default;

void LoopGroup::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < loops_.size(); ++i) {
    threads.emplace_back([loop = loops_[i].get()] { loop->run(); });
  }
  loops_[0]->run();
  for (auto& thread : threads) thread.join();
}

void LoopGroup::stop() {
  if (signals_) {
    loops_[0]->post([signals = signals_.get()] {
      boost::system::error_code ec;
      signals->set.cancel(ec);
    });
  }
  for (auto& loop : loops_) loop->stop();
}

void LoopGroup::post_to_all(const std::function<void()>& fn) {
  for (auto& loop : loops_) loop->post(fn);
}

void LoopGroup::on_termination_signal(std::function<void(int)> handler) {
  signals_ = std::make_unique<Signals>(detail::io_of(*loops_[0]));
  signals_->handler = std::move(handler);
  signals_->wait();
}

}  // namespace switchboard::net
