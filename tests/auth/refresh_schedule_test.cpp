#include "auth/refresh_schedule.hpp"

#include <gtest/gtest.h>

namespace wsgate::auth {
namespace {

using namespace std::chrono_literals;
using clock = RefreshSchedule::clock;

TEST(RefreshSchedule, FirstFetchAtOnceThenEveryInterval) {
  RefreshSchedule s(300s, 30s);
  const clock::time_point t0 = clock::now();
  EXPECT_LE(s.next_due(), t0);
  s.started(t0);
  s.succeeded(t0 + 1s);
  EXPECT_EQ(s.next_due(), t0 + 301s);
}

TEST(RefreshSchedule, OnDemandAtMostOncePerMinInterval) {
  RefreshSchedule s(300s, 30s);
  const clock::time_point t0 = clock::now();
  EXPECT_TRUE(s.on_demand_allowed(t0));  // never fetched: always allowed
  s.started(t0);
  s.succeeded(t0);
  EXPECT_FALSE(s.on_demand_allowed(t0 + 1s));
  EXPECT_FALSE(s.on_demand_allowed(t0 + 29s));
  EXPECT_TRUE(s.on_demand_allowed(t0 + 30s));
}

TEST(RefreshSchedule, FailuresBackOffUpToTheInterval) {
  RefreshSchedule s(300s, 30s);
  clock::time_point t = clock::now();
  const clock::duration expected[] = {30s, 60s, 120s, 240s, 300s, 300s};
  for (auto wait : expected) {
    s.started(t);
    s.failed(t);
    EXPECT_EQ(s.next_due() - t, wait);
    t = s.next_due();
  }
  EXPECT_EQ(s.failures(), 6u);
  s.started(t);
  s.succeeded(t);
  EXPECT_EQ(s.failures(), 0u);
  EXPECT_EQ(s.next_due() - t, 300s);
}

}  // namespace
}  // namespace wsgate::auth
