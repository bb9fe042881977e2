#pragma once
// ws-internal: turning an HTTP request into a WebSocket of a route, on this loop or on
// another one. The Hub's routes use it, and so does Engine.IO, whose WebSocket
// transport must live on the loop that owns its session.

#include <any>

#include <switchboard/http.hpp>

#include "net/loop.hpp"
#include "ws/socket.hpp"

namespace switchboard::ws::detail {

// Runs the opening handshake for `route` (refusals are answered here). On success the
// 101 goes out and the connection becomes a WebSocket of `route` carrying `user_data`
// — on `target` when it is given and is not this loop (the socket is handed over),
// else here — and the route's open callback runs there. The route's upgrade hook, if
// any, runs first, here, and may replace `user_data` or refuse. `headers` go on the 101.
void accept(const Route& route, http::Request& request, http::Response& response, std::any user_data,
            net::Loop* target = nullptr, const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace switchboard::ws::detail
