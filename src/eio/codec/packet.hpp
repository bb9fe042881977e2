#pragma once
// Engine.IO packets (protocol v4, and v3 for allowEIO3): the pure codec. Bytes in,
// packets out; packets in, bytes out. No I/O, no allocation per packet on the decode
// path (views into the input, binary data decoded into a caller's scratch buffer).
//
// Wire forms (docs/engine.io-protocol v4-current.md, v3.md):
//   WebSocket, v4: a text frame is "<type digit>[data]"; a binary frame is a message
//                  packet whose data is the frame's bytes, as is.
//   WebSocket, v3: the same for text; a binary frame is "<type byte 0-6>[data]".
//   Polling, v4:   packets joined by the record separator 0x1e; a binary packet is
//                  "b<base64 of the data>" (always a message).
//   Polling, v3:   "<length>:<packet>" repeated, the length counted in UTF-16 code
//                  units of the packet; a binary packet is "<length>:b<type><base64>".

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::eio {

enum class Protocol : std::uint8_t { v3 = 3, v4 = 4 };

enum class PacketType : std::uint8_t {
  open = 0,
  close = 1,
  ping = 2,
  pong = 3,
  message = 4,
  upgrade = 5,
  noop = 6,
};

struct Packet {
  PacketType type = PacketType::message;
  bool binary = false;
  std::string_view data;  // valid as long as what it was decoded from (or the scratch)
};

// One packet from one WebSocket frame. nullopt when the frame is not a valid packet
// (empty text frame, unknown type, or, for v3 binary frames, a bad type byte).
// Text frames are taken as already UTF-8-checked by the WebSocket layer (RFC 6455 §8.1).
// This overload refuses a base64 text frame ("b..."): it has nowhere to decode it to.
std::optional<Packet> decode_frame(std::string_view frame, bool binary_frame, Protocol protocol);

// The same, and a text frame "b<base64>" (v4) or "b<type digit><base64>" (v3) is a
// binary packet decoded into `scratch` (valid until `scratch` is next used): what
// engine.io-client sends over WebSocket with its `forceBase64` option (it then connects
// with the query `b64=1`), and what the reference server accepts on any WebSocket
// (engine.io-parser's decodePacket looks for "b" before the type digit). Bad base64
// (strict RFC 4648, padded, as every client sends) is nullopt.
std::optional<Packet> decode_frame(std::string_view frame, bool binary_frame, Protocol protocol,
                                   std::string& scratch);

struct PayloadLimits {
  std::size_t max_packets = 10'000;  // a POST of more packets is refused
};

// The packets of a polling payload (a POST body), in order. Calls `on_packet` for
// each; a binary packet's data is decoded into `scratch` and is valid only during the
// call. Returns false at the first malformed packet (nothing after it is reported);
// packets before it have been reported already. An empty payload is malformed.
// `on_packet` returns false to stop early (decode_payload then returns true).
// Text data is valid UTF-8 (an HTTP body, unlike a WebSocket text frame, is not checked
// before it gets here); more than `limits.max_packets` packets is malformed at the first
// one past the limit.
// v3 also has a binary form (engine.io-parser 2.x encodePayloadAsBinary), the body of a
// POST with Content-Type application/octet-stream from a client that supports binary:
// "<0 text | 1 binary><length as bytes 0-9><0xff><packet>" repeated, text packets as
// UTF-8 "<type digit>[data]", binary ones "<type byte>[data]", lengths in bytes. A
// string payload starts with a digit, so a first byte 0 or 1 selects the binary form.
bool decode_payload(std::string_view payload, Protocol protocol, const PayloadLimits& limits,
                    std::string& scratch, const std::function<bool(const Packet&)>& on_packet);

// Encoders append to `out`. Text packets: "<type>[data]".
void append_text_packet(std::string& out, PacketType type, std::string_view data = {});

// One packet of a polling payload, preceded by the separator unless it is the first
// (v4), or by its length (v3). Binary data goes base64-encoded. v4 has binary message
// packets only ("b<base64>" decodes as a message whatever `packet.type` was); its text
// data must not hold 0x1e (the protocol assumes it never does). v3 text data must be
// valid UTF-8 (its length is counted in UTF-16 code units).
void append_payload_packet(std::string& out, const Packet& packet, Protocol protocol, bool first);

// One packet of a v3 binary payload (see decode_payload), for a v3 client that supports
// binary (no `b64=1`): the reference server answers a poll in this form, with Content-Type
// application/octet-stream, when any of its packets is binary (the v3 protocol test suite
// expects it); every packet of that response then goes in this form.
void append_binary_payload_packet(std::string& out, const Packet& packet);

// A WebSocket frame's payload for a packet: text "<type>[data]"; binary data as is
// (v4) or after its type byte (v3). `binary_frame` tells which frame opcode to use.
// With `base64` (the client connected with `b64=1`), binary data goes in a text frame
// as "b<base64>" (v4) or "b<type digit><base64>" (v3), as the reference server sends it.
void append_frame_payload(std::string& out, const Packet& packet, Protocol protocol, bool& binary_frame,
                          bool base64 = false);

// The JSON of the open packet's payload.
std::string open_payload(std::string_view sid, bool upgrade_to_websocket, std::uint32_t ping_interval_ms,
                         std::uint32_t ping_timeout_ms, std::uint64_t max_payload);

}  // namespace switchboard::eio
