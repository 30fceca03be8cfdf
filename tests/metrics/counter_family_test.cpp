#include "metrics/counter_family.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <thread>

namespace wsgate::metrics {
namespace {

TEST(ThreadCounters, TwoThreadsSumExactly) {
  ThreadCounters counters(3);
  auto work = [&](std::uint64_t n) {
    auto& shard = counters.shard();
    for (std::uint64_t i = 0; i < n; ++i) {
      shard.add(0);
      shard.add(2, 10);
    }
  };
  std::thread a(work, 1'000'000), b(work, 500'000);
  a.join();
  b.join();
  EXPECT_EQ(counters.sum(0), 1'500'000u);
  EXPECT_EQ(counters.sum(1), 0u);
  EXPECT_EQ(counters.sum(2), 15'000'000u) << "rows of ended threads still count";
}

TEST(CounterFamily, ExposesExactlyItsFixedLabelSets) {
  CounterFamily family("wsgate_messages_total", "Messages relayed.",
                       {{{"route", "chat"}, {"direction", "from_client"}},
                        {{"route", "chat"}, {"direction", "from_backend"}}});
  EXPECT_EQ(family.index_of({{"route", "chat"}, {"direction", "from_backend"}}), 1);
  EXPECT_EQ(family.index_of({{"route", "nope"}, {"direction", "from_backend"}}), -1);
  auto& shard = family.counters().shard();
  shard.add(0, 3);
  shard.add(1, 4);
  const std::string text = prometheus::TextSerializer().Serialize(family.Collect());
  EXPECT_NE(text.find("# TYPE wsgate_messages_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(wsgate_messages_total{route="chat",direction="from_client"} 3)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(wsgate_messages_total{route="chat",direction="from_backend"} 4)"), std::string::npos) << text;
  EXPECT_EQ(family.Collect().at(0).metric.size(), 2u) << "no series beyond the label sets given";
}

}  // namespace
}  // namespace wsgate::metrics
