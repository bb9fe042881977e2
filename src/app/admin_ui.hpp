#pragma once
// The server side of @socket.io/admin-ui (npm 0.5): the UI (https://admin.socket.io, or
// its files served at /admin/) connects to namespace /admin and shows this server's
// sockets, rooms and events as it does for a Node server with `instrument(io, ...)`.
//
// What the UI gets (the facts are those of the package's dist/index.js):
//   - auth: handshake auth {username, password}, the password checked against a bcrypt
//     hash; a wrong one fails with connect_error "invalid credentials". A good one gets
//     "session" <id>, which the UI sends back as auth {sessionId} when it reconnects.
//   - on connect: "config" {supportedFeatures}, and in development mode "all_sockets"
//     (every socket of the watched namespaces, in the UI's serialized shape).
//   - every 2 seconds: "server_stats" {serverId, hostname, pid, uptime, clientsCount,
//     pollingClientsCount, aggregatedEvents, namespaces}.
//   - development mode only, as things happen: "socket_connected", "socket_updated"
//     (the transport after an upgrade), "socket_disconnected", "room_joined",
//     "room_left", "event_received", "event_sent".
// What the UI may ask (unless readonly): "emit" (nsp, room filter, event, ...args),
// "join" (nsp, room, filter), "leave" (nsp, room, filter) and "_disconnect" (nsp, close,
// filter), on the watched namespaces only; a filter names a room (a socket's own room
// is its id), no filter means every socket of the namespace.
//
// Cost: nothing at all unless constructed. In production mode nothing per socket or
// per event either (only server_stats). In development mode every event of every
// socket is broadcast to the admin sockets, as Node's instrument() does.
//
// Threads: construct before the server runs and destroy after it stopped; tick() from
// one thread (the Ticker). Password checks (bcrypt, slow on purpose) run on a thread of
// their own so that no event loop waits for one.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <switchboard/socketio.hpp>

#include "app/metrics.hpp"

namespace switchboard::app {

inline constexpr std::string_view admin_namespace = "/admin";

struct AdminUiOptions {
  bool auth = true;  // false: anyone who can reach the server may connect
  std::string username = "admin";
  std::string password_hash;  // bcrypt ($2a$, $2b$ or $2y$), required with auth
  bool readonly = false;      // no emit, join, leave or disconnect from the UI
  bool production = false;    // server_stats only: no per-socket details or events
  std::string server_id;      // empty: the host name
};

class AdminUi {
 public:
  // `watched`: the namespaces the UI shows and acts on; the admin namespace is added.
  // Throws std::invalid_argument for auth without a valid bcrypt hash.
  AdminUi(sio::Server& io, Metrics& metrics, std::vector<sio::Namespace*> watched, AdminUiOptions options);
  ~AdminUi();
  AdminUi(const AdminUi&) = delete;
  AdminUi& operator=(const AdminUi&) = delete;

  // Emits server_stats to the admin sockets (if any); the aggregated counts are those
  // since the previous call. Call every 2 seconds, as Node does.
  void tick();
  sio::Namespace& nsp() noexcept;

 private:
  struct State;  // shared with the handlers, which run on the loops
  std::shared_ptr<State> state_;
};

}  // namespace switchboard::app
