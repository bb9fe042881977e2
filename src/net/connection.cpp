#include "net/connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>


#include "core/log.hpp"
#include "net/loop.hpp"

namespace switchboard::net {
namespace {

using namespace std::chrono_literals;

// How long end() waits for the queue to drain and the peer to close its side before
// the socket is closed anyway.
constexpr auto end_timeout = 10s;
// At most this many queued segments go into one sendmsg.
constexpr int max_iov = 64;

}  // namespace

std::string_view to_string(CloseReason reason) noexcept {
  switch (reason) {
    case CloseReason::closed_locally: return "closed locally";
    case CloseReason::closed_by_peer: return "closed by peer";
    case CloseReason::io_error: return "I/O error";
    case CloseReason::slow_consumer: return "slow consumer";
    case CloseReason::server_shutdown: return "server shutdown";
  }
  return "unknown";
}

Connection* Connection::create(Loop& loop, int fd, std::shared_ptr<ConnectionCounter> counter) {
  auto* connection = new Connection(loop, fd, std::move(counter));
  loop.adopt(*connection);  // from here the loop frees it
  return connection;
}

Connection::Connection(Loop& loop, int fd, std::shared_ptr<ConnectionCounter> counter) noexcept
    : loop_(&loop), fd_(fd), counter_(std::move(counter)), timer_(&Connection::on_timer_fired, this) {
  if (counter_) counter_->open.fetch_add(1, std::memory_order_relaxed);
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return;
  if (peer.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(peer);
    remote_port_ = ntohs(v6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      std::memcpy(remote_ip_.data(), v6.sin6_addr.s6_addr + 12, 4);
    } else {
      std::memcpy(remote_ip_.data(), v6.sin6_addr.s6_addr, 16);
      remote_v6_ = true;
    }
  } else if (peer.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(peer);
    remote_port_ = ntohs(v4.sin_port);
    std::memcpy(remote_ip_.data(), &v4.sin_addr, 4);
  }
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
  if (counter_) counter_->open.fetch_sub(1, std::memory_order_relaxed);
}

int Connection::detach_socket() {
  if (state_ == State::closed) return -1;
  ::epoll_ctl(loop_->epoll_descriptor(), EPOLL_CTL_DEL, fd_, nullptr);
  int fd = std::exchange(fd_, -1);
  finish_close(CloseReason::closed_locally);
  return fd;
}

void Connection::start() {
  if (state_ == State::closed) return;  // closed before it started (a handed-off socket)
  loop_->watch(fd_, *this);
  // The first bytes often arrive with the connection (an HTTP request right after the
  // handshake), before any edge could be reported: read once first.
  on_readable();
}

void Connection::on_events(std::uint32_t events) {
  if (state_ == State::closed) return;  // closed earlier in this batch of events
  // The peer's FIN may come in the same edge as its last bytes: remember it, since no
  // further edge will announce it.
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) peer_hup_ = true;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && read_waiting_) on_readable();
  if (state_ == State::closed) return;
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && write_waiting_) on_writable();
}

void Connection::set_protocol(std::unique_ptr<Protocol> next) {
  if (protocol_) {
    Protocol* previous = protocol_.release();
    loop_->at_end_of_turn([previous] { delete previous; });
  }
  protocol_ = std::move(next);
}

WriteStatus Connection::write(std::span<const std::byte> bytes) {
  if (state_ != State::open) return WriteStatus::dropped;
  std::size_t n = bytes.size();
  if (n == 0) return buffered_ > limits_.high_water ? WriteStatus::backpressure : WriteStatus::accepted;
  // Small writes of one turn land in one block: the echo of eight pipelined messages
  // leaves as one contiguous write.
  if (!queue_.empty()) {
    Segment& tail = queue_.back();
    if (tail.owner.unique() && tail.offset + tail.length == tail.owner.size()) {
      std::size_t copied = tail.owner.append(bytes);
      tail.length += static_cast<std::uint32_t>(copied);
      bytes = bytes.subspan(copied);
    }
  }
  if (!bytes.empty()) {
    // A small block for the first write of a turn, a standard one once it writes more.
    SharedBuffer block = SharedBuffer::with_capacity(
        queue_.empty() ? bytes.size() : std::max(bytes.size(), SharedBuffer::standard_capacity));
    block.append(bytes);
    queue_.push_back({std::move(block), 0, static_cast<std::uint32_t>(bytes.size())});
  }
  return queued(n);
}

