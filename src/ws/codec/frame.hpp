#pragma once
// RFC 6455 §5.2 frame headers: parse and write. Pure functions over bytes, no I/O;
// the server, the client library and the load generator share them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace switchboard::ws {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

constexpr bool is_control(Opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

// Close status codes (RFC 6455 §7.4.1, IANA "WebSocket Close Code Number Registry").
namespace close_code {
constexpr std::uint16_t normal = 1000;
constexpr std::uint16_t going_away = 1001;
constexpr std::uint16_t protocol_error = 1002;
constexpr std::uint16_t unsupported_data = 1003;
constexpr std::uint16_t no_status = 1005;    // never on the wire: "the close frame had no code"
constexpr std::uint16_t abnormal = 1006;     // never on the wire: "the TCP connection dropped"
constexpr std::uint16_t invalid_payload = 1007;
constexpr std::uint16_t policy_violation = 1008;
constexpr std::uint16_t message_too_big = 1009;
constexpr std::uint16_t mandatory_extension = 1010;
constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

// Whether a peer may send `code` in a close frame (§7.4.1/§7.4.2): 1000–1003, 1007–1014
// (1012–1014 registered with IANA after the RFC), and 3000–4999 for libraries and apps.
// 1004–1006 and 1015 are reserved, the rest of 1000–2999 unassigned.
constexpr bool is_valid_close_code(std::uint16_t code) noexcept {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

struct FrameHeader {
  bool fin = true;
  bool rsv1 = false;
  bool rsv2 = false;
  bool rsv3 = false;
  Opcode opcode = Opcode::text;
  bool masked = false;
  std::array<std::byte, 4> mask{};
  std::uint64_t payload_length = 0;
  std::uint8_t header_size = 0;  // 2 to 14 bytes on the wire
};

constexpr std::size_t max_frame_header_size = 14;

enum class HeaderStatus {
  complete,   // `header` holds the frame header; header.header_size bytes were read
  need_more,  // the bytes end inside the header
  invalid,    // a 64-bit length with its most significant bit set (§5.2)
};

// Reads one frame header from the start of `bytes`. Checks only what the header alone
// decides (the 64-bit length's most significant bit, §5.2); the rules that depend on
// the connection's state (masking, reserved bits, opcodes, fragmentation) belong to
// MessageReader.
HeaderStatus parse_frame_header(std::span<const std::byte> bytes, FrameHeader& header) noexcept;

// Writes a header for a frame of `payload_length` bytes into `out` (at least
// max_frame_header_size bytes) and returns its size. With a mask key the frame is a
// client frame and the caller masks the payload with mask_bytes.
std::size_t write_frame_header(std::byte* out, Opcode opcode, std::uint64_t payload_length,
                               bool fin = true, bool rsv1 = false,
                               const std::array<std::byte, 4>* mask = nullptr) noexcept;

// XORs `data` with the mask key (§5.3); `offset` is the position of data[0] within the
// frame payload, so a payload may be unmasked in pieces as it arrives.
void mask_bytes(std::span<std::byte> data, const std::array<std::byte, 4>& mask,
                std::uint64_t offset = 0) noexcept;

}  // namespace switchboard::ws
