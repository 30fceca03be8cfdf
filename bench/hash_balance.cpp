// Balance and disruption of the consistent hashing (issue 5), measured rather than assumed:
// 1,000,000 fixed-seed keys over 10 and 100 backends, for the ring and Maglev, plus the bounded
// loads bound. Prints a Markdown table; `build/bench/hash_balance` reproduces it anywhere.
#include "routing/backend_picker.hpp"
#include "routing/hash_ring.hpp"
#include "routing/maglev_table.hpp"
#include "tests/routing/hashing_support.hpp"

#include <cmath>
#include <cstdio>
#include <string>

using namespace wsgate::routing;

namespace {

template <class Table>
void measure(const char* name, std::size_t n, const std::vector<std::uint64_t>& keys) {
  const auto list = testing::backends(n);
  const Table full(list);
  const double balance = testing::max_over_mean(n, keys, [&](auto k) { return full.owner(k); });

  // One leaves (the middle one), then one joins (a new name).
  auto fewer = list;
  fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(n / 2));
  const Table smaller(fewer);
  auto more = list;
  more.push_back({"ws://10.0.1.1:9000", 1});
  const Table larger(more);
  std::size_t moved_leave = 0, collateral_leave = 0, moved_join = 0, collateral_join = 0;
  for (auto k : keys) {
    const auto& was = list[full.owner(k)].name;
    const auto& after_leave = fewer[smaller.owner(k)].name;
    const auto& after_join = more[larger.owner(k)].name;
    if (was != after_leave) {
      ++moved_leave;
      if (was != list[n / 2].name) ++collateral_leave;
    }
    if (was != after_join) {
      ++moved_join;
      if (after_join != more.back().name) ++collateral_join;
    }
  }
  const double total = static_cast<double>(keys.size());
  std::printf("| %s | %zu | %.4f | %.4f (ideal %.4f) | %.5f | %.4f (ideal %.4f) | %.5f |\n", name, n,
              balance, static_cast<double>(moved_leave) / total, 1.0 / static_cast<double>(n),
              static_cast<double>(collateral_leave) / total, static_cast<double>(moved_join) / total,
              1.0 / static_cast<double>(n + 1), static_cast<double>(collateral_join) / total);
}

void bounded(HashAlgorithm algorithm, const char* name, std::size_t n, double factor) {
  PickerConfig c;
  c.algorithm = algorithm;
  c.backends = testing::backends(n);
  c.balance_factor = factor;
  BackendPicker picker(c);
  const auto now = BackendPicker::Clock::now();
  std::int64_t worst_excess = 0;
  const auto keys = testing::keys(100'000, 7);
  std::size_t placed = 0;
  std::vector<BackendCharge> sessions;
  sessions.reserve(keys.size());
  for (auto k : keys) {
    sessions.push_back(std::move(picker.pick(k, {}, now)->charge));
    ++placed;
    const auto bound = static_cast<std::int64_t>(std::ceil(factor * static_cast<double>(placed) / static_cast<double>(n)));
    for (std::size_t b = 0; b < n; ++b)
      worst_excess = std::max(worst_excess, picker.state(b).load() - bound);
  }
  std::int64_t top = 0;
  for (std::size_t b = 0; b < n; ++b) top = std::max(top, picker.state(b).load());
  std::printf("| %s | %zu | %.2f | %.4f | %lld |\n", name, n, factor,
              static_cast<double>(top) / (static_cast<double>(placed) / static_cast<double>(n)),
              static_cast<long long>(worst_excess));
}

}  // namespace

int main() {
  const auto keys = testing::keys(1'000'000);
  std::printf("| algorithm | backends | max/mean | moved when one leaves | of them not on the leaver | "
              "moved when one joins | of them not to the joiner |\n|---|---|---|---|---|---|---|\n");
  for (std::size_t n : {10u, 100u}) {
    measure<HashRing>("ring (2000 points/weight)", n, keys);
    measure<MaglevTable>("maglev", n, keys);
  }
  std::printf("\n| bounded loads | backends | factor | max/mean after 100,000 sessions | worst excess over "
              "the bound at any step |\n|---|---|---|---|---|\n");
  for (std::size_t n : {10u, 100u}) {
    bounded(HashAlgorithm::ring, "ring", n, 1.25);
    bounded(HashAlgorithm::maglev, "maglev", n, 1.25);
  }
}
