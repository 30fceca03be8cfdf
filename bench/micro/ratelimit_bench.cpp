// Rate-limit decision costs (issue 6): the per-message path as the relay takes it (SessionBudget:
// generation check, message and byte limits on the key's shared schedules, clock read included),
// on one thread and on two threads deciding on different keys at once; and one upgrade decision.
#include "ratelimit/session_budget.hpp"

#include <benchmark/benchmark.h>

#include <chrono>

namespace {

using namespace wsgate::ratelimit;

constexpr std::int64_t kSecond = 1'000'000'000;

std::int64_t now_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

std::shared_ptr<SharedLimiter> limiter_with(bool bytes) {
  auto limiter = std::make_shared<SharedLimiter>();
  MessageLimits limits;
  // High enough never to refuse: the benchmark measures the decision, not the waiting.
  limits.from_client.messages = Rate::per(1'000'000'000, kSecond, 1'000'000);
  if (bytes) limits.from_client.bytes = Rate::per(1'000'000'000'000, kSecond, 1'000'000'000);
  limiter->set_message_limits(limits);
  return limiter;
}

void run(benchmark::State& state, bool bytes) {
  static std::shared_ptr<SharedLimiter> shared;
  if (state.thread_index() == 0) shared = limiter_with(bytes);
  // Both threads use the same limiter (one policy), each its own key, as two clients would.
  SessionBudget budget(*shared->open_session(static_cast<std::uint64_t>(state.thread_index()), 0, 0));
  std::int64_t passed = 0;
  for (auto _ : state)
    passed += budget.frame(Flow::from_client, true, true, 64, now_ns()).verdict == Verdict::pass;
  benchmark::DoNotOptimize(passed);
}

void BM_MessageDecision(benchmark::State& state) { run(state, false); }
void BM_MessageAndByteDecision(benchmark::State& state) { run(state, true); }

void BM_UpgradeDecision(benchmark::State& state) {
  auto limiter = std::make_shared<SharedLimiter>();
  const auto rate = Rate::per(1'000'000'000, kSecond, 1'000'000);
  std::uint64_t key = 0;
  for (auto _ : state) benchmark::DoNotOptimize(limiter->upgrade(++key % 1000, rate, now_ns()));
}

BENCHMARK(BM_MessageDecision)->Threads(1)->Threads(2);
BENCHMARK(BM_MessageAndByteDecision)->Threads(1)->Threads(2);
BENCHMARK(BM_UpgradeDecision);

}  // namespace
