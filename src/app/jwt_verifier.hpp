#pragma once
// Verifies the JSON Web Tokens (RFC 7519) that clients carry in the Socket.IO handshake
// (`auth: {token}`), and turns their claims into the chat user.
//
// Why not libjwt alone: Debian bookworm's libjwt 1.10 takes the algorithm from the
// token's own header and validates no claims. So the header's `alg` is checked here
// first against the one algorithm the server was configured with (no `none`, and no
// "algorithm confusion": an HS256 token signed with an RSA public key as its secret is
// refused because the server pinned RS256), libjwt checks the signature with that
// algorithm's key, and `exp` / `nbf` (RFC 7519 §4.1.4-5) are checked here.
//
// Thread safety: verify() is const and may run on every loop thread at once.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::app {

enum class JwtAlgorithm { HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512 };

std::string_view name_of(JwtAlgorithm algorithm) noexcept;
// "HS256" etc., exactly as RFC 7518 §3.1 spells them (case matters: the header must match).
std::optional<JwtAlgorithm> jwt_algorithm_from_name(std::string_view name) noexcept;

// Who a token says the client is.
struct JwtUser {
  std::string id;    // claim `id` (a string or an integer), else `sub`
  std::string name;  // claim `name`, empty when absent
  std::optional<std::chrono::system_clock::time_point> expires;  // claim `exp`
};

enum class JwtError {
  malformed,          // not three base64url parts, or a header/payload that is not a JSON object
  algorithm_refused,  // header `alg` is not the configured algorithm (including "none")
  bad_signature,
  expired,            // now >= exp (+ leeway)
  not_yet_valid,      // now < nbf (- leeway)
  bad_claim,          // exp/nbf not a number, or a `crit` header we cannot honour
  no_user_id,         // neither `id` nor `sub`
};
std::string_view describe(JwtError error) noexcept;

struct JwtResult {
  std::optional<JwtUser> user;  // set on success
  JwtError error = JwtError::malformed;
  explicit operator bool() const noexcept { return user.has_value(); }
};

class JwtVerifier {
 public:
  // HMAC with a shared secret (HS256 unless told otherwise). Throws std::invalid_argument
  // for an empty secret or a non-HMAC algorithm.
  static JwtVerifier with_secret(std::string secret, JwtAlgorithm algorithm = JwtAlgorithm::HS256);
  // A PEM public key (RSA or EC). Without an algorithm it follows from the key: RSA →
  // RS256, EC P-256/P-384/P-521 → ES256/ES384/ES512. Throws std::invalid_argument when the
  // PEM is no public key, or the key does not fit the algorithm.
  static JwtVerifier with_public_key(std::string pem, std::optional<JwtAlgorithm> algorithm = std::nullopt);

  JwtAlgorithm algorithm() const noexcept { return algorithm_; }
  // Tolerated clock difference between the token's issuer and this server.
  void set_leeway(std::chrono::seconds leeway) noexcept { leeway_ = leeway; }

  JwtResult verify(std::string_view token, std::chrono::system_clock::time_point now) const;

  // Tokens longer than this are refused unread (a handshake is no place for megabytes).
  static constexpr std::size_t max_token_size = 8 * 1024;

 private:
  JwtVerifier(std::string key, JwtAlgorithm algorithm) : key_(std::move(key)), algorithm_(algorithm) {}

  std::string key_;  // the secret bytes, or the PEM text
  JwtAlgorithm algorithm_;
  std::chrono::seconds leeway_{0};
};

}  // namespace switchboard::app
