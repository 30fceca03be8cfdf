// Verifies a compact JWS/JWT against one provider's rules: algorithm allowlist, keys, issuer,
// audiences, time claims with leeway, required claims. Knows nothing of HTTP or sockets: the
// gateway maps each error to 401 (WWW-Authenticate: Bearer error="invalid_token") or 403.
#pragma once

#include "auth/algorithm.hpp"
#include "auth/key_set.hpp"
#include "auth/verification_key.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::auth {

enum class error {
  none,
  missing_token,          // the request carries none where the provider looks (never from verify)
  malformed,              // not three base64url segments of JSON objects, or a claim of the wrong type
  algorithm_not_allowed,  // "none", unknown, or not on the provider's allowlist
  unknown_key,            // no key with the token's kid (or none of the algorithm's family)
  key_type_mismatch,      // the kid names a key of another family, or bound by its JWK to another alg
  bad_signature,
  expired,
  not_yet_valid,
  no_expiry,              // no exp where the provider requires one (RFC 6750 3.1: invalid_token, 401)
  wrong_issuer,
  wrong_audience,
  claim_missing,          // a required claim is absent (403)
  claim_mismatch,         // a required claim has another value (403)
};

std::string_view to_string(error e);  // fixed texts: error_description and metric labels
bool is_forbidden(error e);           // 403 rather than 401

struct ClaimRule {
  enum class Kind { equals, contains };  // contains: in an array, or a word of a space-separated string
  std::string claim;
  Kind kind = Kind::equals;
  std::string value;
};

struct VerifierConfig {
  std::vector<Algorithm> algorithms;    // allowlist; empty allows nothing
  std::string issuer;                   // empty: iss not checked
  std::vector<std::string> audiences;   // empty: aud not checked; else one must be in the token
  std::int64_t leeway_seconds = 30;     // clock skew allowed on exp, nbf, iat
  bool require_exp = true;
  std::vector<ClaimRule> required_claims;
  std::size_t max_token_bytes = 8192;
};

struct Verified {
  error result = error::malformed;
  Algorithm algorithm = Algorithm::HS256;
  boost::json::object claims;  // set when result == none
};

class JwtVerifier {
 public:
  // `keys` are fixed (files); each of `remote` may be replaced while the verifier lives (JWKS URLs).
  JwtVerifier(VerifierConfig config, std::vector<VerificationKey> keys,
              std::vector<std::shared_ptr<const KeySet>> remote = {});

  // `now` is Unix seconds (wall clock), passed in so tests need no sleeps.
  Verified verify(std::string_view token, std::int64_t now) const;

  const VerifierConfig& config() const { return config_; }
  // Unique for the life of the process, even across reloads: the verified-token cache keys on it.
  std::uint64_t id() const { return id_; }
  // Changes whenever a remote key set does: a cached verdict from older keys no longer counts.
  std::uint64_t key_generation() const;
  bool has_remote_keys() const { return !remote_.empty(); }

 private:
  error check_claims(const boost::json::object& claims, std::int64_t now) const;

  VerifierConfig config_;
  std::vector<VerificationKey> keys_;
  std::vector<std::shared_ptr<const KeySet>> remote_;
  std::uint64_t id_;
};

}  // namespace wsgate::auth
