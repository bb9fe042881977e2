// Socket.IO server: namespaces, clients, broadcasts.

#include <algorithm>
#include <cctype>
#include <ctime>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "core/log.hpp"
#include "core/encoding.hpp"
#include "http/url.hpp"
#include "sio/codec/msgpack.hpp"
#include "net/loop_group.hpp"
#include "sio/recovery.hpp"
#include "sio/state.hpp"

namespace switchboard::sio {
namespace detail {
namespace {

net::Loop& origin_loop(ServerState& server) {
  net::Loop* here = net::Loop::current();
  return here ? *here : server.http->loops().loop(0);
}

// A broadcast's acknowledgements, gathered on the loop that emitted it.
class Gather final : public adapter::AckCollector, public std::enable_shared_from_this<Gather> {
 public:
  Gather(net::Loop& origin, std::function<void(bool, std::vector<Args>)> callback)
      : origin_(origin), callback_(std::move(callback)) {}

  void start_timer(std::chrono::milliseconds timeout) {
    timer_ = std::make_unique<net::TimerWheel::Timer>([](void* g) { static_cast<Gather*>(g)->finish(false); }, this);
    on_origin([self = shared_from_this(), timeout] { self->origin_.schedule_timer(*self->timer_, timeout); });
  }
  // One more namespace (a dynamic parent's child) whose reports to wait for.
  void expect_reports(std::size_t reports) override {
    on_origin([self = shared_from_this(), reports] {
      self->reports_left_ += reports;
      self->check();
    });
  }
  void reached(std::size_t targets) override {
    on_origin([self = shared_from_this(), targets] {
      self->expected_ += targets;
      --self->reports_left_;
      self->check();
    });
  }
  // One target's answer, or nullopt: it left first.
  void settle(std::optional<Args> response) {
    on_origin([self = shared_from_this(), response = std::move(response)]() mutable {
      ++self->settled_;
      if (response) {
        self->responses_.push_back(std::move(*response));
      } else {
        self->all_answered_ = false;
      }
      self->check();
    });
  }
  // Every namespace has been asked: from now on, no more reports means done.
  void sealed() {
    on_origin([self = shared_from_this()] {
      self->sealed_ = true;
      self->check();
    });
  }

 private:
  // Everything happens on the origin loop, so the counts need no lock.
  void on_origin(std::function<void()> task) { origin_.dispatch(std::move(task)); }
  void check() {
    if (done_ || !sealed_ || reports_left_ > 0 || settled_ < expected_) return;
    finish(all_answered_);
  }
  void finish(bool answered) {
    if (done_) return;
    done_ = true;
    if (timer_) timer_->cancel();
    auto callback = std::move(callback_);
    if (callback) callback(answered, std::move(responses_));
  }

