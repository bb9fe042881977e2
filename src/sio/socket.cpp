// Socket.IO sockets: one client's connection to one namespace.

#include <ctime>
#include <stdexcept>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "core/log.hpp"
#include "core/encoding.hpp"
#include "http/url.hpp"
#include "sio/state.hpp"

namespace switchboard::sio {
namespace detail {
Args event_args(std::string_view event, Args args) {
  // In place: arguments that came from a packet (args_of) still have the room their
  // event name took, so an echo allocates nothing here.
  args.values.emplace(args.values.begin(), boost::json::string(event, args.values.storage()));
  return args;
}

Packet data_packet(std::string_view nsp, Args data, std::optional<std::uint64_t> id) {
  Packet packet;
  packet.nsp = std::string(nsp);
  packet.id = id;
  packet.data = std::move(data.values);
  packet.attachments = std::move(data.binaries);
  packet.type = packet.attachments.empty() ? PacketType::event : PacketType::binary_event;
  return packet;
}

namespace {

// The arguments of an event packet ([event, args...]) or of an ack packet ([args...]).
Args args_of(Packet& packet, std::size_t skip) {
  // The packet's own array, its first `skip` elements erased: no copy, and its capacity
  // stays for an event name put back in front (event_args).
  auto& array = packet.data.as_array();
  array.erase(array.begin(), array.begin() + static_cast<std::ptrdiff_t>(std::min(skip, array.size())));
  Args args;
  args.values = std::move(array);
  args.binaries = std::move(packet.attachments);
  return args;
}

}  // namespace

// 88 bits: public (it names the socket's own room and travels to other clients), so
// it only has to be unique, and 15 characters stay inside std::string's own buffer.
std::string make_socket_id() { return core::random_base64url(11); }

std::string make_private_id() { return core::random_base64url(16); }

SocketImpl::SocketImpl(Client& client, std::shared_ptr<NamespaceState> nsp, Handshake handshake,
                       std::optional<SessionStore::Session>* restored)
    : client_(client), nsp_(std::move(nsp)), handshake_(std::move(handshake)) {
  if (restored && *restored) {
    // The same id and pid as before the drop; the rooms are joined on connect.
    id_ = (*restored)->sid;
    if (!(*restored)->pid.empty()) rare().pid = (*restored)->pid;
    data_ = std::move((*restored)->data);
    recovered_ = true;
    return;
  }
  id_ = make_socket_id();
  if (nsp_->recovery) rare().pid = make_private_id();
}

SocketImpl::~SocketImpl() {
  if (alive_) *alive_ = nullptr;
}

log::Fields SocketImpl::log_fields() const noexcept {
  return {.component = "sio", .sid = client_.conn().id(), .socket = id_, .nsp = nsp_->name};
}

void SocketImpl::on_connected() {
  connected_ = true;
  nsp_->count.fetch_add(1, std::memory_order_relaxed);
  join_room(id_);  // every socket is in the room of its own id
  Packet reply;
  reply.type = PacketType::connect;
  reply.nsp = nsp_->name;
  boost::json::object data;
  data["sid"] = id_;
  if (rare_ && !rare_->pid.empty()) data["pid"] = rare_->pid;  // only with recovery on (reference §2.1)
  reply.data = std::move(data);
  client_.send(reply);
}

bool SocketImpl::emit_event(std::string_view event, Args args, std::optional<std::uint64_t> ack_id) {
  if (!connected_ || !client_.open()) return false;
  if (nsp_->server->observes_events) {
    for (const SocketObserver& o : nsp_->server->observers) {
      if (o.event_sent) o.event_sent(*this, event, args);
    }
  }
  if (rare_) {
    for (auto& handler : rare_->any_outgoing) handler(*this, event, args);
  }
  Args data = event_args(event, std::move(args));
  // With recovery on, a private emit without an ack is numbered and kept like a
  // broadcast to the socket's own room (reference §2.2).
  if (nsp_->recovery && !ack_id) nsp_->recovery->record({id_}, {}, data);
  client_.send(data_packet(nsp_->name, std::move(data), ack_id));
  return true;
}

void SocketImpl::emit_with_ack_impl(std::string_view event, Args args, std::chrono::milliseconds timeout,
                                    AckCallback callback) {
  std::uint64_t id = nsp_->next_ack_id.fetch_add(1, std::memory_order_relaxed);
  if (!emit_event(event, std::move(args), id)) {
    if (callback) callback(std::nullopt);
    return;
  }
  PendingAck pending;
  pending.callback = std::move(callback);
  pending.timer = std::make_unique<AckTimer>(this, id);
  net::Loop::current()->schedule_timer(pending.timer->timer, timeout);
  waiting().acks.emplace(id, std::move(pending));
}

void SocketImpl::AckTimer::fire(void* self) {
  auto* timer = static_cast<AckTimer*>(self);
  // Erasing the pending ack destroys this timer; it has already left the wheel.
  timer->socket->ack_timed_out(timer->id);
}

std::uint64_t SocketImpl::set_timeout(std::chrono::milliseconds delay, std::function<void(Socket&)> fn) {
  if (closed_) return 0;
  net::Loop* loop = net::Loop::current();
  if (!loop) throw std::logic_error("Socket::set_timeout: call it on the socket's loop");
  Waiting& waiting = this->waiting();
  const std::uint64_t id = ++waiting.next_timeout_id;
  auto timeout = std::make_unique<Timeout>(this, id, std::move(fn));
  loop->schedule_timer(timeout->timer, delay);
  waiting.timeouts.emplace(id, std::move(timeout));
  return id;
}

void SocketImpl::Timeout::fire(void* self) {
  auto* timeout = static_cast<Timeout*>(self);
  SocketImpl& socket = *timeout->socket;
  // Out of the table first (it has already left the wheel): `fn` may set or clear
  // timeouts, or close the socket, whose memory lasts until the end of this turn.
  auto node = socket.waiting_if_any()->timeouts.extract(timeout->id);
  if (node.empty() || socket.closed_) return;
  auto fn = std::move(timeout->fn);
  fn(socket);
}

void SocketImpl::ack_timed_out(std::uint64_t id) {
  Waiting* waiting = waiting_if_any();
  auto it = waiting->acks.find(id);
  if (it == waiting->acks.end()) return;
  auto callback = std::move(it->second.callback);
  waiting->acks.erase(it);
  if (callback) callback(std::nullopt);
}

void SocketImpl::expect_ack(std::uint64_t id, std::function<void(std::optional<Args>)> settle) {
  PendingAck pending;
  pending.callback = std::move(settle);
  waiting().acks.emplace(id, std::move(pending));
}

Ack SocketImpl::make_ack(std::uint64_t id) {
  Ack ack;
  // The socket may be gone when an asynchronous handler answers: the weak pointer to
  // the client (and the socket's presence in it) decides.
  // It may answer from any thread: the answer is sent from the client's loop.
  ack.send_ = [loop = net::Loop::current(), weak = std::weak_ptr<Client>(client_.shared_from_this()),
               nsp = nsp_->name, id, sent = std::make_shared<bool>(false)](Args args) {
    loop->dispatch([weak, nsp, id, sent, args = std::move(args)]() mutable {
      auto client = weak.lock();
      if (!client || *sent || !client->open()) return;
      *sent = true;
      Packet packet;
      packet.nsp = nsp;
      packet.id = id;
      packet.data = std::move(args.values);
      packet.attachments = std::move(args.binaries);
      packet.type = packet.attachments.empty() ? PacketType::ack : PacketType::binary_ack;
      client->send(packet);
    });
  };
  return ack;
}

void SocketImpl::on_packet(Packet& packet) {
  if (!connected_) return;
  switch (packet.type) {
    case PacketType::event:
    case PacketType::binary_event: {
      auto& array = packet.data.as_array();
      // The name out of the array first (moved: args_of erases it from there).
      boost::json::string name = array[0].is_string() ? std::move(array[0].as_string())
                                                      // not a string: as Node's String(name)
                                                      : boost::json::string(boost::json::serialize(array[0]));
      std::string_view event = name;
      Args args = args_of(packet, 1);
      // Catch-all listeners (the server's observers first) see every incoming event,
      // before the packet middleware (Node's onevent calls them first, so they see
      // dropped events too).
      if (nsp_->server->observes_events || (rare_ && !rare_->any.empty())) {
        try {
          if (nsp_->server->observes_events) {
            for (const SocketObserver& o : nsp_->server->observers) {
              if (o.event_received) o.event_received(*this, event, args);
            }
          }
          if (rare_) {
            for (auto& handler : rare_->any) handler(*this, event, args);
          }
        } catch (const std::exception& e) {
          log::error(log_fields(), "catch-all handler threw: {}", e.what());
        }
        if (closed_) break;
      }
      if (rare_ && !rare_->middlewares.empty()) {
        run_packet_middlewares(0, std::string(event), std::make_shared<Args>(std::move(args)), packet.id);
      } else {
        dispatch(event, args, packet.id);
      }
      break;
    }
    case PacketType::ack:
    case PacketType::binary_ack: {
      Waiting* waiting = waiting_if_any();
      if (!packet.id || !waiting) return;
      auto it = waiting->acks.find(*packet.id);
      if (it == waiting->acks.end()) return;  // unknown or timed out: dropped, as Node does
      auto callback = std::move(it->second.callback);
      waiting->acks.erase(it);
      if (callback) callback(args_of(packet, 0));
      break;
    }
    case PacketType::disconnect:
      // §"Disconnection from a namespace": no answer, the connection stays.
      close("client namespace disconnect", false);
      break;
    default:
      break;
  }
}

void SocketImpl::run_packet_middlewares(std::size_t index, std::string event, std::shared_ptr<Args> args,
                                        std::optional<std::uint64_t> ack_id) {
  if (index == rare_->middlewares.size()) {
    dispatch(event, *args, ack_id);
    return;
  }
  // next() may come after this socket is gone: the alive token says so.
  // next() may come from any thread; it goes on on this socket's loop.
  auto next = [loop = net::Loop::current(), alive = alive(), index, event, args,
               ack_id](std::optional<std::string> error) {
    loop->dispatch([alive, index, event, args, ack_id, error = std::move(error)] {
      SocketImpl* self = *alive;
      if (!self || self->closed_) return;
      if (error) {
        Args error_args{Json(*error)};
        self->dispatch("error", error_args, std::nullopt);
        return;
      }
      self->run_packet_middlewares(index + 1, event, args, ack_id);
    });
  };
  rare_->middlewares[index](*this, event, *args, std::move(next));
}

void SocketImpl::dispatch(std::string_view event, Args& args, std::optional<std::uint64_t> ack_id) {
  if (closed_) return;
  // handlers_ does not move while handlers run: on() then adds to the side.
  ++dispatching_;
  try {
    Ack ack;
    for (auto& [name, handler] : handlers_) {
      if (name != event) continue;
      if (ack_id && !ack) ack = make_ack(*ack_id);
      handler(*this, args, ack);
      if (closed_) break;
    }
  } catch (const std::exception& e) {
    log::error(log_fields(), "handler for '{}' threw: {}", event, e.what());
  }
  if (--dispatching_ == 0 && rare_ && !rare_->added_while_dispatching.empty()) {
    auto added = std::move(rare_->added_while_dispatching);
    rare_->added_while_dispatching.clear();
    for (auto& entry : added) handlers_.push_back(std::move(entry));
  }
}

void SocketImpl::add_handler(std::string event, EventHandler handler) {
  if (dispatching_) {
    rare().added_while_dispatching.emplace_back(std::move(event), std::move(handler));
  } else {
    handlers_.emplace_back(std::move(event), std::move(handler));
  }
}

void SocketImpl::add_any(AnyHandler handler, bool front) {
  auto& any = rare().any;
  if (front) {
    any.insert(any.begin(), std::move(handler));
  } else {
    any.push_back(std::move(handler));
  }
}

void SocketImpl::join_room(const std::string& room) {
  if (closed_) return;
  nsp_->adapter->add_all(*this, {room});
}

void SocketImpl::leave_room(const std::string& room) { nsp_->adapter->del(*this, room); }

void SocketImpl::leave_all() { nsp_->adapter->del_all(*this); }

BroadcastOperator SocketImpl::broadcast_op() const {
  // Every socket is in the room of its own id: leaving that room out leaves the sender
  // out, as Node's socket.broadcast does.
  return nsp_->handle->all().except(id_);
}

void SocketImpl::disconnect_impl(bool close_connection) {
  if (!connected_) return;
  if (close_connection) {
    // Node's Client._disconnect: every namespace of the connection gets DISCONNECT and
    // "server namespace disconnect", then the connection closes.
    client_.disconnect_all();
    return;
  }
  close("server namespace disconnect", true);
}

void SocketImpl::close(std::string_view reason, bool notify_client) {
  if (closed_) return;
  closed_ = true;
  std::string why(reason);
  if (notify_client && client_.open()) {
    Packet packet;
    packet.type = PacketType::disconnect;
    packet.nsp = nsp_->name;
    client_.send(packet);
  }
  auto run = [&](std::vector<DisconnectHandler>& handlers) {
    for (auto& handler : handlers) {
      try {
        handler(*this, why);
      } catch (const std::exception& e) {
        log::error(log_fields(), "disconnect handler threw: {}", e.what());
      }
    }
  };
  if (connected_ && rare_) run(rare_->disconnecting);  // rooms still readable here
  if (connected_ && nsp_->recovery && recoverable_reason(why)) {
    // Kept for a return within max_disconnection_duration (reference §3.2), taken
    // before the rooms are left.
    nsp_->recovery->persist(SessionStore::Session{id_, rare_ ? rare_->pid : std::string(), room_set(), std::move(data_)});
  }
  leave_all();
  if (connected_) nsp_->count.fetch_sub(1, std::memory_order_relaxed);
  bool was_connected = connected_;
  connected_ = false;
  if (Waiting* waiting = waiting_if_any()) {
    waiting->timeouts.clear();
    // Pending acks will not be answered: their callbacks learn it now.
    auto pending = std::move(waiting->acks);
    waiting->acks.clear();
    for (auto& [id, ack] : pending) {
      if (ack.callback) ack.callback(std::nullopt);
    }
  }
  if (was_connected) run(disconnect_);
  client_.remove_socket(nsp_->name);  // destroys this socket at the end of the turn
}

}  // namespace detail

// ---------------------------------------------------------------------------------
// Public handles.

namespace {
detail::SocketImpl& impl(Socket* s) { return *static_cast<detail::SocketImpl*>(s); }
const detail::SocketImpl& impl(const Socket* s) { return *static_cast<const detail::SocketImpl*>(s); }
}  // namespace

const std::string& Socket::id() const noexcept { return impl(this).id_ref(); }
std::string_view Socket::nsp() const noexcept { return impl(this).nsp_name(); }
Namespace& Socket::namespace_() noexcept { return impl(this).nsp_handle(); }
const Handshake& Socket::handshake() const noexcept { return impl(this).handshake_ref(); }
eio::Socket& Socket::conn() noexcept { return impl(this).client().conn(); }
bool Socket::connected() const noexcept { return impl(this).is_connected(); }
bool Socket::recovered() const noexcept { return impl(this).was_recovered(); }
std::any& Socket::data() noexcept { return impl(this).user_data(); }
std::uint64_t Socket::set_timeout(std::chrono::milliseconds delay, std::function<void(Socket&)> fn) {
  return impl(this).set_timeout(delay, std::move(fn));
}
void Socket::clear_timeout(std::uint64_t id) { impl(this).clear_timeout(id); }
bool Socket::emit(std::string_view event, Args args) { return impl(this).emit_event(event, std::move(args)); }
void Socket::emit_with_ack(std::string_view event, Args args, std::chrono::milliseconds timeout, AckCallback callback) {
  impl(this).emit_with_ack_impl(event, std::move(args), timeout, std::move(callback));
}
BroadcastOperator Socket::to(std::string room) const { return impl(this).broadcast_op().to(std::move(room)); }
BroadcastOperator Socket::except(std::string room) const { return impl(this).broadcast_op().except(std::move(room)); }
BroadcastOperator Socket::broadcast() const { return impl(this).broadcast_op(); }
void Socket::join(std::string room) { impl(this).join_room(room); }
void Socket::join(const std::vector<std::string>& rooms) {
  for (const auto& room : rooms) impl(this).join_room(room);
}
void Socket::leave(const std::string& room) { impl(this).leave_room(room); }
std::set<std::string> Socket::rooms() const { return impl(this).room_set(); }
bool Socket::in_room(const std::string& room) const { return impl(this).in_room(room); }
void Socket::on(std::string event, EventHandler handler) { impl(this).add_handler(std::move(event), std::move(handler)); }
void Socket::on_any(AnyHandler handler) { impl(this).add_any(std::move(handler), false); }
void Socket::prepend_any(AnyHandler handler) { impl(this).add_any(std::move(handler), true); }
void Socket::off_any() { impl(this).clear_any(); }
void Socket::on_any_outgoing(AnyHandler handler) { impl(this).add_any_outgoing(std::move(handler)); }
void Socket::use(PacketMiddleware middleware) { impl(this).add_middleware(std::move(middleware)); }
void Socket::on_disconnecting(DisconnectHandler handler) { impl(this).add_disconnecting(std::move(handler)); }
void Socket::on_disconnect(DisconnectHandler handler) { impl(this).add_disconnect(std::move(handler)); }
void Socket::disconnect(bool close) { impl(this).disconnect_impl(close); }

void Ack::operator()(Args args) {
  if (send_) send_(std::move(args));
}

Args& Args::add_binary(std::string_view bytes) {
  values.push_back(binary_value(bytes));
  return *this;
}

Json Args::binary_value(std::string_view bytes) {
  boost::json::object placeholder;
  placeholder["_placeholder"] = true;
  placeholder["num"] = binaries.size();
  binaries.emplace_back(bytes);
  return placeholder;
}

std::optional<std::string_view> Args::binary(const Json& value) const {
  const auto* object = value.if_object();
  if (!object || object->size() != 2) return std::nullopt;
  const auto* flag = object->if_contains("_placeholder");
  const auto* num = object->if_contains("num");
  if (!flag || !flag->is_bool() || !flag->as_bool() || !num) return std::nullopt;
  std::uint64_t n;
  if (num->is_uint64()) {
    n = num->as_uint64();
  } else if (num->is_int64() && num->as_int64() >= 0) {
    n = static_cast<std::uint64_t>(num->as_int64());
  } else {
    return std::nullopt;
  }
  if (n >= binaries.size()) return std::nullopt;
  return std::string_view(binaries[n]);
}

std::int64_t Handshake::issued() const noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time().time_since_epoch()).count();
}

boost::json::object Handshake::to_json() const {
  boost::json::object headers;
  for (const auto& [name, value] : this->headers()) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers[lower] = value;
  }
  boost::json::object query;
  for (const auto& [name, value] : http::query_params(this->query())) query[name] = value;
  // JavaScript's Date.prototype.toString, in UTC.
  std::time_t seconds = std::chrono::system_clock::to_time_t(time());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[80];
  std::size_t date_size = std::strftime(date, sizeof date, "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &utc);
  boost::json::object out;
  out["headers"] = std::move(headers);
  out["time"] = std::string_view(date, date_size);
  out["address"] = address();
  out["xdomain"] = !header("Origin").empty();
  out["secure"] = secure();
  out["issued"] = issued();
  out["url"] = url();
  out["query"] = std::move(query);
  out["auth"] = auth;
  return out;
}

}  // namespace switchboard::sio
