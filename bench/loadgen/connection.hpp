#pragma once
// One client connection as the worker sees it: a socket, its transport, and its
// corked output. Owned by its worker; scenarios get references during callbacks and
// must not keep them past on_closed.

#include <cstdint>
#include <memory>

#include "byte_buffer.hpp"
#include "transport.hpp"

namespace switchboard::loadgen {

enum class ConnState : std::uint8_t {
  connecting,   // TCP connect in progress
  handshaking,  // upgrade request sent, waiting for the 101
  open,
  closing,      // we sent a close frame, waiting for the server's
  finishing,    // close handshake done; waiting for the server's FIN (RFC 6455 §7.1.1)
  closed,       // socket closed; the worker frees the slot at the end of the turn
};

// How a connection ended.
enum class Outcome : std::uint8_t {
  clean,             // our close, answered by the server
  dropped,           // the server ended an open session (close frame, FIN or reset)
  connect_failed,    // TCP connect failed or timed out
  handshake_failed,  // no valid 101 in time
  protocol_error,    // the server sent something RFC 6455 forbids
  close_timeout,     // the server never answered our close frame
  aborted,           // the load generator stopped
};

struct Connection {
  int fd = -1;
  std::uint32_t slot = 0;       // index in the worker's table; scenarios key state by it
  ConnState state = ConnState::closed;
  Outcome outcome = Outcome::clean;  // decided when the close handshake finishes
  bool opened = false;          // the handshake completed
  bool queued = false;          // in the worker's flush list for this turn
  bool want_write = false;      // a short write left bytes: EPOLLOUT is armed
  std::int64_t started_ns = 0;  // when connect() was called
  std::int64_t deadline_ns = 0; // timeout of the current state; 0 = none
  std::unique_ptr<Transport> transport;
  ByteBuffer out;               // corked: everything one turn sends leaves in one send()
};

}  // namespace switchboard::loadgen
