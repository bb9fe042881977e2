#pragma once
// bcrypt password hashes ("$2b$10$..."), as @socket.io/admin-ui configures its basic
// auth: verified with crypt(3) from libxcrypt, which implements the $2a$, $2b$ and $2y$
// variants (the same algorithm; the letters mark historical bug fixes in other
// implementations).
//
// Thread safety: both functions may be called from any thread (crypt_rn keeps its state
// in a buffer of the caller's). bcrypt_matches is slow on purpose (cost 10: tens of
// milliseconds), so callers keep it off the event loops.

#include <string>
#include <string_view>

namespace switchboard::app {

// Whether `hash` is a well-formed bcrypt hash: $2a$/$2b$/$2y$, a cost from 04 to 31,
// and 53 characters of bcrypt's base64 (22 of salt, 31 of hash).
bool bcrypt_hash_valid(std::string_view hash);

// Whether `password` hashes to `hash` (compared in constant time). False for a hash
// that is not valid.
bool bcrypt_matches(std::string_view password, const std::string& hash);

}  // namespace switchboard::app
