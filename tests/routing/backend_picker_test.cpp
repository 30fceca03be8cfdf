#include "routing/backend_picker.hpp"

#include "tests/routing/hashing_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <thread>

namespace wsgate::routing {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using Order = std::vector<std::size_t>;

const auto kNow = BackendPicker::Clock::time_point{} + 1h;

PickerConfig config(std::size_t n, HashAlgorithm algorithm = HashAlgorithm::ring, double factor = 0) {
  PickerConfig c;
  c.algorithm = algorithm;
  c.backends = backends(n);
  c.balance_factor = factor;
  c.passive_eject_time = 10s;
  return c;
}

class BackendPickerBoth : public ::testing::TestWithParam<HashAlgorithm> {};
INSTANTIATE_TEST_SUITE_P(Algorithms, BackendPickerBoth,
                         ::testing::Values(HashAlgorithm::ring, HashAlgorithm::maglev));

TEST_P(BackendPickerBoth, SameKeySameOrderEveryTimeAndInEveryInstance) {
  BackendPicker a(config(5, GetParam())), b(config(5, GetParam()));
  for (auto k : keys(1000)) {
    const auto order = a.pick_order(k, kNow);
    ASSERT_EQ(order.size(), 5u);
    EXPECT_EQ(order[0], a.home(k));
    EXPECT_EQ(order, a.pick_order(k, kNow));
    EXPECT_EQ(order, b.pick_order(k, kNow));
  }
}

TEST_P(BackendPickerBoth, UnavailableBackendsGoLastAndOnlyTheirKeysMove) {
  BackendPicker p(config(4, GetParam()));
  p.state(2).record_check(false, 1, 1);  // actively unhealthy
  p.report_failure(1, kNow);             // passively failed
  for (auto k : keys(2000)) {
    const auto order = p.pick_order(k, kNow);
    ASSERT_EQ(order.size(), 4u);
    EXPECT_TRUE(order[0] == 0 || order[0] == 3);
    if (p.home(k) == 0 || p.home(k) == 3) {
      EXPECT_EQ(order[0], p.home(k)) << "a key whose home is up stays";
    }
  }
  // The passive failure ends with its timeout; the active one with a passing check.
  p.state(2).record_check(true, 1, 1);
  for (auto k : keys(200)) EXPECT_EQ(p.pick_order(k, kNow + 11s)[0], p.home(k));
}

TEST_P(BackendPickerBoth, AllDownStillTriesAll) {
  BackendPicker p(config(3, GetParam()));
  for (std::size_t b = 0; b < 3; ++b) p.state(b).record_check(false, 1, 1);
  EXPECT_EQ(p.pick_order(7, kNow).size(), 3u);
}

TEST_P(BackendPickerBoth, BoundedLoadsNeverExceedTheFactor) {
  // Every key the same: without the bound one backend would take them all.
  BackendPicker p(config(4, GetParam(), 1.25));
  std::map<std::size_t, int> placed;
  std::vector<BackendCharge> held;
  for (int i = 1; i <= 400; ++i) {
    const auto expected = p.pick_order(12345, kNow)[0];
    auto pick = p.pick(12345, {}, kNow);
    ASSERT_TRUE(pick);
    EXPECT_EQ(pick->backend, expected) << "pick_order ranks as pick() picks";
    const auto b = pick->backend;
    held.push_back(std::move(pick->charge));  // the session lives on
    ++placed[b];
    std::int64_t top = 0;
    for (std::size_t x = 0; x < 4; ++x) top = std::max(top, p.state(x).load());
    // ceil(1.25 * i / 4): what the bound allows with i sessions placed.
    EXPECT_LE(top, static_cast<std::int64_t>(std::ceil(1.25 * i / 4.0))) << "after " << i;
  }
  EXPECT_EQ(placed.size(), 4u);
}

TEST_P(BackendPickerBoth, OverflowGoesToTheNextInHashOrder) {
  BackendPicker p(config(4, GetParam(), 1.25));
  const std::uint64_t key = 99;
  const auto order = p.pick_order(key, kNow);
  for (int i = 0; i < 10; ++i) p.state(order[0]).charge();  // home far over its share
  for (int i = 0; i < 2; ++i) p.state(order[1]).charge();
  const auto now_order = p.pick_order(key, kNow);
  EXPECT_EQ(now_order[0], order[1]) << "the next backend in hash order, not any other";
  EXPECT_EQ(now_order.back(), order[0]) << "the overloaded home is still a last resort";
}

TEST(BackendPicker, StatesSharedByUrlAcrossPickers) {
  auto shared = std::make_shared<BackendState>();
  std::vector<std::shared_ptr<BackendState>> states{shared, std::make_shared<BackendState>()};
  BackendPicker a(config(2), states), b(config(2), states);
  a.report_failure(0, kNow);
  for (auto k : keys(100)) EXPECT_EQ(b.pick_order(k, kNow)[0], 1u);
}

TEST(BackendState, RiseAndFallThresholds) {
  BackendState s;
  using C = BackendState::Change;
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.record_check(false, 2, 3), C::none);
  EXPECT_EQ(s.record_check(false, 2, 3), C::none);
  EXPECT_EQ(s.record_check(true, 2, 3), C::none);  // the streak is broken
  EXPECT_EQ(s.record_check(false, 2, 3), C::none);
  EXPECT_EQ(s.record_check(false, 2, 3), C::none);
  EXPECT_EQ(s.record_check(false, 2, 3), C::became_unhealthy);
  EXPECT_FALSE(s.available(kNow));
  EXPECT_EQ(s.record_check(true, 2, 3), C::none);
  EXPECT_EQ(s.record_check(true, 2, 3), C::became_healthy);
  EXPECT_TRUE(s.available(kNow));
}

