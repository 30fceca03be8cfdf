#include "ratelimit/session_budget.hpp"

#include <gtest/gtest.h>

namespace wsgate::ratelimit {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kT0 = 50 * kSecond;

MessageLimits client_messages(std::int64_t per_second, std::int64_t burst, Action action) {
  MessageLimits limits;
  limits.from_client.messages = Rate::per(per_second, kSecond, burst);
  limits.from_client.messages_action = action;
  return limits;
}

SessionBudget open(const std::shared_ptr<SharedLimiter>& limiter, std::uint64_t key) {
  auto slot = limiter->open_session(key, 0, kT0);
  EXPECT_TRUE(slot);
  return SessionBudget(std::move(*slot));
}

int passes(SessionBudget& budget, int frames, std::int64_t now, Flow flow = Flow::from_client) {
  int passed = 0;
  for (int i = 0; i < frames; ++i)
    passed += budget.frame(flow, true, true, 10, now).verdict == Verdict::pass;
  return passed;
}

TEST(SessionBudget, ThrottleWaitsExactlyForTheNextCredit) {
  auto limiter = std::make_shared<SharedLimiter>();
  limiter->set_message_limits(client_messages(100, 20, Action::throttle));
  auto budget = open(limiter, 1);
  EXPECT_EQ(passes(budget, 30, kT0), 20);
  const auto d = budget.frame(Flow::from_client, true, true, 10, kT0 + 4'000'000);
  EXPECT_EQ(d.verdict, Verdict::wait);
  EXPECT_EQ(d.retry_after_ns, 6'000'000);
  EXPECT_EQ(passes(budget, 1, kT0 + 10'000'000), 1);
  EXPECT_EQ(passes(budget, 1, kT0 + 10'000'000, Flow::from_backend), 1) << "the other direction is free";
}

TEST(SessionBudget, SessionsOfOneKeyShareItsBudgetOthersDoNot) {
  auto limiter = std::make_shared<SharedLimiter>();
  limiter->set_message_limits(client_messages(10, 10, Action::close));
  auto a = open(limiter, 1);
  auto b = open(limiter, 1);
  auto other = open(limiter, 2);
  EXPECT_EQ(passes(a, 6, kT0) + passes(b, 6, kT0), 10);
  EXPECT_EQ(b.frame(Flow::from_client, true, true, 1, kT0).verdict, Verdict::close);
  EXPECT_EQ(passes(other, 10, kT0), 10);
}

TEST(SessionBudget, DropOnlyWholeMessagesAndFragmentsWait) {
  auto limiter = std::make_shared<SharedLimiter>();
  limiter->set_message_limits(client_messages(1, 1, Action::drop));
  auto budget = open(limiter, 1);
  EXPECT_EQ(budget.frame(Flow::from_client, true, true, 5, kT0).verdict, Verdict::pass);
  EXPECT_EQ(budget.frame(Flow::from_client, true, true, 5, kT0).verdict, Verdict::drop);
  const auto first_fragment = budget.frame(Flow::from_client, true, false, 5, kT0);
  EXPECT_EQ(first_fragment.verdict, Verdict::wait) << "part of a message cannot be dropped";
  EXPECT_EQ(first_fragment.retry_after_ns, kSecond);
  EXPECT_EQ(budget.frame(Flow::from_client, false, true, 5, kT0).verdict, Verdict::pass)
      << "continuations are not messages";
}

TEST(SessionBudget, BytesRefusalGivesTheMessageBack) {
  auto limiter = std::make_shared<SharedLimiter>();
  MessageLimits limits = client_messages(2, 2, Action::throttle);
  limits.from_client.bytes = Rate::per(1000, kSecond, 1000);
  limits.from_client.bytes_action = Action::close;
  limiter->set_message_limits(limits);
  auto budget = open(limiter, 1);
  EXPECT_EQ(budget.frame(Flow::from_client, true, true, 5000, kT0).verdict, Verdict::pass)
      << "one large frame passes on credit, as debt";
  const auto d = budget.frame(Flow::from_client, true, true, 5, kT0);
  EXPECT_EQ(d.verdict, Verdict::close);
  EXPECT_TRUE(d.bytes);
  EXPECT_EQ(budget.frame(Flow::from_client, true, true, 0, kT0).verdict, Verdict::pass)
      << "the refused frame's message credit was refunded; an empty frame costs no bytes";
}

TEST(SessionBudget, ReloadedLimitsReachLiveSessionsAndKeepTheSchedule) {
  auto limiter = std::make_shared<SharedLimiter>();
  limiter->set_message_limits(client_messages(10, 5, Action::throttle));
  auto budget = open(limiter, 1);
  EXPECT_EQ(passes(budget, 10, kT0), 5);
  limiter->set_message_limits(client_messages(10, 8, Action::drop));
  EXPECT_EQ(passes(budget, 10, kT0), 3) << "a larger burst on the same schedule: 3 more, not 8";
  EXPECT_EQ(budget.frame(Flow::from_client, true, true, 1, kT0).verdict, Verdict::drop);
  limiter->set_message_limits({});
  EXPECT_EQ(passes(budget, 100, kT0), 100) << "limits removed";
}

TEST(SessionBudget, KeyEntryStaysWhileASessionHoldsIt) {
  auto limiter = std::make_shared<SharedLimiter>(/*max_keys=*/2);
  limiter->set_message_limits(client_messages(1, 1, Action::close));
  auto budget = open(limiter, 1);
  EXPECT_EQ(passes(budget, 1, kT0), 1);
  for (std::uint64_t k = 100; k < 200; ++k) limiter->upgrade(k, Rate::per(1, kSecond, 1), kT0);
  EXPECT_EQ(limiter->sessions(1), 1) << "the held entry is still in the table";
  EXPECT_EQ(budget.frame(Flow::from_client, true, true, 1, kT0).verdict, Verdict::close)
      << "a flood of other keys did not reset this key's schedule";
  SessionBudget none;
  EXPECT_EQ(none.frame(Flow::from_client, true, true, 1, kT0).verdict, Verdict::pass);
}

}  // namespace
}  // namespace wsgate::ratelimit
