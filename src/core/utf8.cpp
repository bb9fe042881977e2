#include "core/utf8.hpp"

#include <array>
#include <bit>
#include <cstddef>
#include <cstring>

namespace switchboard::core {
namespace {

// A deterministic automaton read off the Unicode Standard's table 3-7 (Well-Formed
// UTF-8 Byte Sequences):
//
//   U+0000..U+007F     00..7F
//   U+0080..U+07FF     C2..DF  80..BF
//   U+0800..U+0FFF     E0      A0..BF  80..BF
//   U+1000..U+CFFF     E1..EC  80..BF  80..BF
//   U+D000..U+D7FF     ED      80..9F  80..BF
//   U+E000..U+FFFF     EE..EF  80..BF  80..BF
//   U+10000..U+3FFFF   F0      90..BF  80..BF  80..BF
//   U+40000..U+FFFFF   F1..F3  80..BF  80..BF  80..BF
//   U+100000..U+10FFFF F4      80..8F  80..BF  80..BF
//
// The narrowed second-byte ranges are what rule out overlong forms (E0 80..9F,
// F0 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..BF); C0, C1
// and F5..FF start nothing. Because every state names exactly the bytes that may come
// next, the automaton rejects at the first byte that proves the text invalid.

// What the open sequence still needs.
enum State : std::uint8_t {
  accept,    // between characters
  tail1,     // one more 80..BF
  tail2,     // two more 80..BF
  tail3,     // three more 80..BF
  after_e0,  // A0..BF, then one more
  after_ed,  // 80..9F, then one more
  after_f0,  // 90..BF, then two more
  after_f4,  // 80..8F, then two more
  reject,    // sticky: no continuation can make this valid
  state_count,
};

// Bytes that every state treats alike: the lead-byte groups of table 3-7, and the
// continuation range cut where the narrowed second-byte ranges start and end.
enum Class : std::uint8_t {
  ascii,      // 00..7F
  cont_80,    // 80..8F
  cont_90,    // 90..9F
  cont_a0,    // A0..BF
  never,      // C0, C1, F5..FF
  lead2,      // C2..DF
  lead_e0,    // E0
  lead3,      // E1..EC, EE..EF
  lead_ed,    // ED
  lead_f0,    // F0
  lead4,      // F1..F3
  lead_f4,    // F4
  class_count,
};

constexpr Class classify(unsigned b) noexcept {
  if (b <= 0x7f) return ascii;
  if (b <= 0x8f) return cont_80;
  if (b <= 0x9f) return cont_90;
  if (b <= 0xbf) return cont_a0;
  if (b <= 0xc1) return never;
  if (b <= 0xdf) return lead2;
  if (b == 0xe0) return lead_e0;
  if (b == 0xed) return lead_ed;
  if (b <= 0xef) return lead3;
  if (b == 0xf0) return lead_f0;
  if (b <= 0xf3) return lead4;
  if (b == 0xf4) return lead_f4;
  return never;
}

constexpr State step(State s, Class c) noexcept {
  const bool any_cont = c == cont_80 || c == cont_90 || c == cont_a0;  // 80..BF
  switch (s) {
    case accept:
      switch (c) {
        case ascii: return accept;
        case lead2: return tail1;
        case lead_e0: return after_e0;
        case lead3: return tail2;
        case lead_ed: return after_ed;
        case lead_f0: return after_f0;
        case lead4: return tail3;
        case lead_f4: return after_f4;
        default: return reject;  // a stray continuation byte, or C0/C1/F5..FF
      }
    case tail1: return any_cont ? accept : reject;
    case tail2: return any_cont ? tail1 : reject;
    case tail3: return any_cont ? tail2 : reject;
    case after_e0: return c == cont_a0 ? tail1 : reject;
    case after_ed: return c == cont_80 || c == cont_90 ? tail1 : reject;
    case after_f0: return c == cont_90 || c == cont_a0 ? tail2 : reject;
    case after_f4: return c == cont_80 ? tail2 : reject;
    default: return reject;
  }
}

// The automaton as two small tables (256 + 144 bytes, both in L1): the class of each
// byte, and the next state indexed by state * 16 + class.
constexpr auto byte_classes = [] {
  std::array<std::uint8_t, 256> table{};
  for (unsigned b = 0; b < 256; ++b) table[b] = classify(b);
  return table;
}();

static_assert(class_count <= 16);
constexpr auto transitions = [] {
  std::array<std::uint8_t, state_count * 16> table{};
  for (unsigned s = 0; s < state_count; ++s)
    for (unsigned c = 0; c < 16; ++c)
      table[s * 16 + c] = c < class_count ? step(State(s), Class(c)) : reject;
  return table;
}();

static_assert(transitions[accept * 16 + byte_classes[0xed]] == after_ed);
static_assert(transitions[after_ed * 16 + byte_classes[0xa0]] == reject);  // a surrogate
static_assert(transitions[after_f4 * 16 + byte_classes[0x90]] == reject);  // past U+10FFFF

// Returns the first byte at or after `p` that is not ASCII (or `end`). Most text on the
// wire is ASCII (JSON keys, numbers, English), so runs are checked 16 and 8 bytes at a
// time: a byte is ASCII when its top bit is clear.
inline const unsigned char* skip_ascii(const unsigned char* p, const unsigned char* end) noexcept {
  constexpr std::uint64_t high_bits = 0x8080808080808080ULL;
  while (end - p >= 16) {
    std::uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    if ((a | b) & high_bits) break;
    p += 16;
  }
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if (std::uint64_t high = w & high_bits) {
      if constexpr (std::endian::native == std::endian::little) {
        return p + (std::countr_zero(high) >> 3);  // the lowest set top bit is the first byte
      } else {
        break;
      }
    }
    p += 8;
  }
  while (p != end && *p < 0x80) ++p;
  return p;
}

}  // namespace

bool Utf8Validator::feed(std::string_view bytes) noexcept {
  unsigned s = state_;
  if (s == reject) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* const end = p + bytes.size();
  while (p != end) {
    if (s == accept) {
      p = skip_ascii(p, end);
      if (p == end) break;
    }
    s = transitions[s * 16 + byte_classes[*p++]];
    if (s == reject) {
      state_ = reject;
      return false;
    }
  }
  state_ = static_cast<std::uint8_t>(s);
  return true;
}

std::size_t utf8_sequence_length(std::string_view text) noexcept {
  unsigned s = accept;
  for (std::size_t i = 0; i < text.size() && i < 4; ++i) {
    s = transitions[s * 16 + byte_classes[static_cast<unsigned char>(text[i])]];
    if (s == reject) return 0;
    if (s == accept) return i + 1;
  }
  return 0;
}

bool is_valid_utf8(std::string_view text) noexcept {
  Utf8Validator validator;
  return validator.feed(text) && validator.complete();
}

}  // namespace switchboard::core
