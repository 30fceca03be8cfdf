// A key a JWT may be verified with: an HMAC secret or a public key (RSA, EC P-256/P-384, Ed25519),
// with its kid. Loaded from a secret, a PEM public key, or a JWKS document; OpenSSL 3 EVP only.
#pragma once

#include "auth/algorithm.hpp"

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::auth {

class VerificationKey {
 public:
  static VerificationKey from_secret(std::string bytes, std::string kid = {});
  // A PEM public key (or certificate-less SubjectPublicKeyInfo). RSA keys under 2048 bits are
  // refused (RFC 7518 3.3).
  static std::optional<VerificationKey> from_pem(std::string_view pem, std::string kid,
                                                 std::string& error);

  KeyType type() const { return type_; }
  const std::string& kid() const { return kid_; }
  // The one algorithm this key verifies, when its JWK named one (RFC 8725 3.1: one key, one
  // algorithm; a key published for RS256 must not verify PS256 or RS512); else any of its family.
  const std::optional<Algorithm>& algorithm() const { return algorithm_; }
  void restrict_to(Algorithm alg) { algorithm_ = alg; }
  const std::string& secret() const { return secret_; }  // hmac only
  EVP_PKEY* pkey() const { return pkey_.get(); }          // all others

 private:
  friend std::optional<VerificationKey> key_from_pkey(EVP_PKEY*, std::string, std::string&);
  KeyType type_ = KeyType::hmac;
  std::string kid_;
  std::optional<Algorithm> algorithm_;
  std::string secret_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

// Takes ownership of `pkey` (freed on failure too) and classifies it.
std::optional<VerificationKey> key_from_pkey(EVP_PKEY* pkey, std::string kid, std::string& error);

// A JWKS document ({"keys":[...]}, RFC 7517 5). Keys for encryption ("use":"enc"), of unknown
// types, or whose "alg" is unknown or of another family than the key are skipped; each problem is
// appended to `errors`.
std::vector<VerificationKey> parse_jwks(std::string_view json, std::vector<std::string>& errors);

}  // namespace wsgate::auth
