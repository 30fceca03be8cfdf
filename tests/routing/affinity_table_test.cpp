#include "routing/affinity_table.hpp"

#include <gtest/gtest.h>

namespace wsgate::routing {
namespace {

using namespace std::chrono_literals;
const auto kNow = AffinityTable::Clock::time_point{} + 1h;

TEST(AffinityTable, AnEntryLivesWhileInUseAndTtlAfterItsLastUse) {
  AffinityTable t(100, 30s);
  EXPECT_FALSE(t.lookup(1, kNow));
  t.bind(1, 77, kNow);
  t.bind(1, 77, kNow);  // a second session of the same key
  EXPECT_EQ(t.lookup(1, kNow + 1h), 77u) << "in use: no ttl runs";
  t.release(1, kNow + 1h);
  EXPECT_EQ(t.lookup(1, kNow + 2h), 77u) << "one of two still in use";
  t.release(1, kNow + 2h);
  EXPECT_EQ(t.lookup(1, kNow + 2h + 29s), 77u);
  EXPECT_FALSE(t.lookup(1, kNow + 2h + 30s)) << "ttl after the last one ended";
  EXPECT_EQ(t.size(), 0u) << "an expired entry found is removed";
}

TEST(AffinityTable, ABindMovesTheKey) {
  AffinityTable t(100, 30s);
  t.bind(1, 77, kNow);
  t.bind(1, 88, kNow);  // its backend became unhealthy: placed afresh
  EXPECT_EQ(t.lookup(1, kNow), 88u);
}

TEST(AffinityTable, BoundedByEvictingTheLeastRecentlyUsed) {
  AffinityTable t(16 * 4, 1h);  // 4 per shard
  for (std::uint64_t k = 0; k < 16 * 4; ++k) t.bind(k, k, kNow);
  EXPECT_EQ(t.size(), 64u);
  ASSERT_TRUE(t.lookup(0, kNow));  // 0 is now the most recent of its shard
  t.bind(64, 1, kNow);             // same shard as 0, 16, 32, 48: one must go
  EXPECT_EQ(t.size(), 64u);
  EXPECT_TRUE(t.lookup(0, kNow)) << "recently used: kept";
  EXPECT_FALSE(t.lookup(16, kNow)) << "least recently used: evicted";
  for (std::uint64_t k = 100; k < 10'000; ++k) t.bind(k, k, kNow);
  EXPECT_EQ(t.size(), 64u) << "never above its bound";
}

TEST(AffinityTable, AReleaseOfAnEvictedEntryChangesNothing) {
  AffinityTable t(16, 1h);  // 1 per shard
  t.bind(0, 1, kNow);
  t.bind(16, 2, kNow);  // evicts 0, which is still in use
  t.release(0, kNow);
  t.release(0, kNow);
  EXPECT_EQ(t.lookup(16, kNow), 2u);
}

TEST(AffinityTable, AHoldReleasesOnce) {
  auto t = std::make_shared<AffinityTable>(100, 10ms);
  t->bind(5, 9, AffinityTable::Clock::now());
  {
    AffinityHold hold(t, 5);
    AffinityHold moved = std::move(hold);
  }
  EXPECT_EQ(t->lookup(5, AffinityTable::Clock::now()), 9u) << "within ttl of the release";
  EXPECT_FALSE(t->lookup(5, AffinityTable::Clock::now() + 1s));
}

}  // namespace
}  // namespace wsgate::routing