WriteStatus Connection::write(SharedBuffer buffer) {
  if (state_ != State::open) return WriteStatus::dropped;
  std::size_t n = buffer.size();
  if (n == 0) return buffered_ > limits_.high_water ? WriteStatus::backpressure : WriteStatus::accepted;
  queue_.push_back({std::move(buffer), 0, static_cast<std::uint32_t>(n)});
  return queued(n);
}

std::byte* Connection::reserve_write(std::size_t max) {
  if (!queue_.empty()) {
    Segment& tail = queue_.back();
    if (tail.owner.unique() && tail.offset + tail.length == tail.owner.size() &&
        tail.owner.spare_size() >= max) {
      return tail.owner.spare();
    }
  }
  queue_.push_back({SharedBuffer::with_capacity(queue_.empty() ? max : std::max(max, SharedBuffer::standard_capacity)), 0, 0});
  return queue_.back().owner.spare();
}

WriteStatus Connection::commit_write(std::size_t n) {
  if (state_ != State::open) {
    // Reserved space on a closing connection is simply not committed.
    return WriteStatus::dropped;
  }
  Segment& tail = queue_.back();
  tail.owner.commit(n);
  tail.length += static_cast<std::uint32_t>(n);
  return queued(n);
}

WriteStatus Connection::queued(std::size_t n) {
  buffered_ += n;
  if (buffered_ > limits_.hard_limit) {
    if (log::enabled(spdlog::level::warn)) {
      log::warn({.component = "net", .conn = log::peer_name(remote_address(), remote_port_)},
                "disconnecting a slow consumer: {} bytes queued, past the limit of {}", buffered_, limits_.hard_limit);
    }
    loop_->counters().slow_consumer_disconnects.add(1);
    close(CloseReason::slow_consumer);
    return WriteStatus::dropped;
  }
  loop_->schedule_flush(*this);
  if (buffered_ > limits_.high_water) {
    over_high_water_ = true;
    return WriteStatus::backpressure;
  }
  return WriteStatus::accepted;
}

void Connection::flush() {
  if (state_ == State::closed || write_waiting_) return;
  while (!queue_.empty()) {
    iovec iov[max_iov];
    int count = 0;
    std::size_t attempted = 0;
    for (const Segment& segment : queue_) {
      if (count == max_iov) break;
      if (segment.length == 0) continue;
      iov[count].iov_base = const_cast<std::byte*>(segment.owner.data() + segment.offset);
      iov[count].iov_len = segment.length;
      attempted += segment.length;
      ++count;
    }
    if (count == 0) {
      queue_.clear();
      break;
    }
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = static_cast<std::size_t>(count);
    ssize_t sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        write_waiting_ = true;  // the next EPOLLOUT edge resumes
        break;
      }
      close(CloseReason::io_error);
      return;
    }
    auto remaining = static_cast<std::size_t>(sent);
    loop_->counters().bytes_out.add(remaining);
    buffered_ -= remaining;
    std::size_t done = 0;
    for (Segment& segment : queue_) {
      if (remaining >= segment.length) {
        remaining -= segment.length;
        ++done;
        continue;
      }
      segment.offset += static_cast<std::uint32_t>(remaining);
      segment.length -= static_cast<std::uint32_t>(remaining);
      break;
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(done));
    if (static_cast<std::size_t>(sent) < attempted) {
      // The kernel's buffer is full: wait until it takes more.
      write_waiting_ = true;
      break;
    }
  }
  if (queue_.empty() && queue_.capacity() > 8) {
    // A burst grew the queue; give the memory back instead of keeping it while idle.
    decltype(queue_) empty;
    queue_.swap(empty);
  }
  if (over_high_water_ && buffered_ < limits_.high_water && state_ == State::open) {
    over_high_water_ = false;
    if (protocol_) protocol_->on_drain(*this);
  }
  if (state_ == State::ending && queue_.empty()) {
    if (peer_eof_) {
      finish_close(end_reason_);
    } else {
      begin_linger();
    }
  }
}

void Connection::on_writable() {
  write_waiting_ = false;
  if (state_ != State::closed) flush();
}

