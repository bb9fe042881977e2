// bcrypt verification through libcrypt: the hash @socket.io/admin-ui's README gives as
// its example, the same password under the $2a$ and $2y$ prefixes, and malformed hashes.

#include "app/bcrypt.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace switchboard::app {
namespace {

// "changeit" (the README of @socket.io/admin-ui).
const std::string readme_hash = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";

TEST(Bcrypt, MatchesTheRightPasswordOnly) {
  EXPECT_TRUE(bcrypt_matches("changeit", readme_hash));
  EXPECT_FALSE(bcrypt_matches("changeiT", readme_hash));
  EXPECT_FALSE(bcrypt_matches("", readme_hash));
  EXPECT_FALSE(bcrypt_matches(std::string("changeit\0x", 10), readme_hash));
}

TEST(Bcrypt, TheVariantLettersAreTheSameAlgorithm) {
  // For passwords like this one (ASCII, under 72 bytes) $2a$, $2b$ and $2y$ hash alike.
  for (char variant : {'a', 'y'}) {
    std::string hash = readme_hash;
    hash[2] = variant;
    EXPECT_TRUE(bcrypt_hash_valid(hash)) << hash;
    EXPECT_TRUE(bcrypt_matches("changeit", hash)) << hash;
  }
}

TEST(Bcrypt, MalformedHashesAreInvalidAndMatchNothing) {
  const std::vector<std::string> malformed = {
      "", "changeit", readme_hash.substr(0, 59), readme_hash + "x",
      "$2x$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS",  // not a bcrypt variant
      "$2b$03$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS",  // cost below 4
      "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZO!",  // not bcrypt's base64
      "$1$saltsalt$abcdefghijklmnopqrstuv"};                            // MD5-crypt
  for (const std::string& hash : malformed) {
    EXPECT_FALSE(bcrypt_hash_valid(hash)) << hash;
    EXPECT_FALSE(bcrypt_matches("changeit", hash)) << hash;
  }
  EXPECT_TRUE(bcrypt_hash_valid(readme_hash));
}

}  // namespace
}  // namespace switchboard::app
