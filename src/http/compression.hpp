#pragma once
// Whole-body HTTP content codings (RFC 9110 §8.4.1): what a response sends compressed
// when the client accepts it — Engine.IO polling payloads, the client bundle — and the
// one reading of Accept-Encoding that decides it.

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::http {

enum class ContentCoding { gzip, deflate };  // deflate: zlib-wrapped (RFC 1950), as HTTP means it

// Compresses `body` into `out` at zlib `level` (-1: zlib's default, 9: smallest).
// False if zlib fails (then `out` holds nothing useful).
bool compress(std::string_view body, ContentCoding coding, std::string& out, int level = -1);

// Accept-Encoding (RFC 9110 §12.5.3) as Node's servers read it: entries name a coding
// (case-insensitively) or "*", any coding no entry names; each has a q-value, 1 unless
// given, and q=0 refuses. An empty or missing field accepts no coding (identity only).

// What the field says of one coding: the q-value of the entry that covers it and where
// that entry stands among the field's non-empty entries (0 first).
struct CodingRating {
  double q = 0;
  std::size_t position = 0;
};
// The last entry naming `coding` (or `alias`, another name for it), else the last "*";
// nullopt when no entry covers it.
std::optional<CodingRating> rate_coding(std::string_view accept_encoding, std::string_view coding,
                                        std::string_view alias = {});
// Whether the client takes `coding`: an entry covers it with a q-value above 0.
bool accepts_coding(std::string_view accept_encoding, std::string_view coding, std::string_view alias = {});
// Of the `offered` codings, the one the client prefers: the highest q-value above 0;
// ties go to the coding whose entry comes first in the field, then (both covered by
// "*") to the one offered first. Empty when the client takes none of them.
std::string_view preferred_coding(std::string_view accept_encoding, std::initializer_list<std::string_view> offered);

}  // namespace switchboard::http
