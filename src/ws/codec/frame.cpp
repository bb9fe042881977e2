#include "ws/codec/frame.hpp"

#include <cstring>

namespace switchboard::ws {

HeaderStatus parse_frame_header(std::span<const std::byte> bytes, FrameHeader& header) noexcept {
  if (bytes.size() < 2) return HeaderStatus::need_more;
  auto b0 = std::to_integer<std::uint8_t>(bytes[0]);
  auto b1 = std::to_integer<std::uint8_t>(bytes[1]);
  header.fin = b0 & 0x80;
  header.rsv1 = b0 & 0x40;
  header.rsv2 = b0 & 0x20;
  header.rsv3 = b0 & 0x10;
  header.opcode = static_cast<Opcode>(b0 & 0x0f);
  header.masked = b1 & 0x80;
  std::size_t size = 2;
  std::uint64_t length = b1 & 0x7f;
  if (length == 126) {
    if (bytes.size() < 4) return HeaderStatus::need_more;
    length = (std::to_integer<std::uint64_t>(bytes[2]) << 8) | std::to_integer<std::uint64_t>(bytes[3]);
    size = 4;
  } else if (length == 127) {
    if (bytes.size() < 10) return HeaderStatus::need_more;
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | std::to_integer<std::uint64_t>(bytes[i]);
    size = 10;
    if (length >> 63) return HeaderStatus::invalid;  // §5.2: the most significant bit MUST be 0
  }
  if (header.masked) {
    if (bytes.size() < size + 4) return HeaderStatus::need_more;
    std::memcpy(header.mask.data(), bytes.data() + size, 4);
    size += 4;
  }
  header.payload_length = length;
  header.header_size = static_cast<std::uint8_t>(size);
  return HeaderStatus::complete;
}

std::size_t write_frame_header(std::byte* out, Opcode opcode, std::uint64_t payload_length,
                               bool fin, bool rsv1, const std::array<std::byte, 4>* mask) noexcept {
  out[0] = std::byte((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(opcode));
  std::uint8_t mask_bit = mask ? 0x80 : 0;
  std::size_t size;
  if (payload_length < 126) {
    out[1] = std::byte(mask_bit | payload_length);
    size = 2;
  } else if (payload_length <= 0xffff) {
    out[1] = std::byte(mask_bit | 126);
    out[2] = std::byte(payload_length >> 8);
    out[3] = std::byte(payload_length & 0xff);
    size = 4;
  } else {
    out[1] = std::byte(mask_bit | 127);
    for (int i = 0; i < 8; ++i) out[2 + i] = std::byte((payload_length >> (56 - 8 * i)) & 0xff);
    size = 10;
  }
  if (mask) {
    std::memcpy(out + size, mask->data(), 4);
    size += 4;
  }
  return size;
}

void mask_bytes(std::span<std::byte> data, const std::array<std::byte, 4>& mask,
                std::uint64_t offset) noexcept {
  std::byte* p = data.data();
  std::size_t n = data.size();
  std::size_t i = 0;
  // Align the key to the offset, then XOR eight bytes at a time; the compiler turns the
  // memcpy pair into plain loads and stores.
  std::array<std::byte, 8> key8;
  for (std::size_t k = 0; k < 8; ++k) key8[k] = mask[(offset + k) & 3];
  std::uint64_t key;
  std::memcpy(&key, key8.data(), 8);
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    word ^= key;
    std::memcpy(p + i, &word, 8);
  }
  for (; i < n; ++i) p[i] ^= key8[i & 7];
}

}  // namespace switchboard::ws