  net::Loop& origin_;
  std::function<void(bool, std::vector<Args>)> callback_;
  std::unique_ptr<net::TimerWheel::Timer> timer_;
  std::size_t reports_left_ = 0;
  std::size_t expected_ = 0;
  std::size_t settled_ = 0;
  bool all_answered_ = true;
  bool sealed_ = false;
  bool done_ = false;
  std::vector<Args> responses_;
};

}  // namespace

// --- NamespaceState -------------------------------------------------------------------

std::vector<std::shared_ptr<NamespaceState>> NamespaceState::broadcast_targets() {
  if (!parent) return {shared_from_this()};
  std::lock_guard lock(server->mutex);
  return children;
}

unsigned NamespaceState::loops() const noexcept { return server->http->threads(); }

std::optional<unsigned> NamespaceState::current_loop() const noexcept {
  net::Loop* here = net::Loop::current();
  if (!here) return std::nullopt;
  return here->index();
}

void NamespaceState::run_on(unsigned loop, std::function<void()> task) {
  net::Loop* here = net::Loop::current();
  if (here && here->index() == loop) {
    task();
    return;
  }
  post(loop, std::move(task));  // keeps the namespace alive, unlike Loop::dispatch
}

void NamespaceState::post(unsigned loop, std::function<void()> task) {
  // The task keeps the namespace (and so its adapter) alive until it has run.
  server->http->loops().loop(loop).post([self = shared_from_this(), task = std::move(task)] { task(); });
}

std::shared_ptr<const adapter::Prepared> NamespaceState::prepare(const adapter::Packet& packet,
                                                                 const adapter::BroadcastOptions& options) {
  Args data;
  data.values = packet.data;
  data.binaries = packet.binaries;
  Packet encoded = data_packet(packet.nsp, std::move(data), packet.ack_id);
  auto prepared = std::make_shared<Prepared>();
  if (server->options.parser == Parser::msgpack) {
    prepared->packet = eio::Server::make_packet(encode_msgpack(encoded), true);
  } else {
    prepared->packet = eio::Server::make_packet(encode_text(encoded), false);
    for (const auto& attachment : encoded.attachments) {
      prepared->attachments.push_back(eio::Server::make_packet(attachment, true));
    }
  }
  prepared->volatile_ = options.volatile_;
  prepared->ack_id = packet.ack_id;
  return prepared;
}

void NamespaceState::join(adapter::Member& member, const adapter::Room& room) {
  static_cast<SocketImpl&>(member).join_room(room);
}

void NamespaceState::leave(adapter::Member& member, const adapter::Room& room) {
  static_cast<SocketImpl&>(member).leave_room(room);
}

void NamespaceState::disconnect(adapter::Member& member, bool close) {
  static_cast<SocketImpl&>(member).disconnect_impl(close);
}

bool NamespaceState::deliver(adapter::Member& member, const adapter::Prepared& prepared_base,
                             const std::shared_ptr<adapter::AckCollector>& acks) {
  auto& socket = static_cast<SocketImpl&>(member);
  const auto& prepared = static_cast<const Prepared&>(prepared_base);
  // volatile: a connection that cannot take it now does not get it.
  if (prepared.volatile_ && !socket.client().conn().writable()) return false;
  if (acks && prepared.ack_id) {
    // The collector is always ours: sio made it in emit_with_ack.
    auto gather = std::static_pointer_cast<Gather>(acks);
    socket.expect_ack(*prepared.ack_id, [gather](std::optional<Args> response) { gather->settle(std::move(response)); });
  }
  socket.client().send_prepared(prepared);
  return true;
}

adapter::SocketInfo NamespaceState::describe(const adapter::Member& member) {
  const auto& socket = static_cast<const SocketImpl&>(member);
  const Handshake& handshake = socket.handshake_ref();
  adapter::SocketInfo info;
  info.id = socket.id_ref();
  info.rooms = adapter->rooms_of(socket);
  info.handshake = handshake.to_json();
  if (const auto* data = std::any_cast<Json>(&socket.user_data())) info.data = *data;
  return info;
}

// --- ServerState ----------------------------------------------------------------------

std::shared_ptr<NamespaceState> ServerState::make_namespace(const std::string& name) {
  auto state = std::make_shared<NamespaceState>();
  state->server = this;
  state->name = name;
  state->handle.reset(new Namespace(state.get()));
  state->adapter = options.adapter ? options.adapter(*state) : std::make_unique<adapter::Adapter>(*state);
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

namespace {
// What an Engine.IO session's user data holds: its Client. A type of its own so that
// std::any, which allocates it with new, takes it from the pools (it lives as long as
// the session).
struct ClientOfSession : core::PoolAllocated<ClientOfSession> {
  std::shared_ptr<Client> client;
};
}  // namespace

Client* client_of(eio::Socket& conn) {
  auto* held = std::any_cast<ClientOfSession>(&conn.user_data());
  return held ? held->client.get() : nullptr;
}

void ServerState::on_engine_connection(eio::Socket& conn) {
  auto client = std::allocate_shared<Client>(core::PoolAllocator<Client>(), *this, conn);
  conn.user_data() = ClientOfSession{{}, client};
  client->start();
}

// --- Client -----------------------------------------------------------------------------

Client::Client(ServerState& server, eio::Socket& conn) : server_(server), conn_(conn) {}

Client::~Client() = default;

void Client::on_upgrade() {
  bool observed = std::any_of(server_.observers.begin(), server_.observers.end(),
                              [](const SocketObserver& o) { return bool(o.upgraded); });
  if (!observed) return;
  // An observer may make a socket leave; those are freed at the end of the turn.
  std::vector<SocketImpl*> connected;
  for (auto& socket : sockets_) {
    if (socket->is_connected()) connected.push_back(socket.get());
  }
  for (SocketImpl* socket : connected) {
    for (const SocketObserver& o : server_.observers) {
      if (o.upgraded) o.upgraded(*socket);
    }
  }
}

void Client::start() {
  // A client that joins no namespace in time is let go (Node: connectTimeout).
  connect_timer_ = std::make_unique<net::TimerWheel::Timer>(&Client::on_connect_timeout, this);
  net::Loop::current()->schedule_timer(*connect_timer_, server_.options.connect_timeout);
}

void Client::on_connect_timeout(void* self) {
  auto* client = static_cast<Client*>(self);
  if (client->sockets_.empty()) client->close_connection();
}

void Client::on_message(std::string_view data, bool binary) {
  if (server_.options.parser == Parser::msgpack) {
    Packet packet;
    // Every msgpack packet is one binary message; text means another parser.
    if (!binary || decode_msgpack(data, DecodeLimits{}, packet) != DecodeError::none) {
      log::debug({.component = "sio", .sid = conn_.id()}, "invalid msgpack packet; closing");
      conn_.close();
      return;
    }
    on_packet(packet);
    return;
  }
  // A packet that is one message decodes in the loop's decoder; one that waits for
  // binary attachments takes a decoder of its own until they are in. So an idle client
  // carries no decoder (it is 136 bytes).
  thread_local Decoder loop_decoder;
  thread_local bool loop_decoder_busy = false;  // a handler that feeds another client
  std::optional<Decoder> nested;
  Decoder* decoder = assembling_.get();
  if (!decoder) decoder = loop_decoder_busy ? &nested.emplace() : &loop_decoder;
  Decoder::Status status = binary ? decoder->add_binary(data) : decoder->add_text(data);
  if (status == Decoder::Status::need_attachments) {
    if (!assembling_) {
      assembling_ = std::make_unique<Decoder>(std::move(*decoder));
      *decoder = Decoder();
    }
    return;
  }
  if (status == Decoder::Status::error) {
    assembling_.reset();
    // Node closes the Engine.IO connection on a packet it cannot decode.
    log::debug({.component = "sio", .sid = conn_.id()}, "invalid packet; closing");
    conn_.close();
    return;
  }
  if (assembling_) {
    Packet packet = std::move(assembling_->packet());
    assembling_.reset();
    on_packet(packet);
    return;
  }
  const bool was_busy = std::exchange(loop_decoder_busy, true);
  try {
    on_packet(decoder->packet());
  } catch (...) {
    loop_decoder_busy = was_busy;
    throw;
  }
  loop_decoder_busy = was_busy;
}

void Client::on_packet(Packet& packet) {
  auto it = find_socket(packet.nsp);
  if (it == sockets_.end() && packet.type == PacketType::connect) {
    connect(packet.nsp, packet.data.is_object() ? std::move(packet.data) : Json(boost::json::object()));
  } else if (it != sockets_.end() && packet.type != PacketType::connect &&
             packet.type != PacketType::connect_error) {
    (*it)->on_packet(packet);
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
  Handshake handshake{conn_.handshake(), std::move(auth)};

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
  sockets_.push_back(std::move(socket));
  if (recovered) {
    // Its rooms back, and the events it missed before the CONNECT reply, as Node does.
    for (const auto& room : rooms) raw->join_room(room);
    for (auto& data : missed) send(data_packet(nsp_name, std::move(data), std::nullopt));
  }
  std::size_t first_middleware =
      recovered && server_.options.connection_state_recovery->skip_middlewares ? nsp->middlewares.size() : 0;
  if (first_middleware == nsp->middlewares.size()) {
    admit(*raw);
    return;
  }

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
    auto it = client->find_socket(nsp_name);
    if (it == client->sockets_.end() || it->get() != socket) return {};
    return {std::move(client), socket};
  };
  *run = [current, nsp, nsp_name, weak_run = std::weak_ptr<std::function<void(std::size_t)>>(run)](std::size_t index) {
    auto run = weak_run.lock();
    if (!run) return;
    auto [self, raw] = current();
    if (!self) return;
    if (index < nsp->middlewares.size()) {
      // next() may come from any thread (an answer from a database's client, say): it
      // goes on on this client's loop.
      auto next = [loop = net::Loop::current(), current, run, index, nsp_name](std::optional<MiddlewareError> error) {
        loop->dispatch([current, run, index, nsp_name, error = std::move(error)] {
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
      };
      nsp->middlewares[index](*raw, std::move(next));
      return;
    }
    self->admit(*raw);
  };
  (*run)(first_middleware);
}

void Client::admit(SocketImpl& socket) {
  connect_timer_.reset();
  socket.on_connected();
  NamespaceState& nsp = socket.nsp_state();
  try {
    for (const SocketObserver& o : server_.observers) {
      if (o.connected) o.connected(socket);
    }
    if (nsp.on_connection) nsp.on_connection(socket);
  } catch (const std::exception& e) {
    log::error(socket.log_fields(), "connection handler threw: {}", e.what());
  }
}

void Client::send(const Packet& packet) {
  if (!open_) return;
  if (server_.options.parser == Parser::msgpack) {
    conn_.send(encode_msgpack(packet), true);
    return;
  }
  // Encoded into the loop's scratch string (Engine.IO copies it into the connection's
  // write buffer): no allocation per emit.
  thread_local std::string encoded;
  encoded.clear();
  append_text(encoded, packet);
  conn_.send(encoded);
  if (encoded.capacity() > 64 * 1024) std::string().swap(encoded);  // a huge packet's buffer is not kept
  for (const auto& attachment : packet.attachments) conn_.send(attachment, true);
}

void Client::send_prepared(const Prepared& prepared) {
  if (!open_) return;
  conn_.send(prepared.packet);
  for (const auto& attachment : prepared.attachments) conn_.send(attachment);
}

Client::Sockets::iterator Client::find_socket(std::string_view nsp) {
  return std::find_if(sockets_.begin(), sockets_.end(), [nsp](const auto& socket) { return socket->nsp_name() == nsp; });
}

void Client::remove_socket(const std::string& nsp) {
  auto it = find_socket(nsp);
  if (it == sockets_.end()) return;
  (*it)->leave_all();  // a socket refused by middleware may hold restored rooms
  // Called from inside the socket: it is freed once this turn is over.
  free_after_turn(std::move(*it));
  sockets_.erase(it);
}

void Client::free_after_turn(std::unique_ptr<SocketImpl> socket) {
  std::shared_ptr<SocketImpl> doomed(std::move(socket));  // at_end_of_turn wants a copyable function
  net::Loop::current()->at_end_of_turn([doomed] {});
}

void Client::close_sockets(std::string_view reason, bool notify_client) {
  auto sockets = std::move(sockets_);
  sockets_.clear();
  for (auto& socket : sockets) socket->close(reason, notify_client);
  // Their remove_socket found nothing to remove.
  for (auto& socket : sockets) free_after_turn(std::move(socket));
}

void Client::close_connection() {
  if (!open_) return;
  // Node's Client.close: every socket goes with "forced server close".
  close_sockets("forced server close", false);
  conn_.close();
}

void Client::disconnect_all() {
  if (!open_) return;
  close_sockets("server namespace disconnect", true);
  conn_.close();
}

void Client::on_close(std::string_view reason) {
  open_ = false;
  connect_timer_.reset();
  close_sockets(reason, false);
}

}  // namespace detail

// ---------------------------------------------------------------------------------
// BroadcastOperator

BroadcastOperator BroadcastOperator::to(std::string room) const {
  BroadcastOperator op = *this;
  op.options_.rooms.insert(std::move(room));
  return op;
}

BroadcastOperator BroadcastOperator::except(std::string room) const {
  BroadcastOperator op = *this;
  op.options_.except.insert(std::move(room));
  return op;
}

BroadcastOperator BroadcastOperator::volatile_() const {
  BroadcastOperator op = *this;
  op.options_.volatile_ = true;
  return op;
}

BroadcastOperator BroadcastOperator::compress(bool compress) const {
  BroadcastOperator op = *this;
  op.options_.compress = compress;
  return op;
}

BroadcastOperator BroadcastOperator::local() const {
  BroadcastOperator op = *this;
  op.options_.local = true;
  return op;
}

BroadcastOperator BroadcastOperator::timeout(std::chrono::milliseconds timeout) const {
  BroadcastOperator op = *this;
  op.timeout_ = timeout;
  return op;
}

void BroadcastOperator::for_each_adapter(const std::function<void(detail::NamespaceState&)>& action) const {
  if (!nsp_) return;
  for (const auto& target : nsp_->broadcast_targets()) action(*target);
}

void BroadcastOperator::emit(std::string_view event, Args args) const {
  if (!nsp_) return;
  Args data = detail::event_args(event, std::move(args));
  for_each_adapter([&](detail::NamespaceState& nsp) {
    adapter::Packet packet;
    packet.nsp = nsp.name;
    // Recovery numbers every non-volatile broadcast and keeps it for returning sessions.
    if (nsp.recovery && !options_.volatile_) {
      Args numbered = data;
      nsp.recovery->record(options_.rooms, options_.except, numbered);
      packet.data = std::move(numbered.values);
      packet.binaries = std::move(numbered.binaries);
    } else {
      packet.data = data.values;
      packet.binaries = data.binaries;
    }
    nsp.adapter->broadcast(packet, options_);
  });
}

void BroadcastOperator::emit_with_ack(std::string_view event, Args args,
                                      std::function<void(bool, std::vector<Args>)> done) const {
  if (!nsp_) return;
  Args data = detail::event_args(event, std::move(args));
  auto gather = std::make_shared<detail::Gather>(detail::origin_loop(*nsp_->server), std::move(done));
  if (timeout_) gather->start_timer(*timeout_);
  for_each_adapter([&](detail::NamespaceState& nsp) {
    adapter::Packet packet;
    packet.nsp = nsp.name;
    packet.data = data.values;
    packet.binaries = data.binaries;
    packet.ack_id = nsp.next_ack_id.fetch_add(1, std::memory_order_relaxed);
    nsp.adapter->broadcast_with_ack(packet, options_, gather);
  });
  gather->sealed();
}

namespace {

// Asks every namespace of `targets` (one, or a dynamic parent's children) through
// `ask(adapter, options, done)` and answers `done` with all of it, on the calling loop.
template <typename T, typename Ask>
void fetch_from(const std::vector<std::shared_ptr<detail::NamespaceState>>& targets, net::Loop& origin,
                const adapter::BroadcastOptions& options, Ask ask,
                std::function<void(std::vector<T>)> done) {
  if (targets.size() == 1) {
    ask(*targets.front()->adapter, options, std::move(done));
    return;
  }
  struct Found {
    std::size_t left;
    std::vector<T> items;
    std::function<void(std::vector<T>)> done;
  };
  auto found = std::make_shared<Found>(Found{targets.size(), {}, std::move(done)});
  if (targets.empty()) {  // a dynamic parent with no child yet
    origin.post([found] {
      if (found->done) found->done({});
    });
    return;
  }
  for (const auto& target : targets) {
    // Each namespace answers on the calling loop, so `found` needs no lock.
    ask(*target->adapter, options, [found](std::vector<T> items) {
      for (auto& item : items) found->items.push_back(std::move(item));
      if (--found->left == 0 && found->done) found->done(std::move(found->items));
    });
  }
}

}  // namespace

void BroadcastOperator::fetch_ids(std::function<void(std::vector<std::string>)> done) const {
  if (!nsp_) return;
  fetch_from<std::string>(
      nsp_->broadcast_targets(), detail::origin_loop(*nsp_->server), options_,
      [](adapter::Adapter& a, const adapter::BroadcastOptions& o, auto d) { a.fetch_ids(o, std::move(d)); },
      std::move(done));
}

void BroadcastOperator::fetch_sockets(std::function<void(std::vector<SocketInfo>)> done) const {
  if (!nsp_) return;
  fetch_from<SocketInfo>(
      nsp_->broadcast_targets(), detail::origin_loop(*nsp_->server), options_,
      [](adapter::Adapter& a, const adapter::BroadcastOptions& o, auto d) { a.fetch_sockets(o, std::move(d)); },
      std::move(done));
}

void BroadcastOperator::sockets_join(std::vector<std::string> rooms) const {
  for_each_adapter([&](detail::NamespaceState& nsp) { nsp.adapter->add_sockets(options_, rooms); });
}

void BroadcastOperator::sockets_leave(std::vector<std::string> rooms) const {
  for_each_adapter([&](detail::NamespaceState& nsp) { nsp.adapter->del_sockets(options_, rooms); });
}

void BroadcastOperator::disconnect_sockets(bool close) const {
  for_each_adapter([&](detail::NamespaceState& nsp) { nsp.adapter->disconnect_sockets(options_, close); });
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
void Namespace::server_side_emit(std::string_view event, Args args) {
  Args data = detail::event_args(event, std::move(args));
  switchboard::adapter::Packet packet;
  packet.nsp = state_->name;
  packet.data = std::move(data.values);
  packet.binaries = std::move(data.binaries);
  state_->adapter->server_side_emit(packet);
}
switchboard::adapter::Adapter& Namespace::adapter() noexcept { return *state_->adapter; }
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
  // A session's Client is its user data, so it lives as long as the session, which
  // Engine.IO keeps alive while it calls back: no reference count taken per message.
  state_->engine->on_message([](eio::Socket& conn, std::string_view data, bool binary) {
    if (auto* client = detail::client_of(conn)) client->on_message(data, binary);
  });
  state_->engine->on_close([](eio::Socket& conn, std::string_view reason) {
    if (auto* client = detail::client_of(conn)) client->on_close(reason);
  });
  state_->engine->on_upgrade([](eio::Socket& conn) {
    if (auto* client = detail::client_of(conn)) client->on_upgrade();
  });
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

void Server::observe(SocketObserver observer) {
  if (observer.event_received || observer.event_sent) state_->observes_events = true;
  state_->observers.push_back(std::move(observer));
}

eio::Server& Server::engine() noexcept { return *state_->engine; }
const ServerOptions& Server::options() const noexcept { return state_->options; }

}  // namespace switchboard::sio
