#include "app/bcrypt.hpp"

#include <crypt.h>

#include <cstring>
#include <memory>

#include <openssl/crypto.h>

namespace switchboard::app {

bool bcrypt_hash_valid(std::string_view hash) {
  constexpr std::size_t length = 7 + 53;  // "$2b$10$" and the salt and hash
  if (hash.size() != length || hash.substr(0, 2) != "$2" || hash[3] != '$' || hash[6] != '$') return false;
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') return false;
  int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (char c : hash.substr(7)) {
    bool base64 = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
    if (!base64) return false;
  }
  return true;
}

bool bcrypt_matches(std::string_view password, const std::string& hash) {
  if (!bcrypt_hash_valid(hash)) return false;
  // crypt takes a C string: a password holding a NUL cannot be the one hashed.
  if (password.find('\0') != std::string_view::npos) return false;
  std::string phrase(password);
  auto data = std::make_unique<crypt_data>();  // about 32 KB: not on the stack
  const char* result = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (!result || std::strlen(result) != hash.size()) return false;
  return CRYPTO_memcmp(result, hash.data(), hash.size()) == 0;
}

}  // namespace switchboard::app
