#include "handover/move_pacer.hpp"

#include <gtest/gtest.h>

using wsgate::handover::MovePacer;

TEST(MovePacer, AsksEachThreadOnceAtATimeUntilItHasNoMore) {
  MovePacer p(2, 64);
  EXPECT_TRUE(p.should_ask(0));
  p.asked(0);
  EXPECT_FALSE(p.should_ask(0)) << "one question at a time";
  EXPECT_TRUE(p.should_ask(1));
  p.answered(0, 64, true);
  EXPECT_FALSE(p.should_ask(0)) << "a whole batch is under way";
  for (int i = 0; i < 31; ++i) p.moved(0);
  EXPECT_FALSE(p.should_ask(0));
  p.moved(0);
  EXPECT_TRUE(p.should_ask(0)) << "half of the batch taken";
  p.asked(0);
  p.answered(0, 10, false);
  EXPECT_FALSE(p.should_ask(0)) << "nothing left to ask for";
  EXPECT_EQ(p.outstanding(), 42);
}

// The sessions of a batch are often taken before the thread's answer (which counts them) is back:
// those takings must not be lost, or the thread is never asked again and the move stalls.
TEST(MovePacer, SessionsTakenBeforeTheAnswerAreNotLost) {
  MovePacer p(1, 64);
  p.asked(0);
  for (int i = 0; i < 64; ++i) p.moved(0);
  EXPECT_EQ(p.outstanding(), -64);
  p.answered(0, 64, true);
  EXPECT_EQ(p.outstanding(), 0);
  EXPECT_TRUE(p.should_ask(0));
}
