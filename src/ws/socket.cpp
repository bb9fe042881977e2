#include "ws/socket.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>


#include "core/log.hpp"
#include "core/utf8.hpp"
#include "net/loop.hpp"
#include "ws/hub.hpp"

namespace switchboard::ws::detail {
namespace {

using namespace std::chrono;

std::int64_t now_ms() {
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Payloads up to this size are copied behind their frame header, so header and payload
// leave as one piece; larger ones are queued separately (no second copy).
constexpr std::size_t inline_payload = 4096;

SendStatus to_send_status(net::WriteStatus status) {
  switch (status) {
    case net::WriteStatus::accepted: return SendStatus::sent;
    case net::WriteStatus::backpressure: return SendStatus::queued;
    case net::WriteStatus::dropped: return SendStatus::dropped;
  }
  return SendStatus::dropped;
}

// The longest prefix of `reason` that fits a close frame (§5.5: 125 bytes with the
// 2-byte code) and does not cut a UTF-8 sequence.
std::string_view fit_close_reason(std::string_view reason) {
  if (reason.size() <= 123) return reason;
  std::size_t n = 123;
  while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
  return reason.substr(0, n);
}

}  // namespace

Deflater& shared_deflater(int window_bits, int level, int mem_level) {
  thread_local std::map<std::tuple<int, int, int>, std::unique_ptr<Deflater>> deflaters;
  auto& slot = deflaters[{window_bits, level, mem_level}];
  if (!slot) slot = std::make_unique<Deflater>(window_bits, level, mem_level, false);
  return *slot;
}

Socket::Socket(net::Connection& connection, const Route& route, std::any user_data, std::string protocol,
               std::optional<DeflateParams> deflate)
    : connection_(&connection),
      route_(route),
      deflate_(deflate ? std::unique_ptr<DeflateState>(new DeflateState{
                             *deflate, route.deflate->threshold,
                             Inflater(deflate->client_max_window_bits, !deflate->client_no_context_takeover),
                             nullptr, route.deflate->level, route.deflate->mem_level})
                       : nullptr),
      reader_(ReaderOptions{Role::server, route.behavior.max_message_size,
                            deflate_ ? &deflate_->inflater : nullptr}),
      user_data_(std::move(user_data)) {
  if (!protocol.empty()) extras().protocol = std::move(protocol);
  if (deflate_ && !deflate_->params.server_no_context_takeover) {
    deflate_->own_deflater = std::make_unique<Deflater>(deflate_->params.server_max_window_bits,
                                                        deflate_->level, deflate_->mem_level, true);
  }
  net::WriteLimits limits;
  limits.high_water = static_cast<std::uint32_t>(std::min<std::size_t>(route.behavior.high_water, UINT32_MAX));
  limits.hard_limit = static_cast<std::uint32_t>(std::min<std::size_t>(route.behavior.max_backpressure, UINT32_MAX));
  connection.set_write_limits(limits);
}

Socket::~Socket() = default;

template <class Fn>
void Socket::guarded(const char* what, Fn&& fn) {
  // An application callback that throws closes its own socket (1011), not the server.
  try {
    fn();
  } catch (const std::exception& e) {
    log::error({.component = "ws", .conn = peer()}, "{} handler threw: {}; closing the socket with 1011", what,
               e.what());
    fail(close_code::internal_error);
  }
}

void Socket::opened() {
  last_received_ms_ = now_ms();
  schedule_heartbeat();
  if (route_.behavior.open) guarded("open", [&] { route_.behavior.open(*this); });
}

void Socket::on_data(net::Connection&, std::span<std::byte> bytes) {
  last_received_ms_ = now_ms();
  ping_outstanding_ = false;
  if (std::uint16_t code = reader_.feed(bytes, *this)) fail(code);
}

void Socket::on_message(std::string_view payload, bool binary) {
  if (state_ != State::open) return;  // §7.1.4: after our close, data is discarded
  if (route_.behavior.message) guarded("message", [&] { route_.behavior.message(*this, payload, binary); });
}

void Socket::on_ping(std::string_view payload) {
  if (state_ != State::open) return;
  write_frame(Opcode::pong, payload, false);  // §5.5.2
  if (route_.behavior.ping) guarded("ping", [&] { route_.behavior.ping(*this, payload); });
}

void Socket::on_pong(std::string_view payload) {
  if (state_ != State::open) return;
  if (route_.behavior.pong) guarded("pong", [&] { route_.behavior.pong(*this, payload); });
}

void Socket::on_close(std::uint16_t code, std::string_view reason) {
  reader_.stop();
  close_code_ = code;
  extras().close_reason = std::string(reason);
  if (state_ == State::open) {
    // §5.5.1: answer with a close frame, echoing the status code; then, as the
    // server, close the TCP connection first (§7.1.1).
    write_close(code == close_code::no_status ? 0 : code, {});
  }
  state_ = State::closed;
  connection_->end();
}

void Socket::fail(std::uint16_t code) {
  // §7.1.7 "Fail the WebSocket Connection": send a close frame with the reason, then
  // close without waiting for the peer's.
  reader_.stop();
  if (!connection_) return;
  if (state_ == State::open) {
    write_close(code, {});
    close_code_ = code;
    if (extras_) extras_->close_reason.clear();
  }
  state_ = State::closed;
  connection_->end();
}

void Socket::start_close(std::uint16_t code, std::string_view reason) {
  if (state_ != State::open || !connection_) return;
  if (!is_valid_close_code(code)) code = 0;  // an app's 1005/1006 cannot go on the wire
  write_close(code, reason);
  state_ = State::closing;
  close_code_ = code ? code : close_code::no_status;
  extras().close_reason = std::string(fit_close_reason(reason));
  connection_->set_timer(route_.behavior.close_timeout);
}

void Socket::terminate() {
  if (connection_) connection_->close();
}

void Socket::write_close(std::uint16_t code, std::string_view reason) {
  if (code == 0) {
    write_frame(Opcode::close, {}, false);
    return;
  }
  reason = fit_close_reason(reason);
  char payload[125];
  payload[0] = static_cast<char>(code >> 8);
  payload[1] = static_cast<char>(code & 0xff);
  if (!reason.empty()) std::memcpy(payload + 2, reason.data(), reason.size());
  write_frame(Opcode::close, {payload, reason.size() + 2}, false);
}

void Socket::send_ping(std::string_view payload) {
  if (state_ != State::open) return;
  write_frame(Opcode::ping, payload.substr(0, 125), false);
}

net::WriteStatus Socket::write_frame(Opcode opcode, std::string_view payload, bool rsv1) {
  return write_frame(opcode, {}, payload, rsv1);
}

net::WriteStatus Socket::write_frame(Opcode opcode, std::string_view head, std::string_view body, bool rsv1) {
  if (!connection_ || connection_->closing()) return net::WriteStatus::dropped;
  std::size_t length = head.size() + body.size();
  std::size_t inline_size = length <= inline_payload ? length : head.size();
  std::byte* out = connection_->reserve_write(max_frame_header_size + inline_size);
  std::size_t header = write_frame_header(out, opcode, length, true, rsv1);
  if (!head.empty()) std::memcpy(out + header, head.data(), head.size());
  if (inline_size == length) {
    if (!body.empty()) std::memcpy(out + header + head.size(), body.data(), body.size());
    return connection_->commit_write(header + length);
  }
  connection_->commit_write(header + head.size());
  return connection_->write(body);
}

Deflater& Socket::deflater() {
  if (deflate_->own_deflater) return *deflate_->own_deflater;
  return shared_deflater(deflate_->params.server_max_window_bits, deflate_->level, deflate_->mem_level);
}

SendStatus Socket::send_message(std::string_view message, bool binary, bool compress) {
  return send_parts({}, message, binary, compress);
}

SendStatus Socket::send_parts(std::string_view head, std::string_view body, bool binary, bool compress) {
  if (state_ != State::open) return SendStatus::dropped;
  Opcode opcode = binary ? Opcode::binary : Opcode::text;
  if (compress && deflate_ && head.size() + body.size() >= deflate_->threshold) {
    thread_local std::string whole, compressed;
    std::string_view message = body;
    if (!head.empty()) {
      whole.assign(head);
      whole.append(body);
      message = whole;
    }
    compressed.clear();
    deflater().compress(message, compressed);
    auto status = to_send_status(write_frame(opcode, {}, compressed, true));
    if (compressed.capacity() > 1024 * 1024) std::string().swap(compressed);
    if (whole.capacity() > 1024 * 1024) std::string().swap(whole);
    return status;
  }
  return to_send_status(write_frame(opcode, head, body, false));
}

SendStatus Socket::send_shared(const SharedBuffer& frame) {
  if (state_ != State::open || !connection_) return SendStatus::dropped;
  return to_send_status(connection_->write(frame));
}

void Socket::on_drain(net::Connection&) {
  if (state_ == State::open && route_.behavior.drain) guarded("drain", [&] { route_.behavior.drain(*this); });
}

void Socket::schedule_heartbeat() {
  auto idle = duration_cast<milliseconds>(route_.behavior.idle_timeout).count();
  if (idle <= 0 || !connection_) return;
  std::int64_t silent = now_ms() - last_received_ms_;
  std::int64_t due = (ping_outstanding_ || !route_.behavior.send_pings ? idle : idle / 2) - silent;
  connection_->set_timer(milliseconds(std::max<std::int64_t>(due, 1)));
}

void Socket::on_timer(net::Connection&) {
  if (state_ == State::closing) {
    // The peer did not answer our close frame in time.
    connection_->close();
    return;
  }
  if (state_ != State::open) return;
  auto idle = duration_cast<milliseconds>(route_.behavior.idle_timeout).count();
  std::int64_t silent = now_ms() - last_received_ms_;
  if (silent >= idle) {
    if (log::enabled(spdlog::level::debug)) {
      log::debug({.component = "ws", .conn = peer()}, "silent for {} ms, dropping it", silent);
    }
    extras().close_reason = "idle timeout";
    connection_->close();
    return;
  }
  if (silent >= idle / 2) {
    // Silent for half the idle timeout: ask whether it is still there. A peer that is
    // sending is never pinged.
    if (route_.behavior.send_pings && !ping_outstanding_) {
      write_frame(Opcode::ping, {}, false);
      ping_outstanding_ = true;
    }
    // An idle socket whose client drops its window between messages needs no inflate
    // state until its next compressed message.
    if (deflate_ && deflate_->params.client_no_context_takeover && reader_.buffered_bytes() == 0) {
      deflate_->inflater.release();
    }
  }
  schedule_heartbeat();
}

void Socket::on_close(net::Connection&, net::CloseReason reason) {
  state_ = State::closed;
  while (extras_ && !extras_->topics.empty()) unsubscribe(extras_->topics.back()->name);
  if (reason == net::CloseReason::slow_consumer) {
    close_code_ = close_code::abnormal;
    extras().close_reason = "slow consumer";
  }
  if (route_.behavior.close) {
    try {
      route_.behavior.close(*this, close_code_, extras_ ? std::string_view(extras_->close_reason) : std::string_view{});
    } catch (const std::exception& e) {
      log::error({.component = "ws", .conn = peer()}, "close handler threw: {}", e.what());
    }
  }
  connection_ = nullptr;
}

void Socket::on_shutdown(net::Connection&) { start_close(close_code::going_away, "server shutting down"); }

bool Socket::subscribe(std::string_view name) {
  if (state_ == State::closed || is_subscribed(name)) return false;
  auto& topics = route_.hub->local().topics;
  auto it = topics.find(std::string(name));
  if (it == topics.end()) {
    auto topic = std::make_unique<Topic>();
    topic->name = std::string(name);
    it = topics.emplace(topic->name, std::move(topic)).first;
  }
  it->second->subscribers.push_back(this);
  extras().topics.push_back(it->second.get());
  return true;
}

bool Socket::unsubscribe(std::string_view name) {
  if (!extras_) return false;
  auto& joined = extras_->topics;
  auto mine = std::find_if(joined.begin(), joined.end(), [&](Topic* t) { return t->name == name; });
  if (mine == joined.end()) return false;
  Topic* topic = *mine;
  *mine = joined.back();
  joined.pop_back();
  auto& subscribers = topic->subscribers;
  auto self = std::find(subscribers.begin(), subscribers.end(), this);
  if (self != subscribers.end()) {
    *self = subscribers.back();
    subscribers.pop_back();
  }
  if (subscribers.empty()) route_.hub->local().topics.erase(topic->name);
  return true;
}

bool Socket::is_subscribed(std::string_view name) const {
  return extras_ && std::any_of(extras_->topics.begin(), extras_->topics.end(), [&](Topic* t) { return t->name == name; });
}

void Socket::publish(std::string_view topic, std::string_view message, bool binary) {
  route_.hub->publish(topic, message, binary, this);
}

std::string Socket::peer() const {
  return connection_ ? log::peer_name(connection_->remote_address(), connection_->remote_port()) : std::string();
}

}  // namespace switchboard::ws::detail

namespace switchboard::ws {

// The public handle is the socket itself.
namespace {
detail::Socket& impl(WebSocket* ws) { return *static_cast<detail::Socket*>(ws); }
const detail::Socket& impl(const WebSocket* ws) { return *static_cast<const detail::Socket*>(ws); }
}  // namespace

SendStatus WebSocket::send(std::string_view message, bool binary, bool compress) {
  return impl(this).send_message(message, binary, compress);
}
void WebSocket::close(std::uint16_t code, std::string_view reason) { impl(this).start_close(code, reason); }
void WebSocket::terminate() { impl(this).terminate(); }
void WebSocket::ping(std::string_view payload) { impl(this).send_ping(payload); }
bool WebSocket::subscribe(std::string_view topic) { return impl(this).subscribe(topic); }
bool WebSocket::unsubscribe(std::string_view topic) { return impl(this).unsubscribe(topic); }
bool WebSocket::is_subscribed(std::string_view topic) const { return impl(this).is_subscribed(topic); }
void WebSocket::publish(std::string_view topic, std::string_view message, bool binary) {
  impl(this).publish(topic, message, binary);
}
std::size_t WebSocket::buffered_amount() const noexcept { return impl(this).buffered(); }
std::string WebSocket::remote_address() const { return impl(this).address(); }
std::string_view WebSocket::protocol() const noexcept { return impl(this).subprotocol(); }
std::any& WebSocket::user_data() noexcept { return impl(this).data(); }

}  // namespace switchboard::ws
