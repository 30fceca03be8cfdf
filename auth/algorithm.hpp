// The JWS algorithms wsgate verifies (RFC 7518 3, RFC 8037 3.1) and the one key type each may use:
// a key is only ever used with its own family, which makes algorithm confusion impossible.
#pragma once

#include <optional>
#include <string_view>

namespace wsgate::auth {

enum class Algorithm { HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA };

enum class KeyType { hmac, rsa, ec_p256, ec_p384, ed25519 };

// "none" and anything unknown: nullopt.
std::optional<Algorithm> parse_algorithm(std::string_view name);
std::string_view to_string(Algorithm alg);
std::string_view to_string(KeyType type);
KeyType key_type_for(Algorithm alg);

}  // namespace wsgate::auth
