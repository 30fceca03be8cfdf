#include "config/ip_network.hpp"

#include <gtest/gtest.h>

namespace wsgate::config {
namespace {

TEST(IpNetwork, BlocksAndSingleAddresses) {
  const auto v4 = *IpNetwork::parse("10.0.0.0/8");
  EXPECT_TRUE(v4.contains("10.1.2.3"));
  EXPECT_TRUE(v4.contains("::ffff:10.1.2.3"));
  EXPECT_FALSE(v4.contains("11.0.0.1"));
  EXPECT_FALSE(v4.contains("not an address"));
  const auto one = *IpNetwork::parse("127.0.0.1");
  EXPECT_TRUE(one.contains("127.0.0.1"));
  EXPECT_FALSE(one.contains("127.0.0.2"));
  const auto v6 = *IpNetwork::parse("fd00::/8");
  EXPECT_TRUE(v6.contains("fd12::1"));
  EXPECT_FALSE(v6.contains("fe80::1"));
  EXPECT_TRUE(IpNetwork::parse("0.0.0.0/0")->contains("8.8.8.8"));
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0/8", "host", "10.0.0.0/8x"})
    EXPECT_FALSE(IpNetwork::parse(bad)) << bad;
}

}  // namespace
}  // namespace wsgate::config
