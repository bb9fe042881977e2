#include "ws/upgrade.hpp"

#include "core/log.hpp"
#include "http/session.hpp"
#include "ws/hub.hpp"
#include "ws/handshake.hpp"

namespace switchboard::ws::detail {

void accept(const Route& route, http::Request& request, http::Response& response, std::any user_data,
            net::Loop* target, const std::vector<std::pair<std::string, std::string>>& headers) {
  HandshakeResult result = check_handshake(request, route.behavior, route.deflate);
  if (result.status) {
    if (log::enabled(spdlog::level::debug)) {
      log::debug({.component = "ws", .conn = log::peer_name(request.remote_address(), request.remote_port()),
                  .req = request.request_id()},
                 "handshake refused ({}): {}", result.status, result.error);
    }
    if (route.hub) route.hub->count_refusal(result.status);
    if (result.status == 426) response.header("Sec-WebSocket-Version", "13").header("Upgrade", "websocket");
    response.send(result.status, result.error + "\n");
    return;
  }
  Upgrade upgrade(request);
  upgrade.protocol() = result.protocol;
  upgrade.user_data() = std::move(user_data);
  if (route.behavior.upgrade) route.behavior.upgrade(upgrade);
  if (upgrade.rejected()) {
    if (route.hub) route.hub->count_refusal(0);
    response.send(upgrade.reject_status(), upgrade.reject_body());
    return;
  }
  std::optional<DeflateParams> params;
  if (result.deflate) params = result.deflate->first;
  std::string head = response_head(result, upgrade.protocol(), headers);

  if (target && target != net::Loop::current()) {
    http::detail::hand_off(
        response, *target,
        [&route, head = std::move(head), data = std::move(upgrade.user_data()), protocol = upgrade.protocol(),
         params](net::Connection& connection, std::string_view rest) mutable {
          connection.write(std::string_view(head));
          auto socket = std::make_unique<Socket>(connection, route, std::move(data), protocol, params);
          Socket* opened = socket.get();
          connection.set_protocol(std::move(socket));
          opened->opened();
          if (!rest.empty() && !connection.closing()) {
            std::string bytes(rest);  // the reader unmasks in place
            connection.protocol()->on_data(connection, std::as_writable_bytes(std::span(bytes.data(), bytes.size())));
          }
        });
    return;
  }
  http::detail::Session* session = http::detail::ResponseAccess::session(response);
  if (!session || !session->connection()) return;
  auto socket = std::make_unique<Socket>(*session->connection(), route, std::move(upgrade.user_data()),
                                         upgrade.protocol(), params);
  Socket* opened = socket.get();
  http::detail::upgrade(response, head, std::move(socket));
  opened->opened();
}

}  // namespace switchboard::ws::detail
