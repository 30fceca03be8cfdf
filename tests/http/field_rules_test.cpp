#include "http/field_rules.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace wsgate::http {
namespace {

TEST(FieldRules, FieldValues) {
  EXPECT_TRUE(is_field_value(""));
  EXPECT_TRUE(is_field_value("alice"));
  EXPECT_TRUE(is_field_value("a b\tc"));
  EXPECT_TRUE(is_field_value("Zo\xc3\xab"));  // obs-text
  for (const std::string& bad : std::vector<std::string>{"a\r\nb", "a\nb", "a\rb", std::string("a\0b", 3), " a", "a ", "\ta", "a\x01", "a\x7f"})
    EXPECT_FALSE(is_field_value(bad)) << bad;
}

// RFC 9112 3.2: Host = uri-host [ ":" port ].
TEST(FieldRules, Hosts) {
  for (auto good : {"", "example.com", "example.com:8080", "127.0.0.1:1", "[::1]", "[::1]:443",
                    "xn--bcher-kva.example", "a%20b", "x:", "[v1.fe]"})
    EXPECT_TRUE(is_host(good)) << good;
  for (auto bad : {"x/../y", "a@x", "x:y", "x:1:2", "[::1", "[::1]x", "a b", "x?", "x#", "%zz",
                   "x:123456", "[]", "\\x"})
    EXPECT_FALSE(is_host(bad)) << bad;
}

TEST(FieldRules, FoldedNamesMatchAcrossCaseAndUnderscore) {
  EXPECT_EQ(folded_name("X_User_Id"), "x-user-id");
  EXPECT_EQ(folded_name("x-USER-id"), "x-user-id");
}

}  // namespace
}  // namespace wsgate::http
