#include "routing/maglev_table.hpp"

#include "tests/routing/hashing_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace wsgate::routing {
namespace {

using namespace testing;

TEST(MaglevTable, SameMappingWhateverTheListOrder) {
  auto list = backends(10);
  MaglevTable a(list);
  auto reversed = list;
  std::reverse(reversed.begin(), reversed.end());
  MaglevTable b(reversed);
  for (auto k : keys(20'000)) EXPECT_EQ(list[a.owner(k)].name, reversed[b.owner(k)].name);
}

TEST(MaglevTable, TableIsPrimeAndLargeEnough) {
  EXPECT_EQ(MaglevTable(backends(10)).size(), 131071u);    // a prime (2^17 - 1)
  EXPECT_EQ(MaglevTable(backends(1000)).size(), 500009u);  // the smallest prime >= 500 per backend
}

TEST(MaglevTable, BalanceWithinFivePercent) {
  const auto ks = keys(200'000);
  for (std::size_t n : {10u, 100u}) {
    MaglevTable table(backends(n));
    // Table entries are within one of each other; keys add sampling noise on top.
    std::vector<std::size_t> entries(n);
    for (std::uint64_t slot = 0; slot < table.size(); ++slot) ++entries[table.owner(slot)];
    const auto [lo, hi] = std::minmax_element(entries.begin(), entries.end());
    EXPECT_LE(*hi - *lo, 1u) << n << " backends";
    EXPECT_LE(max_over_mean(n, ks, [&](auto k) { return table.owner(k); }), n == 10 ? 1.02 : 1.06);
  }
}

TEST(MaglevTable, RemovingOneMovesItsKeysAndFewOthers) {
  auto list = backends(10);
  const auto all = list;
  MaglevTable before(list);
  list.erase(list.begin() + 3);
  MaglevTable after(list);
  std::size_t moved_own = 0, moved_other = 0;
  const auto ks = keys(100'000);
  for (auto k : ks) {
    const auto& was = all[before.owner(k)].name;
    const auto& now = list[after.owner(k)].name;
    if (was == all[3].name) ++moved_own;
    else if (was != now) ++moved_other;
  }
  EXPECT_NEAR(static_cast<double>(moved_own) / static_cast<double>(ks.size()), 0.1, 0.01);
  EXPECT_LT(static_cast<double>(moved_other) / static_cast<double>(ks.size()), 0.02);
}

TEST(MaglevTable, WeightsShareKeysInProportion) {
  auto list = backends(3);
  list[0].weight = 2;
  MaglevTable table(list);
  std::vector<double> load(3);
  for (std::uint64_t slot = 0; slot < table.size(); ++slot) ++load[table.owner(slot)];
  EXPECT_NEAR(load[0] / static_cast<double>(table.size()), 0.5, 0.01);
  EXPECT_NEAR(load[2] / static_cast<double>(table.size()), 0.25, 0.01);
}

TEST(MaglevTable, WalkVisitsOwnerFirstThenEveryOtherOnce) {
  MaglevTable table(backends(5));
  for (auto k : keys(100)) {
    std::vector<std::size_t> seen;
    table.walk(k, [&](std::size_t b) { seen.push_back(b); return false; });
    ASSERT_EQ(seen.size(), 5u);
    EXPECT_EQ(seen[0], table.owner(k));
    EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), 5u);
  }
}

}  // namespace
}  // namespace wsgate::routing
