#include "options.hpp"

#include <cstring>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <netdb.h>

namespace switchboard::loadgen {

const char* to_string(ScenarioKind kind) noexcept {
  switch (kind) {
    case ScenarioKind::echo: return "echo";
    case ScenarioKind::idle: return "idle";
    case ScenarioKind::connect: return "connect";
    case ScenarioKind::fanout: return "fanout";
    case ScenarioKind::chat: return "chat";
  }
  return "?";
}

const char* to_string(TransportKind kind) noexcept {
  switch (kind) {
    case TransportKind::websocket: return "ws";
    case TransportKind::eio_websocket: return "eio-websocket";
    case TransportKind::eio_polling: return "eio-polling";
    case TransportKind::sio_websocket: return "sio-websocket";
    case TransportKind::sio_polling: return "sio-polling";
  }
  return "?";
}

std::string Url::authority() const {
  bool bracket = host.find(':') != std::string::npos;  // an IPv6 literal
  std::string out = bracket ? "[" + host + "]" : host;
  if (port != 80) out += ":" + std::to_string(port);
  return out;
}

std::optional<Url> parse_url(const std::string& text, std::string& error) {
  if (text.rfind("wss://", 0) == 0 || text.rfind("https://", 0) == 0) {
    error = "wss:// and https:// are not supported (no TLS in the load generator)";
    return std::nullopt;
  }
  std::size_t scheme_size = 0;
  if (text.rfind("ws://", 0) == 0) {
    scheme_size = 5;
  } else if (text.rfind("http://", 0) == 0) {
    scheme_size = 7;
  } else {
    error = "the URL must start with ws:// or http://";
    return std::nullopt;
  }
  Url url;
  url.text = text;
  std::string_view rest = std::string_view(text).substr(scheme_size);
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated [IPv6] host";
      return std::nullopt;
    }
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "junk after the [IPv6] host";
        return std::nullopt;
      }
      port_text = after.substr(1);
    }
  } else {
    std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) {
    error = "the URL has no host";
    return std::nullopt;
  }
  if (!port_text.empty()) {
    unsigned long port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        error = "bad port";
        return std::nullopt;
      }
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) {
      error = "bad port";
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(port);
  }
  return url;
}

namespace {

bool resolve(Options& options, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(options.url.port);
  int rc = getaddrinfo(options.url.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || !found) {
    error = "cannot resolve " + options.url.host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&options.address, found->ai_addr, found->ai_addrlen);
  options.address_length = found->ai_addrlen;
  freeaddrinfo(found);
  return true;
}

}  // namespace

