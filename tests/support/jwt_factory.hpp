// Makes keys and signed tokens for every JWS algorithm with OpenSSL, for the auth tests and the
// verify micro-benchmarks: the signing side that wsgate itself never needs.
#pragma once

#include "auth/algorithm.hpp"

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

namespace wsgate::auth::testing {

using PkeyPtr = std::shared_ptr<EVP_PKEY>;

extern const std::string kSecret;  // the HMAC secret tokens are minted with by default

// One key pair per type for the whole program (RSA generation is slow).
const PkeyPtr& key_for(KeyType type);
PkeyPtr generate(KeyType type);

std::string mint(Algorithm alg, const std::string& header_json, const std::string& payload_json,
                 const std::string& secret = kSecret);
std::string header_for(Algorithm alg, std::string_view kid = "");
std::string pem_of(EVP_PKEY* pkey);
// The public key of key_for(type) as a JWK, the way an identity provider publishes it.
std::string jwk_of(KeyType type, std::string_view kid);

}  // namespace wsgate::auth::testing
