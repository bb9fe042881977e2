// Socket.IO server: namespaces, clients, broadcasts.

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <spdlog/spdlog.h>

#include "core/encoding.hpp"
#include "net/loop_group.hpp"
#include "sio/recovery.hpp"
#include "sio/state.hpp"

namespace switchboard::sio {
namespace detail {
namespace {

std::shared_ptr<Prepared> prepare(const Packet& packet) {
  auto prepared = std::make_shared<Prepared>();
  prepared->text = eio::Server::make_packet(encode_text(packet), false);
  for (const auto& attachment : packet.attachments) {
    prepared->attachments.push_back(eio::Server::make_packet(attachment, true));
  }
  return prepared;
}

net::Loop& origin_loop(ServerState& server) {
  net::Loop* here = net::Loop::current();
  return here ? *here : server.http->loops().loop(0);
}

}  // namespace

// --- NamespaceState -------------------------------------------------------------------

LocalSockets& NamespaceState::local() { return loops[net::Loop::current()->index()]; }

void NamespaceState::add(SocketImpl& socket) {
  local().by_id[socket.id_ref()] = &socket;
  count.fetch_add(1, std::memory_order_relaxed);
}

void NamespaceState::remove(SocketImpl& socket) {
  local().by_id.erase(socket.id_ref());
  count.fetch_sub(1, std::memory_order_relaxed);
}

void NamespaceState::join(SocketImpl& socket, const std::string& room) { local().rooms[room].insert(&socket); }

void NamespaceState::leave(SocketImpl& socket, const std::string& room) {
  auto& rooms = local().rooms;
  auto it = rooms.find(room);
  if (it == rooms.end()) return;
  it->second.erase(&socket);
  if (it->second.empty()) rooms.erase(it);
}

std::vector<SocketImpl*> NamespaceState::targets(const std::set<std::string>& rooms,
                                                 const std::set<std::string>& except) {
  LocalSockets& here = local();
  std::unordered_set<SocketImpl*> chosen;
  if (rooms.empty()) {
    for (auto& [id, socket] : here.by_id) chosen.insert(socket);
  } else {
    for (const auto& room : rooms) {
      auto it = here.rooms.find(room);
      if (it != here.rooms.end()) chosen.insert(it->second.begin(), it->second.end());
    }
  }
  for (const auto& room : except) {
    auto it = here.rooms.find(room);
    if (it == here.rooms.end()) continue;
    for (SocketImpl* socket : it->second) chosen.erase(socket);
  }
  std::vector<SocketImpl*> out;
  out.reserve(chosen.size());
  for (SocketImpl* socket : chosen) {
    if (socket->is_connected()) out.push_back(socket);
  }
  return out;
}

std::vector<std::shared_ptr<NamespaceState>> NamespaceState::broadcast_targets() {
  if (!parent) return {shared_from_this()};
  std::lock_guard lock(server->mutex);
  return children;
}

void NamespaceState::on_every_loop(std::function<void(unsigned)> fn) {
  net::LoopGroup& group = server->http->loops();
  net::Loop* here = net::Loop::current();
  for (unsigned i = 0; i < group.size(); ++i) {
    if (here && here->index() == i) continue;
    group.loop(i).post([self = shared_from_this(), fn, i] { fn(i); });
  }
  if (here) fn(here->index());
}

// --- ServerState ----------------------------------------------------------------------

std::shared_ptr<NamespaceState> ServerState::make_namespace(const std::string& name) {
  auto state = std::make_shared<NamespaceState>();
  state->server = this;
  state->name = name;
  state->loops.resize(http->threads());
  state->handle.reset(new Namespace(state.get()));
  if (options.connection_state_recovery) {
    state->recovery = std::make_unique<SessionStore>(options.connection_state_recovery->max_disconnection_duration);
  }
  return state;
}

std::shared_ptr<NamespaceState> ServerState::resolve(const std::string& name, const Json& auth) {
  std::lock_guard lock(mutex);
  auto it = namespaces.find(name);
  if (it != namespaces.end()) return it->second;
  for (const auto& dynamic_nsp : dynamic) {
    if (!dynamic_nsp.accept(name, auth)) continue;
    // A child of the dynamic parent: its middleware and connection handler.
    auto child = make_namespace(name);
    child->middlewares = dynamic_nsp.parent->middlewares;
    child->on_connection = dynamic_nsp.parent->on_connection;
    namespaces[name] = child;
    dynamic_nsp.parent->children.push_back(child);
    return child;
  }
  return nullptr;
}

void ServerState::on_engine_connection(eio::Socket& conn) {
  auto client = std::make_shared<Client>(*this, conn);
  conn.user_data() = client;
  client->start();
}

// --- Client -----------------------------------------------------------------------------

Client::Client(ServerState& server, eio::Socket& conn) : server_(server), conn_(conn) {}

Client::~Client() = default;

void Client::start() {
  conn_.on_message = [this](std::string_view data, bool binary) { on_message(data, binary); };
  conn_.on_close = [this](std::string_view reason) { on_close(reason); };
  // A client that joins no namespace in time is let go (Node: connectTimeout).
  net::Loop::current()->schedule_timer(connect_timer_, server_.options.connect_timeout);
}

void Client::on_connect_timeout(void* self) {
  auto* client = static_cast<Client*>(self);
  if (client->sockets_.empty()) client->close_connection();
}

void Client::on_message(std::string_view data, bool binary) {
  Decoder::Status status = binary ? decoder_.add_binary(data) : decoder_.add_text(data);
  if (status == Decoder::Status::need_attachments) return;
  if (status == Decoder::Status::error) {
    // Node closes the Engine.IO connection on a packet it cannot decode.
    spdlog::debug("Socket.IO: invalid packet from {}; closing", conn_.id());
    conn_.close();
    return;
  }
  on_packet(decoder_.packet());
}

void Client::on_packet(Packet& packet) {
  auto it = sockets_.find(packet.nsp);
  if (it == sockets_.end() && packet.type == PacketType::connect) {
    connect(packet.nsp, packet.data.is_object() ? std::move(packet.data) : Json(boost::json::object()));
  } else if (it != sockets_.end() && packet.type != PacketType::connect &&
             packet.type != PacketType::connect_error) {
    it->second->on_packet(packet);
  } else {
    // Node: "invalid state" — a packet for a namespace not joined, a second CONNECT.
    close_connection();
  }
}

void Client::connect(const std::string& nsp_name, Json auth) {
  auto nsp = server_.resolve(nsp_name, auth);
  if (!nsp) {
    Packet refusal;
    refusal.type = PacketType::connect_error;
    refusal.nsp = nsp_name;
    refusal.data = boost::json::object{{"message", "Invalid namespace"}};
    send(refusal);
    return;
  }
  const eio::Handshake& engine = conn_.handshake();
  Handshake handshake;
  handshake.headers = engine.headers;
  handshake.query = engine.query;
  handshake.auth = std::move(auth);
  handshake.address = engine.address;
  if (server_.options.trust_proxy) {
    std::string_view forwarded = engine.header("X-Forwarded-For");
    if (!forwarded.empty()) handshake.address = std::string(core::trim_whitespace(forwarded.substr(0, forwarded.find(','))));
  }
  handshake.url = engine.url;
  handshake.time = engine.time;
  handshake.secure = engine.secure;

  // Recovery (reference §3.1): a CONNECT carrying string pid and offset may bring back
  // a session; anything else, or nothing found, is a fresh session, silently.
  std::optional<SessionStore::Session> restored;
  std::vector<Args> missed;
  if (nsp->recovery) {
    const auto* fields = handshake.auth.if_object();
    const auto* pid = fields ? fields->if_contains("pid") : nullptr;
    const auto* offset = fields ? fields->if_contains("offset") : nullptr;
    if (pid && pid->is_string() && offset && offset->is_string()) {
      if (auto found = nsp->recovery->restore(std::string(pid->as_string()), std::string(offset->as_string()))) {
        restored = std::move(found->session);
        missed = std::move(found->missed);
      }
    }
  }
  bool recovered = restored.has_value();
  std::set<std::string> rooms = recovered ? restored->rooms : std::set<std::string>{};
  auto socket = std::make_unique<SocketImpl>(*this, nsp, std::move(handshake), &restored);
  SocketImpl* raw = socket.get();
  sockets_[nsp_name] = std::move(socket);
  if (recovered) {
    // Its rooms back, and the events it missed before the CONNECT reply, as Node does.
    for (const auto& room : rooms) raw->join_room(room);
    for (auto& data : missed) send(data_packet(nsp_name, std::move(data), std::nullopt));
  }
  std::size_t first_middleware =
      recovered && server_.options.connection_state_recovery->skip_middlewares ? nsp->middlewares.size() : 0;

  // The namespace's middleware in order, each free to answer later: a pending next()
  // keeps the chain alive, nothing else does.
  auto run = std::make_shared<std::function<void(std::size_t)>>();
  std::weak_ptr<Client> weak = shared_from_this();
  // The socket this chain admits, while it is still the one waiting at nsp_name: a
  // late next() for a socket that went (or was replaced) does nothing.
  auto current = [weak, alive = raw->alive(), nsp_name]() -> std::pair<std::shared_ptr<Client>, SocketImpl*> {
    auto client = weak.lock();
    SocketImpl* socket = *alive;
    if (!client || !client->open_ || !socket) return {};
    auto it = client->sockets_.find(nsp_name);
    if (it == client->sockets_.end() || it->second.get() != socket) return {};
    return {std::move(client), socket};
  };
  *run = [current, nsp, nsp_name, weak_run = std::weak_ptr<std::function<void(std::size_t)>>(run)](std::size_t index) {
    auto run = weak_run.lock();
    if (!run) return;
    auto [self, raw] = current();
    if (!self) return;
    if (index < nsp->middlewares.size()) {
      nsp->middlewares[index](*raw, [current, run, index, nsp_name](std::optional<MiddlewareError> error) {
        auto [client, socket] = current();
        if (!client) return;
        if (error) {
          Packet refusal;
          refusal.type = PacketType::connect_error;
          refusal.nsp = nsp_name;
          boost::json::object data{{"message", error->message}};
          if (!error->data.is_null()) data["data"] = error->data;
          refusal.data = std::move(data);
          client->send(refusal);
          client->remove_socket(nsp_name);
          return;
        }
        (*run)(index + 1);
      });
      return;
    }
    self->connect_timer_.cancel();
    raw->on_connected();
    if (nsp->on_connection) {
      try {
        nsp->on_connection(*raw);
      } catch (const std::exception& e) {
        spdlog::error("Socket.IO connection handler for {} threw: {}", nsp->name, e.what());
      }
    }
  };
  (*run)(first_middleware);
}

void Client::send(const Packet& packet) {
  if (!open_) return;
  conn_.send(encode_text(packet));
  for (const auto& attachment : packet.attachments) conn_.send(attachment, true);
}

void Client::send_prepared(const Prepared& prepared) {
  if (!open_) return;
  conn_.send(prepared.text);
  for (const auto& attachment : prepared.attachments) conn_.send(attachment);
}

void Client::remove_socket(const std::string& nsp) {
  auto it = sockets_.find(nsp);
  if (it == sockets_.end()) return;
  // Called from inside the socket: it is freed once this turn is over.
  std::shared_ptr<SocketImpl> doomed(it->second.release());
  sockets_.erase(it);
  net::Loop::current()->at_end_of_turn([doomed] {});
}

void Client::close_connection() {
  if (!open_) return;
  // Node's Client.close: every socket goes with "forced server close".
  auto sockets = std::move(sockets_);
  sockets_.clear();
  for (auto& [nsp, socket] : sockets) {
    socket->close("forced server close", false);
  }
  // Their remove_socket found nothing to remove: free them after this turn.
  for (auto& [nsp, socket] : sockets) {
    std::shared_ptr<SocketImpl> doomed(socket.release());
    net::Loop::current()->at_end_of_turn([doomed] {});
  }
  conn_.close();
}

void Client::disconnect_all() {
  if (!open_) return;
  auto sockets = std::move(sockets_);
  sockets_.clear();
  for (auto& [nsp, socket] : sockets) socket->close("server namespace disconnect", true);
  for (auto& [nsp, socket] : sockets) {
    std::shared_ptr<SocketImpl> doomed(socket.release());
    net::Loop::current()->at_end_of_turn([doomed] {});
  }
  conn_.close();
}

void Client::on_close(std::string_view reason) {
  open_ = false;
  connect_timer_.cancel();
  auto sockets = std::move(sockets_);
  sockets_.clear();
  for (auto& [nsp, socket] : sockets) socket->close(reason, false);
  for (auto& [nsp, socket] : sockets) {
    std::shared_ptr<SocketImpl> doomed(socket.release());
    net::Loop::current()->at_end_of_turn([doomed] {});
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------
// BroadcastOperator

BroadcastOperator BroadcastOperator::to(std::string room) const {
  BroadcastOperator op = *this;
  op.rooms_.insert(std::move(room));
  return op;
}

BroadcastOperator BroadcastOperator::except(std::string room) const {
  BroadcastOperator op = *this;
  op.except_.insert(std::move(room));
  return op;
}

BroadcastOperator BroadcastOperator::volatile_() const {
  BroadcastOperator op = *this;
  op.volatile_flag_ = true;
  return op;
}

BroadcastOperator BroadcastOperator::compress(bool compress) const {
  BroadcastOperator op = *this;
  op.compress_ = compress;
  return op;
}

BroadcastOperator BroadcastOperator::local() const {
  BroadcastOperator op = *this;
  op.local_ = true;
  return op;
}

BroadcastOperator BroadcastOperator::timeout(std::chrono::milliseconds timeout) const {
  BroadcastOperator op = *this;
  op.timeout_ = timeout;
  return op;
}

void BroadcastOperator::emit(std::string_view event, Args args) const {
  if (!nsp_) return;
  Args data = detail::event_args(event, std::move(args));
  const auto targets = nsp_->broadcast_targets();
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto& target = targets[t];
    // Recovery numbers every non-volatile broadcast and keeps it for returning sessions.
    if (target->recovery && !volatile_flag_) target->recovery->record(rooms_, except_, data);
    Args packet_data = t + 1 == targets.size() ? std::move(data) : data;
    auto prepared = detail::prepare(detail::data_packet(target->name, std::move(packet_data), std::nullopt));
    target->on_every_loop([target, prepared, op = *this](unsigned) {
      for (detail::SocketImpl* socket : target->targets(op.rooms_, op.except_)) {
        // volatile: a connection that cannot take it now does not get it.
        if (op.volatile_flag_ && !socket->client().conn().writable()) continue;
        socket->client().send_prepared(*prepared);
      }
    });
  }
}

namespace {

// A broadcast's acknowledgements, gathered on the loop that emitted it.
struct Gather {
  net::Loop* origin = nullptr;
  unsigned loops_left = 0;
  std::size_t expected = 0;
  std::size_t settled = 0;  // answered or gone
  bool all_answered = true;
  bool done = false;
  std::vector<Args> responses;
  std::function<void(bool, std::vector<Args>)> callback;
  std::unique_ptr<net::TimerWheel::Timer> timer;

  void check() {
    if (done || loops_left > 0 || settled < expected) return;
    finish(all_answered);
  }
  void finish(bool answered) {
    if (done) return;
    done = true;
    if (timer) timer->cancel();
    auto cb = std::move(callback);
    if (cb) cb(answered, std::move(responses));
  }
};

}  // namespace

void BroadcastOperator::emit_with_ack(std::string_view event, Args args,
                                      std::function<void(bool, std::vector<Args>)> done) const {
  if (!nsp_) return;
  const auto targets = nsp_->broadcast_targets();
  Args data = detail::event_args(event, std::move(args));
  auto gather = std::make_shared<Gather>();
  gather->origin = &detail::origin_loop(*nsp_->server);
  gather->loops_left = nsp_->server->http->threads() * static_cast<unsigned>(targets.size());
  gather->callback = std::move(done);
  // Every ack settles on the origin loop, so the gather needs no lock.
  auto settle = [gather](std::optional<Args> response) {
    gather->origin->post([gather, response = std::move(response)]() mutable {
      ++gather->settled;
      if (response) {
        gather->responses.push_back(std::move(*response));
      } else {
        gather->all_answered = false;
      }
      gather->check();
    });
  };
  if (timeout_) {
    gather->timer = std::make_unique<net::TimerWheel::Timer>(
        [](void* g) { static_cast<Gather*>(g)->finish(false); }, gather.get());
    auto timer_gather = gather;
    gather->origin->post([timer_gather, timeout = *timeout_] {
      net::Loop::current()->schedule_timer(*timer_gather->timer, timeout);
    });
  }
  if (targets.empty()) {
    gather->origin->post([gather] { gather->check(); });
    return;
  }
  for (const auto& target : targets) {
    std::uint64_t id = target->next_ack_id.fetch_add(1, std::memory_order_relaxed);
    auto prepared = detail::prepare(detail::data_packet(target->name, data, id));
    target->on_every_loop([target, prepared, op = *this, id, gather, settle](unsigned) {
      std::size_t sent = 0;
      for (detail::SocketImpl* socket : target->targets(op.rooms_, op.except_)) {
        if (op.volatile_flag_ && !socket->client().conn().writable()) continue;
        socket->expect_ack(id, settle);
        socket->client().send_prepared(*prepared);
        ++sent;
      }
      gather->origin->post([gather, sent] {
        gather->expected += sent;
        --gather->loops_left;
        gather->check();
      });
    });
  }
}

void BroadcastOperator::fetch_ids(std::function<void(std::vector<std::string>)> done) const {
  if (!nsp_) return;
  struct Ids {
    net::Loop* origin;
    unsigned loops_left;
    std::vector<std::string> ids;
    std::function<void(std::vector<std::string>)> done;
  };
  const auto targets = nsp_->broadcast_targets();
  auto ids = std::make_shared<Ids>(Ids{&detail::origin_loop(*nsp_->server),
                                       nsp_->server->http->threads() * static_cast<unsigned>(targets.size()), {},
                                       std::move(done)});
  if (targets.empty()) {
    ids->origin->post([ids] {
      if (ids->done) ids->done({});
    });
    return;
  }
  for (const auto& target : targets) {
    target->on_every_loop([target, op = *this, ids](unsigned) {
      std::vector<std::string> found;
      for (detail::SocketImpl* socket : target->targets(op.rooms_, op.except_)) {
        found.push_back(socket->id_ref());
      }
      ids->origin->post([ids, found = std::move(found)]() mutable {
        ids->ids.insert(ids->ids.end(), found.begin(), found.end());
        if (--ids->loops_left == 0 && ids->done) ids->done(std::move(ids->ids));
      });
    });
  }
}

void BroadcastOperator::for_each_target(std::function<void(detail::SocketImpl&)> action) const {
  if (!nsp_) return;
  for (const auto& target : nsp_->broadcast_targets()) {
    target->on_every_loop([target, op = *this, action](unsigned) {
      for (detail::SocketImpl* socket : target->targets(op.rooms_, op.except_)) action(*socket);
    });
  }
}

void BroadcastOperator::sockets_join(std::vector<std::string> rooms) const {
  for_each_target([rooms = std::move(rooms)](detail::SocketImpl& socket) {
    for (const auto& room : rooms) socket.join_room(room);
  });
}

void BroadcastOperator::sockets_leave(std::vector<std::string> rooms) const {
  for_each_target([rooms = std::move(rooms)](detail::SocketImpl& socket) {
    for (const auto& room : rooms) socket.leave_room(room);
  });
}

void BroadcastOperator::disconnect_sockets(bool close) const {
  for_each_target([close](detail::SocketImpl& socket) { socket.disconnect_impl(close); });
}

// ---------------------------------------------------------------------------------
// Namespace

const std::string& Namespace::name() const noexcept { return state_->name; }
void Namespace::use(Middleware middleware) { state_->middlewares.push_back(std::move(middleware)); }
void Namespace::on_connection(std::function<void(Socket&)> handler) { state_->on_connection = std::move(handler); }
BroadcastOperator Namespace::all() const {
  BroadcastOperator op;
  op.nsp_ = state_->shared_from_this();
  return op;
}
void Namespace::emit(std::string_view event, Args args) { all().emit(event, std::move(args)); }
BroadcastOperator Namespace::to(std::string room) const { return all().to(std::move(room)); }
BroadcastOperator Namespace::except(std::string room) const { return all().except(std::move(room)); }
BroadcastOperator Namespace::volatile_() const { return all().volatile_(); }
BroadcastOperator Namespace::local() const { return all().local(); }
BroadcastOperator Namespace::timeout(std::chrono::milliseconds timeout) const { return all().timeout(timeout); }
std::size_t Namespace::socket_count() const noexcept {
  if (!state_->parent) return state_->count.load(std::memory_order_relaxed);
  std::size_t total = 0;
  for (const auto& child : state_->broadcast_targets()) total += child->count.load(std::memory_order_relaxed);
  return total;
}

// ---------------------------------------------------------------------------------
// Server

Server::Server(http::Server& http, ServerOptions options) : state_(std::make_shared<detail::ServerState>()) {
  state_->http = &http;
  state_->options = std::move(options);
  state_->engine = std::make_unique<eio::Server>(http, state_->options.engine);
  state_->engine->on_connection([state = state_.get()](eio::Socket& conn) { state->on_engine_connection(conn); });
  of("/");
}

Server::~Server() = default;

Namespace& Server::of(const std::string& name) {
  std::string normalized = name.empty() || name.front() != '/' ? "/" + name : name;
  std::lock_guard lock(state_->mutex);
  auto& slot = state_->namespaces[normalized];
  if (!slot) slot = state_->make_namespace(normalized);
  return *slot->handle;
}

Namespace& Server::of(std::function<bool(std::string_view, const Json&)> accept) {
  std::lock_guard lock(state_->mutex);
  auto parent = state_->make_namespace("/_" + std::to_string(state_->dynamic.size()));
  parent->parent = true;
  state_->dynamic.push_back({std::move(accept), parent});
  return *parent->handle;
}

eio::Server& Server::engine() noexcept { return *state_->engine; }
const ServerOptions& Server::options() const noexcept { return state_->options; }

}  // namespace switchboard::sio