std::optional<int> parse_options(int argc, char** argv, Options& options) {
  CLI::App app{
      "sb-loadgen: a load generator for WebSocket servers (Switchboard's benchmarks).\n"
      "Prints progress every second and a summary to stderr, and one JSON object with\n"
      "every number to stdout.",
      "sb-loadgen"};
  app.get_formatter()->column_width(34);

  std::string url_text;
  app.add_option("--url", url_text,
                 "Target, ws://HOST[:PORT][/PATH] or http://… (e.g. ws://127.0.0.1:8080/echo;\n"
                 "for Engine.IO the path of the endpoint, http://127.0.0.1:3000/engine.io/)")
      ->required();
  const std::map<std::string, ScenarioKind> scenarios{
      {"echo", ScenarioKind::echo},
      {"idle", ScenarioKind::idle},
      {"connect", ScenarioKind::connect},
      {"fanout", ScenarioKind::fanout},
      {"chat", ScenarioKind::chat}};
  std::string scenario = "echo";
  app.add_option("--scenario", scenario,
                 "echo: pipelined messages, reports messages/s and round-trip latency;\n"
                 "idle: open --connections and hold them silent for --duration, reports how many\n"
                 "stayed open and the server's RSS per connection; they open in two halves, the\n"
                 "server sampled 1 s after the first is open, and the growth from there to the end per\n"
                 "further connection is the marginal cost, without a fresh server's one-time costs\n"
                 "(code paged in, first heap arenas);\n"
                 "connect: connect + handshake + close in a loop, reports connections/s (Engine.IO:\n"
                 "sessions opened and closed, i.e. handshakes/s; Socket.IO: with CONNECT and DISCONNECT);\n"
                 "fanout (Socket.IO only): --connections members join room \"room\" (handshake query\n"
                 "room=1) and one more session emits \"pub\" at --rate; reports deliveries of \"msg\"\n"
                 "per second and the publisher-to-member latency;\n"
                 "chat (Socket.IO only): --connections clients (default 10,000) in --rooms rooms of the\n"
                 "chat contract (DESIGN.md); each joins its room, then every --period seconds emits\n"
                 "\"typing\" and, 1 s later (at most half the period), \"send-message\" with an ack; reports\n"
                 "new-message deliveries per second and the sender-to-member latency")
      ->check(CLI::IsMember(scenarios))
      ->capture_default_str();
  const std::map<std::string, TransportKind> transports{{"ws", TransportKind::websocket},
                                                        {"eio-websocket", TransportKind::eio_websocket},
                                                        {"eio-polling", TransportKind::eio_polling},
                                                        {"sio-websocket", TransportKind::sio_websocket},
                                                        {"sio-polling", TransportKind::sio_polling}};
  std::string transport = "ws";
  app.add_option("--transport", transport,
                 "Protocol spoken by each session: ws (RFC 6455, no extensions);\n"
                 "eio-websocket (Engine.IO v4, WebSocket only: PATH?EIO=4&transport=websocket);\n"
                 "eio-polling (Engine.IO v4 HTTP long-polling: one keep-alive connection holds the\n"
                 "GET, another carries the POSTs; messages queued while a POST is out leave\n"
                 "together in the next; connect uses one connection per session);\n"
                 "sio-websocket, sio-polling (Socket.IO v5 over those: CONNECT to \"/\", messages are\n"
                 "events \"echo\" with one argument, a string (--text) or a binary attachment;\n"
                 "URL http://HOST:PORT/socket.io/)")
      ->check(CLI::IsMember(transports))
      ->capture_default_str();
  app.add_option("--threads", options.threads,
                 "Worker threads, each with its own epoll loop and its share of the connections")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  auto* connections = app.add_option("-c,--connections", options.connections,
                 "echo, idle, fanout, chat: connections to open (all of them before the load starts;\n"
                 "chat: default 10,000)")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  app.add_option("--inflight", options.inflight,
                 "echo: messages each connection keeps outstanding; a new one leaves as each echo "
                 "returns;\nfanout with --rate 0: publications not yet delivered to every member")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  app.add_option("--size", options.size,
                 "echo: payload bytes per message; the first 8 carry the send time (16 with --text);\n"
                 "fanout: bytes of the \"pub\" string (at least 32: send time and number);\n"
                 "chat: characters of each message's text (at most 10,000)")
      ->check(CLI::Range(8u, 16u * 1024 * 1024))
      ->capture_default_str();
  app.add_flag("--text", options.text,
               "echo: send text frames with an ASCII payload instead of binary frames");
  app.add_option("--warmup", options.warmup_s,
                 "echo, connect, fanout, chat: seconds of load before the measured window (not counted)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("-d,--duration", options.duration_s,
                 "Seconds in the measured window; idle: seconds to hold the connections "
                 "(0: until SIGINT)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--rate", options.rate,
                 "fanout: publications per second, on a fixed schedule (0: as fast as the room drains,\n"
                 "at most --inflight publications not yet delivered to every member)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--rooms", options.rooms, "chat: rooms; client i joins room i % rooms (\"room-<n>\")")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  app.add_option("--period", options.period_s,
                 "chat: seconds between one client's messages (each client starts at a random point\n"
                 "of its first period, so the load is even)")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  app.add_option("--concurrency", options.concurrency,
                 "connect: connections in progress at any time (connect, upgrade or close)")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  app.add_option("--ramp-concurrency", options.ramp_concurrency,
                 "echo, idle: most TCP connects + handshakes in flight while opening the connections\n"
                 "(an Engine.IO polling session counts twice: it opens two connections)")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  app.add_option("--handshake-timeout", options.handshake_timeout_s,
                 "Seconds a TCP connect + upgrade may take before it counts as failed")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  app.add_option("--ramp-timeout", options.ramp_timeout_s,
                 "echo, idle: seconds to wait for all connections to open; then the run goes on "
                 "with those that did")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  app.add_option("--server-pid", options.server_pid,
                 "Server process to watch: its CPU time (utime+stime, /proc/PID/stat) and RSS "
                 "(/proc/PID/status)\nat the start and end of the measured window give its CPU "
                 "share, the rate per\nserver-CPU-second and, for idle, its RSS per connection (and "
                 "per further connection\nonce half are open)");
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No progress lines (the summary and the JSON still print)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  options.progress = !quiet;
  options.scenario = scenarios.at(scenario);
  options.transport = transports.at(transport);
  if (options.scenario == ScenarioKind::fanout) {
    if (!options.socket_io()) {
      std::cerr << "sb-loadgen: --scenario fanout needs --transport sio-websocket or sio-polling (rooms)\n";
      return 2;
    }
    if (options.size < Options::fanout_min_size) {
      std::cerr << "sb-loadgen: fanout needs --size >= " << Options::fanout_min_size
                << " (send time and publication number, 16 hex digits each)\n";
      return 2;
    }
    options.text = true;  // "pub" carries a string
  }
  if (options.scenario == ScenarioKind::chat) {
    if (!options.socket_io()) {
      std::cerr << "sb-loadgen: --scenario chat needs --transport sio-websocket or sio-polling\n";
      return 2;
    }
    if (connections->count() == 0) options.connections = Options::chat_default_clients;
    if (options.size > Options::chat_max_text) {
      std::cerr << "sb-loadgen: chat needs --size <= " << Options::chat_max_text
                << " (the contract refuses longer texts)\n";
      return 2;
    }
  }
  if (options.text && options.size < options.min_size()) {
    std::cerr << "sb-loadgen: --text needs --size >= " << options.min_size()
              << " (the send time as 16 hex digits)\n";
    return 2;
  }
  std::string error;
  auto url = parse_url(url_text, error);
  if (!url) {
    std::cerr << "sb-loadgen: --url " << url_text << ": " << error << "\n";
    return 2;
  }
  options.url = std::move(*url);
  if (!resolve(options, error)) {
    std::cerr << "sb-loadgen: " << error << "\n";
    return 2;
  }
  if (options.threads > options.connections && options.scenario != ScenarioKind::connect) {
    options.threads = options.connections;
  }
  return std::nullopt;
}

}  // namespace switchboard::loadgen
