#pragma once
// sio-internal: the server, its namespaces, the clients (one per Engine.IO session)
// and their sockets (one per namespace a client joined).
//
// A namespace's rooms are its adapter's (include/switchboard/adapter.hpp): the adapter
// chooses the targets of a broadcast on every loop, the namespace (its Host) encodes
// the packet once and queues it on each.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/container/small_vector.hpp>

#include <switchboard/adapter.hpp>
#include <switchboard/socketio.hpp>

#include "core/log.hpp"
#include "core/pool.hpp"
#include "net/loop.hpp"
#include "net/timer_wheel.hpp"
#include "sio/codec/packet.hpp"
#include "sio/recovery.hpp"

namespace switchboard::sio::detail {

class Client;
class SocketImpl;
class SessionStore;

// A broadcast, encoded once in the server's parser's format, ready for every Engine.IO
// session, and how to deliver it.
struct Prepared final : adapter::Prepared {
  eio::SharedPacket packet;                    // text, or msgpack binary
  std::vector<eio::SharedPacket> attachments;  // the JSON parser's binary attachments
  bool volatile_ = false;
  std::optional<std::uint64_t> ack_id;
};

// A namespace, and the Host its adapter works through.
struct NamespaceState final : std::enable_shared_from_this<NamespaceState>, adapter::Host {
  ServerState* server = nullptr;
  std::string name;
  std::vector<Middleware> middlewares;
  std::function<void(Socket&)> on_connection;
  std::unique_ptr<adapter::Adapter> adapter;
  std::atomic<std::size_t> count{0};
  std::atomic<std::uint64_t> next_ack_id{0};
  std::unique_ptr<Namespace> handle;
  std::unique_ptr<SessionStore> recovery;  // when connection state recovery is on
  // A dynamic parent (Server::of(predicate)) has no sockets of its own: its broadcasts
  // go to every child made from it (under the server's mutex).
  bool parent = false;
  std::vector<std::shared_ptr<NamespaceState>> children;
  // This namespace, or for a parent its children now.
  std::vector<std::shared_ptr<NamespaceState>> broadcast_targets();

  // adapter::Host
  unsigned loops() const noexcept override;
  std::optional<unsigned> current_loop() const noexcept override;
  void run_on(unsigned loop, std::function<void()> task) override;
  void post(unsigned loop, std::function<void()> task) override;
  std::shared_ptr<const adapter::Prepared> prepare(const adapter::Packet& packet,
                                                   const adapter::BroadcastOptions& options) override;
  bool deliver(adapter::Member& member, const adapter::Prepared& prepared,
               const std::shared_ptr<adapter::AckCollector>& acks) override;
  void join(adapter::Member& member, const adapter::Room& room) override;
  void leave(adapter::Member& member, const adapter::Room& room) override;
  void disconnect(adapter::Member& member, bool close) override;
  adapter::SocketInfo describe(const adapter::Member& member) override;
};

struct ServerState : std::enable_shared_from_this<ServerState> {
  http::Server* http = nullptr;
  ServerOptions options;
  std::unique_ptr<eio::Server> engine;
  std::mutex mutex;  // the namespace table: written on first use, read at CONNECT
  std::map<std::string, std::shared_ptr<NamespaceState>> namespaces;
  struct Dynamic {
    std::function<bool(std::string_view, const Json&)> accept;
    std::shared_ptr<NamespaceState> parent;
  };
  std::vector<Dynamic> dynamic;
  std::vector<SocketObserver> observers;  // set before the server runs, read-only after
  bool observes_events = false;           // one of them has event_received or event_sent

  std::shared_ptr<NamespaceState> make_namespace(const std::string& name);
  // The namespace a CONNECT names: a static one, or a dynamic one made now; null if
  // none accepts it.
  std::shared_ptr<NamespaceState> resolve(const std::string& name, const Json& auth);
  void on_engine_connection(eio::Socket& conn);
};

// One Engine.IO session's Socket.IO side.
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(ServerState& server, eio::Socket& conn);
  ~Client();

  void start();
  void on_message(std::string_view data, bool binary);
  void on_close(std::string_view reason);
  void on_upgrade();  // now on WebSocket: the observer hears of each connected socket
  void send(const Packet& packet);
  void send_prepared(const Prepared& prepared);
  void close_connection();  // "forced server close" for every socket
  void disconnect_all();     // DISCONNECT to every namespace, then the connection closes
  void remove_socket(const std::string& nsp);
  eio::Socket& conn() noexcept { return conn_; }
  bool open() const noexcept { return open_; }

