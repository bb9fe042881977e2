#pragma once
// The chat contract (../shared/DESIGN.md, "The `switchboard` binary — the chat contract")
// on a set of Socket.IO namespaces: auth, rooms, messages, typing, presence, direct
// messages and per-socket rate limits. Each namespace runs the same contract with its
// own rooms and online list.
//
// Thread safety and lifetime: construct and attach before the http::Server runs; the
// handlers then run on the loop threads, the online lists are sent from the publisher's
// thread. Call shutting_down() when shutdown starts and stop() after the server has
// stopped, before the sio::Server and the PresenceStore go away.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <switchboard/socketio.hpp>

#include "app/jwt_verifier.hpp"
#include "app/online_list_publisher.hpp"
#include "app/presence.hpp"
#include "app/rate_limiter.hpp"

namespace switchboard::app {

struct ChatOptions {
  std::vector<std::string> namespaces = {"/", "/chat", "/notifications"};
  RateLimits rate_limits;
  // Set: every connection must carry a valid token in auth.token. Unset: auth is off and
  // a socket's user id is its socket id.
  std::optional<JwtVerifier> verifier;
  // Observers for metrics, called on the socket's loop: an event dropped by the rate
  // limit, a connection refused with "Authentication error". Optional.
  std::function<void()> on_rate_limited;
  std::function<void()> on_auth_refused;
};

class ChatServer {
 public:
  ChatServer(sio::Server& io, PresenceStore& presence, ChatOptions options);
  ChatServer(const ChatServer&) = delete;
  ChatServer& operator=(const ChatServer&) = delete;

  // The namespaces the contract runs on (for the HTTP API); read-only after construction.
  const std::map<std::string, sio::Namespace*, std::less<>>& namespaces() const noexcept { return namespaces_; }

  // Every client is about to leave: their departures need no online lists.
  void shutting_down();
  // Stops the online-list thread.
  void stop();

 private:
  void attach(sio::Namespace& nsp);
  void on_connection(sio::Socket& socket);

  PresenceStore& presence_;
  ChatOptions options_;
  std::map<std::string, sio::Namespace*, std::less<>> namespaces_;
  OnlineListPublisher publisher_;
};

}  // namespace switchboard::app
