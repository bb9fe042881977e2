#include "ws/handshake.hpp"

#include <algorithm>

#include "core/encoding.hpp"

namespace switchboard::ws {
namespace {

using core::has_token;
constexpr auto trim = core::trim_whitespace;

// Every value of a header that may be sent on several lines, joined by ", ".
std::string joined(const http::Request& request, std::string_view name) {
  std::string out;
  for (const auto& [n, v] : request.headers()) {
    if (!core::iequals(n, name)) continue;
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

HandshakeResult refuse(int status, std::string error) {
  HandshakeResult result;
  result.status = status;
  result.error = std::move(error);
  return result;
}

}  // namespace

DeflateOptions deflate_options(const Compression& c) {
  DeflateOptions options;
  options.server_no_context_takeover = c.server_no_context_takeover;
  options.client_no_context_takeover = c.client_no_context_takeover;
  options.server_max_window_bits = c.server_max_window_bits;
  options.client_max_window_bits = c.client_max_window_bits;
  options.level = c.level;
  options.mem_level = c.mem_level;
  options.threshold = c.threshold;
  return options;
}

HandshakeResult check_handshake(const http::Request& request, const Behavior& behavior,
                                const std::optional<DeflateOptions>& deflate) {
  // §4.2.1, in the order a client can fix them.
  std::string_view upgrade = request.header("Upgrade");
  if (upgrade.empty()) return refuse(426, "this endpoint speaks WebSocket: send Upgrade: websocket");
  if (!has_token(upgrade, "websocket")) return refuse(400, "Upgrade header is not 'websocket'");
  if (request.method() != "GET") return refuse(400, "the WebSocket handshake must be a GET");
  if (request.version() < 11) return refuse(400, "the WebSocket handshake needs HTTP/1.1");
  if (!has_token(request.header("Connection"), "upgrade")) {
    return refuse(400, "Connection header does not contain 'Upgrade'");
  }
  std::string_view key = trim(request.header("Sec-WebSocket-Key"));
  auto decoded = core::base64_decode(key);
  if (!decoded || decoded->size() != 16) return refuse(400, "Sec-WebSocket-Key is not 16 bytes in base64");
  if (trim(request.header("Sec-WebSocket-Version")) != "13") {
    return refuse(426, "unsupported Sec-WebSocket-Version: this server speaks version 13");
  }
  if (!behavior.allowed_origins.empty()) {
    std::string_view origin = trim(request.header("Origin"));
    if (std::find(behavior.allowed_origins.begin(), behavior.allowed_origins.end(), origin) ==
        behavior.allowed_origins.end()) {
      return refuse(403, "origin not allowed");
    }
  }
  HandshakeResult result;
  result.accept = accept_key(key);
  // The first subprotocol the client offers that the route speaks.
  std::string offered = joined(request, "Sec-WebSocket-Protocol");
  std::string_view rest = offered;
  while (!rest.empty() && result.protocol.empty()) {
    auto comma = rest.find(',');
    std::string_view candidate = trim(rest.substr(0, comma));
    if (std::find(behavior.protocols.begin(), behavior.protocols.end(), candidate) != behavior.protocols.end()) {
      result.protocol = std::string(candidate);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (deflate) {
    std::string extensions = joined(request, "Sec-WebSocket-Extensions");
    if (!extensions.empty()) result.deflate = negotiate_deflate(extensions, *deflate);
  }
  return result;
}

std::string response_head(const HandshakeResult& result, std::string_view protocol, const HeaderList& extra) {
  std::string head =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  head += result.accept;
  head += "\r\n";
  if (!protocol.empty()) {
    head += "Sec-WebSocket-Protocol: ";
    head += protocol;
    head += "\r\n";
  }
  if (result.deflate) {
    head += "Sec-WebSocket-Extensions: ";
    head += result.deflate->second;
    head += "\r\n";
  }
  for (const auto& [name, value] : extra) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

}  // namespace switchboard::ws
