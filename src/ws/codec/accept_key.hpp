#pragma once
// RFC 6455 §4.2.2: the Sec-WebSocket-Accept a server answers a Sec-WebSocket-Key with,
// base64(SHA-1(key + GUID)). Shared by the server's handshake and every client.

#include <string>
#include <string_view>

namespace switchboard::ws {

std::string accept_key(std::string_view key);

}  // namespace switchboard::ws
