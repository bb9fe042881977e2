#pragma once
// One client session as the worker sees it: its sockets (one per transport channel),
// its transport, and its corked output. Owned by its worker; scenarios get references
// during callbacks and must not keep them past on_closed.

#include <array>
#include <cstdint>
#include <memory>

#include "byte_buffer.hpp"
#include "transport.hpp"

namespace switchboard::loadgen {

enum class ConnState : std::uint8_t {
  connecting,   // TCP connect of channel 0 in progress
  handshaking,  // opening handshake sent, waiting for the server's answer
  open,
  closing,      // we started the closing handshake, waiting for the server's answer
  finishing,    // close handshake done; waiting for the server's FIN (RFC 6455 §7.1.1)
  closed,       // sockets closed; the worker frees the slot at the end of the turn
};

// How a session ended.
enum class Outcome : std::uint8_t {
  clean,             // our close, answered by the server
  dropped,           // the server ended an open session (close frame or packet, FIN or reset)
  connect_failed,    // a TCP connect failed or timed out
  handshake_failed,  // no valid opening handshake in time
  protocol_error,    // the server sent something the protocol forbids
  close_timeout,     // the server never answered our close
  aborted,           // the load generator stopped
};

// One TCP connection of a session.
struct Channel {
  int fd = -1;
  bool connected = false;   // the TCP connect completed
  bool want_write = false;  // a short write left bytes: EPOLLOUT is armed
};

struct Connection {
  std::uint32_t slot = 0;       // index in the worker's table; scenarios key state by it
  ConnState state = ConnState::closed;
  Outcome outcome = Outcome::clean;  // decided when the close handshake finishes
  bool opened = false;          // the handshake completed
  bool queued = false;          // in the worker's flush list for this turn
  std::uint8_t channel_count = 1;
  std::int64_t started_ns = 0;  // when connect() was called
  std::int64_t deadline_ns = 0; // timeout of the current state; 0 = none
  std::array<Channel, max_channels> channels;
  std::unique_ptr<Transport> transport;
  Outputs out;                  // corked: what one turn sends leaves in one send() per channel
};

}  // namespace switchboard::loadgen
