#include "routing/rebalance_plan.hpp"

#include <gtest/gtest.h>

namespace wsgate::routing {
namespace {

TEST(RebalancePlan, OldestBeyondTheShareWithinTheBudget) {
  std::vector<LiveSession> s{{0, 10, "0-1"}, {0, 50, "0-2"}, {0, 30, "1-3"}, {1, 99, "1-4"}, {2, 70, "0-5"},
                             {2, 80, "1-6"}};
  // Backend 0 holds 2 beyond its share, backend 1 none, backend 2 one.
  EXPECT_EQ(plan_rebalance(s, {2, 0, 1}, 10), (std::vector<std::string>{"0-2", "1-6", "1-3"}))
      << "never below the share, the oldest first, the furthest over first";
  EXPECT_EQ(plan_rebalance(s, {2, 0, 1}, 2), (std::vector<std::string>{"0-2", "1-6"}))
      << "a small budget spreads over the crowded backends";
  EXPECT_TRUE(plan_rebalance(s, {0, 0, 0}, 10).empty());
  EXPECT_TRUE(plan_rebalance(s, {2, 0, 1}, 0).empty());
}

TEST(RebalancePlan, TheSameWhateverOrderTheThreadsAnswered) {
  std::vector<LiveSession> a{{0, 5, "0-1"}, {0, 5, "1-1"}, {0, 5, "0-2"}};
  std::vector<LiveSession> b{{0, 5, "0-2"}, {0, 5, "1-1"}, {0, 5, "0-1"}};
  EXPECT_EQ(plan_rebalance(a, {2}, 5), plan_rebalance(b, {2}, 5));
}

}  // namespace
}  // namespace wsgate::routing
