#pragma once
// UTF-8 validation (RFC 3629; the Unicode Standard, table 3-7 "Well-Formed UTF-8 Byte
// Sequences"). WebSocket text messages and close reasons must be valid UTF-8 (RFC 6455
// §5.6, §7.1.6, §8.1), and a receiver that fails fast closes a flood of bad text before
// buffering it, so the validator is resumable: it takes a message in as many pieces as
// it arrives in, and rejects at the first byte that no valid text could continue with.
//
// Thread safety: none needed; a validator belongs to one message of one connection.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace switchboard::core {

class Utf8Validator {
 public:
  // Checks the next piece of the text. Returns false as soon as the bytes seen so far
  // cannot be the start of valid UTF-8 — including in the middle of a sequence
  // (0xED 0xA0, a surrogate, fails at the 0xA0; 0xE0 0x80, an overlong, at the 0x80) —
  // and keeps returning false until reset().
  bool feed(std::string_view bytes) noexcept;
  // True when the text so far is valid and ends on a character boundary, that is,
  // when it would be valid if it ended here.
  bool complete() const noexcept { return state_ == 0; }
  // Starts a new text.
  void reset() noexcept { state_ = 0; }

 private:
  // 0 between characters; otherwise what the open sequence still needs (see utf8.cpp).
  std::uint8_t state_ = 0;
};

// The whole of `text` is valid UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;

// The length (1 to 4) of the well-formed character `text` starts with, or 0 when it
// starts with none (an invalid or a cut-off sequence, or empty text).
std::size_t utf8_sequence_length(std::string_view text) noexcept;

}  // namespace switchboard::core