Connection::ReadResult Connection::read_once() {
  std::span<std::byte> buffer = loop_->read_buffer();
  ssize_t n;
  do {
    n = ::recv(fd_, buffer.data(), buffer.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    loop_->counters().bytes_in.add(static_cast<std::uint64_t>(n));
    // While ending, the peer's bytes are read only to find its EOF.
    if (state_ == State::open && protocol_) protocol_->on_data(*this, buffer.first(static_cast<std::size_t>(n)));
    return static_cast<std::size_t>(n) == buffer.size() ? ReadResult::full : ReadResult::partial;
  }
  if (n == 0) {
    on_peer_eof();
    return ReadResult::ended;
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK) close(CloseReason::io_error);
  return ReadResult::drained;
}

void Connection::on_readable() {
  read_waiting_ = false;
  if (state_ == State::closed || reading_paused_) return;
  // A short read drained the socket, so waiting for the next edge is safe. A full
  // buffer may have left bytes behind: continue in a later handler, so one busy
  // peer cannot starve the others.
  while (true) {
    ReadResult result = read_once();
    if (state_ == State::closed || reading_paused_ || peer_eof_) return;
    if (result == ReadResult::full) {
      post_read();
      return;
    }
    // A short read usually drained the socket; but if the peer has half-closed, its
    // EOF is waiting behind those bytes with no edge to come: read on until it shows.
    if (result == ReadResult::partial && peer_hup_) continue;
    read_waiting_ = true;  // drained: the next EPOLLIN edge means new bytes
    return;
  }
}

void Connection::post_read() {
  ++pending_posts_;
  loop_->post([this] {
    --pending_posts_;
    if (state_ != State::closed && !reading_paused_ && !read_waiting_) on_readable();
  });
}

void Connection::pause_reading() noexcept { reading_paused_ = true; }

void Connection::resume_reading() {
  if (!reading_paused_) return;
  reading_paused_ = false;
  // Bytes may have arrived while paused, and their readiness edge is gone: read
  // instead of waiting.
  if (state_ != State::closed && !read_waiting_ && !peer_eof_) post_read();
}

void Connection::on_peer_eof() {
  // A socket at EOF stays readable: a later wait may report it again. Once is enough.
  if (peer_eof_) return;
  peer_eof_ = true;
  if (queue_.empty()) {
    finish_close(state_ == State::ending ? end_reason_ : CloseReason::closed_by_peer);
    return;
  }
  if (state_ == State::open) {
    // The peer half-closed after its last request: answer it, then close.
    state_ = State::ending;
    end_reason_ = CloseReason::closed_by_peer;
    loop_->schedule_timer(timer_, end_timeout);
  }
  // flush() closes once the queue is written.
}

void Connection::end() {
  if (state_ != State::open) return;
  state_ = State::ending;
  end_reason_ = CloseReason::closed_locally;
  loop_->schedule_timer(timer_, end_timeout);
  if (queue_.empty()) {
    begin_linger();
  }
  // Otherwise flush() calls begin_linger() once the queue is empty.
}

void Connection::begin_linger() {
  if (peer_eof_) {
    finish_close(end_reason_);
    return;
  }
  // Half-close and keep reading until the peer's EOF: closing with unread bytes would
  // send a reset, and a reset can destroy the response the peer has not read yet.
  ::shutdown(fd_, SHUT_WR);
  if (reading_paused_) {
    reading_paused_ = false;
    if (!read_waiting_) post_read();
  }
}

void Connection::close(CloseReason reason) { finish_close(reason); }

void Connection::finish_close(CloseReason reason) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  timer_.cancel();
  // Closing the descriptor also takes it out of the loop's epoll set.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  queue_.clear();
  buffered_ = 0;
  if (protocol_) protocol_->on_close(*this, reason);
  loop_->schedule_reap(*this);
}

void Connection::set_timer(std::chrono::milliseconds delay) {
  if (state_ == State::open) loop_->schedule_timer(timer_, delay);
}

void Connection::on_timer_fired(void* self) {
  auto* connection = static_cast<Connection*>(self);
  if (connection->state_ == State::ending) {
    connection->finish_close(connection->end_reason_);
  } else if (connection->state_ == State::open && connection->protocol_) {
    connection->protocol_->on_timer(*connection);
  }
}

std::string Connection::remote_address() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (remote_v6_) {
    ::inet_ntop(AF_INET6, remote_ip_.data(), text, sizeof text);
  } else {
    ::inet_ntop(AF_INET, remote_ip_.data(), text, sizeof text);
  }
  return text;
}

}  // namespace switchboard::net

namespace switchboard::net {
void Protocol::on_shutdown(Connection& connection) { connection.close(CloseReason::server_shutdown); }
}  // namespace switchboard::net
