#pragma once
// The server's opening handshake (RFC 6455 §4.2): checks an upgrade request and
// builds the 101 response. Pure: a request in, a decision out.

#include <optional>
#include <string>
#include <vector>

#include <switchboard/http.hpp>
#include <switchboard/websocket.hpp>

#include "ws/codec/accept_key.hpp"
#include "ws/codec/deflate.hpp"

namespace switchboard::ws {

struct HandshakeResult {
  // 0 when the upgrade may go ahead; otherwise the HTTP status to refuse it with.
  int status = 0;
  std::string error;  // why, for the response body and the log
  std::string accept;    // Sec-WebSocket-Accept
  std::string protocol;  // the subprotocol chosen by default, or empty
  std::optional<std::pair<DeflateParams, std::string>> deflate;
};

HandshakeResult check_handshake(const http::Request& request, const Behavior& behavior,
                                const std::optional<DeflateOptions>& deflate);

using HeaderList = std::vector<std::pair<std::string, std::string>>;
std::string response_head(const HandshakeResult& result, std::string_view protocol, const HeaderList& extra = {});

DeflateOptions deflate_options(const Compression& compression);

}  // namespace switchboard::ws
