#include "eio/session.hpp"


#include "core/log.hpp"
#include "core/encoding.hpp"
#include "http/compression.hpp"

namespace switchboard::eio::detail {
namespace {

using namespace std::chrono_literals;

}  // namespace

// ---------------------------------------------------------------------------------
// Reply

void Reply::send(int status, std::string body, std::vector<std::pair<std::string, std::string>> extra) {
  auto respond = [response = response_, status, body = std::move(body), headers = headers_,
                  extra = std::move(extra)]() mutable {
    response.status(status);
    for (const auto& [name, value] : headers) response.header(name, value);
    for (const auto& [name, value] : extra) response.header(name, value);
    response.send(body);
  };
  home_->dispatch(std::move(respond));
}

void Reply::send_payload(std::string body, const ServerOptions& options) {
  std::vector<std::pair<std::string, std::string>> extra{{"Content-Type", "text/plain; charset=UTF-8"},
                                                         {"Cache-Control", "no-store"}};
  if (options.http_compression && body.size() >= options.http_compression_threshold && (gzip_ || deflate_)) {
    std::string compressed;
    if (http::compress(body, gzip_ ? http::ContentCoding::gzip : http::ContentCoding::deflate, compressed)) {
      extra.emplace_back("Content-Encoding", gzip_ ? "gzip" : "deflate");
      body = std::move(compressed);
    }
  }
  send(200, std::move(body), std::move(extra));
}

void Reply::send_ok() { send(200, "ok", {{"Content-Type", "text/html"}, {"Cache-Control", "no-store"}}); }

void Reply::send_error(int code, std::string_view message) {
  send(code == 4 ? 403 : 400, "{\"code\":" + std::to_string(code) + ",\"message\":" + core::json_quote(message) + "}",
       {{"Content-Type", "application/json"}});
}

// ---------------------------------------------------------------------------------
// Session

Session::Session(ServerState& server, net::Loop& loop, std::string id, Protocol protocol, Handshake handshake)
    : server_(server), loop_(&loop), handshake_(std::move(handshake)), protocol_(protocol) {
  if (id.size() > id_.size()) throw std::logic_error("eio::Session: a sid longer than make_sid's");
  std::copy(id.begin(), id.end(), id_.begin());
  id_size_ = static_cast<std::uint8_t>(id.size());
  auto b64 = handshake_.query_param("b64");
  base64_binary_ = b64 && (*b64 == "1" || *b64 == "true");
  server_.session_count.fetch_add(1, std::memory_order_relaxed);
  server_.stats[loop.index()].opened.add(1);
}

Session::~Session() {
  if (state_ != State::closed) {
    server_.session_count.fetch_sub(1, std::memory_order_relaxed);
    if (websocket_ || websocket_lost_) server_.stats[loop_->index()].websocket_closed.add(1);
  }
}

void Session::start_polling(Reply handshake_reply) {
  std::string payload;
  append_text_packet(payload, PacketType::open,
                     open_payload(id_view(), server_.options.allow_upgrades && server_.websocket_allowed(),
                                  static_cast<std::uint32_t>(server_.options.ping_interval.count()),
                                  static_cast<std::uint32_t>(server_.options.ping_timeout.count()),
                                  server_.options.max_http_buffer_size));
  if (protocol_ == Protocol::v3) {
    // v3 payloads carry lengths, even for the single open packet.
    std::string framed;
    append_payload_packet(framed, Packet{PacketType::open, false, std::string_view(payload).substr(1)}, protocol_, true);
    payload = std::move(framed);
  }
  handshake_reply.send_payload(std::move(payload), server_.options);
  schedule_ping();
}

void Session::start_websocket(ws::detail::Socket& socket) {
  websocket_ = &socket;
  server_.stats[loop_->index()].websocket_opened.add(1);
  std::string open;
  append_text_packet(open, PacketType::open,
                     open_payload(id_view(), false, static_cast<std::uint32_t>(server_.options.ping_interval.count()),
                                  static_cast<std::uint32_t>(server_.options.ping_timeout.count()),
                                  server_.options.max_http_buffer_size));
  socket.send_message(open, false, false);
  schedule_ping();
}

// --- sending ----------------------------------------------------------------------

bool Session::send_message(std::string_view data, bool binary) {
  if (state_ != State::open) return false;
  if (websocket_ && buffer_.empty() && !(binary && base64_binary_)) {
    // The hot path: straight into the WebSocket, "4" and the data framed as one.
    if (binary && protocol_ == Protocol::v4) {
      websocket_->send_parts({}, data, true, server_.options.per_message_deflate);
    } else if (binary) {
      websocket_->send_parts("\x04", data, true, server_.options.per_message_deflate);
    } else {
      websocket_->send_parts("4", data, false, server_.options.per_message_deflate);
    }
    return true;
  }
  queue(PacketType::message, data, binary);
  return true;
}

bool Session::send_shared(const SharedPacket& packet) {
  if (state_ != State::open) return false;
  if (websocket_ && buffer_.empty() && protocol_ == Protocol::v4 && !websocket_->deflate() &&
      !(packet.binary && base64_binary_)) {
    websocket_->send_shared(packet.websocket_frame);
    return true;
  }
  buffer_.push_back(Outgoing{PacketType::message, packet.binary, std::string(packet.data()), packet.websocket_frame});
  schedule_flush();
  return true;
}

void Session::queue(PacketType type, std::string_view data, bool binary) {
  buffer_.push_back(Outgoing{type, binary, std::string(data), {}});
  schedule_flush();
}

void Session::schedule_flush() {
  // Packets queued in one loop turn leave together: one polling response, or frames
  // corked into one write.
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  loop_->at_end_of_turn([self = shared_from_this()] {
    self->flush_scheduled_ = false;
    if (self->state_ == State::closed) return;
    if (self->websocket_) {
      auto packets = std::move(self->buffer_);
      self->buffer_.clear();
      for (const auto& packet : packets) self->write_websocket(packet);
    } else if (self->pending_get_ && !self->buffer_.empty()) {
      self->flush_poll();
    }
  });
}

void Session::write_websocket(const Outgoing& packet) {
  bool compress = server_.options.per_message_deflate;
  if (packet.binary && base64_binary_) {
    // A client that asked for b64=1 cannot take binary frames: "b<base64>" text.
    std::string text;
    bool binary_frame = false;
    append_frame_payload(text, Packet{packet.type, true, packet.data}, protocol_, binary_frame, true);
    websocket_->send_message(text, binary_frame, compress);
    return;
  }
  if (packet.frame && protocol_ == Protocol::v4 && !websocket_->deflate()) {
    websocket_->send_shared(packet.frame);
    return;
  }
  if (packet.type == PacketType::message && packet.binary) {
    websocket_->send_parts(protocol_ == Protocol::v4 ? std::string_view() : std::string_view("\x04", 1), packet.data,
                           true, compress);
    return;
  }
  char type = static_cast<char>('0' + static_cast<int>(packet.type));
  websocket_->send_parts({&type, 1}, packet.data, false, compress);
}

void Session::flush_poll(std::optional<PacketType> fallback) {
  if (!pending_get_) return;
  std::string payload;
  bool first = true;
  for (const auto& packet : buffer_) {
    append_payload_packet(payload, Packet{packet.type, packet.binary, packet.data}, protocol_, first);
    first = false;
  }
  buffer_.clear();
  if (first) {
    if (!fallback) return;  // nothing to say: keep the request open
    append_payload_packet(payload, Packet{*fallback, false, {}}, protocol_, true);
  }
  Reply reply = std::move(*pending_get_);
  pending_get_.reset();
  reply.send_payload(std::move(payload), server_.options);
}

bool Session::can_write() const noexcept {
  if (state_ != State::open) return false;
  if (websocket_) return websocket_->buffered() < 64 * 1024;
  return pending_get_ && buffer_.empty();
}

std::size_t Session::buffered() const noexcept {
  if (websocket_) return websocket_->buffered();
  return buffer_.size();
}

// --- polling ----------------------------------------------------------------------

void Session::on_poll(Reply reply) {
  if (state_ == State::closed && awaiting_last_poll_) {
    // The last GET of a closed session: what the close left to deliver (packets queued
    // before a forced close and the close packet), or the noop a GET that raced the
    // client's own close packet would have had.
    awaiting_last_poll_ = false;
    cancel_upgrade_or_linger();
    pending_get_ = std::make_unique<Reply>(std::move(reply));
    flush_poll(PacketType::noop);
    forget();  // may free this session
    return;
  }
  if (timed_out()) {
    reply.send_error(1, "Session ID unknown");
    return;
  }
  if (websocket_) {
    // Upgraded: polling is over for this session.
    reply.send_error(3, "Bad request");
    return;
  }
  if (pending_get_) {
    // §"Receiving data": one GET at a time; a second one closes the session. The
    // pending one gets a close packet, this one a 400.
    reply.send_error(3, "Bad request");
    close("transport error");
    return;
  }
  pending_get_ = std::make_unique<Reply>(std::move(reply));
  if (!buffer_.empty()) {
    flush_poll();
  } else if (probed_) {
    // Upgrading: release the poll at once so the client can finish the upgrade.
    flush_poll(PacketType::noop);
  }
}

void Session::on_poll_aborted(std::uint64_t reply_id) {
  // The client gave up a pending GET (closed its connection): the session is gone for
  // it, as for Node's engine.io.
  if (pending_get_ && pending_get_->id() == reply_id) {
    pending_get_.reset();
    close("transport error");  // Node: "poll connection closed prematurely"
  }
}

void Session::on_post(std::string_view body, bool binary_content, Reply reply) {
  if (timed_out()) {
    reply.send_error(1, "Session ID unknown");
    return;
  }
  if (websocket_) {
    reply.send_error(3, "Bad request");
    return;
  }
  // v4 payloads are text (binary goes base64); a binary body is a client bug. v3 has a
  // binary payload format, which the codec tells apart by its first byte.
  bool valid = !(binary_content && protocol_ == Protocol::v4);
  if (valid) {
    thread_local std::string scratch;
    auto self = shared_from_this();  // a packet may close the session
    valid = decode_payload(body, protocol_, PayloadLimits{}, scratch, [this](const Packet& packet) {
      on_packet(packet);
      return state_ == State::open;
    });
  }
  if (!valid) {
    reply.send_error(3, "Bad request");
    close("parse error");
    return;
  }
  reply.send_ok();
}

// --- WebSocket --------------------------------------------------------------------

void Session::on_probe_socket(ws::detail::Socket& socket) {
  if (state_ != State::open || websocket_ || probe_) {
    // One WebSocket per session: a second one is accepted and closed.
    socket.start_close(1000, {});
    return;
  }
  probe_ = &socket;
  arm_upgrade_or_linger(server_.options.upgrade_timeout);
}

void Session::on_websocket_message(ws::detail::Socket& socket, std::string_view payload, bool binary) {
  thread_local std::string scratch;  // binary sent as base64 text ("b..."), forceBase64 clients
  auto packet = decode_frame(payload, binary, protocol_, scratch);
  if (&socket == probe_) {
    if (packet && packet->type == PacketType::ping && packet->data == "probe" && !probed_) {
      probed_ = true;
      socket.send_message("3probe", false, false);
      // Release a pending GET so that the client can pause polling.
      if (pending_get_) flush_poll(PacketType::noop);
    } else if (packet && packet->type == PacketType::upgrade && probed_) {
      finish_upgrade();
    } else {
      abandon_probe();
    }
    return;
  }
  if (&socket != websocket_ || timed_out()) return;
  if (!packet) {
    close("parse error");
    return;
  }
  on_packet(*packet);
}

void Session::finish_upgrade() {
  upgrade_or_linger_timer_.reset();  // (not called from the timer's own callback)
  // A GET still pending gets a noop; from here every packet goes by WebSocket, in the
  // order queued.
  if (pending_get_) flush_poll(PacketType::noop);
  websocket_ = probe_;
  probe_ = nullptr;
  server_.stats[loop_->index()].websocket_opened.add(1);
  probed_ = false;
  auto packets = std::move(buffer_);
  buffer_.clear();
  for (const auto& packet : packets) write_websocket(packet);
  if (server_.on_upgrade) server_.on_upgrade(*this);
}

void Session::abandon_probe() {
  cancel_upgrade_or_linger();
  ws::detail::Socket* probe = std::exchange(probe_, nullptr);
  probed_ = false;
  if (probe) probe->start_close(1000, {});
}

void Session::arm_upgrade_or_linger(std::chrono::milliseconds delay) {
  if (!upgrade_or_linger_timer_) {
    upgrade_or_linger_timer_ = std::make_unique<net::TimerWheel::Timer>(&Session::on_upgrade_or_linger_timer, this);
  }
  loop_->schedule_timer(*upgrade_or_linger_timer_, delay);
}

void Session::cancel_upgrade_or_linger() {
  if (upgrade_or_linger_timer_) upgrade_or_linger_timer_->cancel();
}

void Session::on_upgrade_or_linger_timer(void* self) {
  auto* session = static_cast<Session*>(self);
  if (session->state_ == State::open) {
    log::debug({.component = "eio", .sid = session->id_view()}, "no upgrade packet within the upgrade timeout");
    session->abandon_probe();
    return;
  }
  session->awaiting_last_poll_ = false;
  session->forget();  // may free it
}

void Session::on_websocket_closed(ws::detail::Socket& socket) {
  if (&socket == probe_) {
    cancel_upgrade_or_linger();
    probe_ = nullptr;
    probed_ = false;
    return;
  }
  if (&socket == websocket_) {
    websocket_ = nullptr;  // gone: nothing more can be written to it
    websocket_lost_ = true;
    close("transport close");
  }
}

void Session::on_websocket_drain(ws::detail::Socket& socket) {
  if (&socket == websocket_ && server_.on_drain) server_.on_drain(*this);
}

// --- packets and the heartbeat ----------------------------------------------------

void Session::on_packet(const Packet& packet) {
  if (state_ != State::open) return;
  switch (packet.type) {
    case PacketType::message:
      if (server_.on_message) server_.on_message(*this, packet.data, packet.binary);
      break;
    case PacketType::pong:
      if (protocol_ == Protocol::v3) {
        close("transport error");  // v3 clients ping; they never pong
        return;
      }
      schedule_ping();
      break;
    case PacketType::ping:
      if (protocol_ == Protocol::v4) {
        // v4 reversed the heartbeat: the server pings (v4-current.md, "From v3 to v4").
        close("transport error");
        return;
      }
      queue(PacketType::pong, packet.data);
      expect_pong_by(loop_->now() + server_.options.ping_interval + server_.options.ping_timeout);
      break;
    case PacketType::close:
      close("transport close");
      break;
    case PacketType::open:
    case PacketType::upgrade:
    case PacketType::noop:
      break;
  }
}

void Session::schedule_ping() {
  if (protocol_ == Protocol::v3) {
    // v3: the client pings every pingInterval; silence for interval + timeout ends it.
    expect_pong_by(loop_->now() + server_.options.ping_interval + server_.options.ping_timeout);
    return;
  }
  awaiting_pong_ = false;
  ping_due_ = loop_->now() + server_.options.ping_interval;
  loop_->schedule_timer_at(heartbeat_timer_, ping_due_);
}

void Session::expect_pong_by(net::TimerWheel::Clock::time_point deadline) {
  awaiting_pong_ = true;
  pong_deadline_ = deadline;
  loop_->schedule_timer_at(heartbeat_timer_, deadline);
}

void Session::on_heartbeat_timer(void* self) {
  auto* session = static_cast<Session*>(self);
  if (session->state_ != State::open) return;
  if (session->awaiting_pong_) {
    session->close("ping timeout");
    return;
  }
  session->queue(PacketType::ping);
  // Measured from when the ping was due when it goes out on time (a tick's lateness
  // must not give a silent client longer than Node's timers would), but from when it
  // goes out when the loop was stalled: a client cannot answer a ping it has not had.
  auto sent = session->loop_->now() - std::chrono::milliseconds(2);
  session->expect_pong_by(std::max(session->ping_due_, sent) + session->server_.options.ping_timeout);
}

bool Session::timed_out() {
  // The timer fires on the next tick after the deadline; a request that arrives in
  // between must already find the session gone, as it would with Node's timers.
  if (state_ == State::open && awaiting_pong_ && heartbeat_timer_.armed() &&
      net::TimerWheel::Clock::now() >= pong_deadline_) {
    close("ping timeout");
  }
  return state_ != State::open;
}

// --- closing ------------------------------------------------------------------------

void Session::close_by_server() { close("forced close"); }

void Session::forget() {
  // By iterator: the key is a view of this session's id, which the erase may free.
  auto& sessions = server_.threads[loop_->index()].by_id;
  auto it = sessions.find(id_view());
  if (it != sessions.end() && it->second.get() == this) sessions.erase(it);
}

void Session::close(std::string_view reason) {
  if (state_ == State::closed) return;
  auto self = shared_from_this();  // the thread's map may hold the last reference
  state_ = State::closed;
  heartbeat_timer_.cancel();
  cancel_upgrade_or_linger();
  std::string why(reason);
  // What is queued goes out before the transport closes ("forced close" flushes).
  if (websocket_lost_) {
    buffer_.clear();
  } else if (websocket_) {
    if (why == "forced close" || why == "server shutting down") {
      auto packets = std::move(buffer_);
      for (const auto& packet : packets) write_websocket(packet);
    }
    buffer_.clear();
    ws::detail::Socket* socket = std::exchange(websocket_, nullptr);
    socket->start_close(why == "server shutting down" ? 1001 : 1000, {});
  } else {
    // The pending GET learns of the end: a client's own close packet gets a noop (its
    // transport is closing anyway), everything else a close packet — after what was
    // queued, when the server closes.
    bool flush = why == "forced close" || why == "server shutting down";
    if (!flush) buffer_.clear();
    if (why == "transport close") {
      // The client closed: its transport is going anyway, a noop releases the poll.
      if (pending_get_) flush_poll(PacketType::noop);
      else awaiting_last_poll_ = true;  // a GET it sent earlier may still be on its way
    } else if (flush) {
      // What was queued, then the close packet in a later response, as Node's polling
      // transport does (it waits for "drain"): a client that defers handling a packet
      // (socket.io-client decodes on the next tick) must see it before the close.
      if (pending_get_ && !buffer_.empty()) flush_poll();
      buffer_.push_back(Outgoing{PacketType::close, false, {}, {}});
      if (pending_get_) flush_poll();
      else awaiting_last_poll_ = true;
    } else if (pending_get_) {
      buffer_.push_back(Outgoing{PacketType::close, false, {}, {}});
      flush_poll();
    }
    if (!awaiting_last_poll_) buffer_.clear();
  }
  abandon_probe();
  server_.session_count.fetch_sub(1, std::memory_order_relaxed);  // closed, even if it lingers
  if (websocket_ || websocket_lost_) server_.stats[loop_->index()].websocket_closed.add(1);
  if (awaiting_last_poll_) {
    // Stays findable for the client's next GET (see on_poll): a moment for one that
    // raced the client's own close packet, longer for the close packet to deliver.
    arm_upgrade_or_linger(why == "transport close" ? std::chrono::seconds(1) : std::chrono::seconds(10));
  } else {
    forget();
  }
  log::debug({.component = "eio", .sid = id_view()}, "session closed: {}", why);
  if (server_.on_close) {
    try {
      server_.on_close(*this, why);
    } catch (const std::exception& e) {
      log::error({.component = "eio", .sid = id_view()}, "Engine.IO close handler threw: {}", e.what());
    }
  }
}

}  // namespace switchboard::eio::detail

// ---------------------------------------------------------------------------------
// The public handle is the session itself.

namespace switchboard::eio {
namespace {
detail::Session& impl(Socket* s) { return *static_cast<detail::Session*>(s); }
const detail::Session& impl(const Socket* s) { return *static_cast<const detail::Session*>(s); }
}  // namespace

std::string_view Socket::id() const noexcept { return impl(this).id_view(); }
std::string_view Socket::transport() const noexcept { return impl(this).transport_name(); }
int Socket::protocol() const noexcept { return static_cast<int>(impl(this).protocol_version()); }
const Handshake& Socket::handshake() const noexcept { return impl(this).handshake_data(); }
bool Socket::send(std::string_view data, bool binary) { return impl(this).send_message(data, binary); }
bool Socket::send(const SharedPacket& packet) { return impl(this).send_shared(packet); }
void Socket::close() { impl(this).close_by_server(); }
bool Socket::open() const noexcept { return impl(this).is_open(); }
std::size_t Socket::buffered_amount() const noexcept { return impl(this).buffered(); }
bool Socket::writable() const noexcept { return impl(this).can_write(); }
std::any& Socket::user_data() noexcept { return impl(this).data(); }

}  // namespace switchboard::eio
