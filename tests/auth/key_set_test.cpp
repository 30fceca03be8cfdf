#include "auth/jwt_verifier.hpp"
#include "auth/key_set.hpp"
#include "tests/support/jwt_factory.hpp"

#include <gtest/gtest.h>

namespace wsgate::auth {
namespace {

using namespace testing;

constexpr std::int64_t kNow = 1'800'000'000;
const std::string kClaims = "{\"sub\":\"alice\",\"exp\":" + std::to_string(kNow + 3600) + "}";

std::vector<VerificationKey> jwks_keys(const std::string& document) {
  std::vector<std::string> errors;
  auto keys = parse_jwks(document, errors);
  EXPECT_TRUE(errors.empty());
  return keys;
}

std::string jwks(std::initializer_list<std::string> jwks_entries) {
  std::string doc = "{\"keys\":[";
  for (const auto& k : jwks_entries) doc += (doc.back() == '[' ? "" : ",") + k;
  return doc + "]}";
}

TEST(KeySet, ReplacesAndCountsGenerationsOnlyOnChange) {
  KeySet set;
  EXPECT_EQ(set.generation(), 0u);
  EXPECT_TRUE(set.snapshot()->keys.empty());
  const auto doc = jwks({jwk_of(KeyType::rsa, "r1")});
  EXPECT_TRUE(set.replace(jwks_keys(doc), doc));
  EXPECT_EQ(set.generation(), 1u);
  EXPECT_FALSE(set.replace(jwks_keys(doc), doc));  // the same document again: nothing changes
  EXPECT_EQ(set.generation(), 1u);
  const auto doc2 = jwks({jwk_of(KeyType::rsa, "r1"), jwk_of(KeyType::ec_p256, "e1")});
  EXPECT_TRUE(set.replace(jwks_keys(doc2), doc2));
  EXPECT_EQ(set.generation(), 2u);
  EXPECT_EQ(set.snapshot()->keys.size(), 2u);
}

TEST(KeySet, SnapshotOutlivesReplacement) {
  KeySet set;
  const auto doc = jwks({jwk_of(KeyType::rsa, "r1")});
  set.replace(jwks_keys(doc), doc);
  const auto held = set.snapshot();
  set.replace({}, "{\"keys\":[]}");
  ASSERT_EQ(held->keys.size(), 1u);  // a verify in progress keeps the keys it started with
  EXPECT_EQ(held->keys[0].kid(), "r1");
}

TEST(KeySet, VerifierSeesRotationWithoutBeingRebuilt) {
  auto set = std::make_shared<KeySet>();
  VerifierConfig c;
  c.algorithms = {Algorithm::RS256, Algorithm::ES256};
  JwtVerifier verifier(c, {}, {set});
  const auto token_r1 = mint(Algorithm::RS256, header_for(Algorithm::RS256, "r1"), kClaims);
  const auto token_e1 = mint(Algorithm::ES256, header_for(Algorithm::ES256, "e1"), kClaims);

  EXPECT_EQ(verifier.verify(token_r1, kNow).result, error::unknown_key);  // nothing fetched yet
  const auto g0 = verifier.key_generation();

  const auto doc1 = jwks({jwk_of(KeyType::rsa, "r1")});
  set->replace(jwks_keys(doc1), doc1);
  EXPECT_EQ(verifier.verify(token_r1, kNow).result, error::none);
  EXPECT_EQ(verifier.verify(token_e1, kNow).result, error::unknown_key);
  const auto g1 = verifier.key_generation();
  EXPECT_NE(g0, g1);

  // The provider rotates: e1 in, r1 out.
  const auto doc2 = jwks({jwk_of(KeyType::ec_p256, "e1")});
  set->replace(jwks_keys(doc2), doc2);
  EXPECT_EQ(verifier.verify(token_e1, kNow).result, error::none);
  EXPECT_EQ(verifier.verify(token_r1, kNow).result, error::unknown_key);
  EXPECT_NE(verifier.key_generation(), g1);
}

TEST(KeySet, FixedKeysAndRemoteKeysTogether) {
  auto set = std::make_shared<KeySet>();
  VerifierConfig c;
  c.algorithms = {Algorithm::HS256, Algorithm::RS256};
  JwtVerifier verifier(c, {VerificationKey::from_secret(kSecret, "h1")}, {set});
  const auto doc = jwks({jwk_of(KeyType::rsa, "r1")});
  set->replace(jwks_keys(doc), doc);
  EXPECT_EQ(verifier.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256, "h1"), kClaims), kNow)
                .result, error::none);
  EXPECT_EQ(verifier.verify(mint(Algorithm::RS256, header_for(Algorithm::RS256, "r1"), kClaims), kNow)
                .result, error::none);
  // A kid of the remote set naming an RSA key cannot be used with HS256 (algorithm confusion).
  EXPECT_EQ(verifier.verify(mint(Algorithm::HS256, header_for(Algorithm::HS256, "r1"), kClaims), kNow)
                .result, error::key_type_mismatch);
}

}  // namespace
}  // namespace wsgate::auth
