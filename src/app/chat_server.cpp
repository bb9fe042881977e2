#include "app/chat_server.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <functional>
#include <memory>

#include "app/chat_events.hpp"
#include "core/log.hpp"

namespace switchboard::app {

namespace {

namespace json = boost::json;

// The ids of a chat log line: the Engine.IO session, the Socket.IO socket, its namespace.
log::Fields fields_of(sio::Socket& socket) {
  return {.component = "chat", .sid = socket.conn().id(), .socket = socket.id(), .nsp = socket.nsp()};
}

// The user a socket acts as: from its token, or its socket id when auth is off.
struct ChatUser {
  std::string id;
  std::string name;
  std::optional<std::chrono::system_clock::time_point> expires;  // the token's `exp`
};

// What one socket carries besides what the library keeps: its user, its buckets, and
// the timeout that ends it when its token expires. It is the socket's data(), where
// the handlers find it: a handler that captured it would not fit std::function's
// inline storage, and a dozen handlers per socket would each cost a heap block.
struct Connection {
  ChatUser user;
  SocketRateLimiter limiter;
  std::uint64_t expiry = 0;
};

Connection& connection_of(sio::Socket& socket) {
  return **std::any_cast<std::shared_ptr<Connection>>(&socket.data());
}

// Ends the connection when its token expires (a refresh-token moves the deadline):
// the client gets "token-expired", then a DISCONNECT ("io server disconnect" on its
// side, so it does not reconnect with the stale token by itself).
void arm_expiry(sio::Socket& socket, Connection& conn) {
  socket.clear_timeout(conn.expiry);
  conn.expiry = 0;
  if (!conn.user.expires) return;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*conn.user.expires - std::chrono::system_clock::now());
  conn.expiry = socket.set_timeout(std::max(left, std::chrono::milliseconds(0)), [](sio::Socket& s) {
    log::debug(fields_of(s), "token expired; disconnecting");
    s.emit("token-expired");
    s.disconnect();
  });
}

// The token of a refresh-token payload: {token} or the string itself.
const json::value* refresh_token_of(const sio::Args& args) {
  if (args.size() == 0) return nullptr;
  if (args[0].is_string()) return &args[0];
  const json::object* o = args[0].if_object();
  const json::value* token = o ? o->if_contains("token") : nullptr;
  return token && token->is_string() ? token : nullptr;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view string_of(const json::value& v) { return v.as_string(); }

const json::object& object_of(const sio::Args& args) { return args[0].as_object(); }

json::object success() { return json::object{{"success", true}}; }

// An event of the contract: its check runs before its handler, and a failed check is
// answered in the ack (when the client asked for one) and goes no further.
struct EventSpec {
  const char* name;
  chat::Check (*check)(const sio::Args&);
  void (*handle)(sio::Socket&, Connection&, PresenceStore&, sio::Args&, sio::Ack&);
};

void join_room(sio::Socket& socket, Connection& conn, PresenceStore& presence, sio::Args& args, sio::Ack& ack) {
  auto room_id = string_of(args[0]);
  auto room = chat::chat_room(room_id);
  if (!socket.in_room(room)) {
    socket.join(room);
    presence.join(socket.nsp(), socket.id(), room_id);
    socket.to(room).emit("user-joined",
                         sio::Args{json::object{{"userId", conn.user.id}, {"timestamp", now_ms()}, {"roomId", room_id}}});
  }
  ack({success()});
}

void leave_room(sio::Socket& socket, Connection& conn, PresenceStore& presence, sio::Args& args, sio::Ack& ack) {
  auto room_id = string_of(args[0]);
  auto room = chat::chat_room(room_id);
  if (socket.in_room(room)) {
    socket.leave(room);
    presence.leave(socket.nsp(), socket.id(), room_id);
    socket.to(room).emit("user-left",
                         sio::Args{json::object{{"userId", conn.user.id}, {"timestamp", now_ms()}, {"roomId", room_id}}});
  }
  ack({success()});
}

void send_message(sio::Socket& socket, Connection&, PresenceStore&, sio::Args& args, sio::Ack& ack) {
  const auto& payload = object_of(args);
  auto room_id = string_of(payload.at("roomId"));
  auto room = chat::chat_room(room_id);
  // The message as sent; only a missing roomId is added, so a client in several rooms
  // can tell where it belongs (the contract allows added fields, never rewritten ones).
  json::object message = payload.at("message").as_object();
  if (!message.contains("roomId")) message["roomId"] = room_id;
  sio::Args out;
  out.values.emplace_back(std::move(message));
  out.binaries = args.binaries;  // placeholders inside the message still name them
  if (socket.in_room(room)) {
    socket.namespace_().to(room).emit("new-message", std::move(out));
  } else {
    // "Everyone in the room, sender included": a sender outside the room gets its copy here.
    socket.to(room).emit("new-message", out);
    socket.emit("new-message", std::move(out));
  }
  ack({success()});
}

void typing(sio::Socket& socket, Connection& conn, PresenceStore&, sio::Args& args, sio::Ack& ack) {
  const auto& payload = object_of(args);
  auto room = chat::chat_room(string_of(payload.at("roomId")));
  std::string username;
  if (const auto* given = payload.if_contains("username")) {
    username = given->as_string();
  } else {
    username = conn.user.name.empty() ? conn.user.id : conn.user.name;
  }
  socket.to(room).emit("user-typing", sio::Args{json::object{{"userId", conn.user.id}, {"username", username}}});
  ack({success()});
}

void user_online(sio::Socket& socket, Connection&, PresenceStore& presence, sio::Args& args, sio::Ack& ack) {
  // The online list goes out from the publisher once the store reports the change.
  presence.announce(socket.nsp(), socket.id(), string_of(args[0]));
  ack({success()});
}

void direct_message(sio::Socket& socket, Connection& conn, PresenceStore&, sio::Args& args, sio::Ack& ack) {
  const auto& payload = object_of(args);
  socket.namespace_().to(chat::user_room(string_of(payload.at("to"))))
      .emit("direct-message", sio::Args{json::object{
                                  {"from", conn.user.id}, {"text", payload.at("text")}, {"timestamp", now_ms()}}});
  ack({success()});
}

void room_members(sio::Socket& socket, Connection&, PresenceStore& presence, sio::Args& args, sio::Ack& ack) {
  presence.room_members(socket.nsp(), string_of(args[0]), [ack](PresenceStore::UserIds ids) mutable {
    json::array members;
    for (auto& id : ids) members.emplace_back(std::move(id));
    ack({json::object{{"success", true}, {"members", std::move(members)}}});
  });
}

constexpr EventSpec events[] = {
    {"join-room", chat::check_join_room, join_room},
    {"leave-room", chat::check_leave_room, leave_room},
    {"send-message", chat::check_send_message, send_message},
    {"typing", chat::check_typing, typing},
    {"user-online", chat::check_user_online, user_online},
    {"direct-message", chat::check_direct_message, direct_message},
    {"room-members", chat::check_room_members, room_members},
};

}  // namespace

ChatServer::ChatServer(sio::Server& io, PresenceStore& presence, ChatOptions options)
    : presence_(presence),
      options_(std::move(options)),
      publisher_(presence, [this](const std::string& nsp, PresenceStore::UserIds online) {
        auto it = namespaces_.find(nsp);
        if (it == namespaces_.end()) return;
        json::array ids;
        for (auto& id : online) ids.emplace_back(std::move(id));
        it->second->emit("online-users", sio::Args{std::move(ids)});
      }) {
  for (const auto& name : options_.namespaces) {
    sio::Namespace& nsp = io.of(name);
    namespaces_.emplace(name, &nsp);
    attach(nsp);
  }
  presence_.on_online_change([this](const std::string& nsp) { publisher_.changed(nsp); });
}

void ChatServer::shutting_down() { publisher_.mute(); }

void ChatServer::stop() { publisher_.stop(); }

void ChatServer::attach(sio::Namespace& nsp) {
  if (options_.verifier) {
    nsp.use([this](sio::Socket& socket, std::function<void(std::optional<sio::MiddlewareError>)> next) {
      const auto& auth = socket.handshake().auth;
      const json::value* token = auth.is_object() ? auth.as_object().if_contains("token") : nullptr;
      JwtResult result;
      if (token && token->is_string()) result = options_.verifier->verify(token->as_string(), std::chrono::system_clock::now());
      if (!result) {
        log::debug(fields_of(socket), "handshake refused: {}",
                   token && token->is_string() ? describe(result.error) : "no auth.token");
        if (options_.on_auth_refused) options_.on_auth_refused();
        next(sio::MiddlewareError{"Authentication error", nullptr});
        return;
      }
      socket.data() = ChatUser{result.user->id, result.user->name, result.user->expires};
      next(std::nullopt);
    });
  }
  nsp.on_connection([this](sio::Socket& socket) { on_connection(socket); });
}

void ChatServer::on_connection(sio::Socket& socket) {
  ChatUser user{socket.id(), {}, {}};
  if (auto* authenticated = std::any_cast<ChatUser>(&socket.data())) user = std::move(*authenticated);
  // (std::any wants a copyable value; the limiter is not.)
  socket.data() = std::make_shared<Connection>(
      Connection{std::move(user), SocketRateLimiter(options_.rate_limits, SocketRateLimiter::Clock::now())});
  Connection& conn = connection_of(socket);
  log::debug(fields_of(socket), "connected as user {}", conn.user.id);

  socket.join(chat::user_room(conn.user.id));
  presence_.connect(socket.nsp(), socket.id(), conn.user.id);

  // Before any handler: the excess is dropped (never broadcast), and the client told.
  socket.use([this](sio::Socket& s, std::string_view event, sio::Args&,
                    std::function<void(std::optional<std::string>)> next) {
    auto decision = connection_of(s).limiter.admit(event, SocketRateLimiter::Clock::now());
    if (decision.allowed) {
      next(std::nullopt);
      return;
    }
    if (decision.notify) {
      // `limit` says which bucket was empty: the event's own or the socket-wide one.
      std::string_view limit = decision.by_event_limit ? "event" : "socket";
      log::debug(fields_of(s), "rate limited: {} (the {} limit)", event, limit);
      s.emit("rate-limited", sio::Args{json::object{
                                 {"event", event}, {"limit", limit}, {"retryAfter", decision.retry_after.count()}}});
    }
    if (options_.on_rate_limited) options_.on_rate_limited();
    next(std::string("rate limited"));
  });

  for (const EventSpec& spec : events) {
    socket.on(spec.name, [this, &spec](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      Connection& conn = connection_of(s);
      auto error = spec.check(args);
      // With auth on, a client may announce only the user its token names.
      if (!error && options_.verifier && spec.handle == user_online && string_of(args[0]) != conn.user.id) {
        error = "userId must be the id of the authenticated user";
      }
      if (error) {
        log::debug(fields_of(s), "{} refused: {}", spec.name, *error);
        ack({json::object{{"success", false}, {"error", *error}}});
        return;
      }
      spec.handle(s, conn, presence_, args, ack);
    });
  }

  if (options_.verifier) {
    arm_expiry(socket, conn);
    // A new token for the same user, before the old one expires, keeps the connection.
    socket.on("refresh-token", [this](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      Connection& conn = connection_of(s);
      const json::value* token = refresh_token_of(args);
      JwtResult result;
      if (token) result = options_.verifier->verify(token->as_string(), std::chrono::system_clock::now());
      std::string error;
      if (!token) {
        error = "a token is required: {token}";
      } else if (!result) {
        error = "invalid token: " + std::string(describe(result.error));
      } else if (result.user->id != conn.user.id) {
        error = "the token is for another user";
      }
      if (!error.empty()) {
        ack({json::object{{"success", false}, {"error", error}}});
        return;
      }
      conn.user.expires = result.user->expires;
      arm_expiry(s, conn);
      json::object answer = success();
      if (conn.user.expires) {
        answer["expiresAt"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  conn.user.expires->time_since_epoch()).count();
      }
      ack({std::move(answer)});
    });
  }

  socket.on_disconnect([this](sio::Socket& s, std::string_view reason) {
    log::debug(fields_of(s), "disconnected ({})", reason);
    presence_.disconnect(s.nsp(), s.id());
  });
}

}  // namespace switchboard::app
