// Stickiness figures (issue 17): the memory one affinity entry costs, and the load a reconnect
// storm leaves on a route's backends with bounded loads charged at the pick (in flight) and, as
// before, only once a session is established.
#include "routing/affinity_table.hpp"
#include "routing/backend_picker.hpp"
#include "tests/routing/hashing_support.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace wsgate::routing;

namespace {

void entry_memory() {
  constexpr std::size_t kEntries = 100'000;
  const auto before = mallinfo2().uordblks;
  {
    auto table = std::make_unique<AffinityTable>(kEntries, std::chrono::minutes(10));
    const auto now = AffinityTable::Clock::now();
    for (auto k : testing::keys(kEntries, 11)) table->bind(k, k, now);
    const auto after = mallinfo2().uordblks;
    std::printf("| affinity entry | %zu entries | %.1f bytes each (heap in use, glibc mallinfo2) |\n",
                table->size(), static_cast<double>(after - before) / static_cast<double>(table->size()));
  }
}

// 2,000 sessions of distinct keys on five backends (balance_factor 1.25); one backend dies and its
// clients all reconnect before any of their new upgrades is answered (101 latency longer than the
// storm), the worst interleaving for a bound that counts only established sessions. Then one hot
// key's 100 upgrades at once.
struct Load { std::int64_t max; double mean; };

PickerConfig five_bounded_backends() {
  PickerConfig c;
  c.backends = testing::backends(5);
  c.balance_factor = 1.25;
  return c;
}

Load storm(bool in_flight, const std::vector<std::uint64_t>& keys, std::size_t dead) {
  BackendPicker p(five_bounded_backends());
  const auto now = BackendPicker::Clock::now();
  std::vector<BackendCharge> sessions;
  std::vector<std::uint64_t> reconnecting;
  for (auto k : keys) {
    auto pick = p.pick(k, {}, now);
    if (pick->backend == dead) reconnecting.push_back(k);  // its charge goes with the session
    else sessions.push_back(std::move(pick->charge));
  }
  p.state(dead).record_check(false, 1, 1);
  std::vector<std::size_t> uncharged;  // before: a pick counted only once its 101 came
  for (auto k : reconnecting) {
    if (in_flight) sessions.push_back(std::move(p.pick(k, {}, now)->charge));
    else uncharged.push_back(p.pick_order(k, now)[0]);
  }
  for (auto b : uncharged) p.state(b).charge();  // all answered at last
  std::int64_t max = 0, total = 0;
  for (std::size_t b = 0; b < 5; ++b) {
    if (b == dead) continue;
    max = std::max(max, p.state(b).load());
    total += p.state(b).load();
  }
  return {max, static_cast<double>(total) / 4.0};
}

Load hot_key(bool in_flight) {
  BackendPicker p(five_bounded_backends());
  const auto now = BackendPicker::Clock::now();
  std::vector<BackendCharge> charges;
  std::vector<std::size_t> chosen;
  for (int i = 0; i < 100; ++i) {
    if (in_flight) charges.push_back(std::move(p.pick(42, {}, now)->charge));
    else chosen.push_back(p.pick_order(42, now)[0]);
  }
  for (auto b : chosen) p.state(b).charge();
  std::int64_t max = 0;
  for (std::size_t b = 0; b < 5; ++b) max = std::max(max, p.state(b).load());
  return {max, 20.0};
}

}  // namespace

int main() {
  std::printf("| what | size | figure |\n|---|---|---|\n");
  entry_memory();
  const auto distinct = testing::keys(2000, 5);
  // The same 2,000 sessions from fewer keys (a key per user with several tabs, or per tenant).
  auto grouped_by = [](std::size_t keys, int each) {
    std::vector<std::uint64_t> out;
    for (auto k : testing::keys(keys, 9))
      for (int i = 0; i < each; ++i) out.push_back(k);
    return out;
  };
  const auto grouped = grouped_by(100, 20), tenants = grouped_by(20, 100);
  std::printf("\n| storm: 2,000 sessions on 5 backends, one killed, its clients back at once | accounting | max load | mean load | max/mean |\n|---|---|---|---|---|\n");
  const std::pair<const char*, const std::vector<std::uint64_t>*> sets[] = {
      {"2,000 keys", &distinct}, {"100 keys x 20 sessions", &grouped}, {"20 keys x 100 sessions", &tenants}};
  for (const auto& [name, keys] : sets) {
    for (bool in_flight : {false, true}) {
      const auto l = storm(in_flight, *keys, 0);
      std::printf("| %s | %s | %lld | %.1f | %.3f |\n", name,
                  in_flight ? "charged at the pick" : "at establishment (before)", static_cast<long long>(l.max),
                  l.mean, static_cast<double>(l.max) / l.mean);
    }
  }
  std::printf("\n| burst | accounting | max load | mean load | max/mean |\n|---|---|---|---|---|\n");
  for (bool in_flight : {false, true}) {
    const auto l = hot_key(in_flight);
    std::printf("| 100 upgrades of one key at once, 5 backends (bound 25) | %s | %lld | %.1f | %.3f |\n",
                in_flight ? "charged at the pick" : "at establishment (before)", static_cast<long long>(l.max), l.mean,
                static_cast<double>(l.max) / l.mean);
  }
}
