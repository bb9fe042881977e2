#pragma once
// Socket.IO v5 clients (docs/socket.io-protocol/v5-current.md in socketio/socket.io) for
// the load generator: a layer over an Engine.IO transport (eio_transport.hpp), as
// socket.io-client is a layer over engine.io-client.
//
// Each Socket.IO packet is one Engine.IO message (the "4" that the protocol documents
// show in front of each packet is Engine.IO's; the layer below adds it). A session: the
// Engine.IO session opens; the client sends CONNECT to "/" ("0", no auth: "40" on the
// wire); the server answers "0{"sid":...}" and only then is the session open for the
// scenario (Transport's on_open). send() emits one event with one argument:
//   text   → 2["EVENT","<payload as a JSON string>"]
//   binary → 51-["EVENT",{"_placeholder":true,"num":0}] and the payload as a binary
//            Engine.IO message (the attachment)
// and on_message() reports the argument of each event named `listen_event` coming back
// in one of those two shapes. A close is DISCONNECT ("1"), then the Engine.IO close.
//
// The hot path (the two shapes above, exactly as socket.io-parser writes them) is matched
// without a JSON parser, since the load generator's CPU bounds what it can measure;
// anything else goes through the project's Socket.IO codec (sio/codec/packet.hpp): the
// CONNECT answer, CONNECT_ERROR, DISCONNECT, and events with other escapes or shapes.
// An event of the right name whose arguments are not one string or one attachment is
// reported as a message holding the packet's text, so the scenario counts a mismatch;
// an event of another name, an ack or a packet for another namespace is a protocol error.

#include <memory>
#include <string>

#include "transport.hpp"

namespace switchboard::loadgen {

struct Url;

struct SioConfig {
  std::string query;         // added to the handshake query, e.g. "room=1"; may be empty
  std::string emit_event;    // the event send() emits
  std::string listen_event;  // the event whose argument on_message() reports
  // Whole packets instead (the chat scenario, which speaks several events and acks):
  // send() takes a Socket.IO text packet for "/" as it goes on the wire (e.g.
  // `21["join-room","r"]`), and on_message() reports each event or ack the server sends
  // as its packet text; the events above are unused. The hot path is the same: a text
  // packet for "/" that starts `2[` or `3<digit>` is passed on as it is, anything else
  // goes through the codec (binary events are reported as the text of their packet).
  bool packets = false;
};

enum class SioOver {
  websocket,            // eio-websocket
  polling,              // eio-polling: a GET channel and a POST channel
  polling_one_channel,  // eio-polling on one connection, requests taking turns (connect)
};

std::unique_ptr<TransportFactory> make_sio_factory(const Url& url, SioOver over, const SioConfig& config);

// Appends `text` as the inside of a JSON string (without the quotes), escaped as
// JSON.stringify does: \" \\ \b \f \n \r \t, other control characters as \u00XX.
void append_json_string_body(std::string& out, std::string_view text);

}  // namespace switchboard::loadgen
