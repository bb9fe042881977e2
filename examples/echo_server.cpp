// The Socket.IO server the benchmarks run: "echo" comes back to the sender with the
// same arguments; a connection whose handshake query has room=1 joins room "room"; "pub"
// goes to room "room" as "msg". bench/node/ has the same server on Node's socket.io.
//
//   echo_server --port 3000 --threads 1

#include <CLI/CLI.hpp>

#include <switchboard/http.hpp>
#include <switchboard/socketio.hpp>

int main(int argc, char** argv) {
  CLI::App app{"echo_server: a Socket.IO echo and room-publish server (Switchboard's benchmark peer)"};
  std::string host = "127.0.0.1";
  std::uint16_t port = 3000;
  unsigned threads = 0;
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "TCP port (0: any free one)")->capture_default_str();
  app.add_option("--threads", threads, "Worker threads (0: one per core)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  namespace sio = switchboard::sio;
  switchboard::http::Server http({.host = host, .port = port, .threads = threads});
  sio::Server io(http);
  io.of("/").on_connection([](sio::Socket& socket) {
    if (socket.handshake().query_param("room") == "1") socket.join("room");
    socket.on("echo", [](sio::Socket& s, sio::Args& args, sio::Ack) { s.emit("echo", std::move(args)); });
    socket.on("pub", [](sio::Socket& s, sio::Args& args, sio::Ack) {
      s.namespace_().to("room").emit("msg", std::move(args));
    });
  });
  http.on_termination_signal([&http](int) { http.shutdown(); });
  http.listen();
  std::printf("listening on %u\n", static_cast<unsigned>(http.port()));
  std::fflush(stdout);
  http.run();
}
