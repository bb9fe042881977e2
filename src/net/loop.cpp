#include "net/loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>
#include <system_error>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "net/connection.hpp"

namespace switchboard::net {
namespace {
thread_local Loop* current_loop = nullptr;
}

// Connections are watched by an epoll set of the loop's own, not one Asio socket each:
// an Asio socket costs a reactor registration (168 bytes) and a heap-allocated wait
// operation per pending wait (a 208-byte chunk), which measured about 40 % of an idle
// WebSocket connection's memory. The epoll set's descriptor is itself watched by Asio,
// so posts, timers and signals still run through the io_context.
struct Loop::Impl {
  // A concurrency hint of 1: one thread runs this context, so Asio may skip locking
  // on its own queues (posts from other threads still lock).
  boost::asio::io_context io{1};
  // Keeps run() going while idle; made anew by each run(), dropped by stop().
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  boost::asio::steady_timer tick{io};
  bool tick_armed = false;
  std::uint64_t tick_generation = 0;
  bool end_turn_posted = false;
  std::vector<Connection*> flush_list;
  std::vector<Connection*> reap_list;
  std::vector<std::function<void()>> end_of_turn;
  Connection* first = nullptr;  // intrusive list of live connections
  std::size_t count = 0;
  int epoll_fd = -1;
  std::optional<boost::asio::posix::stream_descriptor> epoll_watch;
  std::array<epoll_event, 256> events{};
};

Loop::Loop(unsigned index, const LoopOptions& options)
    : index_(index),
      timers_(options.timer_tick),
      read_storage_(new std::byte[options.read_buffer_size]),
      read_buffer_(read_storage_.get(), options.read_buffer_size),
      impl_(std::make_unique<Impl>()) {
  impl_->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (impl_->epoll_fd < 0) throw std::system_error(errno, std::system_category(), "epoll_create1");
  impl_->epoll_watch.emplace(impl_->io, impl_->epoll_fd);
  arm_epoll();
}

Loop::~Loop() {
  // Connections still registered (the loop stopped without closing them) are freed
  // without callbacks: their protocols may reference objects already gone.
  while (impl_->first) {
    Connection* c = impl_->first;
    impl_->first = c->next_;
    c->state_ = Connection::State::closed;
    delete c;
  }
  // The stream_descriptor owns the epoll descriptor and closes it.
}

void Loop::watch(int fd, Connection& connection) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = &connection;
  if (::epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    throw std::system_error(errno, std::system_category(), "epoll_ctl");
  }
}

int Loop::epoll_descriptor() const noexcept { return impl_->epoll_fd; }

void Loop::arm_epoll() {
  impl_->epoll_watch->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                                 [this](const boost::system::error_code& ec) {
                                   if (ec) return;
                                   // Edge-triggered in Asio's own set too: drain ours fully.
                                   int n;
                                   do {
                                     n = ::epoll_wait(impl_->epoll_fd, impl_->events.data(),
                                                      static_cast<int>(impl_->events.size()), 0);
                                     for (int i = 0; i < n; ++i) {
                                       static_cast<Connection*>(impl_->events[i].data.ptr)
                                           ->on_events(impl_->events[i].events);
                                     }
                                   } while (n == static_cast<int>(impl_->events.size()) ||
                                            (n < 0 && errno == EINTR));
                                   arm_epoll();
                                 });
}

void Loop::run() {
  current_loop = this;
  impl_->io.restart();
  impl_->work.emplace(impl_->io.get_executor());
  impl_->io.run();
  current_loop = nullptr;
}

void Loop::stop() {
  boost::asio::post(impl_->io, [this] {
    impl_->work.reset();
    impl_->tick.cancel();
    impl_->io.stop();
  });
}

void Loop::post(std::function<void()> fn) { boost::asio::post(impl_->io, std::move(fn)); }

void Loop::dispatch(std::function<void()> fn) {
  if (current_loop == this) {
    fn();
  } else {
    post(std::move(fn));
  }
}

Loop* Loop::current() noexcept { return current_loop; }

void* Loop::native_context() noexcept { return &impl_->io; }

