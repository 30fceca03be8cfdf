#include "auth/verified_token_cache.hpp"

#include <gtest/gtest.h>

namespace wsgate::auth {
namespace {

TEST(VerifiedTokenCache, HitUntilValidUntil) {
  VerifiedTokenCache cache;
  cache.insert(1, 0, "token-a", 1000, {{"sub", "alice"}});
  const auto* hit = cache.find(1, 0, "token-a", 999);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->at("sub").as_string(), "alice");
  EXPECT_EQ(cache.find(1, 0, "token-a", 1000), nullptr);  // dies at valid_until
  EXPECT_EQ(cache.find(1, 0, "token-a", 999), nullptr);   // and is gone
}

TEST(VerifiedTokenCache, KeyedByVerifierAndWholeToken) {
  VerifiedTokenCache cache;
  cache.insert(1, 0, "token-a", 1000, {});
  EXPECT_EQ(cache.find(2, 0, "token-a", 0), nullptr);    // another route's verifier (or a reload)
  EXPECT_EQ(cache.find(1, 0, "token-a ", 0), nullptr);
  EXPECT_EQ(cache.find(1, 0, "token-", 0), nullptr);
  EXPECT_NE(cache.find(1, 0, "token-a", 0), nullptr);
}

TEST(VerifiedTokenCache, NewKeysInvalidateWhatOldKeysVouchedFor) {
  VerifiedTokenCache cache;
  cache.insert(1, 7, "token-a", 1000, {});
  EXPECT_NE(cache.find(1, 7, "token-a", 0), nullptr);
  EXPECT_EQ(cache.find(1, 8, "token-a", 0), nullptr);  // the JWKS changed since
  EXPECT_EQ(cache.find(1, 7, "token-a", 0), nullptr);  // and the entry is gone
}

TEST(VerifiedTokenCache, BoundedOldestFirst) {
  VerifiedTokenCache cache(3);
  for (int i = 0; i < 5; ++i) cache.insert(1, 0, "t" + std::to_string(i), 1000, {});
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find(1, 0, "t0", 0), nullptr);
  EXPECT_EQ(cache.find(1, 0, "t1", 0), nullptr);
  EXPECT_NE(cache.find(1, 0, "t4", 0), nullptr);
  // Expired entries leave early and the bookkeeping stays bounded under churn.
  for (int i = 0; i < 1000; ++i) {
    cache.insert(1, 0, "x" + std::to_string(i), 10, {});
    cache.find(1, 0, "x" + std::to_string(i), 20);
  }
  EXPECT_LE(cache.size(), 3u);
}

}  // namespace
}  // namespace wsgate::auth
