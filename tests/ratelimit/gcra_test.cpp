#include "ratelimit/gcra.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace wsgate::ratelimit {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

TEST(Gcra, BurstThenSteadyRate) {
  const auto rate = Rate::per(100, kSecond, 20);  // 100/s, burst 20
  EXPECT_EQ(rate.interval_ns(), 10'000'000);
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

TEST(Gcra, LargeCostsPassOnCreditAndArePaidBack) {
  const auto bytes = Rate::per(1000, kSecond, 4000);  // 1000 B/s, burst 4000 B
  std::int64_t tat = 0;
  EXPECT_TRUE(decide(bytes, tat, kSecond, 10'000).allowed) << "a frame larger than the burst passes once";
  const auto d = decide(bytes, tat, kSecond, 1);
  EXPECT_FALSE(d.allowed);
  // 10 s of debt, less the 4 s burst, plus one byte's worth of credit.
  EXPECT_EQ(d.retry_after_ns, 6 * kSecond + 1'000'000);
  EXPECT_TRUE(decide(bytes, tat, 7 * kSecond + 1'000'000, 1).allowed);
}

TEST(Gcra, ByteRatesAboveOneGigabytePerSecondKeepTheirPrecision) {
  const auto fast = Rate::per(10'000'000'000, kSecond, 1);  // 10 GB/s: 0.1 ns a byte
  EXPECT_NEAR(static_cast<double>(fast.cost_ns(10'000'000'000)), kSecond, kSecond / 10'000)
      << "within 0.01 %";
  EXPECT_EQ(Rate::per(1, 86'400 * kSecond, 1).interval_ns(), 86'400 * kSecond) << "one a day fits";
}

TEST(Gcra, SharedScheduleUnderTwoThreadsPassesExactlyTheBudget) {
  const auto rate = Rate::per(1, 3600 * kSecond, 5000);
  std::atomic<std::int64_t> tat{0};
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 4000; ++i) passed += decide(rate, tat, kSecond).allowed;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(passed.load(), 5000);
  refund(rate, tat);
  EXPECT_TRUE(decide(rate, tat, kSecond).allowed) << "a refunded unit is there again";
  EXPECT_FALSE(decide(rate, tat, kSecond).allowed);
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
