#pragma once
// Socket.IO v5 on Engine.IO v4: namespaces, middleware, events with acknowledgements,
// binary arguments, rooms and broadcasts — in the shape of the Node server's API.
//
//   switchboard::http::Server http({.port = 3000});
//   switchboard::sio::Server io(http);
//   io.of("/").on_connection([](switchboard::sio::Socket& socket) {
//     socket.on("chat", [](switchboard::sio::Socket& s, switchboard::sio::Args& args, switchboard::sio::Ack ack) {
//       s.to("lobby").emit("chat", args);
//       if (ack) ack({});
//     });
//   });
//
// Thread safety and lifetime: a Socket lives on the loop thread of its Engine.IO
// session; its handlers run there, and a Socket& is valid until its disconnect handlers
// have returned. Namespaces are set up before the server runs; broadcasts
// (Namespace::emit, to(...).emit) may be made from any thread.

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_ref.hpp>

#include <switchboard/adapter.hpp>
#include <switchboard/engineio.hpp>
#include <switchboard/http.hpp>

namespace switchboard::sio {

namespace detail {
struct ServerState;
struct NamespaceState;
class SocketImpl;
}  // namespace detail

using Json = boost::json::value;
// A socket as fetch_sockets describes it: id, rooms, and the handshake in Node's shape.
using SocketInfo = adapter::SocketInfo;

// The arguments of an event or of an acknowledgement. JSON values; a binary value
// is a placeholder {"_placeholder":true,"num":N} naming binaries[N] — the form it has
// on the wire, which nests anywhere in objects and arrays.
struct Args {
  boost::json::array values;
  std::vector<std::string> binaries;

  Args() = default;
  Args(std::initializer_list<boost::json::value_ref> list) : values(list) {}

  Args& add(Json value) {
    values.push_back(std::move(value));
    return *this;
  }
  // Appends a binary argument.
  Args& add_binary(std::string_view bytes);
  // A placeholder for bytes, to nest inside an object or array argument.
  Json binary_value(std::string_view bytes);

  std::size_t size() const noexcept { return values.size(); }
  bool empty() const noexcept { return values.empty(); }
  const Json& operator[](std::size_t i) const { return values.at(i); }
  // The bytes a placeholder names, or nullopt if `value` is not one of ours.
  std::optional<std::string_view> binary(const Json& value) const;
};

// Answers the client's acknowledgement callback, once. False (and a no-op to call)
// when the client asked for none. May be called later, from any thread: the answer
// leaves from the socket's loop.
class Ack {
 public:
  Ack() = default;
  explicit operator bool() const noexcept { return static_cast<bool>(send_); }
  void operator()(Args args = {});

 private:
  friend class detail::SocketImpl;
  std::function<void(Args)> send_;
};

// What the connection was opened with (Socket.IO's socket.handshake): the Engine.IO
// handshake (its request block shared, not copied: address(), time(), headers...) and
// the CONNECT packet's auth.
struct Handshake : eio::Handshake {
  Json auth;  // the CONNECT packet's payload ({} when none)
  // Milliseconds since the epoch, as Node's handshake.issued.
  std::int64_t issued() const noexcept;
  // Node's socket.handshake object (header names in lower case, the time as
  // JavaScript's Date string), as fetch_sockets carries it.
  boost::json::object to_json() const;
};

class Socket;
class Namespace;

// An error from a middleware: the client gets CONNECT_ERROR {message, data}.
struct MiddlewareError {
  std::string message;
  Json data;  // null: no "data" field
};

using EventHandler = std::function<void(Socket&, Args&, Ack)>;
using AnyHandler = std::function<void(Socket&, std::string_view event, Args&)>;
using DisconnectHandler = std::function<void(Socket&, std::string_view reason)>;
// Calls next() to go on, or next(error) to refuse. May call it later, from any thread:
// the chain goes on on the socket's loop.
using Middleware = std::function<void(Socket&, std::function<void(std::optional<MiddlewareError>)> next)>;
// Per-packet middleware: sees [event, args...]; next(error) drops the packet and emits
// "error" on the socket (handlers registered with on("error")). next() may be called
// later, from any thread, as a connection middleware's.
using PacketMiddleware =
    std::function<void(Socket&, std::string_view event, Args&, std::function<void(std::optional<std::string>)> next)>;
using AckCallback = std::function<void(std::optional<Args>)>;  // nullopt: the timeout passed

// Broadcast operators: rooms to target, rooms to leave out, and flags. Chainable; made
// from a Namespace (every socket) or a Socket (every socket but itself).
class BroadcastOperator {
 public:
  BroadcastOperator to(std::string room) const;
  BroadcastOperator in(std::string room) const { return to(std::move(room)); }
  BroadcastOperator except(std::string room) const;
  // Dropped for sockets whose connection cannot take it right now.
  BroadcastOperator volatile_() const;
  BroadcastOperator compress(bool compress) const;
  // This server only (a cluster adapter would otherwise reach every node).
  BroadcastOperator local() const;
  BroadcastOperator timeout(std::chrono::milliseconds timeout) const;

