#include "app/jwt_verifier.hpp"

#include <array>
#include <cmath>
#include <memory>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/encoding.hpp"

namespace switchboard::app {

namespace {

constexpr std::array<std::string_view, 9> algorithm_names = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                                             "RS512", "ES256", "ES384", "ES512"};

jwt_alg_t libjwt_algorithm(JwtAlgorithm algorithm) noexcept {
  switch (algorithm) {
    case JwtAlgorithm::HS256: return JWT_ALG_HS256;
    case JwtAlgorithm::HS384: return JWT_ALG_HS384;
    case JwtAlgorithm::HS512: return JWT_ALG_HS512;
    case JwtAlgorithm::RS256: return JWT_ALG_RS256;
    case JwtAlgorithm::RS384: return JWT_ALG_RS384;
    case JwtAlgorithm::RS512: return JWT_ALG_RS512;
    case JwtAlgorithm::ES256: return JWT_ALG_ES256;
    case JwtAlgorithm::ES384: return JWT_ALG_ES384;
    case JwtAlgorithm::ES512: return JWT_ALG_ES512;
  }
  return JWT_ALG_INVAL;
}

bool is_hmac(JwtAlgorithm a) noexcept {
  return a == JwtAlgorithm::HS256 || a == JwtAlgorithm::HS384 || a == JwtAlgorithm::HS512;
}
bool is_rsa(JwtAlgorithm a) noexcept {
  return a == JwtAlgorithm::RS256 || a == JwtAlgorithm::RS384 || a == JwtAlgorithm::RS512;
}

std::optional<boost::json::object> json_object_of(std::string_view segment) {
  auto bytes = core::base64url_decode(segment);  // RFC 7515 §2: one spelling per token
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  auto value = boost::json::parse(*bytes, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

std::optional<double> number_of(const boost::json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double() && std::isfinite(v.as_double())) return v.as_double();
  return std::nullopt;
}

struct BioDeleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct JwtDeleter {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};

// The algorithm a public key implies, checked against the one asked for.
JwtAlgorithm algorithm_for_key(const std::string& pem, std::optional<JwtAlgorithm> wanted) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::invalid_argument("cannot read the key");
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::invalid_argument("not a PEM public key (expected \"-----BEGIN PUBLIC KEY-----\")");
  JwtAlgorithm implied;
  int type = EVP_PKEY_get_base_id(key.get());
  if (type == EVP_PKEY_RSA) {
    implied = JwtAlgorithm::RS256;
    if (wanted && !is_rsa(*wanted)) {
      throw std::invalid_argument("an RSA key verifies RS256, RS384 or RS512, not " + std::string(name_of(*wanted)));
    }
  } else if (type == EVP_PKEY_EC) {
    char group[64] = {};
    std::size_t length = 0;
    EVP_PKEY_get_group_name(key.get(), group, sizeof group, &length);
    std::string_view curve(group, length);
    // RFC 7518 §3.4: each ES algorithm names its curve.
    if (curve == "prime256v1") implied = JwtAlgorithm::ES256;
    else if (curve == "secp384r1") implied = JwtAlgorithm::ES384;
    else if (curve == "secp521r1") implied = JwtAlgorithm::ES512;
    else throw std::invalid_argument("EC key on curve " + std::string(curve) + ": ES256/384/512 need P-256/384/521");
    if (wanted && *wanted != implied) {
      throw std::invalid_argument("this EC key verifies " + std::string(name_of(implied)) + ", not " +
                                  std::string(name_of(*wanted)));
    }
  } else {
    throw std::invalid_argument("the key is neither RSA nor EC");
  }
  return wanted ? *wanted : implied;
}

}  // namespace

std::string_view name_of(JwtAlgorithm algorithm) noexcept {
  return algorithm_names[static_cast<std::size_t>(algorithm)];
}

std::optional<JwtAlgorithm> jwt_algorithm_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < algorithm_names.size(); ++i) {
    if (algorithm_names[i] == name) return static_cast<JwtAlgorithm>(i);
  }
  return std::nullopt;
}

