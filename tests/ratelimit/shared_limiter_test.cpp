#include "ratelimit/shared_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace wsgate::ratelimit {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

TEST(SharedLimiter, UpgradesPerKeyWithRetryAfter) {
  auto limiter = std::make_shared<SharedLimiter>();
  const auto rate = Rate::per(6, 60 * kSecond, 2);  // 6 a minute, 2 at once
  EXPECT_TRUE(limiter->upgrade(1, rate, kSecond).allowed);
  EXPECT_TRUE(limiter->upgrade(1, rate, kSecond).allowed);
  const auto refused = limiter->upgrade(1, rate, kSecond);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ns, 10 * kSecond);
  EXPECT_TRUE(limiter->upgrade(2, rate, kSecond).allowed) << "another key has its own budget";
}

TEST(SharedLimiter, ARefusalAtTheSessionCapSpendsNoUpgradeCredit) {
  auto limiter = std::make_shared<SharedLimiter>();
  const auto rate = Rate::per(2, 3600 * kSecond, 2);  // two upgrades an hour
  auto held = limiter->admit(1, rate, 1, kSecond);
  ASSERT_TRUE(held.slot);
  for (int i = 0; i < 4; ++i) {
    const auto refused = limiter->admit(1, rate, 1, kSecond);
    EXPECT_TRUE(refused.capped);
    EXPECT_FALSE(refused.slot);
  }
  held.slot.reset();  // the session ends
  const auto next = limiter->admit(1, rate, 1, 2 * kSecond);
  EXPECT_TRUE(next.slot) << "the refusals spent nothing: the second credit is still there";
  EXPECT_FALSE(limiter->admit(1, rate, 0, 2 * kSecond).rate.allowed) << "and now both are spent";
}

TEST(SharedLimiter, ConcurrentSessionsCappedAndReleasedBySlots) {
  auto limiter = std::make_shared<SharedLimiter>();
  auto a = limiter->open_session(7, 2, 0);
  auto b = limiter->open_session(7, 2, 0);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(limiter->open_session(7, 2, 0));
  EXPECT_EQ(limiter->sessions(7), 2);
  a.reset();  // the session ended
  EXPECT_EQ(limiter->sessions(7), 1);
  auto c = limiter->open_session(7, 2, 0);
  EXPECT_TRUE(c);
  SessionSlot moved = std::move(*c);  // handed from the upgrade to the relay
  c.reset();
  EXPECT_EQ(limiter->sessions(7), 2);
  EXPECT_TRUE(limiter->open_session(7, 0, 0)) << "0: no cap";
}

TEST(SharedLimiter, ThreadsShareOneBudget) {
  auto limiter = std::make_shared<SharedLimiter>();
  const auto rate = Rate::per(1, 3600 * kSecond, 1000);
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) passed += limiter->upgrade(99, rate, kSecond).allowed;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(passed.load(), 1000);
}

}  // namespace
}  // namespace wsgate::ratelimit
