#pragma once
// What a connection speaks. The worker owns the socket and moves bytes; a Transport
// turns them into a session: it writes the opening handshake, frames each message, and
// parses what arrives into messages. The raw WebSocket transport is the first; the
// Engine.IO websocket transport and Socket.IO on top of it fit the same interface (a
// Socket.IO transport wraps an Engine.IO one, which wraps the WebSocket framing).
//
// Lifetime: one Transport per connection attempt, created by the TransportFactory,
// destroyed with the connection. Thread safety: none; a transport lives on its
// worker's thread.

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "byte_buffer.hpp"

namespace switchboard::loadgen {

class Random;
struct Options;

// Where a transport reports what it read. Called from inside Transport::feed.
class TransportEvents {
 public:
  // The opening handshake finished; messages may be sent from here on.
  virtual void on_open() = 0;
  // One whole message. `payload` is valid only during the call.
  virtual void on_message(std::span<const std::byte> payload, bool binary) = 0;

 protected:
  ~TransportEvents() = default;
};

enum class FeedStatus {
  ok,      // go on reading
  closed,  // the session ended cleanly (both sides said goodbye); expect the server's FIN
  failed,  // a protocol error; error() says which; drop the connection
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Appends the bytes that open the session (an HTTP upgrade request) to `out`.
  virtual void start(ByteBuffer& out) = 0;

  // Consumes every byte of `input` (which it may modify in place), reporting events.
  // Bytes the protocol answers by itself (a pong, the close reply) go to `out`.
  virtual FeedStatus feed(std::span<std::byte> input, TransportEvents& events, ByteBuffer& out) = 0;

  // Appends one message to `out`. Only after on_open.
  virtual void send(std::span<const std::byte> payload, bool binary, ByteBuffer& out) = 0;

  // Starts the closing handshake. feed() returns `closed` when the peer has answered.
  virtual void close(ByteBuffer& out) = 0;

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

}  // namespace switchboard::loadgen
