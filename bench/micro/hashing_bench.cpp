// Consistent hashing costs (issue 5): one pick (the key's owner, and the full fail-over order with
// bounded loads) and one rebuild, for 10 / 100 / 1,000 backends, ring and Maglev.
#include "routing/backend_picker.hpp"
#include "routing/hash_ring.hpp"
#include "routing/maglev_table.hpp"
#include "routing/stable_hash.hpp"
#include "tests/routing/hashing_support.hpp"

#include <benchmark/benchmark.h>

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
BENCHMARK(BM_Rebuild<HashRing>)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Rebuild<MaglevTable>)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
