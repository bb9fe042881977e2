#include "worker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.hpp"

namespace switchboard::loadgen {
namespace {

// One read per readable socket drains up to this much; a busy echo connection has a
// few KiB waiting, so one recv() per wakeup is the common case.
constexpr std::size_t read_buffer_size = 256 * 1024;
// A socket that filled the whole buffer is read again, up to this many times per
// turn, so one firehose connection cannot starve the others.
constexpr int reads_per_turn = 4;
constexpr int max_events = 1024;
// How long the server may take to answer our close frame, and then to close TCP.
constexpr std::int64_t close_timeout_ns = 5 * ns_per_s;
constexpr std::int64_t fin_timeout_ns = 2 * ns_per_s;
// On stop, open connections get this long to finish their closing handshake.
constexpr std::int64_t shutdown_grace_ns = 2 * ns_per_s;
constexpr std::int64_t timeout_scan_interval_ns = 100 * ns_per_ms;
constexpr int max_failures_reported = 5;

// An epoll entry names a session's slot and one of its channels; 0 is the wake-up
// eventfd. Slot numbers are stable for the session's life, and a slot is reused only
// after the turn in which its session closed, so a stale event in the same batch
// finds the session closed and is skipped.
std::uint64_t key_of(const Connection& c, unsigned channel) noexcept {
  return (std::uint64_t{c.slot} << 8) | (channel + 1);
}

}  // namespace

Worker::Worker(const Options& options, const TransportFactory& factory, Control& control,
               std::unique_ptr<Scenario> scenario)
    : options_(options),
      factory_(factory),
      control_(control),
      scenario_(std::move(scenario)),
      read_buffer_(read_buffer_size) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error(std::string("epoll/eventfd: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // the wake-up eventfd is the only event without a session
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
  }
}

Worker::~Worker() {
  for (auto& slot : slots_) {
    if (!slot || slot->state == ConnState::closed) continue;
    for (unsigned i = 0; i < slot->channel_count; ++i) {
      if (slot->channels[i].fd >= 0) ::close(slot->channels[i].fd);
    }
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void Worker::wake() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void Worker::run() {
  now_ = now_ns();
  std::vector<epoll_event> events(max_events);
  for (;;) {
    if (!stopping_ && control_.stop.load(std::memory_order_relaxed)) begin_shutdown();
    if (stopping_ && (live_ == 0 || now_ >= shutdown_deadline_)) break;

    int timeout_ms = stopping_ ? 10 : 100;
    if (std::int64_t at = stopping_ ? 0 : scenario_->wake_at(); at > 0) {
      std::int64_t wait = at - now_ns();
      timeout_ms = wait <= 0 ? 0 : std::min<int>(timeout_ms, static_cast<int>((wait + ns_per_ms - 1) / ns_per_ms));
    }
    int n = epoll_wait(epoll_fd_, events.data(), max_events, timeout_ms);
    now_ = now_ns();
    for (int i = 0; i < n; ++i) {
      std::uint64_t key = events[i].data.u64;
      std::uint32_t ev = events[i].events;
      if (key == 0) {
        std::uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      Connection& c = *slots_[key >> 8];
      unsigned channel = static_cast<unsigned>(key & 0xff) - 1;
      if (c.state == ConnState::closed) continue;
      if (!c.channels[channel].connected) {
        on_connected(c, channel);
        continue;
      }
      if ((ev & EPOLLOUT) && c.channels[channel].want_write) write(c, channel);
      if (c.state != ConnState::closed && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) on_readable(c, channel);
    }
    if (!stopping_) scenario_->on_turn(*this);
    flush_all();
    if (now_ >= next_timeout_scan_) {
      scan_timeouts();
      next_timeout_scan_ = now_ + timeout_scan_interval_ns;
    }
    release_closed();
  }
  // Index loops here and below: finish() calls the scenario, which may open a
  // connection and so grow slots_.
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->state != ConnState::closed) finish(*slots_[i], Outcome::aborted);
  }
  release_closed();
}

Connection& Worker::allocate() {
  if (free_slots_.empty()) {
    auto c = std::make_unique<Connection>();
    c->slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::move(c));
    return *slots_.back();
  }
  std::uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  return *slots_[slot];
}

Connection* Worker::connect(const TransportFactory* factory) {
  if (stopping_) return nullptr;
  Connection& c = allocate();
  c.transport = (factory ? *factory : factory_).create(random_);
  c.channel_count = static_cast<std::uint8_t>(std::min(c.transport->channels(), max_channels));
  c.state = ConnState::connecting;
  c.outcome = Outcome::clean;
  c.opened = c.queued = false;
  c.started_ns = now_;
  c.deadline_ns = now_ + static_cast<std::int64_t>(options_.handshake_timeout_s * ns_per_s);
  for (unsigned i = 0; i < c.channel_count; ++i) {
    if (open_channel(c, i)) continue;
    for (unsigned j = 0; j < i; ++j) ::close(c.channels[j].fd);  // also leaves the epoll set
    c.channels = {};
    c.state = ConnState::closed;
    c.transport.reset();
    free_slots_.push_back(c.slot);
    stats_.connect_failures.add();
    return nullptr;
  }
  ++live_;
  ++handshaking_;
  stats_.connects_started.add();
  return &c;
}

bool Worker::open_channel(Connection& c, unsigned channel) {
  const auto* address = reinterpret_cast<const sockaddr*>(&options_.address);
  int fd = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // Small messages must leave now, not after Nagle's 40 ms.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  epoll_event ev{};
  ev.events = EPOLLOUT;  // writable = connected (or failed: SO_ERROR says)
  ev.data.u64 = key_of(c, channel);
  if ((::connect(fd, address, options_.address_length) != 0 && errno != EINPROGRESS) ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    return false;
  }
  c.channels[channel] = Channel{fd, false, false};
  return true;
}

void Worker::on_connected(Connection& c, unsigned channel) {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(c.channels[channel].fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) {
    last_errno_ = error;
    finish(c, Outcome::connect_failed);
    return;
  }
  c.channels[channel].connected = true;
  if (channel == 0 && c.state == ConnState::connecting) c.state = ConnState::handshaking;
  watch(c, channel, false);
  c.transport->start(channel, c.out);
  queue_flush(c);
}

void Worker::send(Connection& c, std::span<const std::byte> payload, bool binary) {
  if (c.state != ConnState::open) return;
  c.transport->send(payload, binary, c.out);
  stats_.messages_sent.add();
  queue_flush(c);
}

void Worker::close(Connection& c) {
  switch (c.state) {
    case ConnState::connecting:
    case ConnState::handshaking:
      finish(c, Outcome::aborted);
      return;
    case ConnState::open:
      c.transport->close(c.out);
      c.state = ConnState::closing;
      c.deadline_ns = now_ + close_timeout_ns;
      queue_flush(c);
      return;
    default:
      return;
  }
}

void Worker::on_open() {
  Connection& c = *current_;
  c.state = ConnState::open;
  c.opened = true;
  c.deadline_ns = 0;
  --handshaking_;
  stats_.opened.add();
  stats_.open_now.add();
  scenario_->on_open(*this, c);
}

void Worker::on_message(std::span<const std::byte> payload, bool binary) {
  stats_.messages_received.add();
  scenario_->on_message(*this, *current_, payload, binary);
}

void Worker::on_readable(Connection& c, unsigned channel) {
  for (int round = 0; round < reads_per_turn; ++round) {
    ssize_t n = ::recv(c.channels[channel].fd, read_buffer_.data(), read_buffer_.size(), 0);
    if (n > 0) {
      now_ = now_ns();
      stats_.bytes_received.add(static_cast<std::uint64_t>(n));
      current_ = &c;
      FeedStatus status = c.transport->feed(channel, {read_buffer_.data(), static_cast<std::size_t>(n)},
                                            *this, c.out);
      current_ = nullptr;
      // Even with nothing appended yet: a batching transport may write in before_flush.
      queue_flush(c);
      if (status == FeedStatus::failed) {
        finish(c, c.opened ? Outcome::protocol_error : Outcome::handshake_failed);
        return;
      }
      if (status == FeedStatus::closed && c.state != ConnState::finishing) {
        on_session_closed(c);
        if (c.state == ConnState::closed) return;
      }
      if (static_cast<std::size_t>(n) < read_buffer_.size()) return;
      continue;
    }
    if (n == 0) {
      on_eof(c);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) on_socket_error(c, channel);
    return;
  }
}

void Worker::on_session_closed(Connection& c) {
  // Either our close was answered, or the server closed first and the transport
  // answered it. Either way the server now closes TCP (§7.1.1); wait for its FIN so
  // that TIME_WAIT stays on the server's side and the client's ports stay free. An
  // HTTP keep-alive connection that the server keeps open is closed here.
  if (!c.opened) {
    // The server ended the session before it opened (Socket.IO: a refused CONNECT ends
    // with the Engine.IO close): the handshake failed.
    finish(c, Outcome::handshake_failed);
    return;
  }
  c.outcome = c.transport->closed_by_peer() ? Outcome::dropped : Outcome::clean;
  if (!c.transport->server_closes_tcp()) {
    finish(c, c.outcome);
    return;
  }
  c.state = ConnState::finishing;
  c.deadline_ns = now_ + fin_timeout_ns;
}

void Worker::on_eof(Connection& c) {
  switch (c.state) {
    case ConnState::handshaking: finish(c, Outcome::handshake_failed); return;
    case ConnState::open:
    case ConnState::closing: finish(c, Outcome::dropped); return;
    case ConnState::finishing: finish(c, c.outcome); return;
    default: finish(c, Outcome::aborted); return;
  }
}

void Worker::on_socket_error(Connection& c, unsigned channel) {
  last_errno_ = errno;
  if (!c.channels[channel].connected) {
    finish(c, Outcome::connect_failed);
  } else {
    on_eof(c);
  }
}

void Worker::queue_flush(Connection& c) {
  if (c.queued) return;
  c.queued = true;
  flush_list_.push_back(&c);
}

void Worker::flush_all() {
  // Index loop: a flush that fails calls finish(), which may let a scenario queue more.
  for (std::size_t i = 0; i < flush_list_.size(); ++i) {
    Connection& c = *flush_list_[i];
    c.queued = false;
    if (c.state != ConnState::closed) flush(c);
  }
  flush_list_.clear();
}

void Worker::flush(Connection& c) {
  c.transport->before_flush(c.out);
  for (unsigned i = 0; i < c.channel_count && c.state != ConnState::closed; ++i) {
    // A channel still connecting is written when it connects; a blocked one on EPOLLOUT.
    if (c.channels[i].connected && !c.channels[i].want_write) write(c, i);
  }
}

void Worker::write(Connection& c, unsigned channel) {
  ByteBuffer& out = c.out[channel];
  auto data = out.readable();
  if (!data.empty()) {
    ssize_t n;
    do {
      n = ::send(c.channels[channel].fd, data.data(), data.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        on_socket_error(c, channel);
        return;
      }
    } else {
      stats_.bytes_sent.add(static_cast<std::size_t>(n));
      out.consume(static_cast<std::size_t>(n));
    }
  }
  bool blocked = !out.empty();
  if (blocked != c.channels[channel].want_write) watch(c, channel, blocked);
}

void Worker::watch(Connection& c, unsigned channel, bool want_write) {
  c.channels[channel].want_write = want_write;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  ev.data.u64 = key_of(c, channel);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.channels[channel].fd, &ev);
}

