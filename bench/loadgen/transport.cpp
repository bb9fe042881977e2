#include "transport.hpp"

#include "eio_transport.hpp"
#include "options.hpp"
#include "ws_transport.hpp"

namespace switchboard::loadgen {

std::unique_ptr<TransportFactory> make_transport_factory(const Options& options) {
  switch (options.transport) {
    case TransportKind::websocket: return make_ws_transport_factory(options.url);
    case TransportKind::eio_websocket: return make_eio_websocket_factory(options.url);
    case TransportKind::eio_polling:
      // The connect scenario measures handshakes: one connection per session (see
      // eio_transport.hpp); the others long-poll on one connection and POST on another.
      return make_eio_polling_factory(options.url, options.scenario == ScenarioKind::connect);
  }
  return nullptr;
}

}  // namespace switchboard::loadgen
