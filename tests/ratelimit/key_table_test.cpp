#include "ratelimit/key_table.hpp"

#include "ratelimit/gcra.hpp"

#include <gtest/gtest.h>

namespace wsgate::ratelimit {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

TEST(KeyTable, NodesStayPutWhileTheTableGrows) {
  KeyTable table(10'000);
  KeyState* first = &table.get(1, 0);
  first->tat = 42;
  for (std::uint64_t k = 2; k < 5000; ++k) table.get(k, 0);
  EXPECT_EQ(table.find(1), first);
  EXPECT_EQ(first->tat, 42);
}

TEST(KeyTable, CapEvictsLeastRecentlyUsedButNeverKeysWithSessions) {
  KeyTable table(3);
  const auto rate = Rate::per(1, kSecond, 1);
  for (std::uint64_t k = 1; k <= 3; ++k) decide(rate, table.get(k, 0).tat, 0);  // none at full credit
  table.get(1, 0).sessions = 1;  // key 1 has a live session (and is now the most recent)
  table.get(4, 0);              // full: the oldest free one (2) goes
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.find(2), nullptr);
  EXPECT_NE(table.find(1), nullptr);
  EXPECT_EQ(table.evicted(), 1u);
  // A flood of random keys cannot push out the one with a session.
  for (std::uint64_t k = 100; k < 200; ++k) table.get(k, 0);
  EXPECT_NE(table.find(1), nullptr);
  EXPECT_LE(table.size(), 3u);
}

TEST(KeyTable, IdleKeysAtFullCreditAreSwept) {
  KeyTable table;
  const auto rate = Rate::per(10, kSecond, 1);
  decide(rate, table.get(1, 0).tat, kSecond);
  table.get(2, 0).sessions = 1;  // a live session keeps its key
  EXPECT_EQ(table.sweep(kSecond), 0u);
  EXPECT_EQ(table.sweep(2 * kSecond), 1u);  // key 1 has its credit back
  EXPECT_EQ(table.find(1), nullptr);
  EXPECT_NE(table.find(2), nullptr);
}

}  // namespace
}  // namespace wsgate::ratelimit
