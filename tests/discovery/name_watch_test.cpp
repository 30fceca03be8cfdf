#include "discovery/name_watch.hpp"

#include <gtest/gtest.h>

namespace wsgate::discovery {
namespace {

using std::chrono::seconds;
const Clock::time_point t0{};

Endpoint ep(const char* address, std::uint16_t port, std::uint32_t weight = 1) {
  Endpoint e;
  e.address = address;
  e.port = port;
  e.weight = weight;
  return e;
}

TEST(NameWatch, KeepsOneSortedSetWhateverTheOrderOfTheRecords) {
  NameWatch a({}), b({});
  EXPECT_TRUE(a.on_answer({ep("127.0.0.3", 9000), ep("127.0.0.2", 9000), ep("127.0.0.2", 9000)}, seconds(0), t0));
  EXPECT_TRUE(b.on_answer({ep("127.0.0.2", 9000), ep("127.0.0.3", 9000)}, seconds(0), t0));
  EXPECT_EQ(a.endpoints(), b.endpoints()) << "two instances agree whatever order DNS answers in";
  ASSERT_EQ(a.endpoints().size(), 2u);
  EXPECT_EQ(a.endpoints()[0].address, "127.0.0.2");
  EXPECT_FALSE(a.on_answer({ep("127.0.0.2", 9000), ep("127.0.0.3", 9000)}, seconds(0), t0 + seconds(5)))
      << "the same set again is no change";
  EXPECT_TRUE(a.on_answer({ep("127.0.0.2", 9000)}, seconds(0), t0 + seconds(10)));
}

TEST(NameWatch, FailuresKeepTheLastGoodSetAndAnOutageIsNewsOnce) {
  NameWatch w({});
  w.on_answer({ep("127.0.0.2", 9000)}, seconds(0), t0);
  EXPECT_TRUE(w.on_failure(Outcome::servfail, t0 + seconds(5)));
  EXPECT_FALSE(w.on_failure(Outcome::timeout, t0 + seconds(6)));
  EXPECT_FALSE(w.on_failure(Outcome::nxdomain, t0 + seconds(8)));
  EXPECT_TRUE(w.in_outage());
  ASSERT_EQ(w.endpoints().size(), 1u) << "the last good set stays through the outage";
  w.on_answer({ep("127.0.0.2", 9000)}, seconds(0), t0 + seconds(20));
  EXPECT_FALSE(w.in_outage());
  EXPECT_TRUE(w.on_failure(Outcome::timeout, t0 + seconds(25))) << "a new outage is news again";
}

TEST(NameWatch, RetriesWithBackoffAndRefreshesAtTheTtlWhenAsked) {
  NameWatch w(WatchSettings{seconds(5), true, 64});
  w.on_failure(Outcome::nxdomain, t0);
  EXPECT_EQ(w.next_lookup(), t0 + seconds(1));
  w.on_failure(Outcome::nxdomain, t0 + seconds(1));
  EXPECT_EQ(w.next_lookup(), t0 + seconds(3));
  for (int i = 0; i < 10; ++i) w.on_failure(Outcome::nxdomain, t0 + seconds(3));
  EXPECT_EQ(w.next_lookup(), t0 + seconds(3 + 30)) << "capped at 30 s (six refresh periods)";
  EXPECT_FALSE(w.answered());
  w.on_answer({ep("127.0.0.2", 9000)}, seconds(60), t0 + seconds(40));
  EXPECT_EQ(w.next_lookup(), t0 + seconds(100)) << "respect_ttl: at the TTL";
  w.on_answer({ep("127.0.0.2", 9000)}, seconds(1), t0 + seconds(100));
  EXPECT_EQ(w.next_lookup(), t0 + seconds(105)) << "never sooner than refresh";
  NameWatch fixed(WatchSettings{seconds(5), false, 64});
  fixed.on_answer({ep("127.0.0.2", 9000)}, seconds(60), t0);
  EXPECT_EQ(fixed.next_lookup(), t0 + seconds(5));
}

TEST(NameWatch, CapsTheSetAtMaxBackendsInAddressOrder) {
  NameWatch w(WatchSettings{seconds(5), false, 2});
  w.on_answer({ep("10.0.0.9", 1), ep("10.0.0.1", 1), ep("10.0.0.5", 1)}, seconds(0), t0);
  ASSERT_EQ(w.endpoints().size(), 2u);
  EXPECT_EQ(w.endpoints()[0].address, "10.0.0.1");
  EXPECT_EQ(w.endpoints()[1].address, "10.0.0.5");
  EXPECT_EQ(w.left_out(), 1u);
}

TEST(NameWatch, OneAddressAndPortIsOneBackendWithItsLargestWeight) {
  NameWatch w({});
  w.on_answer({ep("10.0.0.1", 80, 10), ep("10.0.0.1", 80, 30), ep("10.0.0.1", 81, 5)}, seconds(0), t0);
  ASSERT_EQ(w.endpoints().size(), 2u);
  EXPECT_EQ(w.endpoints()[0].weight, 30u);
  EXPECT_EQ(w.endpoints()[1].port, 81);
}

TEST(SrvWeights, ZeroIsASmallShareAndHugeWeightsAreScaledDown) {
  std::vector<Endpoint> small{ep("a", 1, 0), ep("b", 1, 10), ep("c", 1, 30)};
  normalize_srv_weights(small);
  EXPECT_EQ(small[0].weight, 1u);
  EXPECT_EQ(small[1].weight, 10u);
  EXPECT_EQ(small[2].weight, 30u);
  std::vector<Endpoint> huge{ep("a", 1, 65535), ep("b", 1, 32768), ep("c", 1, 1)};
  normalize_srv_weights(huge);
  EXPECT_EQ(huge[0].weight, 1000u);
  EXPECT_EQ(huge[1].weight, 500u);
  EXPECT_EQ(huge[2].weight, 1u);
}

TEST(EndpointUrl, BracketsIpv6) {
  EXPECT_EQ(endpoint_url("ws", ep("10.1.2.3", 9000)), "ws://10.1.2.3:9000");
  EXPECT_EQ(endpoint_url("wss", ep("fd00::1", 443)), "wss://[fd00::1]:443");
}

}  // namespace
}  // namespace wsgate::discovery