 private:
  void on_packet(Packet& packet);
  void connect(const std::string& nsp, Json auth);
  // Past the namespace's middleware: CONNECT answered, the connection handler run.
  void admit(SocketImpl& socket);
  static void on_connect_timeout(void* self);
  using Sockets = boost::container::small_vector<std::unique_ptr<SocketImpl>, 1>;
  Sockets::iterator find_socket(std::string_view nsp);
  // Every socket leaves for `reason`; they are freed at the end of the turn.
  void close_sockets(std::string_view reason, bool notify_client);
  // Frees `socket` once this loop turn is over (its own code may be on the stack).
  static void free_after_turn(std::unique_ptr<SocketImpl> socket);

  ServerState& server_;
  eio::Socket& conn_;
  std::unique_ptr<Decoder> assembling_;  // while a packet's binary attachments arrive
  Sockets sockets_;  // one per namespace joined: almost always one
  // Until the first namespace is joined (out of line: a timer is 48 bytes, and a client
  // joins within milliseconds and then stays for hours).
  std::unique_ptr<net::TimerWheel::Timer> connect_timer_;
  bool open_ = true;
};

// From the pools (core/pool.hpp), as every object that lives as long as a connection.
class SocketImpl final : public Socket, public adapter::Member, public core::PoolAllocated<SocketImpl> {
 public:
  // A new socket, or (with `restored`) the socket of a recovered session.
  SocketImpl(Client& client, std::shared_ptr<NamespaceState> nsp, Handshake handshake,
             std::optional<SessionStore::Session>* restored = nullptr);
  ~SocketImpl();

  void on_packet(Packet& packet);
  // Ends this socket: disconnecting, leaving every room, disconnect handlers.
  void close(std::string_view reason, bool notify_client);
  void on_connected();
  Client& client() noexcept { return client_; }
  // This socket's ids on a log line.
  log::Fields log_fields() const noexcept;
  NamespaceState& nsp_state() noexcept { return *nsp_; }

  // adapter::Member
  const std::string& id() const noexcept override { return id_; }
  bool connected() const noexcept override { return connected_; }

  // Socket's implementation.
  const std::string& id_ref() const noexcept { return id_; }
  std::string_view nsp_name() const noexcept { return nsp_->name; }
  Namespace& nsp_handle() noexcept { return *nsp_->handle; }
  const Handshake& handshake_ref() const noexcept { return handshake_; }
  bool is_connected() const noexcept { return connected_; }
  bool was_recovered() const noexcept { return recovered_; }
  std::any& user_data() noexcept { return data_; }
  const std::any& user_data() const noexcept { return data_; }
  bool emit_event(std::string_view event, Args args, std::optional<std::uint64_t> ack_id = std::nullopt);
  void emit_with_ack_impl(std::string_view event, Args args, std::chrono::milliseconds timeout, AckCallback callback);
  BroadcastOperator broadcast_op() const;
  void join_room(const std::string& room);
  void leave_room(const std::string& room);
  std::set<std::string> room_set() const { return nsp_->adapter->rooms_of(*this); }
  bool in_room(const std::string& room) const { return nsp_->adapter->in_room(*this, room); }
  // Out of every room, for good (before it is freed).
  void leave_all();
  void add_handler(std::string event, EventHandler handler);
  void add_any(AnyHandler handler, bool front);
  void clear_any() {
    if (rare_) rare_->any.clear();
  }
  void add_any_outgoing(AnyHandler handler) { rare().any_outgoing.push_back(std::move(handler)); }
  void add_middleware(PacketMiddleware middleware) { rare().middlewares.push_back(std::move(middleware)); }
  void add_disconnecting(DisconnectHandler handler) { rare().disconnecting.push_back(std::move(handler)); }
  void add_disconnect(DisconnectHandler handler) { disconnect_.push_back(std::move(handler)); }
  void disconnect_impl(bool close);
  // A broadcast's ack for this socket (the id is the broadcast's): `settle` gets the
  // answer, or nullopt if the socket goes first.
  void expect_ack(std::uint64_t id, std::function<void(std::optional<Args>)> settle);
  std::uint64_t set_timeout(std::chrono::milliseconds delay, std::function<void(Socket&)> fn);
  void clear_timeout(std::uint64_t id) {
    if (Waiting* waiting = waiting_if_any()) waiting->timeouts.erase(id);
  }
  // Points at this socket until it is destroyed: callbacks that may outlive it (a
  // middleware's next()) hold a copy and check it. Made on first use.
  const std::shared_ptr<SocketImpl*>& alive() {
    if (!alive_) alive_ = std::make_shared<SocketImpl*>(this);
    return alive_;
  }

