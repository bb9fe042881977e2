#pragma once
// The HTTP publish API: any backend emits into the chat's rooms.
//
//   POST /api/publish    {room, event, data?, nsp?}  → the room of namespace nsp (default "/")
//   POST /api/broadcast  {event, data?, nsp?}        → every socket of namespace nsp
//
// Answers 200 {"success":true}; errors are JSON {"error": sentence, "field": name?}:
// 400 (the field at fault), 401 (API key missing or wrong, when one is configured), 404
// (no such namespace), 413 (body over the limit; found by the HTTP layer before the body
// is read, and shaped here through RouteOptions::error_response). Delivery is what a
// Socket.IO broadcast gives: at most once, to the sockets connected now.
//
// Thread safety: the handlers run on the loop threads; broadcasts may start on any.

#include <cstddef>
#include <map>
#include <string>

#include <switchboard/http.hpp>
#include <switchboard/socketio.hpp>

namespace switchboard::app {

struct HttpApiOptions {
  // Empty: no key needed. Else requests carry "Authorization: Bearer <key>".
  std::string api_key;
  std::size_t max_body_size = 1024 * 1024;
};

// The namespaces by name; the namespaces must outlive the http::Server's handlers.
using NamespaceTable = std::map<std::string, sio::Namespace*, std::less<>>;

// Whether the request carries "Authorization: Bearer <key>" (always, when `key` is empty).
bool authorized(const http::Request& req, const std::string& key);
// `given` equals `key`, compared in constant time.
bool api_key_matches(std::string_view given, const std::string& key);

void mount_http_api(http::Router& router, NamespaceTable namespaces, HttpApiOptions options);

}  // namespace switchboard::app
