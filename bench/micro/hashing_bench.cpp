// Consistent hashing costs (issue 5): one pick (the key's owner, and the full fail-over order with
// bounded loads) and one rebuild, for 10 / 100 / 1,000 backends, ring and Maglev.
#include "routing/affinity_table.hpp"
#include "routing/backend_picker.hpp"
#include "routing/hash_ring.hpp"
#include "routing/maglev_table.hpp"
#include "routing/stable_hash.hpp"
#include "tests/routing/hashing_support.hpp"

#include <benchmark/benchmark.h>

#include <map>
#include <memory>

namespace {

using namespace wsgate::routing;

template <class Table>
void BM_Owner(benchmark::State& state) {
  const Table table(testing::backends(static_cast<std::size_t>(state.range(0))));
  const auto keys = testing::keys(4096);
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(table.owner(keys[i++ & 4095]));
}

// What a request pays: hashing its key text, then the owner.
template <class Table>
void BM_HashAndOwner(benchmark::State& state) {
  const Table table(testing::backends(static_cast<std::size_t>(state.range(0))));
  const std::string key = "claim:user-1234567";
  for (auto _ : state) benchmark::DoNotOptimize(table.owner(stable_hash(key)));
}

void BM_PickOrder(benchmark::State& state) {
  PickerConfig c;
  c.algorithm = state.range(1) ? HashAlgorithm::maglev : HashAlgorithm::ring;
  c.backends = testing::backends(static_cast<std::size_t>(state.range(0)));
  c.balance_factor = 1.25;
  BackendPicker picker(c);
  const auto keys = testing::keys(4096);
  const auto now = BackendPicker::Clock::now();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(picker.pick_order(keys[i++ & 4095], now));
}

// What an upgrade pays to be placed (issue 17): the pick with its charge, released again, on a
// route of 5 or 50 backends with bounded loads; with affinity, the table's lookup first, then a
// pick of the bound backend (hit) or a fresh pick and a bind (miss), then the release.
BackendPicker& storm_picker(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<BackendPicker>> pickers;
  auto& p = pickers[n];
  if (!p) {
    PickerConfig c;
    c.backends = testing::backends(n);
    c.balance_factor = 1.25;
    p = std::make_unique<BackendPicker>(c);
    // A route with live load, so the bound is in play.
    static std::vector<BackendCharge> live;
    for (auto k : testing::keys(1000, 3)) live.push_back(std::move(p->pick(k, {}, BackendPicker::Clock::now())->charge));
  }
  return *p;
}

void BM_Pick(benchmark::State& state) {
  auto& picker = storm_picker(static_cast<std::size_t>(state.range(0)));
  const auto keys = testing::keys(4096);
  const auto now = BackendPicker::Clock::now();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(picker.pick(keys[i++ & 4095], {}, now));
}

void BM_PickWithAffinity(benchmark::State& state) {
  const bool hit = state.range(1) != 0;
  auto& picker = storm_picker(static_cast<std::size_t>(state.range(0)));
  auto table = std::make_shared<AffinityTable>(100'000, std::chrono::minutes(10));
  const auto keys = testing::keys(4096);
  const auto now = BackendPicker::Clock::now();
  if (hit)
    for (auto k : keys) table->bind(k, k % picker.size(), now), table->release(k, now);
  std::uint64_t miss_key = 1ull << 40;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::uint64_t key = hit ? keys[i++ & 4095] : ++miss_key;
    const auto bound = table->lookup(key, now);
    auto pick = picker.pick(key, {}, now, bound ? std::optional<std::size_t>(*bound) : std::nullopt);
    if (!bound) table->bind(key, pick->backend, now);
    else table->bind(key, *bound, now);
    table->release(key, now);
    benchmark::DoNotOptimize(pick);
  }
  state.SetLabel(hit ? "hit" : "miss");
}

template <class Table>
void BM_Rebuild(benchmark::State& state) {
  const auto list = testing::backends(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Table(list));
  state.SetLabel("per rebuild");
}

BENCHMARK(BM_Owner<HashRing>)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_Owner<MaglevTable>)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_HashAndOwner<HashRing>)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_HashAndOwner<MaglevTable>)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_PickOrder)->ArgsProduct({{10, 100, 1000}, {0, 1}})->ArgNames({"backends", "maglev"});
BENCHMARK(BM_Pick)->Arg(5)->Arg(50)->ArgName("backends");
BENCHMARK(BM_PickWithAffinity)->ArgsProduct({{5, 50}, {1, 0}})->ArgNames({"backends", "hit"});
BENCHMARK(BM_Rebuild<HashRing>)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Rebuild<MaglevTable>)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
