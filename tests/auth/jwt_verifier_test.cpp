#include "auth/jwt_verifier.hpp"

#include "auth/base64url.hpp"
#include "auth/signature.hpp"
#include "tests/support/jwt_factory.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <map>
#include <memory>

namespace wsgate::auth {
namespace {

using namespace testing;

constexpr std::int64_t kNow = 1'800'000'000;

std::string claims(std::int64_t exp = kNow + 3600, std::string extra = "") {
  return "{\"sub\":\"alice\",\"iss\":\"wsgate-dev\",\"aud\":\"wsgate\",\"exp\":" + std::to_string(exp) +
         (extra.empty() ? "" : "," + extra) + "}";
}

VerifierConfig config(std::vector<Algorithm> algs) {
  VerifierConfig c;
  c.algorithms = std::move(algs);
  c.issuer = "wsgate-dev";
  c.audiences = {"wsgate"};
  c.leeway_seconds = 30;
  return c;
}

// ---- Test vectors from the RFCs ----

TEST(JwtVerifier, Rfc7515AppendixA1Hs256) {
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0"
      "dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto key = base64url_decode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key);
  VerifierConfig c;
  c.algorithms = {Algorithm::HS256};
  c.issuer = "joe";
  c.leeway_seconds = 0;
  JwtVerifier v(c, {VerificationKey::from_secret(*key)});
  auto ok = v.verify(token, 1300819379);
  ASSERT_EQ(ok.result, error::none) << to_string(ok.result);
  EXPECT_TRUE(ok.claims.at("http://example.com/is_root").as_bool());
  EXPECT_EQ(v.verify(token, 1300819380).result, error::expired);  // RFC 7519 4.1.4: on or after
  std::string tampered = token;
  tampered.back() = tampered.back() == 'k' ? 'l' : 'k';
  EXPECT_EQ(v.verify(tampered, 1300819379).result, error::malformed);  // non-canonical base64url
  tampered = token;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(v.verify(tampered, 1300819379).result, error::bad_signature);
}

TEST(Signature, Rfc8037AppendixA4Ed25519) {
  std::vector<std::string> errors;
  auto keys = parse_jwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})", errors);
  ASSERT_TRUE(errors.empty()) << errors.front();
  ASSERT_EQ(keys.size(), 1u);
  const std::string input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  auto sig = base64url_decode(
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
  ASSERT_TRUE(sig);
  EXPECT_TRUE(verify_signature(Algorithm::EdDSA, keys[0], input, *sig));
  EXPECT_FALSE(verify_signature(Algorithm::EdDSA, keys[0], input + "x", *sig));
}

// ---- Every algorithm, keys from PEM and from JWKS ----

class EveryAlgorithm : public ::testing::TestWithParam<Algorithm> {};

TEST_P(EveryAlgorithm, VerifiesWithPemAndJwksKeysAndRejectsTampering) {
  const Algorithm alg = GetParam();
  const KeyType type = key_type_for(alg);
  std::vector<VerificationKey> from_pem, from_jwks;
  if (type == KeyType::hmac) {
    from_pem.push_back(VerificationKey::from_secret(kSecret, "k1"));
    std::vector<std::string> errors;
    from_jwks = parse_jwks("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"" + base64url_encode(kSecret) + "\"}]}", errors);
    ASSERT_TRUE(errors.empty()) << errors.front();
  } else {
    std::string error;
    auto k = VerificationKey::from_pem(pem_of(key_for(type).get()), "k1", error);
    ASSERT_TRUE(k) << error;
    from_pem.push_back(std::move(*k));
    std::vector<std::string> errors;
    from_jwks = parse_jwks("{\"keys\":[" + jwk_of(type, "k1") + "]}", errors);
    ASSERT_TRUE(errors.empty()) << errors.front();
  }
  ASSERT_EQ(from_jwks.size(), 1u);
  EXPECT_EQ(from_jwks[0].type(), type);
  const std::string token = mint(alg, header_for(alg, "k1"), claims());
  for (auto* keys : {&from_pem, &from_jwks}) {
    JwtVerifier v(config({alg}), *keys);
    auto r = v.verify(token, kNow);
    ASSERT_EQ(r.result, error::none) << to_string(alg) << ": " << to_string(r.result);
    EXPECT_EQ(r.claims.at("sub").as_string(), "alice");
    EXPECT_EQ(r.algorithm, alg);
    // A different payload under the same signature.
    const auto dot1 = token.find('.'), dot2 = token.rfind('.');
    const std::string forged = token.substr(0, dot1 + 1) + base64url_encode(claims(kNow + 7200)) + token.substr(dot2);
    EXPECT_EQ(v.verify(forged, kNow).result, error::bad_signature) << to_string(alg);
  }
}

INSTANTIATE_TEST_SUITE_P(Jwa, EveryAlgorithm,
                         ::testing::Values(Algorithm::HS256, Algorithm::HS384, Algorithm::HS512,
                                           Algorithm::RS256, Algorithm::RS384, Algorithm::RS512,
                                           Algorithm::PS256, Algorithm::PS384, Algorithm::PS512,
                                           Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA),
                         [](const auto& param_info) { return std::string(to_string(param_info.param)); });

// ---- Attacks and malformed input ----

TEST(JwtVerifier, AlgNoneAndAlgorithmsOffTheAllowlist) {
  JwtVerifier v(config({Algorithm::RS256}), {VerificationKey::from_secret(kSecret)});
  const std::string none = base64url_encode("{\"alg\":\"none\"}") + "." + base64url_encode(claims()) + ".";
  EXPECT_EQ(v.verify(none, kNow).result, error::algorithm_not_allowed);
  const std::string none_upper = base64url_encode("{\"alg\":\"None\"}") + "." + base64url_encode(claims()) + ".";
  EXPECT_EQ(v.verify(none_upper, kNow).result, error::algorithm_not_allowed);
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256), claims()), kNow).result,
            error::algorithm_not_allowed);
}

