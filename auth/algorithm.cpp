#include "auth/algorithm.hpp"

#include <array>
#include <utility>

namespace wsgate::auth {
namespace {

constexpr std::array<std::pair<Algorithm, std::string_view>, 12> kNames{{
    {Algorithm::HS256, "HS256"}, {Algorithm::HS384, "HS384"}, {Algorithm::HS512, "HS512"},
    {Algorithm::RS256, "RS256"}, {Algorithm::RS384, "RS384"}, {Algorithm::RS512, "RS512"},
    {Algorithm::PS256, "PS256"}, {Algorithm::PS384, "PS384"}, {Algorithm::PS512, "PS512"},
    {Algorithm::ES256, "ES256"}, {Algorithm::ES384, "ES384"}, {Algorithm::EdDSA, "EdDSA"},
}};

}  // namespace

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  for (const auto& [alg, n] : kNames)
    if (n == name) return alg;
  return std::nullopt;
}

std::string_view to_string(Algorithm alg) {
  for (const auto& [a, n] : kNames)
    if (a == alg) return n;
  return "?";
}

std::string_view to_string(KeyType type) {
  switch (type) {
    case KeyType::hmac: return "oct";
    case KeyType::rsa: return "RSA";
    case KeyType::ec_p256: return "EC P-256";
    case KeyType::ec_p384: return "EC P-384";
    case KeyType::ed25519: return "OKP Ed25519";
  }
  return "?";
}

KeyType key_type_for(Algorithm alg) {
  switch (alg) {
    case Algorithm::HS256:
    case Algorithm::HS384:
    case Algorithm::HS512: return KeyType::hmac;
    case Algorithm::ES256: return KeyType::ec_p256;
    case Algorithm::ES384: return KeyType::ec_p384;
    case Algorithm::EdDSA: return KeyType::ed25519;
    default: return KeyType::rsa;
  }
}

}  // namespace wsgate::auth
