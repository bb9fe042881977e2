// JwtVerifier: the pinned algorithm (none, other algorithms, algorithm confusion), the
// signature, exp/nbf with leeway, the user claims, and keys that do not fit.

#include "app/jwt_verifier.hpp"

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

namespace switchboard::app {
namespace {

using Clock = std::chrono::system_clock;

std::string b64url(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : bytes) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += alphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += alphabet[(bits << (6 - count)) & 63];
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

// A token with exactly this header and these claims, HMAC-SHA256-signed with `key`.
std::string hs256_token(std::string_view header, std::string_view claims, std::string_view key) {
  std::string input = b64url(header) + "." + b64url(claims);
  return input + "." + b64url(hmac_sha256(key, input));
}

std::int64_t now_s() { return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count(); }

constexpr std::string_view secret = "unit-test-secret-0123456789abcdef";

TEST(JwtVerifier, AcceptsHs256AndReadsTheClaims) {
  auto verifier = JwtVerifier::with_secret(std::string(secret));
  std::string claims = R"({"id":"alice","name":"Alice","exp":)" + std::to_string(now_s() + 60) + "}";
  auto result = verifier.verify(hs256_token(R"({"alg":"HS256","typ":"JWT"})", claims, secret), Clock::now());
  ASSERT_TRUE(result) << describe(result.error);
  EXPECT_EQ(result.user->id, "alice");
  EXPECT_EQ(result.user->name, "Alice");
  ASSERT_TRUE(result.user->expires);
}

TEST(JwtVerifier, IdMayBeAnIntegerOrComeFromSub) {
  auto verifier = JwtVerifier::with_secret(std::string(secret));
  auto numeric = verifier.verify(hs256_token(R"({"alg":"HS256"})", R"({"id":42})", secret), Clock::now());
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric.user->id, "42");
  auto sub = verifier.verify(hs256_token(R"({"alg":"HS256"})", R"({"sub":"s-1"})", secret), Clock::now());
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub.user->id, "s-1");
  auto none = verifier.verify(hs256_token(R"({"alg":"HS256"})", R"({"name":"x","id":""})", secret), Clock::now());
  EXPECT_EQ(none.error, JwtError::no_user_id);
}

TEST(JwtVerifier, RefusesABadSignature) {
  auto verifier = JwtVerifier::with_secret(std::string(secret));
  EXPECT_EQ(verifier.verify(hs256_token(R"({"alg":"HS256"})", R"({"id":"a"})", "other"), Clock::now()).error,
            JwtError::bad_signature);
  // A valid token with one byte of its payload changed.
  std::string token = hs256_token(R"({"alg":"HS256"})", R"({"id":"a"})", secret);
  auto dot = token.find('.');
  token[dot + 2] = token[dot + 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifier.verify(token, Clock::now()));
}

TEST(JwtVerifier, RefusesAlgNoneWithOrWithoutASignature) {
  auto verifier = JwtVerifier::with_secret(std::string(secret));
  std::string unsigned_token = b64url(R"({"alg":"none"})") + "." + b64url(R"({"id":"a"})") + ".";
  EXPECT_EQ(verifier.verify(unsigned_token, Clock::now()).error, JwtError::algorithm_refused);
  EXPECT_EQ(verifier.verify(hs256_token(R"({"alg":"none"})", R"({"id":"a"})", secret), Clock::now()).error,
            JwtError::algorithm_refused);
  EXPECT_EQ(verifier.verify(hs256_token(R"({"typ":"JWT"})", R"({"id":"a"})", secret), Clock::now()).error,
            JwtError::algorithm_refused);
}

TEST(JwtVerifier, RefusesEveryAlgorithmButThePinnedOne) {
  auto verifier = JwtVerifier::with_secret(std::string(secret));
  for (const char* header : {R"({"alg":"HS512"})", R"({"alg":"hs256"})", R"({"alg":"RS256"})", R"({"alg":["HS256"]})"}) {
    EXPECT_EQ(verifier.verify(hs256_token(header, R"({"id":"a"})", secret), Clock::now()).error,
              JwtError::algorithm_refused)
        << header;
  }
  auto hs512 = JwtVerifier::with_secret(std::string(secret), JwtAlgorithm::HS512);
  EXPECT_EQ(hs512.verify(hs256_token(R"({"alg":"HS256"})", R"({"id":"a"})", secret), Clock::now()).error,
            JwtError::algorithm_refused);
}