TEST(JwtVerifier, HmacWithThePublicRsaKeyAsSecretIsRejected) {
  // The classic confusion: the attacker signs HS256 with the RSA public key's PEM as the secret.
  const std::string pem = pem_of(key_for(KeyType::rsa).get());
  std::string error;
  auto rsa = VerificationKey::from_pem(pem, "rsa-1", error);
  ASSERT_TRUE(rsa) << error;
  JwtVerifier v(config({Algorithm::HS256, Algorithm::RS256}), {*rsa});
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256), claims(), pem), kNow).result,
            error::unknown_key);
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256, "rsa-1"), claims(), pem), kNow).result,
            error::key_type_mismatch);
  EXPECT_EQ(v.verify(mint(Algorithm::RS256, header_for(Algorithm::RS256, "rsa-1"), claims()), kNow).result,
            error::none);
}

TEST(JwtVerifier, KidSelectsTheKeyAndRotates) {
  JwtVerifier v(config({Algorithm::HS256}), {VerificationKey::from_secret("old secret that is long enough!!", "2025"),
                                             VerificationKey::from_secret(kSecret, "2026")});
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256, "2026"), claims()), kNow).result, error::none);
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256, "2025"), claims()), kNow).result,
            error::bad_signature);
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256, "2024"), claims()), kNow).result,
            error::unknown_key);
  // Without a kid every key of the family is tried.
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256), claims()), kNow).result, error::none);
}

TEST(JwtVerifier, MalformedTokens) {
  JwtVerifier v(config({Algorithm::HS256}), {VerificationKey::from_secret(kSecret)});
  const std::string good = mint(Algorithm::HS256, header_for(Algorithm::HS256), claims());
  const auto dot1 = good.find('.'), dot2 = good.rfind('.');
  for (const std::string& bad : {
           std::string(), std::string("abc"), good.substr(0, dot2), good + ".x", good.substr(0, dot1 + 1) + "!!" + good.substr(dot2),
           good.substr(0, good.size() - 3),                     // truncated signature: non-canonical tail
           std::string("=") + good, good + "=",
           base64url_encode("[1,2]") + good.substr(dot1),     // header not an object
           base64url_encode("{\"alg\":\"HS256\",\"kid\":7}") + good.substr(dot1),
           base64url_encode("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}") + good.substr(dot1),
           base64url_encode("{\"alg\":\"HS256\",\"x\":\"" + std::string(9000, 'a') + "\"}") + good.substr(dot1),
       })
    EXPECT_NE(v.verify(bad, kNow).result, error::none) << bad.substr(0, 60);
  EXPECT_EQ(v.verify(good.substr(0, dot2), kNow).result, error::malformed);
  // A payload that is not an object, correctly signed.
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256), "\"just a string\""), kNow).result,
            error::malformed);
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256), "{\"exp\":\"1800003600\"}"), kNow).result,
            error::malformed);  // exp as a string
  EXPECT_EQ(v.verify(good, kNow).result, error::none);
}