void Loop::schedule_timer(TimerWheel::Timer& timer, std::chrono::milliseconds delay) {
  timers_.schedule(timer, delay);
  arm_tick();
}

void Loop::schedule_timer_at(TimerWheel::Timer& timer, TimerWheel::Clock::time_point deadline) {
  timers_.schedule_at(timer, deadline);
  arm_tick();
}

void Loop::arm_tick() {
  // One Asio timer, set for the wheel's next due tick (not every tick): re-set when a
  // new timer is due earlier than the wake already set.
  auto wake = timers_.next_wake();
  if (!wake) return;
  if (impl_->tick_armed && impl_->tick.expiry() <= *wake) return;
  impl_->tick_armed = true;
  impl_->tick.expires_at(*wake);  // cancels a wait set for later
  std::uint64_t generation = ++impl_->tick_generation;
  impl_->tick.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || generation != impl_->tick_generation) return;  // superseded
    impl_->tick_armed = false;
    timers_.advance(TimerWheel::Clock::now());
    arm_tick();
  });
}

void Loop::at_end_of_turn(std::function<void()> fn) {
  impl_->end_of_turn.push_back(std::move(fn));
  if (!impl_->end_turn_posted) {
    impl_->end_turn_posted = true;
    boost::asio::post(impl_->io, [this] { end_turn(); });
  }
}

void Loop::schedule_flush(Connection& connection) {
  if (connection.in_flush_list_) return;
  connection.in_flush_list_ = true;
  impl_->flush_list.push_back(&connection);
  if (!impl_->end_turn_posted) {
    impl_->end_turn_posted = true;
    boost::asio::post(impl_->io, [this] { end_turn(); });
  }
}

void Loop::schedule_reap(Connection& connection) {
  impl_->reap_list.push_back(&connection);
  if (!impl_->end_turn_posted) {
    impl_->end_turn_posted = true;
    boost::asio::post(impl_->io, [this] { end_turn(); });
  }
}

void Loop::end_turn() {
  impl_->end_turn_posted = false;
  // Callbacks first: they may write, and their writes should leave in this turn.
  while (!impl_->end_of_turn.empty()) {
    auto callbacks = std::move(impl_->end_of_turn);
    impl_->end_of_turn.clear();
    for (auto& fn : callbacks) fn();
  }
  // Swap the lists out: a flush may close a connection (reap) or, through on_drain,
  // write again (flush on the next turn).
  std::vector<Connection*> flushing;
  flushing.swap(impl_->flush_list);
  for (Connection* c : flushing) {
    c->in_flush_list_ = false;
    if (c->state_ != Connection::State::closed) c->flush();
  }
  flushing.clear();
  if (impl_->flush_list.empty()) impl_->flush_list.swap(flushing);  // keep the capacity
  std::vector<Connection*> reaping;
  reaping.swap(impl_->reap_list);
  for (Connection* c : reaping) {
    if (c->in_flush_list_ || c->pending_posts_ > 0) {
      // Something queued still holds its address (a flush, a posted read): free it
      // on a later turn, once that has run and seen it closed.
      impl_->reap_list.push_back(c);
      continue;
    }
    if (c->prev_) c->prev_->next_ = c->next_;
    else impl_->first = c->next_;
    if (c->next_) c->next_->prev_ = c->prev_;
    --impl_->count;
    delete c;
  }
  if (!impl_->reap_list.empty() && !impl_->end_turn_posted) {
    impl_->end_turn_posted = true;
    boost::asio::post(impl_->io, [this] { end_turn(); });
  }
  arm_tick();
}

void Loop::adopt(Connection& connection) {
  connection.prev_ = nullptr;
  connection.next_ = impl_->first;
  if (impl_->first) impl_->first->prev_ = &connection;
  impl_->first = &connection;
  ++impl_->count;
}

void Loop::for_each_connection(const std::function<void(Connection&)>& fn) {
  for (Connection* c = impl_->first; c;) {
    Connection* next = c->next_;
    if (c->state_ != Connection::State::closed) fn(*c);
    c = next;
  }
}

std::size_t Loop::connection_count() const noexcept { return impl_->count; }

}  // namespace switchboard::net
