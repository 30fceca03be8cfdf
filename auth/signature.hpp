// Checks a JWS signature over its signing input (RFC 7515 5.2) with OpenSSL 3 EVP. A key of
// another family than the algorithm's never verifies: no HS256 with an RSA key, no "none".
#pragma once

#include "auth/algorithm.hpp"
#include "auth/verification_key.hpp"

#include <string_view>

namespace wsgate::auth {

bool verify_signature(Algorithm alg, const VerificationKey& key, std::string_view signing_input,
                      std::string_view signature);

}  // namespace wsgate::auth
