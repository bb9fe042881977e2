// The README's Socket.IO example, compiled with the default build: a lobby where every
// "chat" event goes to everyone else, and the sender gets an acknowledgement.

#include <switchboard/http.hpp>
#include <switchboard/socketio.hpp>

int main() {
  namespace sio = switchboard::sio;
  switchboard::http::Server http({.port = 3000});
  sio::Server io(http);
  io.of("/").on_connection([](sio::Socket& socket) {
    socket.join("lobby");
    socket.on("chat", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      s.to("lobby").emit("chat", args);  // everyone in the lobby but the sender
      ack({true});
    });
  });
  http.on_termination_signal([&http](int) { http.shutdown(); });
  http.listen();
  http.run();
}
