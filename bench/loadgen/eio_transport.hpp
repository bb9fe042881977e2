#pragma once
// Engine.IO v4 clients (docs/engine.io-protocol/v4-current.md) for the load generator.
//
// eio-websocket: a WebSocket-only session, `GET PATH?EIO=4&transport=websocket` with
// the upgrade; a layer over the raw WebSocket transport. The session opens with the
// server's open packet ("0{json}"); a message is a text frame "4<data>" or a binary
// frame carrying the data as is; each ping "2" is answered with a pong "3" at once. A
// close is the WebSocket close handshake (what engine.io-client does).
//
// eio-polling: HTTP/1.1 long-polling over keep-alive connections. Once both are
// connected, the handshake GET returns the open packet; then channel 0 always holds one GET (its answer: packets
// joined by 0x1e, binary ones as "b<base64>"; the next GET leaves as soon as it
// returns), and channel 1 carries the POSTs, at most one in flight as the protocol
// requires: what send() queues while a POST is out leaves in the next one, one body for
// every queued packet (cut at whole packets to the server's maxPayload), answered "ok".
// A ping is answered by a pong packet in the next POST. A close is the close packet
// "1", in a last POST sent with `Connection: close`, so that the server closes TCP.
// With `one_channel` (the connect scenario, which measures handshakes) the session
// uses one connection, its requests taking turns: after the handshake GET, a POST when
// something is queued (the close packet, or Socket.IO's CONNECT); after a POST's "ok"
// with nothing more queued, a GET; after a GET's answer, a GET again unless something
// is queued. Nothing follows the handshake by itself: an Engine.IO connect sends its
// close POST at once (handshake GET, close POST, and no long-polling GET); a Socket.IO
// connect POSTs CONNECT, GETs the answer, then POSTs DISCONNECT and the close packet.

#include <memory>

#include "transport.hpp"

namespace switchboard::loadgen {

struct Url;

std::unique_ptr<TransportFactory> make_eio_websocket_factory(const Url& url);
std::unique_ptr<TransportFactory> make_eio_polling_factory(const Url& url, bool one_channel);

}  // namespace switchboard::loadgen
