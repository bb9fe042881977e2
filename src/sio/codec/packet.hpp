#pragma once
// Socket.IO v5 packets: the pure codec of the default parser (socket.io-parser). Text
// in, packets out; packets out, text (and binary attachments) out. No I/O.
//
// Wire form (docs/socket.io-protocol/v5-current.md, "Packet encoding"):
//   <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
// the namespace only when it is not "/", and each binary attachment following as its
// own Engine.IO binary message. Binary values inside the payload are replaced by
// {"_placeholder":true,"num":N}; the codec keeps them that way (Boost.JSON has no
// binary type) and hands the attachments alongside, checked: every placeholder's num
// names an attachment, and there are exactly as many attachments as the header says.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace switchboard::sio {

enum class PacketType : std::uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

struct Packet {
  PacketType type = PacketType::event;
  std::string nsp = "/";
  std::optional<std::uint64_t> id;  // the ack id
  boost::json::value data;          // null when the packet has no payload
  // Binary attachments, in placeholder order (binary_event / binary_ack).
  std::vector<std::string> attachments;
};

struct DecodeLimits {
  std::size_t max_attachments = 10;  // socket.io-parser's default
  std::size_t max_json_depth = 32;
};

enum class DecodeError : std::uint8_t {
  none,
  empty,
  unknown_type,
  bad_attachment_count,  // not a number, over the limit, or attachments on a non-binary type
  bad_namespace,
  bad_ack_id,
  bad_json,
  invalid_payload,       // the payload's shape is wrong for the type (see decode_text)
  illegal_attachments,   // a placeholder names no attachment
};

// Decodes the text part of a packet. Payload rules, as socket.io-parser's
// isPayloadValid: CONNECT — an object or nothing; DISCONNECT — nothing; CONNECT_ERROR —
// a string or an object; EVENT/BINARY_EVENT — a non-empty array whose first element is
// a number or a string that is not a reserved event name (connect, connect_error,
// disconnect, disconnecting, newListener, removeListener); ACK/BINARY_ACK — an array.
// For binary types, `attachments_expected` is how many binary messages must follow.
struct DecodedHeader {
  Packet packet;
  std::size_t attachments_expected = 0;
};
DecodeError decode_text(std::string_view text, const DecodeLimits& limits, DecodedHeader& out);

// decode_text's payload rules (above) for a packet's data; nullptr: no payload.
bool is_payload_valid(PacketType type, const boost::json::value* data) noexcept;

// Checks a binary packet's placeholders once its attachments have all arrived.
DecodeError check_attachments(const Packet& packet);

// Assembles packets that span several Engine.IO messages (a text part, then its
// binary attachments). One per Engine.IO session.
class Decoder {
 public:
  explicit Decoder(DecodeLimits limits = {}) : limits_(limits) {}
  enum class Status { complete, need_attachments, error };
  // A text message: a new packet (an error if attachments were still expected).
  Status add_text(std::string_view text);
  // A binary message: the next attachment (an error if none was expected).
  Status add_binary(std::string_view bytes);
  // The packet, valid after `complete` and until the next add_*.
  Packet& packet() noexcept { return current_.packet; }
  DecodeError error() const noexcept { return error_; }
  bool idle() const noexcept { return current_.attachments_expected == 0; }

 private:
  DecodeLimits limits_;
  DecodedHeader current_;
  DecodeError error_ = DecodeError::none;
};

// Encodes the text part: the attachment count is packet.attachments.size() (binary types
// must carry at least one; placeholders must already be in `data`).
std::string encode_text(const Packet& packet);
// The same appended to `out` (encoders that frame in place).
void append_text(std::string& out, const Packet& packet);

}  // namespace switchboard::sio
