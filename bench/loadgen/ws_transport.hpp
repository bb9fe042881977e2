#pragma once
// RFC 6455 as a client: the HTTP/1.1 upgrade (§4.1), masked frames out (§5.3), and the
// frames a server sends parsed with the project's pure frame codec (ws/codec/frame.hpp).
// No extensions are offered, so any RSV bit is a protocol error.

#include <memory>
#include <string>

#include "transport.hpp"

namespace switchboard::loadgen {

struct Url;

std::unique_ptr<TransportFactory> make_ws_transport_factory(const Url& url);

}  // namespace switchboard::loadgen
