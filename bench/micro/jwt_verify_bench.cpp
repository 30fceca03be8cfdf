// JWT verification per algorithm, beside the bare signature check it wraps: the difference is
// what parsing, key choice and claims cost (issue 4's target: under 10 % of the signature check).
#include "auth/base64url.hpp"
#include "auth/jwt_verifier.hpp"
#include "auth/signature.hpp"
#include "auth/verified_token_cache.hpp"
#include "tests/support/jwt_factory.hpp"

#include <benchmark/benchmark.h>

namespace {

using namespace wsgate::auth;
using namespace wsgate::auth::testing;

constexpr std::int64_t kNow = 1'800'000'000;
const std::string kClaims =
    R"({"sub":"alice","iss":"wsgate-dev","aud":"wsgate","exp":1800003600,"scope":"chat read"})";

std::vector<VerificationKey> keys_for(Algorithm alg) {
  if (key_type_for(alg) == KeyType::hmac) return {VerificationKey::from_secret(kSecret, "k1")};
  std::string error;
  return {*VerificationKey::from_pem(pem_of(key_for(key_type_for(alg)).get()), "k1", error)};
}

void BM_Verify(benchmark::State& state, Algorithm alg) {
  VerifierConfig config;
  config.algorithms = {alg};
  config.issuer = "wsgate-dev";
  config.audiences = {"wsgate"};
  config.required_claims = {{"scope", ClaimRule::Kind::contains, "chat"}};
  const JwtVerifier verifier(config, keys_for(alg));
  const std::string token = mint(alg, header_for(alg, "k1"), kClaims);
  for (auto _ : state) {
    auto r = verifier.verify(token, kNow);
    if (r.result != error::none) state.SkipWithError("token did not verify");
    benchmark::DoNotOptimize(r);
  }
}

// The signature check alone, on the same token: what OpenSSL costs.
void BM_SignatureOnly(benchmark::State& state, Algorithm alg) {
  const auto keys = keys_for(alg);
  const std::string token = mint(alg, header_for(alg, "k1"), kClaims);
  const auto dot = token.rfind('.');
  const std::string input = token.substr(0, dot);
  const std::string signature = *base64url_decode(token.substr(dot + 1));
  for (auto _ : state) {
    bool ok = verify_signature(alg, keys[0], input, signature);
    if (!ok) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
}

// Each algorithm twice: the whole verify, then the bare signature check beside it.
const bool registered = [] {
  for (Algorithm alg : {Algorithm::HS256, Algorithm::RS256, Algorithm::PS256, Algorithm::ES256,
                        Algorithm::ES384, Algorithm::EdDSA}) {
    const std::string name(to_string(alg));
    benchmark::RegisterBenchmark(("BM_Verify/" + name).c_str(), BM_Verify, alg);
    benchmark::RegisterBenchmark(("BM_SignatureOnly/" + name).c_str(), BM_SignatureOnly, alg);
  }
  return true;
}();

}  // namespace

namespace {

// A reconnecting client: the token is found in the per-thread verified-token cache.
void BM_CacheHit(benchmark::State& state) {
  wsgate::auth::VerifiedTokenCache cache;
  const std::string token = mint(Algorithm::ES256, header_for(Algorithm::ES256, "k1"), kClaims);
  cache.insert(1, 0, token, kNow + 3600, {{"sub", "alice"}});
  for (auto _ : state) {
    const auto* claims = cache.find(1, 0, token, kNow);
    if (!claims) state.SkipWithError("miss");
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_CacheHit);

}  // namespace