// The load a backend may hold with `total` placed: ceil(c * total * w / W), equal weights.
std::int64_t allowed(double c, std::int64_t total, std::size_t n) {
  return static_cast<std::int64_t>(std::ceil(c * static_cast<double>(total) / static_cast<double>(n)));
}

TEST_P(BackendPickerBoth, ConcurrentPicksOfOneHotKeyNeverExceedTheBound) {
  // The reconnect storm of the issue: one key, five backends, every upgrade in flight at once
  // (charged, not yet established), picked from several threads.
  for (int round = 0; round < 20; ++round) {
    BackendPicker p(config(5, GetParam(), 1.25));
    constexpr int kThreads = 4, kEach = 25;
    std::vector<std::vector<BackendCharge>> held(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) held[t].push_back(std::move(p.pick(7, {}, kNow)->charge));
      });
    for (auto& th : threads) th.join();
    std::int64_t total = 0, top = 0;
    for (std::size_t b = 0; b < 5; ++b) {
      total += p.state(b).load();
      top = std::max(top, p.state(b).load());
    }
    ASSERT_EQ(total, kThreads * kEach);
    EXPECT_LE(top, allowed(1.25, total, 5)) << "round " << round;  // 25 of 100
  }
}

TEST_P(BackendPickerBoth, RandomSchedulesOfPickFailAndEstablishKeepTheBound) {
  // Upgrades of a few hot keys move through pick -> (connect fails: released, next backend) ->
  // established -> ended, interleaved at random. At every pick that had a backend under its bound
  // to go to, the one charged is within the bound of the load then placed, its own charge included.
  std::mt19937_64 rng(2026);
  for (int schedule = 0; schedule < 50; ++schedule) {
    BackendPicker p(config(5, GetParam(), 1.25));
    struct Upgrade { std::uint64_t key; std::vector<bool> tried; BackendCharge charge; };
    std::vector<Upgrade> in_flight;
    std::vector<BackendCharge> live;
    for (int step = 0; step < 2000; ++step) {
      const auto roll = rng() % 10;
      if (roll < 4 || in_flight.empty()) {  // a new upgrade is picked
        Upgrade u{rng() % 3, std::vector<bool>(5), {}};
        auto pick = p.pick(u.key, u.tried, kNow);
        ASSERT_TRUE(pick);
        u.tried[pick->backend] = true;
        std::int64_t total = 0;
        for (std::size_t b = 0; b < 5; ++b) total += p.state(b).load();
        EXPECT_LE(p.state(pick->backend).load(), allowed(1.25, total, 5)) << "step " << step;
        u.charge = std::move(pick->charge);
        in_flight.push_back(std::move(u));
        continue;
      }
      const std::size_t i = rng() % in_flight.size();
      if (roll < 6) {  // its connect fails: released, and the next backend is picked
        auto& u = in_flight[i];
        u.charge.release();
        auto pick = p.pick(u.key, u.tried, kNow);
        if (!pick) {
          in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(i));
          continue;
        }
        u.tried[pick->backend] = true;
        u.charge = std::move(pick->charge);
      } else if (roll < 9) {  // established: the charge becomes the session's
        live.push_back(std::move(in_flight[i].charge));
        in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(i));
      } else if (!live.empty()) {  // a session ends
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(rng() % live.size()));
      }
    }
    in_flight.clear();
    live.clear();
    for (std::size_t b = 0; b < 5; ++b) EXPECT_EQ(p.state(b).load(), 0) << "every charge released once";
  }
}

TEST_P(BackendPickerBoth, APickIsChargedUntilReleased) {
  BackendPicker p(config(3, GetParam(), 1.25));
  auto pick = p.pick(5, {}, kNow);
  ASSERT_TRUE(pick);
  EXPECT_EQ(p.state(pick->backend).load(), 1);
  auto moved = std::move(pick->charge);
  EXPECT_EQ(p.state(pick->backend).load(), 1) << "a move does not release";
  moved.release();
  moved.release();
  EXPECT_EQ(p.state(pick->backend).load(), 0) << "released once";
}