  // To every target; any thread.
  void emit(std::string_view event, Args args = {}) const;
  // To every target, collecting one acknowledgement each: `done` gets them (and
  // whether every target answered in time) once all answered or the timeout passed.
  void emit_with_ack(std::string_view event, Args args,
                     std::function<void(bool all_answered, std::vector<Args> responses)> done) const;

  // The targets' ids, or descriptions, from every loop of this server (and every node
  // of a cluster adapter); `done` runs on the calling loop.
  void fetch_ids(std::function<void(std::vector<std::string>)> done) const;
  void fetch_sockets(std::function<void(std::vector<SocketInfo>)> done) const;
  // Make every target join or leave rooms, or disconnect.
  void sockets_join(std::vector<std::string> rooms) const;
  void sockets_leave(std::vector<std::string> rooms) const;
  void disconnect_sockets(bool close = false) const;

 private:
  friend class Namespace;
  friend class Socket;
  friend class detail::SocketImpl;
  // `action` with the adapter of each namespace this reaches (a dynamic parent: its children).
  void for_each_adapter(const std::function<void(detail::NamespaceState&)>& action) const;
  std::shared_ptr<detail::NamespaceState> nsp_;
  adapter::BroadcastOptions options_;
  std::optional<std::chrono::milliseconds> timeout_;
};

class Socket {
 public:
  const std::string& id() const noexcept;
  std::string_view nsp() const noexcept;
  Namespace& namespace_() noexcept;
  const Handshake& handshake() const noexcept;
  eio::Socket& conn() noexcept;
  bool connected() const noexcept;
  // Whether this connection recovered a previous session's state.
  bool recovered() const noexcept;
  // The application's data for this socket (Node's socket.data): kept across a
  // recovery; when it holds a Json, fetch_sockets carries it too.
  std::any& data() noexcept;

  // To this client.
  bool emit(std::string_view event, Args args = {});
  // Expects the client's acknowledgement within `timeout`.
  void emit_with_ack(std::string_view event, Args args, std::chrono::milliseconds timeout, AckCallback callback);

  // To other sockets of this namespace.
  BroadcastOperator to(std::string room) const;
  BroadcastOperator in(std::string room) const { return to(std::move(room)); }
  BroadcastOperator except(std::string room) const;
  BroadcastOperator broadcast() const;

  void join(std::string room);
  void join(const std::vector<std::string>& rooms);
  void leave(const std::string& room);
  // A copy, as Node's socket.rooms is a new Set; in_room asks without copying.
  std::set<std::string> rooms() const;
  bool in_room(const std::string& room) const;

  void on(std::string event, EventHandler handler);
  void on_any(AnyHandler handler);
  void prepend_any(AnyHandler handler);
  void off_any();
  // Sees every event this socket emits, before it leaves.
  void on_any_outgoing(AnyHandler handler);
  void use(PacketMiddleware middleware);
  // reason: "server namespace disconnect", "client namespace disconnect", "server
  // shutting down", "ping timeout", "transport close", "transport error", "parse
  // error", "forced close", "forced server close".
  void on_disconnecting(DisconnectHandler handler);  // rooms still readable
  void on_disconnect(DisconnectHandler handler);

  // Leaves the namespace: the client gets DISCONNECT, the reason is "server namespace
  // disconnect". With `close`, every namespace of the connection does, then the
  // connection closes.
  void disconnect(bool close = false);

  // Runs `fn` on this socket's loop after `delay` (on the loop's timer wheel, to the
  // millisecond), unless the socket has left the namespace by then — for deadlines
  // such as a token's expiry. The id cancels it with clear_timeout (an unknown or
  // spent id is ignored). Loop thread only, as the socket is.
  std::uint64_t set_timeout(std::chrono::milliseconds delay, std::function<void(Socket&)> fn);
  void clear_timeout(std::uint64_t id);

 protected:
  Socket() = default;
  ~Socket() = default;
};

class Namespace {
 public:
  const std::string& name() const noexcept;
  void use(Middleware middleware);
  void on_connection(std::function<void(Socket&)> handler);

