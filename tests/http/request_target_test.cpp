#include "http/request_target.hpp"

#include <gtest/gtest.h>

namespace wsgate::http {
namespace {

RequestTarget ok(std::string_view target) {
  std::string problem;
  auto t = normalize_target(target, problem);
  EXPECT_TRUE(t.has_value()) << target << ": " << problem;
  return t.value_or(RequestTarget{});
}

std::string refused(std::string_view target) {
  std::string problem;
  EXPECT_FALSE(normalize_target(target, problem).has_value()) << target;
  return problem;
}

TEST(RemoveDotSegments, Rfc3986Examples) {
  EXPECT_EQ(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(remove_dot_segments("/mid/content=5/../6"), "/mid/6");
  EXPECT_EQ(remove_dot_segments("/a/b/.."), "/a/");
  EXPECT_EQ(remove_dot_segments("/a/./b/."), "/a/b/");
  EXPECT_EQ(remove_dot_segments("/../../x"), "/x") << "nothing climbs above the root";
  EXPECT_EQ(remove_dot_segments("/.."), "/");
  EXPECT_EQ(remove_dot_segments("/...a/.b/..."), "/...a/.b/...") << "dots in names are names";
  EXPECT_EQ(remove_dot_segments("//a//b"), "//a//b");
}

TEST(NormalizeTarget, DotSegmentsCannotLeaveTheRoutePrefix) {
  EXPECT_EQ(ok("/chat/../admin").target, "/admin");
  EXPECT_EQ(ok("/chat/%2e%2E/admin?x=/../y").target, "/admin?x=/../y") << "encoded dots, query untouched";
  EXPECT_EQ(ok("/chat/./room").target, "/chat/room");
}

TEST(NormalizeTarget, DecodesUnreservedOnly) {
  EXPECT_EQ(ok("/%63hat/%7Euser").target, "/chat/~user");
  EXPECT_EQ(ok("/files/a%20b%3F").target, "/files/a%20b%3F") << "reserved and other escapes stay";
  EXPECT_EQ(ok("/files/group%2Fproject").target, "/files/group%2Fproject");
  EXPECT_EQ(ok("/files/group%2Fproject").loose_path, "/files/group/project");
}

TEST(NormalizeTarget, LoosePathDecodesSlashesAndBackslashes) {
  EXPECT_EQ(ok("/chat%2F..%2Fadmin").target, "/chat%2F..%2Fadmin");
  EXPECT_EQ(ok("/chat%2F..%2Fadmin").loose_path, "/admin");
  EXPECT_EQ(ok("/chat\\..\\admin").loose_path, "/admin");
  EXPECT_EQ(ok("/chat%5c..%5cadmin").loose_path, "/admin");
}

TEST(NormalizeTarget, AbsoluteFormBecomesOriginFormAndNamesTheHost) {
  auto t = ok("http://Echo.Test:8080/chat/../room?q=1");
  EXPECT_EQ(t.target, "/room?q=1");
  EXPECT_EQ(t.host, "Echo.Test:8080");
  EXPECT_EQ(ok("HTTPS://echo.test").target, "/");
  EXPECT_EQ(ok("http://echo.test?x").target, "/?x");
  EXPECT_EQ(ok("/plain").host, "");
}

TEST(NormalizeTarget, RefusesWhatNoClientSends) {
  EXPECT_EQ(refused("*"), "request-target is neither origin-form nor absolute-form");
  EXPECT_EQ(refused("echo.test:443"), "request-target is neither origin-form nor absolute-form");
  EXPECT_EQ(refused("ftp://echo.test/x"), "request-target is neither origin-form nor absolute-form");
  EXPECT_EQ(refused("http://user@evil.test/x"), "absolute-form target without a plain authority");
  EXPECT_EQ(refused("http:///x"), "absolute-form target without a plain authority");
  EXPECT_EQ(refused("/a#frag"), "fragment in request-target");
  EXPECT_EQ(refused("/a%2"), "malformed percent-encoding in path");
  EXPECT_EQ(refused("/a%zz"), "malformed percent-encoding in path");
  EXPECT_EQ(refused("/a%00b"), "malformed percent-encoding in path");
}

}  // namespace
}  // namespace wsgate::http
