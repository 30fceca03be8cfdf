// Rate-limit decision costs (issue 6): one GCRA decision on a session's own state (the per-message
// path), on one thread and on two threads deciding on different keys at once.
#include "ratelimit/gcra.hpp"
#include "ratelimit/key_table.hpp"

#include <benchmark/benchmark.h>

#include <chrono>

namespace {

using namespace wsgate::ratelimit;

void BM_MessageDecision(benchmark::State& state) {
  // Each thread its own key state, as each session holds its own entry.
  KeyTable table;
  auto& entry = table.get(static_cast<std::uint64_t>(state.thread_index()), 0);
  const auto rate = Rate::per(1'000'000'000, 1'000'000'000, 1'000'000);  // never refuses: measure the decision
  std::int64_t passed = 0;
  for (auto _ : state) {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    passed += decide(rate, entry.tat, now).allowed;
  }
  benchmark::DoNotOptimize(passed);
}

BENCHMARK(BM_MessageDecision)->Threads(1)->Threads(2);

}  // namespace
