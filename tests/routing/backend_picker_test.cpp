#include "routing/backend_picker.hpp"

#include <gtest/gtest.h>

namespace wsgate::routing {
namespace {

using namespace std::chrono_literals;
using Order = std::vector<std::size_t>;

TEST(BackendPicker, RoundRobinStartsEachPickOneFurther) {
  BackendPicker p(3);
  const auto now = BackendPicker::Clock::time_point{} + 1h;
  EXPECT_EQ(p.pick_order(now), (Order{0, 1, 2}));
  EXPECT_EQ(p.pick_order(now), (Order{1, 2, 0}));
  EXPECT_EQ(p.pick_order(now), (Order{2, 0, 1}));
  EXPECT_EQ(p.pick_order(now), (Order{0, 1, 2}));
}

TEST(BackendPicker, FailedBackendGoesLastUntilItsTimeoutEnds) {
  BackendPicker p(3, 10s);
  const auto t0 = BackendPicker::Clock::time_point{} + 1h;
  p.report_failure(0, t0);
  EXPECT_EQ(p.pick_order(t0), (Order{1, 2, 0}));
  EXPECT_EQ(p.pick_order(t0 + 9s), (Order{1, 2, 0}));
  EXPECT_EQ(p.pick_order(t0 + 11s), (Order{2, 0, 1}));  // back in rotation
}

TEST(BackendPicker, SuccessClearsFailure) {
  BackendPicker p(2, 10s);
  const auto t0 = BackendPicker::Clock::time_point{} + 1h;
  p.report_failure(0, t0);
  p.report_success(0);
  EXPECT_EQ(p.pick_order(t0), (Order{0, 1}));
}

TEST(BackendPicker, AllFailedStillTriesAll) {
  BackendPicker p(2, 10s);
  const auto t0 = BackendPicker::Clock::time_point{} + 1h;
  p.report_failure(0, t0);
  p.report_failure(1, t0);
  EXPECT_EQ(p.pick_order(t0).size(), 2u);
}

}  // namespace
}  // namespace wsgate::routing
