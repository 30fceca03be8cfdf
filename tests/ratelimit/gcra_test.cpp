#include "ratelimit/gcra.hpp"

#include <gtest/gtest.h>

namespace wsgate::ratelimit {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

TEST(Gcra, BurstThenSteadyRate) {
  const auto rate = Rate::per(100, kSecond, 20);  // 100/s, burst 20
  EXPECT_EQ(rate.interval_ns, 10'000'000);
  std::int64_t tat = 0;
  const std::int64_t t0 = 5 * kSecond;
  int passed = 0;
  for (int i = 0; i < 100; ++i) passed += decide(rate, tat, t0).allowed;
  EXPECT_EQ(passed, 20) << "the burst, all at once";
  EXPECT_FALSE(decide(rate, tat, t0 + 9'999'999).allowed);
  EXPECT_TRUE(decide(rate, tat, t0 + 10'000'000).allowed) << "one interval later, one more";
}

TEST(Gcra, TenSecondsFlatOutIsBurstPlusRate) {
  const auto rate = Rate::per(100, kSecond, 20);
  std::int64_t tat = 0;
  int passed = 0;
  // A client sending every 100 µs for 10 s.
  for (std::int64_t t = kSecond; t < 11 * kSecond; t += 100'000) passed += decide(rate, tat, t).allowed;
  EXPECT_GE(passed, 1000);
  EXPECT_LE(passed, 1040);
  EXPECT_EQ(passed, 1019);  // 20 at once, then one per 10 ms; the one due at exactly 10 s falls outside
}

TEST(Gcra, RetryAfterIsExactAndRefusalChangesNothing) {
  const auto rate = Rate::per(1, kSecond, 2);  // 1/s, burst 2
  std::int64_t tat = 0;
  const std::int64_t t0 = 100 * kSecond;
  EXPECT_TRUE(decide(rate, tat, t0).allowed);
  EXPECT_TRUE(decide(rate, tat, t0).allowed);
  const std::int64_t before = tat;
  auto d = decide(rate, tat, t0 + kSecond / 4);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ns, kSecond * 3 / 4);
  EXPECT_EQ(tat, before);
  EXPECT_TRUE(decide(rate, tat, t0 + kSecond).allowed);
}

TEST(Gcra, CostsAboveTheBurstNeverPass) {
  const auto bytes = Rate::per(1000, kSecond, 4000);  // 1000 B/s, burst 4000 B
  std::int64_t tat = 0;
  EXPECT_TRUE(decide(bytes, tat, kSecond, 4000).allowed);
  EXPECT_FALSE(decide(bytes, tat, kSecond, 1).allowed);
  std::int64_t fresh = 0;
  const auto d = decide(bytes, fresh, kSecond, 4001);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ns, INT64_MAX);
}

TEST(Gcra, FullCreditAfterIdle) {
  const auto rate = Rate::per(10, kSecond, 5);
  std::int64_t tat = 0;
  for (int i = 0; i < 5; ++i) decide(rate, tat, kSecond);
  EXPECT_FALSE(at_full_credit(tat, kSecond));
  EXPECT_TRUE(at_full_credit(tat, kSecond + kSecond / 2));
  EXPECT_TRUE(Rate::per(0, kSecond, 1).unlimited());
}

}  // namespace
}  // namespace wsgate::ratelimit
