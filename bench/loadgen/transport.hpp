#pragma once
// What a session speaks. The worker owns the sockets and moves bytes; a Transport
// turns them into a session: it writes the opening handshake, frames each message, and
// parses what arrives into messages. Transports: raw WebSocket (ws_transport), and
// Engine.IO v4 over WebSocket (a layer over the raw one) or over HTTP long-polling
// (eio_transport), and Socket.IO v5 as one more layer over an Engine.IO one
// (sio_transport).
//
// Channels: a session may use more than one TCP connection. Raw WebSocket and
// Engine.IO over WebSocket use one (channel 0); Engine.IO polling uses two, as
// browsers do: channel 0 carries the handshake and the long-polling GETs, channel 1
// the POSTs, so that a held GET never delays a send. The worker connects every
// channel when the session starts and gives the transport one corked output buffer
// per channel.
//
// Lifetime: one Transport per session attempt, created by the TransportFactory,
// destroyed with the session. Thread safety: none; a transport lives on its worker's
// thread.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "byte_buffer.hpp"

namespace switchboard::loadgen {

class Random;
struct Options;

constexpr unsigned max_channels = 2;

// A session's corked output: one buffer per channel. Everything a turn appends to a
// channel's buffer leaves in one send() at the end of the turn.
using Outputs = std::array<ByteBuffer, max_channels>;

// Where a transport reports what it read. Called from inside Transport::feed.
class TransportEvents {
 public:
  // The opening handshake finished; messages may be sent from here on.
  virtual void on_open() = 0;
  // One whole message. `payload` is valid only during the call. The receiver may call
  // Transport::send from here.
  virtual void on_message(std::span<const std::byte> payload, bool binary) = 0;

 protected:
  ~TransportEvents() = default;
};

enum class FeedStatus {
  ok,      // go on reading
  closed,  // the session ended cleanly (both sides said goodbye)
  failed,  // a protocol error; error() says which; drop the session
};

class Transport {
 public:
  virtual ~Transport() = default;

  // How many TCP connections the session uses (1 or 2, at most max_channels).
  virtual unsigned channels() const noexcept { return 1; }

  // The channel's TCP connect completed: append what opens it (the upgrade request,
  // the Engine.IO handshake GET; nothing for a POST channel) to `out[channel]`.
  virtual void start(unsigned channel, Outputs& out) = 0;

  // Consumes every byte of `input`, read from `channel` (the transport may modify it in
  // place), reporting events. Bytes the protocol answers by itself (a pong, the close
  // reply, the next long-polling GET) go to `out`.
  virtual FeedStatus feed(unsigned channel, std::span<std::byte> input, TransportEvents& events,
                          Outputs& out) = 0;

  // Sends one message (appends it to `out`, or queues it for before_flush). Only after
  // on_open.
  virtual void send(std::span<const std::byte> payload, bool binary, Outputs& out) = 0;

  // Starts the closing handshake. feed() returns `closed` when the peer has answered.
  virtual void close(Outputs& out) = 0;

  // Called once per loop turn in which the session had something to do, just before
  // its output is written: a transport that batches (Engine.IO polling: one POST for
  // every message queued during the turn) writes its batch here.
  virtual void before_flush(Outputs& out) {}

  // After feed() returned `closed`: whether the server now closes TCP (RFC 6455
  // §7.1.1; an HTTP response to a request sent with `Connection: close`). If so the
  // worker waits for its FIN, so that TIME_WAIT stays on the server's side and the
  // client's ephemeral ports do not run out; if not, the worker closes at once.
  virtual bool server_closes_tcp() const noexcept { return true; }

  // True once the peer started a close that we did not ask for.
  virtual bool closed_by_peer() const noexcept = 0;

  // Why feed() failed.
  virtual std::string_view error() const noexcept = 0;
};

class TransportFactory {
 public:
  virtual ~TransportFactory() = default;
  virtual std::unique_ptr<Transport> create(Random& random) const = 0;
};

std::unique_ptr<TransportFactory> make_transport_factory(const Options& options);
// fanout: the publisher's sessions (Socket.IO, emitting "pub", in no room).
std::unique_ptr<TransportFactory> make_publisher_factory(const Options& options);

}  // namespace switchboard::loadgen
