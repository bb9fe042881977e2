#pragma once
// Command-line settings of sb-loadgen, with their defaults and the reason for each.

#include <cstdint>
#include <optional>
#include <string>

#include <sys/socket.h>

namespace switchboard::loadgen {

enum class ScenarioKind { echo, idle, connect, fanout, chat };
enum class TransportKind { websocket, eio_websocket, eio_polling, sio_websocket, sio_polling };

const char* to_string(ScenarioKind kind) noexcept;
const char* to_string(TransportKind kind) noexcept;

// ws://host[:port][/path] or http://…: the target, resolved once at start. The scheme
// only says which default port; the transport decides what is spoken.
struct Url {
  std::string host;
  std::uint16_t port = 80;
  std::string path = "/";
  std::string text;  // as given

  // The Host header value: host, and :port unless it is the default.
  std::string authority() const;
};

// Parses a ws:// or http:// URL (wss:// and https:// are refused: the load generator has
// no TLS).
std::optional<Url> parse_url(const std::string& text, std::string& error);

struct Options {
  Url url;
  ScenarioKind scenario = ScenarioKind::echo;
  TransportKind transport = TransportKind::websocket;
  unsigned threads = 1;
  unsigned connections = 100;
  unsigned inflight = 8;           // echo: pipelined messages per connection
  unsigned size = 32;              // echo: payload bytes, timestamp included; chat: text characters
  bool text = false;               // echo: text frames (ASCII payload) instead of binary
  double warmup_s = 2;             // echo, connect, fanout, chat: discarded before the window
  double duration_s = 10;          // the measured window (idle: how long to hold)
  unsigned concurrency = 64;       // connect: handshakes in flight
  // fanout: publications per second (0: as fast as the room drains, with at most
  // --inflight publications not yet delivered to every member)
  double rate = 100;
  unsigned rooms = 100;            // chat: client i joins room i % rooms
  double period_s = 10;            // chat: seconds between one client's messages
  // chat: the clients when --connections is not given (the 10,000 in 100 rooms)
  static constexpr unsigned chat_default_clients = 10'000;
  static constexpr unsigned chat_max_text = 10'000;  // the contract's longest text
  // echo, idle: TCP connects and handshakes in flight while opening (sessions ×
  // sockets_per_session()); bounds the accept backlog and the SYN burst so that the
  // server sees a ramp, not a flood it would drop.
  unsigned ramp_concurrency = 2000;
  double handshake_timeout_s = 10;
  double ramp_timeout_s = 120;     // echo, idle: give up waiting for all to open
  std::optional<int> server_pid;
  bool progress = true;

  sockaddr_storage address{};
  socklen_t address_length = 0;

  // TCP connections per session: Engine.IO polling holds a GET on one and POSTs on
  // another, except in the connect scenario (see eio_transport.hpp).
  unsigned sockets_per_session() const noexcept {
    bool polling = transport == TransportKind::eio_polling || transport == TransportKind::sio_polling;
    return polling && scenario != ScenarioKind::connect ? 2 : 1;
  }

  // Sessions opened before the load starts: the connections, and fanout's publisher.
  unsigned sessions() const noexcept { return connections + (scenario == ScenarioKind::fanout ? 1 : 0); }

  bool socket_io() const noexcept {
    return transport == TransportKind::sio_websocket || transport == TransportKind::sio_polling;
  }

  // fanout's payload: the publisher's send time and the publication's number, as 16 hex
  // digits each.
  static constexpr unsigned fanout_min_size = 32;

  // The smallest payload that carries the send timestamp (8 bytes, or 16 hex digits).
  unsigned min_size() const noexcept { return text ? 16 : 8; }
};

// Parses argv; on --help or an error prints to stderr and returns the exit code to
// use. Resolves the URL's host.
std::optional<int> parse_options(int argc, char** argv, Options& options);

}  // namespace switchboard::loadgen