 private:
  void dispatch(std::string_view event, Args& args, std::optional<std::uint64_t> ack_id);
  void run_packet_middlewares(std::size_t index, std::string event, std::shared_ptr<Args> args,
                              std::optional<std::uint64_t> ack_id);
  Ack make_ack(std::uint64_t id);
  void ack_timed_out(std::uint64_t id);

  // From the pools: as long-lived as the socket (see core/pool.hpp).
  using Handlers = std::vector<std::pair<std::string, EventHandler>,
                               core::PoolAllocator<std::pair<std::string, EventHandler>>>;

  // An emit_with_ack's deadline.
  struct AckTimer {
    AckTimer(SocketImpl* s, std::uint64_t i) : socket(s), id(i) {}
    SocketImpl* socket;
    std::uint64_t id;
    net::TimerWheel::Timer timer{&AckTimer::fire, this};
    static void fire(void* self);
  };
  struct PendingAck {
    std::function<void(std::optional<Args>)> callback;
    std::unique_ptr<AckTimer> timer;  // none for a broadcast's ack
  };
  // An application's timer (set_timeout): gone with the socket.
  struct Timeout {
    Timeout(SocketImpl* s, std::uint64_t i, std::function<void(Socket&)> f)
        : socket(s), id(i), fn(std::move(f)) {}
    SocketImpl* socket;
    std::uint64_t id;
    std::function<void(Socket&)> fn;
    net::TimerWheel::Timer timer{&Timeout::fire, this};
    static void fire(void* self);
  };
  // Acks awaited and timeouts set, in a block of their own made on the first: a socket
  // with a catch-all or a packet middleware (every socket of the switchboard binary)
  // need not carry their tables.
  struct Waiting {
    std::unordered_map<std::uint64_t, PendingAck> acks;
    std::unordered_map<std::uint64_t, std::unique_ptr<Timeout>> timeouts;
    std::uint64_t next_timeout_id = 0;
  };
  // What many sockets never use, in one block made on first use: an idle socket with
  // a few event handlers stays small.
  struct Rare {
    std::string pid;  // the private session id, when recovery is on
    std::vector<AnyHandler> any;
    std::vector<AnyHandler> any_outgoing;
    std::vector<PacketMiddleware> middlewares;
    std::vector<DisconnectHandler> disconnecting;
    // Handlers added while handlers run: they join after (and, as in Node, are not
    // called for the event being dispatched).
    Handlers added_while_dispatching;
    std::unique_ptr<Waiting> waiting;
  };
  Rare& rare() {
    if (!rare_) rare_ = std::make_unique<Rare>();
    return *rare_;
  }
  Waiting& waiting() {
    Rare& r = rare();
    if (!r.waiting) r.waiting = std::make_unique<Waiting>();
    return *r.waiting;
  }
  Waiting* waiting_if_any() const noexcept { return rare_ ? rare_->waiting.get() : nullptr; }

  Client& client_;
  std::shared_ptr<NamespaceState> nsp_;
  std::string id_;
  Handshake handshake_;
  std::any data_;
  // (event, handler) in registration order: a handful per socket, where a hash map's
  // nodes and buckets would cost more than the scan.
  Handlers handlers_;
  std::vector<DisconnectHandler> disconnect_;
  std::unique_ptr<Rare> rare_;
  std::shared_ptr<SocketImpl*> alive_;  // see alive(): every socket's CONNECT makes one
  std::uint16_t dispatching_ = 0;  // handler calls in progress (they may nest)
  bool connected_ = false;
  bool closed_ = false;
  bool recovered_ = false;
};

// The Client of an Engine.IO session (its user data), or null before it has one.
Client* client_of(eio::Socket& conn);

// A fresh Socket.IO id: 88 random bits, base64url (15 characters).
std::string make_socket_id();
// A fresh private session id (recovery's pid, a credential): 128 random bits (22 characters).
std::string make_private_id();

// [event, args...]: an event packet's data.
Args event_args(std::string_view event, Args args);
// EVENT (or BINARY_EVENT, with binaries) carrying `data` for a namespace.
Packet data_packet(std::string_view nsp, Args data, std::optional<std::uint64_t> id);

}  // namespace switchboard::sio::detail