TEST(JwtVerifier, TimeClaimsWithLeeway) {
  JwtVerifier v(config({Algorithm::HS256}), {VerificationKey::from_secret(kSecret)});
  auto at = [&](std::string payload) { return v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256), payload), kNow).result; };
  EXPECT_EQ(at(claims(kNow - 29)), error::none);     // inside the 30 s leeway
  EXPECT_EQ(at(claims(kNow - 30)), error::expired);  // at its edge
  EXPECT_EQ(at(claims(kNow + 3600, "\"nbf\":" + std::to_string(kNow + 30))), error::none);
  EXPECT_EQ(at(claims(kNow + 3600, "\"nbf\":" + std::to_string(kNow + 31))), error::not_yet_valid);
  EXPECT_EQ(at(claims(kNow + 3600, "\"iat\":" + std::to_string(kNow + 600))), error::not_yet_valid);
  EXPECT_EQ(at("{\"iss\":\"wsgate-dev\",\"aud\":\"wsgate\"}"), error::no_expiry);  // no exp: 401
}

TEST(JwtVerifier, IssuerAndAudience) {
  JwtVerifier v(config({Algorithm::HS256}), {VerificationKey::from_secret(kSecret)});
  auto check = [&](std::string payload) { return v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256), payload), kNow).result; };
  const std::string exp = ",\"exp\":" + std::to_string(kNow + 60);
  EXPECT_EQ(check("{\"iss\":\"other\",\"aud\":\"wsgate\"" + exp + "}"), error::wrong_issuer);
  EXPECT_EQ(check("{\"aud\":\"wsgate\"" + exp + "}"), error::wrong_issuer);
  EXPECT_EQ(check("{\"iss\":\"wsgate-dev\",\"aud\":\"other\"" + exp + "}"), error::wrong_audience);
  EXPECT_EQ(check("{\"iss\":\"wsgate-dev\",\"aud\":[\"x\",\"wsgate\"]" + exp + "}"), error::none);
  EXPECT_EQ(check("{\"iss\":\"wsgate-dev\",\"aud\":[\"x\"]" + exp + "}"), error::wrong_audience);
  EXPECT_EQ(check("{\"iss\":\"wsgate-dev\"" + exp + "}"), error::wrong_audience);
}

TEST(JwtVerifier, RequiredClaimsAreForbiddenNotUnauthorized) {
  auto c = config({Algorithm::HS256});
  c.required_claims = {{"scope", ClaimRule::Kind::contains, "chat"}, {"tier", ClaimRule::Kind::equals, "gold"}};
  JwtVerifier v(c, {VerificationKey::from_secret(kSecret)});
  auto check = [&](std::string extra) { return v.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256), claims(kNow + 60, extra)), kNow).result; };
  EXPECT_EQ(check("\"scope\":\"read chat\",\"tier\":\"gold\""), error::none);
  EXPECT_EQ(check("\"scope\":[\"chat\"],\"tier\":\"gold\""), error::none);
  EXPECT_EQ(check("\"scope\":\"read chatty\",\"tier\":\"gold\""), error::claim_mismatch);
  EXPECT_EQ(check("\"tier\":\"gold\""), error::claim_missing);
  EXPECT_EQ(check("\"scope\":\"chat\",\"tier\":\"silver\""), error::claim_mismatch);
  EXPECT_TRUE(is_forbidden(error::claim_mismatch));
  EXPECT_FALSE(is_forbidden(error::expired));
}

TEST(VerificationKey, RefusesWeakAndForeignKeys) {
  std::string error;
  PkeyPtr small(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(1024)), EVP_PKEY_free);
  EXPECT_FALSE(VerificationKey::from_pem(pem_of(small.get()), "", error));
  EXPECT_EQ(error, "RSA key shorter than 2048 bits");
  EXPECT_FALSE(VerificationKey::from_pem("not a pem", "", error));
  std::vector<std::string> errors;
  auto keys = parse_jwks(R"({"keys":[{"kty":"EC","crv":"P-521","x":"AA","y":"AA"},{"kty":"oct","use":"enc","k":"AAAA"},{"kty":"XYZ"}]})", errors);
  EXPECT_TRUE(keys.empty());
  ASSERT_EQ(errors.size(), 2u);  // the encryption key is skipped silently
  EXPECT_EQ(errors[0], "keys[0]: EC key needs crv P-256 or P-384 and x, y of its size");
  EXPECT_EQ(errors[1], "keys[2]: unsupported kty XYZ");
  parse_jwks("[]", errors);
  EXPECT_EQ(errors.back(), "JWKS must be an object with a \"keys\" array");
}