TEST(JwtVerifier, RefusesCriticalHeaderExtensions) {
  auto verifier = JwtVerifier::with_secret(std::string(secret));
  EXPECT_EQ(verifier.verify(hs256_token(R"({"alg":"HS256","crit":["b64"]})", R"({"id":"a"})", secret), Clock::now())
                .error,
            JwtError::bad_claim);
}

TEST(JwtVerifier, ChecksExpAndNbfWithLeeway) {
  auto verifier = JwtVerifier::with_secret(std::string(secret));
  auto token = [](std::string claims) { return hs256_token(R"({"alg":"HS256"})", claims, secret); };
  auto t = now_s();
  auto now = Clock::time_point(std::chrono::seconds(t));
  EXPECT_EQ(verifier.verify(token(R"({"id":"a","exp":)" + std::to_string(t) + "}"), now).error, JwtError::expired);
  EXPECT_TRUE(verifier.verify(token(R"({"id":"a","exp":)" + std::to_string(t + 1) + "}"), now));
  EXPECT_TRUE(verifier.verify(token(R"({"id":"a","exp":)" + std::to_string(t) + ".5}"), now)) << "a fractional exp";
  EXPECT_EQ(verifier.verify(token(R"({"id":"a","nbf":)" + std::to_string(t + 1) + "}"), now).error,
            JwtError::not_yet_valid);
  EXPECT_TRUE(verifier.verify(token(R"({"id":"a","nbf":)" + std::to_string(t) + "}"), now));
  EXPECT_EQ(verifier.verify(token(R"({"id":"a","exp":"soon"})"), now).error, JwtError::bad_claim);
  EXPECT_EQ(verifier.verify(token(R"({"id":"a","nbf":null})"), now).error, JwtError::bad_claim);

  verifier.set_leeway(std::chrono::seconds(30));
  EXPECT_TRUE(verifier.verify(token(R"({"id":"a","exp":)" + std::to_string(t - 10) + "}"), now));
  EXPECT_TRUE(verifier.verify(token(R"({"id":"a","nbf":)" + std::to_string(t + 10) + "}"), now));
  EXPECT_EQ(verifier.verify(token(R"({"id":"a","exp":)" + std::to_string(t - 31) + "}"), now).error,
            JwtError::expired);
}

TEST(JwtVerifier, RefusesMalformedTokens) {
  auto verifier = JwtVerifier::with_secret(std::string(secret));
  std::string good = hs256_token(R"({"alg":"HS256"})", R"({"id":"a"})", secret);
  for (std::string token : {std::string(), std::string("abc"), std::string("a.b"), good + ".x", std::string("..."),
                            "!!!" + good, b64url("not json") + "." + b64url(R"({"id":"a"})") + ".sig",
                            b64url(R"([1])") + "." + b64url(R"({"id":"a"})") + ".sig",
                            std::string(JwtVerifier::max_token_size + 1, 'a')}) {
    EXPECT_FALSE(verifier.verify(token, Clock::now())) << token.substr(0, 60);
  }
}

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

KeyPair generate(const char* type, const char* parameter) {
  EVP_PKEY* key = std::string_view(type) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", parameter);
  EXPECT_NE(key, nullptr);
  auto pem = [&](bool is_private) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (is_private) PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    else PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    long length = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(length));
    BIO_free(bio);
    return out;
  };
  KeyPair pair{pem(true), pem(false)};
  EVP_PKEY_free(key);
  return pair;
}

// Signs with libjwt itself: the algorithm and key as given (which is how an attacker's
// library would sign, too).
std::string libjwt_token(jwt_alg_t alg, const std::string& key, const char* id) {
  jwt_t* raw = nullptr;
  jwt_new(&raw);
  std::unique_ptr<jwt_t, void (*)(jwt_t*)> jwt(raw, jwt_free);
  jwt_add_grant(jwt.get(), "id", id);
  EXPECT_EQ(jwt_set_alg(jwt.get(), alg, reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size())),
            0);
  char* encoded = jwt_encode_str(jwt.get());
  EXPECT_NE(encoded, nullptr);
  std::string token = encoded ? encoded : "";
  free(encoded);
  return token;
}

