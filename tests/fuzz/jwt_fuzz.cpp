// libFuzzer: a token through the verifier (base64url, header and claims JSON, algorithm allowlist,
// kid lookup, signatures, claim checks) against HMAC and EC keys, and the input as a JWKS document.
#include "auth/jwt_verifier.hpp"
#include "auth/verification_key.hpp"

#include <string_view>

using namespace wsgate::auth;

namespace {

const char* kEcPublic = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/gY7SXThf3uaPzMInaeRScP0MG+/
24CFhq4cq+RxHeM+HWvmkImOmf0bOmw+nrCNlqEnXlQmkD24ViGmNuzkIw==
-----END PUBLIC KEY-----
)";

const JwtVerifier& verifier() {
  static const JwtVerifier v = [] {
    VerifierConfig c;
    c.algorithms = {Algorithm::HS256, Algorithm::HS512, Algorithm::ES256, Algorithm::RS256};
    c.issuer = "wsgate-dev";
    c.audiences = {"wsgate"};
    c.required_claims = {{"scope", ClaimRule::Kind::contains, "chat"}, {"tier", ClaimRule::Kind::equals, "gold"}};
    std::vector<VerificationKey> keys{VerificationKey::from_secret("0123456789abcdef0123456789abcdef", "hs")};
    std::string error;
    auto ec = VerificationKey::from_pem(kEcPublic, "ec", error);
    if (!ec) __builtin_trap();  // the fuzzer would only ever reach the HMAC path
    keys.push_back(*ec);
    return JwtVerifier(c, std::move(keys));
  }();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  verifier().verify(input, 1'800'000'000);
  std::vector<std::string> errors;
  parse_jwks(input, errors);
  return 0;
}
