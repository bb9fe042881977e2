#pragma once
// Lowercase hexadecimal: the numbers the scenarios write into their payloads (send
// times, sequence numbers) and read back from what the server returns.

#include <cstdint>
#include <string_view>

namespace switchboard::loadgen {

inline constexpr char hex_digits[] = "0123456789abcdef";

// The low 4 × `digits` bits of `value` as `digits` lowercase hex digits at `out`.
inline void write_hex(char* out, std::uint64_t value, int digits) noexcept {
  for (int i = digits - 1; i >= 0; --i, value >>= 4) out[i] = hex_digits[value & 0xf];
}

// What write_hex writes: lowercase hex digits only; false on anything else.
inline bool parse_hex(std::string_view text, std::uint64_t& value) noexcept {
  value = 0;
  for (char c : text) {
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return false;
    }
    value = value << 4 | digit;
  }
  return true;
}

}  // namespace switchboard::loadgen
