// A small chat server written against the library: the seed of the `switchboard`
// binary's chat contract (docs/CONFIGURATION.md has the whole of it, src/app the whole
// implementation). Rooms, messages with an acknowledgement and validation, a typing
// indicator, and a middleware that answers from another thread, as a call to a
// database or an auth service would.
//
//   chat_server [--host 0.0.0.0] [--port 3000] [--threads 0]
//
// With the official client:
//   const socket = io("http://localhost:3000", { auth: { name: "ann" } });
//   socket.emit("join-room", "lobby");
//   socket.emit("send-message", { roomId: "lobby", text: "hi" }, (answer) => ...);

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include <switchboard/http.hpp>
#include <switchboard/socketio.hpp>

namespace sio = switchboard::sio;
namespace json = boost::json;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string text_field(const sio::Json& value, std::string_view key) {
  const auto* object = value.if_object();
  const auto* field = object ? object->if_contains(key) : nullptr;
  return field && field->is_string() ? std::string(field->get_string()) : std::string();
}

std::string user_of(sio::Socket& socket) { return text_field(socket.handshake().auth, "name"); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chat_server: rooms, messages with acks, typing — the library's chat example"};
  std::string host = "0.0.0.0";
  std::uint16_t port = 3000;
  unsigned threads = 0;
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "TCP port")->capture_default_str();
  app.add_option("--threads", threads, "Worker threads (0: one per core)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  switchboard::http::Server http({.host = host, .port = port, .threads = threads});
  sio::Server io(http);
  sio::Namespace& chat = io.of("/");

  // A name is required. The check runs on another thread, as a lookup would (a real
  // server hands it to its own pool; a detached thread keeps the example short):
  // next() may be called from any thread.
  chat.use([](sio::Socket& socket, std::function<void(std::optional<sio::MiddlewareError>)> next) {
    std::string name = user_of(socket);
    std::thread([name, next] {
      if (name.empty() || name.size() > 64) {
        next(sio::MiddlewareError{"a name of 1 to 64 characters is required", nullptr});
      } else {
        next(std::nullopt);
      }
    }).detach();
  });

  chat.on_connection([](sio::Socket& socket) {
    socket.on("join-room", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      if (args.size() == 0 || !args[0].is_string()) return ack({json::object{{"success", false}}});
      std::string room(args[0].get_string());
      s.join(room);
      s.to(room).emit("user-joined", {json::object{{"userId", user_of(s)}, {"timestamp", now_ms()}}});
      ack({json::object{{"success", true}}});
    });
    socket.on("send-message", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const sio::Json payload = args.size() ? args[0] : sio::Json();
      std::string room = text_field(payload, "roomId");
      std::string text = text_field(payload, "text");
      if (room.empty() || text.empty() || text.size() > 10'000) {
        return ack({json::object{{"success", false}, {"error", "roomId and a text of 1 to 10,000 characters"}}});
      }
      json::object message{{"roomId", room}, {"username", user_of(s)}, {"text", text}, {"timestamp", now_ms()}};
      s.namespace_().to(room).emit("new-message", {message});  // the sender too
      ack({json::object{{"success", true}}});
    });
    socket.on("typing", [](sio::Socket& s, sio::Args& args, sio::Ack) {
      std::string room = text_field(args.size() ? args[0] : sio::Json(), "roomId");
      if (!room.empty()) s.to(room).emit("user-typing", {json::object{{"username", user_of(s)}}});
    });
    socket.on("leave-room", [](sio::Socket& s, sio::Args& args, sio::Ack) {
      if (args.size() == 0 || !args[0].is_string()) return;
      std::string room(args[0].get_string());
      s.leave(room);
      s.to(room).emit("user-left", {json::object{{"userId", user_of(s)}, {"timestamp", now_ms()}}});
    });
  });

  http.on_termination_signal([&http](int) { http.shutdown(); });
  http.listen();
  std::printf("chat_server listening on %u\n", static_cast<unsigned>(http.port()));
  std::fflush(stdout);
  http.run();
}
