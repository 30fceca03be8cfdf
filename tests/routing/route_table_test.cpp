#include "routing/route_table.hpp"

#include <gtest/gtest.h>

namespace wsgate::routing {
namespace {

TEST(RouteTable, LongestPrefixWins) {
  RouteTable t({{"", "/"}, {"", "/chat"}, {"", "/chat/rooms"}});
  EXPECT_EQ(t.match("any", "/"), 0u);
  EXPECT_EQ(t.match("any", "/other"), 0u);
  EXPECT_EQ(t.match("any", "/chat"), 1u);
  EXPECT_EQ(t.match("any", "/chat/rooms/7?x=1"), 2u);
  EXPECT_EQ(t.match("any", "/chat?room=/chat/rooms"), 1u);  // the query is not the path
}

TEST(RouteTable, HostIsExactPortAndCaseIgnored) {
  RouteTable t({{"", "/"}, {"Chat.Example.com", "/"}, {"api.example.com", "/v1"}});
  EXPECT_EQ(t.match("chat.example.com", "/x"), 1u);
  EXPECT_EQ(t.match("CHAT.example.com:8443", "/x"), 1u);
  EXPECT_EQ(t.match("other.example.com", "/x"), 0u);
  EXPECT_EQ(t.match("api.example.com", "/v1/y"), 2u);
  EXPECT_EQ(t.match("api.example.com", "/v2"), 0u);
}

TEST(RouteTable, NoMatch) {
  RouteTable t({{"only.example.com", "/"}, {"", "/ws"}});
  EXPECT_FALSE(t.match("other.example.com", "/"));
  EXPECT_FALSE(t.match("", "/x"));
  EXPECT_FALSE(RouteTable({}).match("h", "/"));
}

TEST(NormalizeHost, Forms) {
  EXPECT_EQ(normalize_host("Example.COM"), "example.com");
  EXPECT_EQ(normalize_host("example.com:443"), "example.com");
  EXPECT_EQ(normalize_host("[::1]:8080"), "::1");
  EXPECT_EQ(normalize_host("[::1]"), "::1");
}

}  // namespace
}  // namespace wsgate::routing