std::string_view describe(JwtError error) noexcept {
  switch (error) {
    case JwtError::malformed: return "malformed token";
    case JwtError::algorithm_refused: return "algorithm not accepted";
    case JwtError::bad_signature: return "bad signature";
    case JwtError::expired: return "token expired";
    case JwtError::not_yet_valid: return "token not valid yet (nbf)";
    case JwtError::bad_claim: return "unusable claim or header";
    case JwtError::no_user_id: return "no id or sub claim";
  }
  return "invalid token";
}

JwtVerifier JwtVerifier::with_secret(std::string secret, JwtAlgorithm algorithm) {
  if (secret.empty()) throw std::invalid_argument("the JWT secret is empty");
  if (!is_hmac(algorithm)) {
    throw std::invalid_argument(std::string(name_of(algorithm)) + " needs a public key, not a secret");
  }
  return JwtVerifier(std::move(secret), algorithm);
}

JwtVerifier JwtVerifier::with_public_key(std::string pem, std::optional<JwtAlgorithm> algorithm) {
  if (algorithm && is_hmac(*algorithm)) {
    throw std::invalid_argument(std::string(name_of(*algorithm)) + " needs a secret, not a public key");
  }
  JwtAlgorithm chosen = algorithm_for_key(pem, algorithm);
  return JwtVerifier(std::move(pem), chosen);
}

JwtResult JwtVerifier::verify(std::string_view token, std::chrono::system_clock::time_point now) const {
  JwtResult result;
  auto fail = [&result](JwtError e) {
    result.error = e;
    return result;
  };
  if (token.empty() || token.size() > max_token_size) return fail(JwtError::malformed);
  auto first_dot = token.find('.');
  auto second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
    return fail(JwtError::malformed);
  }
  auto header = json_object_of(token.substr(0, first_dot));
  auto claims = json_object_of(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!header || !claims) return fail(JwtError::malformed);

  // The pinned algorithm, before any key is used: the token does not get to choose.
  const auto* alg = header->if_contains("alg");
  if (!alg || !alg->is_string() || alg->as_string() != name_of(algorithm_)) return fail(JwtError::algorithm_refused);
  // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
  if (header->contains("crit")) return fail(JwtError::bad_claim);

  jwt_t* raw = nullptr;
  std::string nul_terminated(token);
  int rc = jwt_decode(&raw, nul_terminated.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                      static_cast<int>(key_.size()));
  std::unique_ptr<jwt_t, JwtDeleter> decoded(raw);
  if (rc != 0 || !decoded) return fail(JwtError::bad_signature);
  // libjwt took its algorithm from the same header; make sure it verified with ours.
  if (jwt_get_alg(decoded.get()) != libjwt_algorithm(algorithm_)) return fail(JwtError::algorithm_refused);

  // The claims are read from the payload libjwt has just verified (the same bytes),
  // through Boost.JSON so that a NumericDate may be a fraction, as RFC 7519 §2 allows.
  double seconds_now = std::chrono::duration<double>(now.time_since_epoch()).count();
  auto leeway = static_cast<double>(leeway_.count());
  std::optional<std::chrono::system_clock::time_point> expires;
  if (const auto* exp = claims->if_contains("exp")) {
    auto at = number_of(*exp);
    if (!at) return fail(JwtError::bad_claim);
    if (seconds_now >= *at + leeway) return fail(JwtError::expired);
    expires = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(*at)));
  }
  if (const auto* nbf = claims->if_contains("nbf")) {
    auto at = number_of(*nbf);
    if (!at) return fail(JwtError::bad_claim);
    if (seconds_now < *at - leeway) return fail(JwtError::not_yet_valid);
  }

  JwtUser user;
  auto id_from = [](const boost::json::value* v) -> std::string {
    if (!v) return {};
    if (v->is_string()) return std::string(v->as_string());
    if (v->is_int64()) return std::to_string(v->as_int64());
    if (v->is_uint64()) return std::to_string(v->as_uint64());
    return {};
  };
  user.id = id_from(claims->if_contains("id"));
  if (user.id.empty()) user.id = id_from(claims->if_contains("sub"));
  if (user.id.empty()) return fail(JwtError::no_user_id);
  if (const auto* name = claims->if_contains("name"); name && name->is_string()) user.name = name->as_string();
  user.expires = expires;
  result.user = std::move(user);
  return result;
}

}  // namespace switchboard::app
