#include "routing/backend_picker.hpp"

#include "tests/routing/hashing_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

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
  c.fail_timeout = 10s;
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
  for (int i = 1; i <= 400; ++i) {
    const auto b = p.pick_order(12345, kNow)[0];
    p.state(b).session_opened();
    ++placed[b];
    std::int64_t top = 0;
    for (std::size_t x = 0; x < 4; ++x) top = std::max(top, p.state(x).sessions());
    // ceil(1.25 * i / 4): what the bound allows with i sessions placed.
    EXPECT_LE(top, static_cast<std::int64_t>(std::ceil(1.25 * i / 4.0))) << "after " << i;
  }
  EXPECT_EQ(placed.size(), 4u);
}

TEST_P(BackendPickerBoth, OverflowGoesToTheNextInHashOrder) {
  BackendPicker p(config(4, GetParam(), 1.25));
  const std::uint64_t key = 99;
  const auto order = p.pick_order(key, kNow);
  for (int i = 0; i < 10; ++i) p.state(order[0]).session_opened();  // home far over its share
  for (int i = 0; i < 2; ++i) p.state(order[1]).session_opened();
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

}  // namespace
}  // namespace wsgate::routing