// RFC 8725 3.1: a JWK that names its "alg" verifies that algorithm only, even where the family and
// the provider's allowlist would take others.
TEST(JwtVerifier, JwkAlgBindsTheKeyToOneAlgorithm) {
  std::vector<std::string> errors;
  const std::string jwk = jwk_of(KeyType::rsa, "k1");
  auto keys = parse_jwks("{\"keys\":[{\"alg\":\"RS256\"," + jwk.substr(1) + "]}", errors);
  ASSERT_TRUE(errors.empty()) << errors.front();
  ASSERT_EQ(keys.size(), 1u);
  ASSERT_TRUE(keys[0].algorithm());
  EXPECT_EQ(*keys[0].algorithm(), Algorithm::RS256);
  JwtVerifier v(config({Algorithm::RS256, Algorithm::PS256, Algorithm::RS512}), keys);
  EXPECT_EQ(v.verify(mint(Algorithm::RS256, header_for(Algorithm::RS256, "k1"), claims()), kNow).result,
            error::none);
  for (Algorithm other : {Algorithm::PS256, Algorithm::RS512}) {
    EXPECT_EQ(v.verify(mint(other, header_for(other, "k1"), claims()), kNow).result, error::key_type_mismatch)
        << to_string(other);
    EXPECT_EQ(v.verify(mint(other, header_for(other), claims()), kNow).result, error::unknown_key)
        << to_string(other) << " without a kid";
  }
  // The same key without "alg" verifies its whole family.
  auto open = parse_jwks("{\"keys\":[" + jwk + "]}", errors);
  JwtVerifier family(config({Algorithm::PS256}), open);
  EXPECT_EQ(family.verify(mint(Algorithm::PS256, header_for(Algorithm::PS256, "k1"), claims()), kNow).result,
            error::none);
  // An alg that is unknown, or of another family than the key, drops the key with an error.
  keys = parse_jwks("{\"keys\":[{\"alg\":\"HS256\"," + jwk.substr(1) + ",{\"alg\":\"RSA-OAEP\"," +
                    jwk.substr(1) + "]}", errors);
  EXPECT_TRUE(keys.empty());
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "keys[0]: alg HS256 does not fit a RSA key");
  EXPECT_EQ(errors[1], "keys[1]: alg must name a JWS signature algorithm wsgate verifies");
}

TEST(Base64url, StrictAndRoundTrips) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
  for (const char* bad : {"Zm9v=", "Zg==", "Z", "Zm9v!", "Zm 9v", "Zh", "+/8", "Zm9vZh", "Zm9vZm9", "Zm9!Zm8"})
    EXPECT_FALSE(base64url_decode(bad)) << bad;
  // Every length and every byte value through the four-at-a-time decoder and its tail.
  std::string bytes;
  for (int n = 0; n < 300; ++n) {
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes) << n;
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
}

}  // namespace
}  // namespace wsgate::auth

namespace wsgate::auth {
namespace {

using namespace testing;

// RFC 7515 4 and RFC 7519 4: a parser must reject duplicate names or use only the lexically last
// one. Boost.JSON keeps the last; these tests pin that down, so a duplicate cannot smuggle "none".
TEST(JwtVerifier, DuplicateNamesUseTheLastOne) {
  VerifierConfig c;
  c.algorithms = {Algorithm::HS256};
  JwtVerifier v(c, {VerificationKey::from_secret(kSecret)});
  auto r = v.verify(mint(Algorithm::HS256, R"({"alg":"none","alg":"HS256"})",
                         R"({"sub":"alice","sub":"admin","exp":1800003600})"),
                    1'800'000'000);
  ASSERT_EQ(r.result, error::none) << to_string(r.result);
  EXPECT_EQ(r.claims.at("sub").as_string(), "admin");
  EXPECT_EQ(v.verify(mint(Algorithm::HS256, R"({"alg":"HS256","alg":"none"})", R"({"exp":1800003600})"),
                     1'800'000'000).result,
            error::algorithm_not_allowed);
}

}  // namespace
}  // namespace wsgate::auth