TEST(JwtVerifier, Rs256WithAPublicKeyAndNoAlgorithmConfusion) {
  static const KeyPair keys = generate("RSA", nullptr);
  auto verifier = JwtVerifier::with_public_key(keys.public_pem);
  EXPECT_EQ(verifier.algorithm(), JwtAlgorithm::RS256);
  auto ok = verifier.verify(libjwt_token(JWT_ALG_RS256, keys.private_pem, "rsa-user"), Clock::now());
  ASSERT_TRUE(ok) << describe(ok.error);
  EXPECT_EQ(ok.user->id, "rsa-user");

  // The confusion attack: HS256 keyed with the public key's PEM text. libjwt alone takes
  // the token's word for the algorithm and accepts it — which is why the verifier pins it.
  std::string forged = libjwt_token(JWT_ALG_HS256, keys.public_pem, "mallory");
  jwt_t* raw = nullptr;
  int accepted_by_libjwt = jwt_decode(&raw, forged.c_str(), reinterpret_cast<const unsigned char*>(keys.public_pem.data()),
                                      static_cast<int>(keys.public_pem.size()));
  jwt_free(raw);
  EXPECT_EQ(accepted_by_libjwt, 0) << "libjwt 1.10 is expected to accept the forged token on its own";
  EXPECT_EQ(verifier.verify(forged, Clock::now()).error, JwtError::algorithm_refused);

  static const KeyPair other = generate("RSA", nullptr);
  EXPECT_EQ(verifier.verify(libjwt_token(JWT_ALG_RS256, other.private_pem, "x"), Clock::now()).error,
            JwtError::bad_signature);
  EXPECT_EQ(verifier.verify(libjwt_token(JWT_ALG_RS512, keys.private_pem, "x"), Clock::now()).error,
            JwtError::algorithm_refused);
}

TEST(JwtVerifier, Es256FollowsFromAP256Key) {
  KeyPair keys = generate("EC", "P-256");
  auto verifier = JwtVerifier::with_public_key(keys.public_pem);
  EXPECT_EQ(verifier.algorithm(), JwtAlgorithm::ES256);
  auto ok = verifier.verify(libjwt_token(JWT_ALG_ES256, keys.private_pem, "ec-user"), Clock::now());
  ASSERT_TRUE(ok) << describe(ok.error);
  EXPECT_EQ(ok.user->id, "ec-user");
  EXPECT_FALSE(verifier.verify(libjwt_token(JWT_ALG_HS256, keys.public_pem, "x"), Clock::now()));
}

TEST(JwtVerifier, RefusesKeysThatDoNotFit) {
  static const KeyPair rsa = generate("RSA", nullptr);
  KeyPair p384 = generate("EC", "P-384");
  EXPECT_THROW(JwtVerifier::with_public_key("not a key"), std::invalid_argument);
  EXPECT_THROW(JwtVerifier::with_public_key(rsa.private_pem.substr(0, 40)), std::invalid_argument);
  EXPECT_THROW(JwtVerifier::with_public_key(rsa.public_pem, JwtAlgorithm::ES256), std::invalid_argument);
  EXPECT_THROW(JwtVerifier::with_public_key(rsa.public_pem, JwtAlgorithm::HS256), std::invalid_argument);
  EXPECT_THROW(JwtVerifier::with_public_key(p384.public_pem, JwtAlgorithm::ES256), std::invalid_argument);
  EXPECT_EQ(JwtVerifier::with_public_key(p384.public_pem).algorithm(), JwtAlgorithm::ES384);
  EXPECT_EQ(JwtVerifier::with_public_key(rsa.public_pem, JwtAlgorithm::RS512).algorithm(), JwtAlgorithm::RS512);
  EXPECT_THROW(JwtVerifier::with_secret(""), std::invalid_argument);
  EXPECT_THROW(JwtVerifier::with_secret("s", JwtAlgorithm::RS256), std::invalid_argument);
}

TEST(JwtAlgorithm, NamesAreExact) {
  EXPECT_EQ(jwt_algorithm_from_name("ES512"), JwtAlgorithm::ES512);
  EXPECT_EQ(name_of(JwtAlgorithm::RS384), "RS384");
  EXPECT_FALSE(jwt_algorithm_from_name("hs256"));
  EXPECT_FALSE(jwt_algorithm_from_name("none"));
}

}  // namespace
}  // namespace switchboard::app
