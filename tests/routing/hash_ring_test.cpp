#include "routing/hash_ring.hpp"

#include "tests/routing/hashing_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace wsgate::routing {
namespace {

using namespace testing;

TEST(HashRing, SameMappingWhateverTheListOrder) {
  auto list = backends(10);
  HashRing a(list);
  auto reversed = list;
  std::reverse(reversed.begin(), reversed.end());
  HashRing b(reversed);
  HashRing c(list);  // a second instance
  for (auto k : keys(20'000)) {
    EXPECT_EQ(list[a.owner(k)].name, reversed[b.owner(k)].name);
    EXPECT_EQ(a.owner(k), c.owner(k));
  }
}

TEST(HashRing, BalanceWithinTenPercent) {
  const auto ks = keys(200'000);
  for (std::size_t n : {10u, 100u}) {
    HashRing ring(backends(n));
    EXPECT_LE(max_over_mean(n, ks, [&](auto k) { return ring.owner(k); }), 1.10) << n << " backends";
  }
}

TEST(HashRing, RemovingOneMovesOnlyItsKeys) {
  auto list = backends(10);
  const auto all = list;
  HashRing before(list);
  const std::string gone = list[3].name;
  list.erase(list.begin() + 3);
  HashRing after(list);
  std::size_t moved = 0;
  const auto ks = keys(100'000);
  for (auto k : ks) {
    const auto& was = all[before.owner(k)].name;
    const auto& now = list[after.owner(k)].name;
    if (was != gone) {
      EXPECT_EQ(was, now);
    } else {
      ++moved;
    }
  }
  const double fraction = static_cast<double>(moved) / static_cast<double>(ks.size());
  EXPECT_NEAR(fraction, 0.1, 0.01);
}

TEST(HashRing, AddingOneMovesKeysOnlyToIt) {
  const auto list = backends(10);
  auto grown = backends(11);
  HashRing before(list), after(grown);
  for (auto k : keys(50'000)) {
    const auto& now = grown[after.owner(k)].name;
    if (now != list[before.owner(k)].name) {
      EXPECT_EQ(now, grown[10].name);
    }
  }
}

TEST(HashRing, WeightsShareKeysInProportion) {
  auto list = backends(3);
  list[0].weight = 2;
  HashRing ring(list);
  std::vector<double> load(3);
  const auto ks = keys(100'000);
  for (auto k : ks) ++load[ring.owner(k)];
  EXPECT_NEAR(load[0] / static_cast<double>(ks.size()), 0.5, 0.03);
  EXPECT_NEAR(load[1] / static_cast<double>(ks.size()), 0.25, 0.03);
}

TEST(HashRing, WalkVisitsOwnerFirstThenEveryOtherOnce) {
  HashRing ring(backends(5));
  for (auto k : keys(100)) {
    std::vector<std::size_t> seen;
    ring.walk(k, [&](std::size_t b) { seen.push_back(b); return false; });
    ASSERT_EQ(seen.size(), 5u);
    EXPECT_EQ(seen[0], ring.owner(k));
    EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), 5u);
  }
}

// The seen set is kept on the stack up to 256 backends and on the heap beyond: both sizes, and
// the edges of the inline one's words.
TEST(HashRing, WalkVisitsEveryBackendOnceOnEitherSideOfTheInlineSeenSet) {
  for (const std::size_t n : {64, 65, 256, 257, 300}) {
    HashRing ring(backends(n));
    for (auto k : keys(5)) {
      std::vector<std::size_t> seen;
      ring.walk(k, [&](std::size_t b) { seen.push_back(b); return false; });
      ASSERT_EQ(seen.size(), n);
      EXPECT_EQ(seen[0], ring.owner(k));
      EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), n);
    }
  }
}

TEST(HashRing, ZeroWeightGetsNothing) {
  auto list = backends(3);
  list[1].weight = 0;
  HashRing ring(list);
  for (auto k : keys(10'000)) EXPECT_NE(ring.owner(k), 1u);
  std::size_t visited = 0;
  ring.walk(1, [&](std::size_t) { ++visited; return false; });
  EXPECT_EQ(visited, 2u);
}

}  // namespace
}  // namespace wsgate::routing