TEST_P(BackendPickerBoth, TriedBackendsAreSkippedAndThenNothingIsLeft) {
  BackendPicker p(config(3, GetParam()));
  std::vector<bool> tried(3);
  std::vector<std::size_t> seen;
  while (auto pick = p.pick(11, tried, kNow)) {
    tried[pick->backend] = true;
    seen.push_back(pick->backend);
  }
  EXPECT_EQ(seen, p.pick_order(11, kNow));
}

TEST_P(BackendPickerBoth, APreferredBackendWinsOverTheBoundButNotOverHealth) {
  BackendPicker p(config(4, GetParam(), 1.25));
  const auto order = p.pick_order(3, kNow);
  const std::size_t other = order[2];
  for (int i = 0; i < 20; ++i) p.state(other).charge();  // far over its share
  EXPECT_EQ(p.pick(3, {}, kNow, other)->backend, other) << "affinity outlives the bound";
  p.state(other).record_check(false, 1, 1);
  EXPECT_EQ(p.pick(3, {}, kNow, other)->backend, order[0]) << "an unhealthy backend's clients move";
  p.state(other).record_check(true, 1, 1);
  p.report_failure(other, kNow);
  EXPECT_NE(p.pick(3, {}, kNow, other)->backend, other) << "so do a passively failed one's";
}

TEST(BackendState, APassiveEjectionEndsAfterTheChecksSentAfterIt) {
  BackendState s;
  const auto failed = kNow;
  s.passive_failure(failed, failed + 10s, 2);
  EXPECT_FALSE(s.available(failed + 1s));
  s.record_check(true, 2, 2, failed - 100ms);  // sent before the failure: proves nothing
  s.record_check(true, 2, 2, failed + 1s);
  EXPECT_FALSE(s.available(failed + 1s)) << "one pass of two";
  s.record_check(false, 2, 2, failed + 2s);  // a failing check restarts the count
  s.record_check(true, 2, 2, failed + 3s);
  EXPECT_FALSE(s.available(failed + 3s));
  s.record_check(true, 2, 2, failed + 4s);
  EXPECT_TRUE(s.available(failed + 4s)) << "back on its checks, long before the 10 s";
}

TEST(BackendState, WithoutChecksAPassiveEjectionLastsItsTime) {
  BackendState s;
  s.passive_failure(kNow, kNow + 3s, 0);
  EXPECT_FALSE(s.available(kNow + 2999ms));
  EXPECT_TRUE(s.available(kNow + 3s));
}

PickerConfig spread(std::size_t n, Balance balance) {
  PickerConfig c = config(n);
  c.balance = balance;
  return c;
}

// Sessions held: each pick's charge kept, as the relay keeps it.
TEST(BackendPickerLeastSessions, SpreadsWithinOneAndFillsTheEmptiestFirst) {
  BackendPicker p(spread(3, Balance::least_sessions));
  std::vector<Pick> held;
  for (auto k : keys(200)) {
    auto pick = p.pick(k, {}, kNow);
    ASSERT_TRUE(pick);
    held.push_back(std::move(*pick));
    std::int64_t lo = p.state(0).load(), hi = lo;
    for (std::size_t b = 1; b < 3; ++b) {
      lo = std::min(lo, p.state(b).load());
      hi = std::max(hi, p.state(b).load());
    }
    ASSERT_LE(hi - lo, 1);
  }
  // Ten sessions end on backend 1: it has at least nine fewer than any other now, so the next
  // nine go there whatever their keys (the tenth may tie).
  int ended = 0;
  for (auto& h : held)
    if (h.backend == 1 && ended < 10) {
      h.charge.release();
      ++ended;
    }
  for (auto k : keys(9)) {
    auto pick = p.pick(k + 1'000'000, {}, kNow);
    ASSERT_TRUE(pick);
    EXPECT_EQ(pick->backend, 1u);
    held.push_back(std::move(*pick));
  }
}

TEST(BackendPickerLeastSessions, WeightsAndHealthCount) {
  PickerConfig c = spread(3, Balance::least_sessions);
  c.backends[0].weight = 2;
  BackendPicker p(c);
  p.state(2).record_check(false, 1, 1);  // unhealthy: never chosen while others are usable
  std::vector<BackendCharge> held;
  for (auto k : keys(300)) held.push_back(std::move(p.pick(k, {}, kNow)->charge));
  EXPECT_EQ(p.state(2).load(), 0);
  EXPECT_EQ(p.state(0).load(), 200);
  EXPECT_EQ(p.state(1).load(), 100);
}

