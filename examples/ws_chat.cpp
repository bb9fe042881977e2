// A chat room over native WebSocket in a dozen lines: every message goes to everyone
// else in the "lobby" topic. Run it, then connect two clients to ws://localhost:3000/chat.

#include <switchboard/http.hpp>
#include <switchboard/websocket.hpp>

int main() {
  switchboard::http::Server server({.port = 3000});
  switchboard::ws::Hub hub(server);
  switchboard::ws::Behavior chat;
  chat.open = [](switchboard::ws::WebSocket& ws) { ws.subscribe("lobby"); };
  chat.message = [](switchboard::ws::WebSocket& ws, std::string_view text, bool binary) {
    ws.publish("lobby", text, binary);  // everyone in the lobby but the sender
  };
  hub.route("/chat", std::move(chat));
  server.router().get("/hello", [](auto&, auto& res) { res.send(200, "hi\n"); });
  server.on_termination_signal([&server](int) { server.shutdown(); });
  server.listen();
  server.run();
}
