// switchboard: the server binary. With no options it runs the chat contract of
// DESIGN.md on port 3000; see --help, and docs/CONFIGURATION.md.

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <spdlog/spdlog.h>

#include <switchboard/engineio.hpp>
#include <switchboard/http.hpp>
#include <switchboard/socketio.hpp>
#include <switchboard/websocket.hpp>

#include "app/admin_ui.hpp"
#include "app/chat_server.hpp"
#include "app/config.hpp"
#include "app/dashboard.hpp"
#include "app/http_api.hpp"
#include "app/jwt_verifier.hpp"
#include "app/log_format.hpp"
#include "app/memory_presence.hpp"
#include "app/metrics.hpp"
#include "app/prometheus.hpp"
#include "app/room_feed.hpp"
#include "app/web_assets.hpp"

namespace {

namespace app = switchboard::app;
namespace sio = switchboard::sio;

// Builds the token verifier the settings ask for; throws std::invalid_argument with a
// message naming the key at fault.
std::optional<app::JwtVerifier> make_verifier(const app::Settings& settings) {
  std::optional<app::JwtAlgorithm> algorithm;
  if (!settings.jwt_algorithm.empty()) algorithm = app::jwt_algorithm_from_name(settings.jwt_algorithm);
  std::optional<app::JwtVerifier> verifier;
  try {
    if (!settings.jwt_secret.empty()) {
      verifier = app::JwtVerifier::with_secret(settings.jwt_secret, algorithm.value_or(app::JwtAlgorithm::HS256));
    } else if (!settings.jwt_public_key.empty()) {
      std::ifstream file(settings.jwt_public_key, std::ios::binary);
      if (!file) throw std::invalid_argument("cannot read the file");
      std::stringstream pem;
      pem << file.rdbuf();
      verifier = app::JwtVerifier::with_public_key(pem.str(), algorithm);
    }
  } catch (const std::invalid_argument& e) {
    std::string key = settings.jwt_secret.empty() ? "jwt-public-key " + settings.jwt_public_key : "jwt-secret";
    throw std::invalid_argument(key + ": " + e.what());
  }
  if (verifier) verifier->set_leeway(std::chrono::seconds(settings.jwt_leeway_s));
  return verifier;
}

// The protocol test suites' reference servers (socket.io-protocol's README, "Test suite").
void serve_protocol_tests(const app::Settings& settings, switchboard::http::Server& server,
                          std::optional<switchboard::eio::Server>& engine, std::optional<sio::Server>& io) {
  switchboard::eio::ServerOptions test;
  test.ping_interval = std::chrono::milliseconds(settings.ping_interval_ms.value_or(300));
  test.ping_timeout = std::chrono::milliseconds(settings.ping_timeout_ms.value_or(200));
  test.max_http_buffer_size = 1'000'000;
  engine.emplace(server, test);
  engine->on_message([](switchboard::eio::Socket& socket, std::string_view data, bool binary) {
    socket.send(data, binary);
  });
  sio::ServerOptions io_options;
  io_options.engine.ping_interval = test.ping_interval;
  io_options.engine.ping_timeout = test.ping_timeout;
  io_options.engine.max_http_buffer_size = test.max_http_buffer_size;
  io_options.connect_timeout = std::chrono::milliseconds(1000);
  io.emplace(server, io_options);
  io->of("/").on_connection([](sio::Socket& socket) {
    socket.emit("auth", sio::Args{socket.handshake().auth});
    socket.on("message", [](sio::Socket& s, sio::Args& args, sio::Ack) { s.emit("message-back", std::move(args)); });
    socket.on("message-with-ack", [](sio::Socket&, sio::Args& args, sio::Ack ack) { ack(std::move(args)); });
  });
  io->of("/custom").on_connection([](sio::Socket& socket) {
    socket.emit("auth", sio::Args{socket.handshake().auth});
  });
}

// The host part of a URL that a browser on this machine opens: a wildcard address is
// reached through loopback, and an IPv6 literal goes in brackets.
std::string browser_host(const std::string& host) {
  if (host == "0.0.0.0") return "127.0.0.1";
  if (host == "::") return "[::1]";
  if (host.find(':') != std::string::npos) return "[" + host + "]";
  return host;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out, err;
  auto command_line = app::parse_command_line(
      argc, argv,
      [](const char* name) -> std::optional<std::string> {
        const char* value = std::getenv(name);
        if (!value) return std::nullopt;
        return std::string(value);
      },
      out, err);
  std::cout << out;
  std::cerr << err;
  if (command_line.exit_code) return *command_line.exit_code;
  const app::Settings& settings = command_line.settings;

  app::configure_logging(settings.log_format, settings.log_level);

  std::optional<app::JwtVerifier> verifier;
  try {
    verifier = make_verifier(settings);
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }

  switchboard::http::ServerOptions options;
  options.host = settings.host;
  options.port = settings.port;
  options.threads = settings.threads;
  options.max_connections = settings.max_connections;
  switchboard::http::Server server(options);
  switchboard::ws::Hub hub(server);
  // Before the Socket.IO server: its namespaces' adapters count into these and feed
  // the SSE and /ws followers, so both outlive it.
  app::Metrics metrics(server);
  app::RoomFeed feed(server, &metrics);
  metrics.set_hub(&hub);
  app::Ticker ticker(std::chrono::seconds(1));

  if (!settings.ws_echo.empty()) {
    switchboard::ws::Behavior echo;
    echo.max_message_size = settings.ws_max_message;
    echo.idle_timeout = std::chrono::seconds(settings.ws_idle_timeout_s);
    echo.max_backpressure = std::max<std::size_t>(settings.ws_max_message * 2, 16 * 1024 * 1024);
    echo.compression.enabled = settings.ws_deflate;
    echo.message = [](switchboard::ws::WebSocket& ws, std::string_view message, bool binary) {
      ws.send(message, binary);
    };
    metrics.instrument(echo);
    hub.route(settings.ws_echo, std::move(echo));
  }

  // Destroyed in the reverse order: the chat's handlers (in `io`) use the presence store,
  // so `io` is reset explicitly before the chat and the store go (see the end of main).
  app::MemoryPresenceStore presence;
  std::optional<switchboard::eio::Server> engine;
  std::optional<sio::Server> io;
  std::optional<app::ChatServer> chat;
  std::optional<app::Dashboard> dashboard;
  std::optional<app::AdminUi> admin_ui;
  std::string auth = verifier ? "on, " + std::string(app::name_of(verifier->algorithm())) + " tokens" : "off";

  // The browser client, before the Socket.IO server attaches: its routes take
  // /socket.io/socket.io.js and the rest of the client's names ahead of the Engine.IO
  // endpoint's /socket.io/* (routes are tried in the order added), as Node's socket.io
  // answers them ahead of engine.io.
  std::shared_ptr<const app::ClientBundle> bundle;
  if (!settings.client_dist.empty()) {
    try {
      bundle = app::ClientBundle::load(settings.client_dist);
    } catch (const std::exception& e) {
      spdlog::warn("browser client not served: {}", e.what());
    }
  }
  app::mount_client_bundle(server.router(), bundle);

  if (settings.protocol_test_mode) {
    serve_protocol_tests(settings, server, engine, io);
  } else {
    sio::ServerOptions io_options;
    if (settings.ping_interval_ms) io_options.engine.ping_interval = std::chrono::milliseconds(*settings.ping_interval_ms);
    if (settings.ping_timeout_ms) io_options.engine.ping_timeout = std::chrono::milliseconds(*settings.ping_timeout_ms);
    if (settings.admin_ui && !settings.admin_ui_origin.empty()) {
      // As Node's admin UI documentation asks of the server: {origin, credentials: true}.
      switchboard::eio::Cors cors;
      cors.origins = {settings.admin_ui_origin};
      cors.credentials = true;
      io_options.engine.cors = std::move(cors);
    }
    io_options.adapter = metrics.adapter_factory(
        &feed, {std::string(app::dashboard_namespace), std::string(app::admin_namespace)});
    io.emplace(server, io_options);
    metrics.set_engine(&io->engine());
    app::ChatOptions chat_options;
    for (const auto& name : chat_options.namespaces) metrics.add_namespace(io->of(name));
    metrics.instrument(*io);
    chat_options.rate_limits.per_socket = {settings.rate_limit_burst, settings.rate_limit_per_second};
    chat_options.rate_limits.per_event = settings.rate_limit_events;
    chat_options.verifier = std::move(verifier);
    chat_options.on_rate_limited = [&metrics] { metrics.local().dropped_rate_limited.add(); };
    chat_options.on_auth_refused = [&metrics] { metrics.local().connect_refused_auth.add(); };
    chat.emplace(*io, presence, std::move(chat_options));
    app::HttpApiOptions api;
    api.api_key = settings.api_key;
    api.max_body_size = settings.api_max_body;
    app::mount_http_api(server.router(), chat->namespaces(), api);

    app::FeedOptions feed_options{settings.api_key, settings.ws_publish};
    app::mount_sse(server.router(), feed, chat->namespaces(), feed_options);
    switchboard::ws::Behavior ws_feed = app::ws_feed_behavior(feed, io->of("/"), feed_options);
    metrics.instrument(ws_feed);
    hub.route("/ws", std::move(ws_feed));

    if (settings.dashboard) {
      dashboard.emplace(*io, metrics, settings.api_key);
      metrics.add_namespace(dashboard->nsp());
      ticker.add([&dashboard] { dashboard->tick(); });
    }
    ticker.add([&feed] { feed.heartbeat(); }, settings.sse_heartbeat_s);

    if (settings.admin_ui) {
      app::AdminUiOptions admin;
      admin.auth = settings.admin_ui_auth;
      admin.username = settings.admin_ui_username;
      admin.password_hash = settings.admin_ui_password_hash;
      admin.readonly = settings.admin_ui_readonly;
      admin.production = settings.admin_ui_mode == "production";
      admin.server_id = settings.admin_ui_server_id;
      std::vector<sio::Namespace*> watched;
      for (const auto& [name, nsp] : chat->namespaces()) watched.push_back(nsp);
      if (dashboard) watched.push_back(&dashboard->nsp());
      try {
        admin_ui.emplace(*io, metrics, std::move(watched), std::move(admin));
      } catch (const std::invalid_argument& e) {
        std::cerr << "error: admin-ui: " << e.what() << "\n";
        return 2;
      }
      ticker.add([&admin_ui] { admin_ui->tick(); }, 2);  // every 2 seconds, as Node's admin
      if (!settings.admin_ui_dist.empty()) {
        // The UI's files name their siblings relatively (css/..., js/...): /admin must end in '/'.
        server.router().get("/admin", [](switchboard::http::Request&, switchboard::http::Response& res) {
          res.header("Location", "/admin/").send(301, "Moved Permanently: /admin/\n");
        });
        server.router().get("/admin/*", switchboard::http::serve_static(settings.admin_ui_dist));
      }
    }
  }
  ticker.add([&metrics] { metrics.probe_loops(); });
  if (settings.metrics != "off") {
    std::string key = settings.metrics == "api-key" ? settings.api_key : std::string();
    server.router().get("/metrics", [&metrics, key](switchboard::http::Request& req, switchboard::http::Response& res) {
      if (!app::authorized(req, key)) {
        res.send(401, "{\"error\":\"a valid API key is required\"}", "application/json");
        return;
      }
      res.header("Cache-Control", "no-cache");
      res.send(200, metrics.render(), app::prometheus_content_type);
    });
  }

  try {
    // Last: it takes every GET path that no route above took.
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
  } else {
    std::string host = browser_host(settings.host);
    std::string open = "http://" + host + ":" + std::to_string(server.port());
    spdlog::info("chat server ready: connect a socket.io-client to {} (namespaces /, /chat, /notifications; auth {})",
                 open, auth);
    spdlog::info("HTTP API: POST {}/api/publish and {}/api/broadcast{}", open, open,
                 settings.api_key.empty() ? " (open: set SWITCHBOARD_API_KEY to require a key)" : " (API key required)");
    std::string ws_open = "ws://" + host + ":" + std::to_string(server.port());
    spdlog::info("room feeds: GET {}/sse?room=R and {}/ws{}; metrics: {}", open, ws_open,
                 settings.ws_publish ? " (publishing on)" : "",
                 settings.metrics == "off" ? std::string("off") : open + "/metrics" +
                     (settings.metrics == "api-key" && !settings.api_key.empty() ? " (API key required)" : ""));
    if (settings.dashboard && !settings.static_dir.empty()) {
      spdlog::info("live dashboard: {}/dashboard.html (namespace /dashboard)", open);
    }
    if (admin_ui) {
      std::string login = settings.admin_ui_auth ? "user " + settings.admin_ui_username : "no password asked";
      std::string mode = settings.admin_ui_mode + (settings.admin_ui_readonly ? ", read-only" : "");
      if (settings.admin_ui_dist.empty()) {
        spdlog::info("admin UI: namespace /admin ({}; {}): open https://admin.socket.io with server URL {}", login,
                     mode, open);
      } else {
        spdlog::info("admin UI: open {}/admin/ and connect to server URL {} ({}; {})", open, open, login, mode);
      }
    }
  }
  if (bundle) {
    spdlog::info("browser client: /socket.io/socket.io.js is socket.io-client {} from {}", bundle->version(),
                 bundle->dist());
  } else if (settings.client_dist.empty()) {
    spdlog::warn("browser client not served (/socket.io/socket.io.js answers 404): client-dist is empty, and by "
                 "default it is looked for as {}; run `npm ci` at the repository root to install it, or set "
                 "--client-dist DIR",
                 app::describe_search("node_modules/socket.io-client/dist"));
  }
  if (settings.static_dir.empty()) {
    spdlog::warn("no files served at /: static is empty (by default the demo is looked for as {}; "
                 "or set --static DIR)",
                 app::describe_search("web/index.html"));
  } else if (!settings.protocol_test_mode) {
    bool demo = settings.static_dir == app::default_web_root();
    std::string host = browser_host(settings.host);
    spdlog::info("open http://{}:{}/ in a browser{} (files from {})", host, server.port(),
                 demo ? " for the demo chat" : "", settings.static_dir);
  }
  server.on_termination_signal([&server, &chat](int signal) {
    spdlog::info("{} received: shutting down (send it again to stop at once)", signal == SIGINT ? "SIGINT" : "SIGTERM");
    static bool again = false;
    if (again) std::_Exit(1);
    again = true;
    if (chat) chat->shutting_down();
    server.shutdown(std::chrono::seconds(5));
  });
  ticker.start();
  server.run();
  ticker.stop();
  if (chat) chat->stop();
  dashboard.reset();
  admin_ui.reset();
  io.reset();  // runs the disconnect handlers of sockets still open, while the chat exists
  chat.reset();
  spdlog::info("stopped");
  return 0;
}
