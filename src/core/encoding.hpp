#pragma once
// Byte encodings the protocols need: base64 (WebSocket accept keys, Engine.IO binary
// over polling), base64url (ids, JWT) and SHA-1 (RFC 6455 §4.2.2). Pure functions, but
// for random_base64url.

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace switchboard::core {

std::string base64_encode(std::span<const std::byte> bytes);
inline std::string base64_encode(std::string_view text) {
  return base64_encode(std::as_bytes(std::span(text.data(), text.size())));
}
// Strict RFC 4648 decoding with padding; nullopt on any character outside the alphabet.
std::optional<std::string> base64_decode(std::string_view text);

// RFC 4648 §5 base64url without padding (RFC 7515 §2): session and socket ids, JWT
// segments. Decoding refuses padding, characters outside the alphabet and a length no
// encoding has (4n+1), so that one value has one spelling in its alphabet.
std::string base64url_encode(std::span<const std::byte> bytes);
std::optional<std::string> base64url_decode(std::string_view text);
// Fills `out` from the kernel's CSPRNG (getrandom(2)).
void random_bytes(std::span<std::byte> out);
// `bytes` random bytes, base64url: an unguessable id (16 bytes: 22 characters).
std::string random_base64url(std::size_t bytes);

std::array<std::byte, 20> sha1(std::string_view text);

// Appends `text` to `out` as the inside of a JSON string (no quotes): RFC 8259 §7
// escapes (DEL too: a terminal showing a log acts on it), and U+FFFD for each byte
// that does not start or continue well-formed UTF-8 (RFC 3629), so that whatever a
// peer sent, the result parses.
void append_json_escaped(std::string_view text, std::string& out);
// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

// Case-insensitive ASCII comparison, for header names and tokens.
bool iequals(std::string_view a, std::string_view b) noexcept;

// `text` without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view trim_whitespace(std::string_view text) noexcept;

// Whether a comma-separated header value (RFC 9110 §5.6.1) holds `token`, compared
// case-insensitively: "keep-alive, Upgrade" holds "upgrade".
bool has_token(std::string_view list, std::string_view token) noexcept;

}  // namespace switchboard::core
