// switchboard: the server binary.

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <switchboard/engineio.hpp>
#include <switchboard/socketio.hpp>
#include <switchboard/http.hpp>
#include <switchboard/websocket.hpp>

#include "app/size_option.hpp"

namespace {

struct Settings {
  std::string host = "0.0.0.0";
  std::uint16_t port = 3000;
  unsigned threads = 0;
  std::size_t max_connections = 0;
  std::string ws_echo;
  bool ws_deflate = false;
  std::string ws_max_message = "16M";
  unsigned ws_idle_timeout = 120;
  std::string log_level = "info";
  std::string static_dir;
  bool protocol_test_mode = false;
  unsigned ping_interval_ms = 0;
  unsigned ping_timeout_ms = 0;
};

void add_options(CLI::App& app, Settings& s) {
  app.add_option("--host", s.host, "Address to listen on (0.0.0.0 for every IPv4 interface, :: for IPv6 too)")
      ->capture_default_str();
  app.add_option("--port", s.port, "TCP port to listen on (0 picks a free one and logs it)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--threads", s.threads,
                 "Worker threads, each with its own event loop and connections (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  app.add_option("--max-connections", s.max_connections,
                 "Refuse connections past this many at once (0: no limit; the OS file limit applies)")
      ->capture_default_str();
  app.add_option("--ws-echo", s.ws_echo,
                 "Mount a native WebSocket echo endpoint at exactly PATH (e.g. /echo): text comes back as\n"
                 "text, binary as binary. For conformance checks and benchmarks.")
      ->type_name("PATH");
  app.add_flag("--ws-deflate", s.ws_deflate, "Offer permessage-deflate (RFC 7692) on the --ws-echo endpoint");
  app.add_option("--ws-max-message", s.ws_max_message,
                 "Largest message the --ws-echo endpoint accepts, in bytes (suffixes K, M, G: 1024-based);\n"
                 "larger ones close the connection with 1009")
      ->capture_default_str()
      ->type_name("SIZE");
  app.add_option("--ws-idle-timeout", s.ws_idle_timeout,
                 "Seconds of silence before a WebSocket peer is dropped; it is pinged at half of it")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  app.add_option("--static", s.static_dir,
                 "Serve the files under DIR at / (GET and HEAD; ETag/304; no path outside DIR)")
      ->type_name("DIR")
      ->check(CLI::ExistingDirectory);
  app.add_flag("--protocol-test-mode", s.protocol_test_mode,
               "Serve the reference servers of the official protocol test suites: Engine.IO at /engine.io/\n"
               "echoing every message, and Socket.IO at /socket.io/ (namespaces / and /custom, events\n"
               "\"message\" and \"message-with-ack\" echoed) — pingInterval 300 ms, pingTimeout 200 ms,\n"
               "maxPayload 1000000, connectTimeout 1000 ms");
  app.add_option("--ping-interval", s.ping_interval_ms,
                 "Engine.IO heartbeat: milliseconds between the server's pings (default 25000; 300 in test mode)")
      ->check(CLI::Range(1u, 3'600'000u));
  app.add_option("--ping-timeout", s.ping_timeout_ms,
                 "Engine.IO heartbeat: milliseconds a client has to answer a ping (default 20000; 200 in test mode)")
      ->check(CLI::Range(1u, 3'600'000u));
  app.add_option("--log-level", s.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "switchboard — a real-time messaging server.\n\n"
      "Serves HTTP/1.1 and native WebSocket (RFC 6455, permessage-deflate) on one port.\n"
      "GET /healthz answers 200 when the server is up.\n\n"
      "Examples:\n"
      "  switchboard                                  listen on 0.0.0.0:3000\n"
      "  switchboard --port 8080 --ws-echo /echo      a WebSocket echo at ws://HOST:8080/echo\n"
      "  switchboard --ws-echo /echo --ws-deflate     the same, with compression offered\n",
      "switchboard"};
  app.get_formatter()->column_width(34);
  Settings settings;
  add_options(app, settings);
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("switchboard");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(settings.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  auto max_message = switchboard::app::parse_size(settings.ws_max_message);
  if (!max_message) {
    std::cerr << "error: --ws-max-message '" << settings.ws_max_message
              << "' is not a size: use bytes, or a number with K, M or G (e.g. 16M)\n";
    return 2;
  }
  if (!settings.ws_echo.empty() && settings.ws_echo.front() != '/') {
    std::cerr << "error: --ws-echo '" << settings.ws_echo << "' must be a path starting with '/', e.g. /echo\n";
    return 2;
  }
  if (settings.ws_deflate && settings.ws_echo.empty()) {
    std::cerr << "error: --ws-deflate applies to the --ws-echo endpoint; add --ws-echo PATH\n";
    return 2;
  }

  switchboard::http::ServerOptions options;
  options.host = settings.host;
  options.port = settings.port;
  options.threads = settings.threads;
  options.max_connections = settings.max_connections;
  switchboard::http::Server server(options);
  switchboard::ws::Hub hub(server);

  if (!settings.ws_echo.empty()) {
    switchboard::ws::Behavior echo;
    echo.max_message_size = *max_message;
    echo.idle_timeout = std::chrono::seconds(settings.ws_idle_timeout);
    echo.max_backpressure = std::max<std::size_t>(*max_message * 2, 16 * 1024 * 1024);
    echo.compression.enabled = settings.ws_deflate;
    echo.message = [](switchboard::ws::WebSocket& ws, std::string_view message, bool binary) {
      ws.send(message, binary);
    };
    hub.route(settings.ws_echo, std::move(echo));
  }

  std::optional<switchboard::eio::Server> engine;
  std::optional<switchboard::sio::Server> io;
  if (settings.protocol_test_mode) {
    switchboard::eio::ServerOptions test;
    test.ping_interval = std::chrono::milliseconds(settings.ping_interval_ms ? settings.ping_interval_ms : 300);
    test.ping_timeout = std::chrono::milliseconds(settings.ping_timeout_ms ? settings.ping_timeout_ms : 200);
    test.max_http_buffer_size = 1'000'000;
    engine.emplace(server, test);
    engine->on_connection([](switchboard::eio::Socket& socket) {
      socket.on_message = [&socket](std::string_view data, bool binary) { socket.send(data, binary); };
    });
    namespace sio = switchboard::sio;
    sio::ServerOptions io_options;
    io_options.engine.ping_interval = test.ping_interval;
    io_options.engine.ping_timeout = test.ping_timeout;
    io_options.engine.max_http_buffer_size = test.max_http_buffer_size;
    io_options.connect_timeout = std::chrono::milliseconds(1000);
    io.emplace(server, io_options);
    // The socket.io-protocol test suite's reference server (its README, "Test suite").
    io->of("/").on_connection([](sio::Socket& socket) {
      socket.emit("auth", sio::Args{socket.handshake().auth});
      socket.on("message", [](sio::Socket& s, sio::Args& args, sio::Ack) { s.emit("message-back", std::move(args)); });
      socket.on("message-with-ack", [](sio::Socket&, sio::Args& args, sio::Ack ack) { ack(std::move(args)); });
    });
    io->of("/custom").on_connection([](sio::Socket& socket) {
      socket.emit("auth", sio::Args{socket.handshake().auth});
    });
  }

  try {
    if (!settings.static_dir.empty()) server.router().get("/*", switchboard::http::serve_static(settings.static_dir));
    server.listen();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  unsigned threads = server.threads();
  spdlog::info("listening on http://{}:{} with {} thread{}", settings.host, server.port(), threads,
               threads == 1 ? "" : "s");
  if (!settings.ws_echo.empty()) {
    spdlog::info("WebSocket echo at ws://{}:{}{}{}", settings.host, server.port(), settings.ws_echo,
                 settings.ws_deflate ? " (permessage-deflate offered)" : "");
  }
  if (settings.protocol_test_mode) {
    spdlog::info("protocol test mode: Engine.IO echo at http://{}:{}/engine.io/, Socket.IO at /socket.io/",
                 settings.host, server.port());
  }
  server.on_termination_signal([&server](int signal) {
    spdlog::info("{} received: shutting down (send it again to stop at once)", signal == SIGINT ? "SIGINT" : "SIGTERM");
    static bool again = false;
    if (again) std::_Exit(1);
    again = true;
    server.shutdown(std::chrono::seconds(5));
  });
  server.run();
  spdlog::info("stopped");
  return 0;
}
