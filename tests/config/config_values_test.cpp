#include "config/config_values.hpp"

#include <gtest/gtest.h>

#include <map>

namespace wsgate::config {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration("250ms"), Duration(250));
  EXPECT_EQ(parse_duration("30s"), Duration(30s));
  EXPECT_EQ(parse_duration("5m"), Duration(5min));
  EXPECT_EQ(parse_duration("1h"), Duration(1h));
  EXPECT_EQ(parse_duration("0s"), Duration(0));
}

TEST(ParseDuration, Rejects) {
  for (const char* bad : {"", "30", "s", "-1s", "1.5s", "10 s", "1d", "99999999999h"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(ParseSize, Units) {
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("64KiB"), 64u * 1024);
  EXPECT_EQ(parse_size("1MiB"), 1u << 20);
  EXPECT_EQ(parse_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_size("1KB"), 1000u);
  for (const char* bad : {"", "KiB", "1kb", "1 MiB", "-1", "1.5MiB"}) EXPECT_FALSE(parse_size(bad)) << bad;
}

TEST(ParseHostPort, Forms) {
  auto v4 = parse_host_port("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  auto v6 = parse_host_port("[::1]:443");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 443);
  EXPECT_EQ(parse_host_port("localhost:0")->port, 0);
  for (const char* bad : {"", "127.0.0.1", ":80", "host:", "host:65536", "::1:80", "[::1]80", "h:8x"})
    EXPECT_FALSE(parse_host_port(bad)) << bad;
}

TEST(ExpandEnv, ReplacesAndReportsMissing) {
  const std::map<std::string, std::string> env{{"PORT", "9001"}, {"EMPTY", ""}};
  EnvLookup lookup = [&](const std::string& n) -> std::optional<std::string> {
    auto it = env.find(n);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  EXPECT_EQ(expand_env("127.0.0.1:${PORT}", lookup).value, "127.0.0.1:9001");
  EXPECT_EQ(expand_env("a${EMPTY}b", lookup).value, "ab");
  EXPECT_EQ(expand_env("no vars", lookup).value, "no vars");
  EXPECT_EQ(expand_env("${NOPE}", lookup).missing, "NOPE");
  EXPECT_EQ(expand_env("${unterminated", lookup).value, "${unterminated");
}

}  // namespace
}  // namespace wsgate::config
