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

// The case: /echo matched /echoXYZ. By default a prefix matches whole path segments.
TEST(RouteTable, PrefixesMatchWholeSegmentsByDefault) {
  RouteTable t({{"", "/"}, {"", "/echo"}, {"", "/socket.io/"}});
  EXPECT_EQ(t.match("h", "/echo"), 1u);
  EXPECT_EQ(t.match("h", "/echo/"), 1u);
  EXPECT_EQ(t.match("h", "/echo/a/b?x=1"), 1u);
  EXPECT_EQ(t.match("h", "/echo?x=1"), 1u);
  EXPECT_EQ(t.match("h", "/echoXYZ"), 0u) << "falls to the catch-all, not /echo";
  EXPECT_EQ(t.match("h", "/echo.json"), 0u);
  EXPECT_EQ(t.match("h", "/socket.io/?EIO=4"), 2u);
  EXPECT_EQ(t.match("h", "/socket.io"), 0u) << "a prefix ending in / needs the /";
  EXPECT_FALSE(RouteTable(std::vector<RouteMatch>{{"", "/echo"}}).match("h", "/echoXYZ"));
}

TEST(RouteTable, StringPrefixKeepsTheOldBehaviour) {
  RouteTable t({{"", "/echo", PathMatch::string_prefix}});
  EXPECT_EQ(t.match("h", "/echoXYZ"), 0u);
  EXPECT_EQ(t.match("h", "/echo/x"), 0u);
  EXPECT_FALSE(t.match("h", "/ech"));
}

TEST(RouteTable, AnExactPathBeatsEveryPrefix) {
  RouteTable t({{"", "/ws/chat/rooms"}, {"", "/ws", PathMatch::exact}, {"", "/"}, {"h.example", "/ws", PathMatch::exact}});
  EXPECT_EQ(t.match("other", "/ws"), 1u);
  EXPECT_EQ(t.match("other", "/ws?token=x"), 1u);
  EXPECT_EQ(t.match("h.example", "/ws"), 3u) << "the host-specific exact route";
  EXPECT_EQ(t.match("other", "/ws/"), 2u) << "exact means exact: /ws/ is another path";
  EXPECT_EQ(t.match("other", "/ws/chat/rooms/1"), 0u);
  EXPECT_EQ(t.match("other", "/WS"), 2u) << "paths are case-sensitive";
}

TEST(NormalizeHost, Forms) {
  EXPECT_EQ(normalize_host("Example.COM"), "example.com");
  EXPECT_EQ(normalize_host("example.com:443"), "example.com");
  EXPECT_EQ(normalize_host("[::1]:8080"), "::1");
  EXPECT_EQ(normalize_host("[::1]"), "::1");
}

}  // namespace
}  // namespace wsgate::routing
