#pragma once
// The msgpack parser of Socket.IO: packets as the npm socket.io-msgpack-parser (3.x,
// over notepack.io) puts them on the wire. Pure, like packet.hpp.
//
// Each packet is one Engine.IO binary message: a msgpack map
//   {"type": 0..4, "nsp": "/...", "data": <payload>, "id": <ack id>}
// ("data" and "id" only when present; other keys are ignored). Binary values travel
// inline as msgpack bin — there are no BINARY_EVENT/BINARY_ACK types and no separate
// attachments. Inside Switchboard a packet keeps one shape whichever parser carries it:
// decoding turns each bin into a placeholder {"_placeholder":true,"num":N} with its
// bytes in `attachments` (and the type into binary_event/binary_ack), and encoding puts
// them back inline.
//
// Values, as notepack.io maps them to JavaScript:
//   nil → null; undefined (fixext 1, type 0) → null; bool; every integer encoding → an
//   integer; float 32/64 → a double; str → a string (which must be valid UTF-8); bin
//   and ext type 0 (an ArrayBuffer) → binary; fixext 8 type 0 (a Date) → its ISO 8601
//   string, as JSON.stringify writes a Date; any other ext → [type, binary]. Map keys
//   must be strings or integers (an integer key is its decimal string, as JavaScript
//   makes property names).
// Encoding writes what notepack.io writes for the same JavaScript value: integers (and
// whole doubles below 2^53 in size) in the smallest integer form, other numbers as
// float 64, binary as bin.

#include <string>
#include <string_view>

#include "sio/codec/packet.hpp"

namespace switchboard::sio {

// Decodes one msgpack packet. The payload rules are decode_text's (is_payload_valid);
// nesting deeper than limits.max_json_depth is refused. `out` is complete on success.
DecodeError decode_msgpack(std::string_view bytes, const DecodeLimits& limits, Packet& out);

// Encodes a packet (placeholders in `data` naming `attachments`) as one msgpack message.
std::string encode_msgpack(const Packet& packet);
void append_msgpack(std::string& out, const Packet& packet);

}  // namespace switchboard::sio