TEST(BackendPickerLeastSessions, TiesFollowTheKeysHashOrderSoInstancesAgree) {
  BackendPicker a(spread(4, Balance::least_sessions)), b(spread(4, Balance::least_sessions));
  for (auto k : keys(500)) {
    auto pa = a.pick(k, {}, kNow), pb = b.pick(k, {}, kNow);
    EXPECT_EQ(pa->backend, a.home(k)) << "all idle: the key's own backend";
    EXPECT_EQ(pa->backend, pb->backend);
  }
}

TEST(BackendPickerRoundRobin, TurnsFollowWeightsAndSkipTheUnusable) {
  PickerConfig c = spread(3, Balance::round_robin);
  c.backends[1].weight = 2;
  BackendPicker p(c);
  std::map<std::size_t, int> count;
  for (int i = 0; i < 400; ++i) ++count[p.pick(7, {}, kNow)->backend];
  EXPECT_EQ(count, (std::map<std::size_t, int>{{0, 100}, {1, 200}, {2, 100}}));
  p.report_failure(1, kNow);
  count.clear();
  for (int i = 0; i < 400; ++i) ++count[p.pick(7, {}, kNow)->backend];
  EXPECT_EQ(count[1], 0);
  EXPECT_EQ(count[0] + count[2], 400);
}

TEST(BackendPickerSpread, RetriesUntriedAndRespectsTheOperator) {
  for (auto balance : {Balance::least_sessions, Balance::round_robin}) {
    BackendPicker p(spread(3, balance));
    p.state(0).set_mode(BackendState::Mode::draining);
    std::vector<bool> tried(3);
    std::vector<std::size_t> seen;
    while (auto pick = p.pick(1, tried, kNow)) {
      tried[pick->backend] = true;
      seen.push_back(pick->backend);
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (std::vector<std::size_t>{1, 2})) << "a draining backend is never picked";
  }
}

}  // namespace
}  // namespace wsgate::routing

namespace wsgate::routing {
namespace {

// Issue 32: what a rebalance may move. Four backends, 40 sessions, factor 1.25: the share is
// ceil(1.25 x 40 / 4) = 13; two backends with 20 hold 7 each beyond it, the empty ones nothing.
TEST(BackendPickerOverShare, SessionsBeyondTheBoundedShare) {
  std::vector<std::shared_ptr<BackendState>> states;
  for (int i = 0; i < 4; ++i) states.push_back(std::make_shared<BackendState>());
  BackendPicker p(config(4, HashAlgorithm::ring, 1.25), states);
  for (std::size_t b : {0, 1})
    for (int i = 0; i < 20; ++i) states[b]->charge();
  EXPECT_EQ(p.over_share(kNow), (std::vector<std::int64_t>{7, 7, 0, 0}));
  p.report_failure(3, kNow);  // unusable: no share, and its sessions move by health, not here
  EXPECT_EQ(p.over_share(kNow), (std::vector<std::int64_t>{3, 3, 0, 0})) << "share ceil(1.25 x 40 / 3) = 17";
  BackendPicker off(config(4));
  EXPECT_EQ(off.over_share(kNow), (std::vector<std::int64_t>(4, 0))) << "no balance_factor, no share";
}

}  // namespace
}  // namespace wsgate::routing

namespace wsgate::routing {
namespace {

// Issue 32: with shared_loads the bound is over every instance's sessions. Five backends, factor
// 1.25, this instance holds 10 on each; the others hold 30 more on backend 0. Alone, backend 0's
// 11th is within ceil(1.25 x 51 / 5) = 13; over the sum its 41st is far over ceil(1.25 x 81 / 5) = 21.
TEST(BackendPickerSharedLoads, TheBoundCountsOtherInstances) {
  std::vector<std::shared_ptr<BackendState>> states;
  for (int i = 0; i < 5; ++i) states.push_back(std::make_shared<BackendState>());
  auto shared_config = config(5, HashAlgorithm::ring, 1.25);
  shared_config.shared_loads = true;
  BackendPicker shared(shared_config, states);
  BackendPicker local(config(5, HashAlgorithm::ring, 1.25), states);
  std::uint64_t key = 0;
  for (auto k : keys(1000))
    if (shared.home(k) == 0) { key = k; break; }
  for (auto& s : states)
    for (int i = 0; i < 10; ++i) s->charge();
  states[0]->set_remote_load(30);
  const std::vector<bool> none(5, false);
  EXPECT_EQ(local.pick(key, none, kNow)->backend, 0u) << "alone, the 11th is within the bound";
  EXPECT_NE(shared.pick(key, none, kNow)->backend, 0u) << "over the sum, the 41st is not";
  EXPECT_EQ(shared.over_share(kNow)[0], 10) << "40 against a share of 20, but only its own 10 can move here";
  EXPECT_EQ(local.over_share(kNow)[0], 0);
}

}  // namespace
}  // namespace wsgate::routing