  // Every socket of the namespace (on every loop of this server); any thread.
  void emit(std::string_view event, Args args = {});
  BroadcastOperator to(std::string room) const;
  BroadcastOperator in(std::string room) const { return to(std::move(room)); }
  BroadcastOperator except(std::string room) const;
  BroadcastOperator volatile_() const;
  BroadcastOperator local() const;
  BroadcastOperator timeout(std::chrono::milliseconds timeout) const;

  // Every socket of the namespace, for the operations of BroadcastOperator.
  BroadcastOperator all() const;
  void fetch_ids(std::function<void(std::vector<std::string>)> done) const { all().fetch_ids(std::move(done)); }
  void fetch_sockets(std::function<void(std::vector<SocketInfo>)> done) const { all().fetch_sockets(std::move(done)); }
  void sockets_join(std::vector<std::string> rooms) const { all().sockets_join(std::move(rooms)); }
  void sockets_leave(std::vector<std::string> rooms) const { all().sockets_leave(std::move(rooms)); }
  void disconnect_sockets(bool close = false) const { all().disconnect_sockets(close); }

  // Sockets connected now, on every loop (for a dynamic parent: in its children).
  std::size_t socket_count() const noexcept;

  // To the other servers of a cluster (their on_server_side handlers); with the
  // in-memory adapter there are none.
  void server_side_emit(std::string_view event, Args args = {});
  // The rooms and their events ("create-room", "join-room", ...).
  adapter::Adapter& adapter() noexcept;

 private:
  friend struct detail::ServerState;
  friend class detail::SocketImpl;
  explicit Namespace(detail::NamespaceState* state) : state_(state) {}
  detail::NamespaceState* state_;  // owns this handle
};

// How packets are written on the wire (Node's `parser` option); a client must use the
// same one.
enum class Parser {
  json,     // Socket.IO's default: JSON text, binary as separate attachments
  msgpack,  // npm socket.io-msgpack-parser: one msgpack binary message per packet
};

// Sees every socket of the server, in every namespace (dynamic ones too), for tools
// that follow a whole server such as an admin panel or metrics — Node's
// @socket.io/admin-ui puts a "connection" listener in front of every namespace's and
// listens for the connection's "upgrade". Set with Server::observe before the server
// runs; each callback runs on the socket's loop. Unset, it costs nothing.
struct SocketObserver {
  // The socket has joined its namespace; the namespace's connection handler runs next.
  // It may add handlers of its own (on_any, on_disconnect, ...).
  std::function<void(Socket&)> connected;
  // The socket's connection has moved to WebSocket (conn().transport() says so now).
  std::function<void(Socket&)> upgraded;
  // Every event a socket receives, before its catch-alls (Socket::on_any), and every
  // event emitted to one socket, as Socket::on_any_outgoing sees them (broadcasts go
  // through the adapter instead): one hook for the whole server where a catch-all on
  // every socket would cost each its own handlers.
  std::function<void(Socket&, std::string_view event, Args&)> event_received;
  std::function<void(Socket&, std::string_view event, Args&)> event_sent;
};

struct ServerOptions {
  // The Engine.IO options; path defaults to /socket.io/ here.
  eio::ServerOptions engine = [] {
    eio::ServerOptions o;
    o.path = "/socket.io/";
    return o;
  }();
  // A client that joins no namespace within this is disconnected.
  std::chrono::milliseconds connect_timeout{45'000};
  Parser parser = Parser::json;
  // Connection state recovery (Socket.IO 4.6+): a client that drops for less than
  // max_disconnection_duration comes back with its id, rooms and data, and gets the
  // events it missed. Events then carry their offset as an extra last argument.
  struct Recovery {
    std::chrono::milliseconds max_disconnection_duration{120'000};
    bool skip_middlewares = true;  // a recovered client does not go through use() again
  };
  std::optional<Recovery> connection_state_recovery;
  // Makes each namespace's adapter; empty: the in-memory adapter (one server).
  adapter::AdapterFactory adapter;
};

class Server {
 public:
  explicit Server(http::Server& http, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // A static namespace, made on first use.
  Namespace& of(const std::string& name);
  // Dynamic namespaces: any name the predicate accepts is created when a client first
  // connects to it; `parent` (the returned namespace) holds the middleware and
  // connection handler every such namespace gets.
  Namespace& of(std::function<bool(std::string_view name, const Json& auth)> accept);

  // Before the server runs; observers add up (an admin panel and metrics may both).
  void observe(SocketObserver observer);

  eio::Server& engine() noexcept;
  const ServerOptions& options() const noexcept;

 private:
  std::shared_ptr<detail::ServerState> state_;
};

}  // namespace switchboard::sio