void Worker::finish(Connection& c, Outcome outcome) {
  if (c.state == ConnState::closed) return;
  bool was_opened = c.opened;
  for (unsigned i = 0; i < c.channel_count; ++i) {
    if (c.channels[i].fd >= 0) ::close(c.channels[i].fd);  // also removes it from the epoll set
    c.channels[i] = Channel{};
  }
  c.state = ConnState::closed;
  c.outcome = outcome;
  --live_;
  if (!was_opened) --handshaking_;
  if (was_opened) stats_.open_now.sub();
  switch (outcome) {
    case Outcome::clean: stats_.closed_clean.add(); break;
    case Outcome::dropped: stats_.dropped.add(); break;
    case Outcome::connect_failed: stats_.connect_failures.add(); break;
    case Outcome::handshake_failed: stats_.handshake_failures.add(); break;
    case Outcome::protocol_error: stats_.protocol_errors.add(); break;
    case Outcome::close_timeout: stats_.close_timeouts.add(); break;
    case Outcome::aborted: break;
  }
  closed_.push_back(&c);
  if (outcome != Outcome::clean && outcome != Outcome::aborted) report_failure(c, outcome);
  last_errno_ = 0;
  scenario_->on_closed(*this, c, outcome);
}

void Worker::report_failure(const Connection& c, Outcome outcome) {
  // The first few failures say why; the counters say how many.
  if (failures_reported_ >= max_failures_reported) return;
  ++failures_reported_;
  static constexpr const char* names[] = {"clean", "dropped", "connect failed", "handshake failed",
                                          "protocol error", "close timeout", "aborted"};
  std::string why;
  if (outcome == Outcome::protocol_error ||
      (outcome == Outcome::handshake_failed && !c.transport->error().empty())) {
    why = std::string(c.transport->error());
  } else if (last_errno_ != 0) {
    why = std::strerror(last_errno_);
  } else if (c.deadline_ns != 0 && now_ >= c.deadline_ns) {
    why = "timed out";
  } else {
    why = "the server closed the connection";
  }
  std::fprintf(stderr, "sb-loadgen: %s after %.1f ms: %s%s\n", names[static_cast<int>(outcome)],
               static_cast<double>(now_ - c.started_ns) / ns_per_ms, why.c_str(),
               failures_reported_ == max_failures_reported ? " (further failures are only counted)" : "");
}

void Worker::scan_timeouts() {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Connection& c = *slots_[i];
    if (c.state == ConnState::closed || c.deadline_ns == 0 || now_ < c.deadline_ns) continue;
    switch (c.state) {
      case ConnState::connecting: finish(c, Outcome::connect_failed); break;
      case ConnState::handshaking: finish(c, Outcome::handshake_failed); break;
      case ConnState::closing: finish(c, Outcome::close_timeout); break;
      case ConnState::finishing: finish(c, c.outcome); break;  // the close completed; no FIN
      default: break;
    }
  }
}

void Worker::release_closed() {
  for (Connection* c : closed_) {
    c->transport.reset();
    for (auto& out : c->out) out.release();
    c->queued = false;
    free_slots_.push_back(c->slot);
  }
  closed_.clear();
}

void Worker::begin_shutdown() {
  stopping_ = true;
  shutdown_deadline_ = now_ + shutdown_grace_ns;
  for (std::size_t i = 0; i < slots_.size(); ++i) close(*slots_[i]);
  flush_all();
}

}  // namespace switchboard::loadgen
