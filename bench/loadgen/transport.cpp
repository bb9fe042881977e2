#include "transport.hpp"

#include "eio_transport.hpp"
#include "options.hpp"
#include "sio_transport.hpp"
#include "ws_transport.hpp"

namespace switchboard::loadgen {
namespace {

// Over what a Socket.IO session runs. The connect scenario measures handshakes: over
// polling, one connection per session (see eio_transport.hpp).
SioOver sio_over(const Options& options) {
  if (options.transport == TransportKind::sio_websocket) return SioOver::websocket;
  return options.scenario == ScenarioKind::connect ? SioOver::polling_one_channel : SioOver::polling;
}

}  // namespace

std::unique_ptr<TransportFactory> make_transport_factory(const Options& options) {
  switch (options.transport) {
    case TransportKind::websocket: return make_ws_transport_factory(options.url);
    case TransportKind::eio_websocket: return make_eio_websocket_factory(options.url);
    case TransportKind::eio_polling:
      // The connect scenario measures handshakes: one connection per session (see
      // eio_transport.hpp); the others long-poll on one connection and POST on another.
      return make_eio_polling_factory(options.url, options.scenario == ScenarioKind::connect);
    case TransportKind::sio_websocket:
    case TransportKind::sio_polling:
      // The benchmark server's contract (examples/echo_server.cpp): "echo" comes back to
      // its sender; members of room "room" (query room=1) get each "pub" as "msg".
      // The chat scenario speaks the chat contract (several events, acks): whole packets.
      if (options.scenario == ScenarioKind::chat) {
        SioConfig config;
        config.packets = true;
        return make_sio_factory(options.url, sio_over(options), config);
      }
      if (options.scenario == ScenarioKind::fanout) {
        return make_sio_factory(options.url, sio_over(options), {"room=1", "echo", "msg"});
      }
      return make_sio_factory(options.url, sio_over(options), {"", "echo", "echo"});
  }
  return nullptr;
}

std::unique_ptr<TransportFactory> make_publisher_factory(const Options& options) {
  // Not a member: it emits "pub" and expects nothing back.
  return make_sio_factory(options.url, sio_over(options), {"", "pub", "msg"});
}

}  // namespace switchboard::loadgen
