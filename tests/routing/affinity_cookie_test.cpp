#include "routing/affinity_cookie.hpp"

#include <gtest/gtest.h>

#include <cctype>

namespace wsgate::routing {
namespace {

const std::string kSecret(32, 'k');
constexpr std::int64_t kNow = 1'800'000'000;

TEST(AffinityCookie, RoundTripsInEveryInstanceOfTheConfiguration) {
  AffinityCookie a(kSecret, "chat"), b(kSecret, "chat");
  const auto id = a.backend_id("ws://10.0.0.1:9000");
  EXPECT_EQ(id, b.backend_id("ws://10.0.0.1:9000"));
  EXPECT_NE(id, a.backend_id("ws://10.0.0.2:9000"));
  const auto value = a.encode(id, kNow + 60);
  EXPECT_EQ(b.decode(value, kNow), id);
  EXPECT_EQ(value.find("10.0.0"), std::string::npos) << "never the address";
}

TEST(AffinityCookie, ForgedAlteredStaleOrForeignValuesAreIgnored) {
  AffinityCookie c(kSecret, "chat");
  const auto id = c.backend_id("ws://10.0.0.1:9000");
  const auto value = c.encode(id, kNow + 60);
  EXPECT_FALSE(c.decode(value, kNow + 60)) << "stale";
  EXPECT_FALSE(AffinityCookie(std::string(32, 'x'), "chat").decode(value, kNow)) << "other key";
  EXPECT_FALSE(AffinityCookie(kSecret, "admin").decode(value, kNow)) << "other route";
  std::string altered = value;
  altered[0] = altered[0] == '0' ? '1' : '0';  // another backend id, same signature
  EXPECT_FALSE(c.decode(altered, kNow));
  // A later expiry with the old signature.
  const auto dot = value.rfind('.');
  EXPECT_FALSE(c.decode(c.encode(id, kNow + 60).substr(0, 17) + std::to_string(kNow + 999999) +
                            value.substr(dot), kNow));
  for (const char* junk : {"", ".", "..", "abc", "0000000000000000..", "zzzzzzzzzzzzzzzz.1.0",
                           "0000000000000000.-5.00000000000000000000000000000000"})
    EXPECT_FALSE(c.decode(junk, kNow)) << junk;
  // Another spelling of the same fields (upper-case hex, a leading zero) is not the signed text.
  std::string upper = value;
  for (std::size_t i = 0; i < 16; ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  if (upper != value) {
    EXPECT_FALSE(c.decode(upper, kNow));
  }
  EXPECT_FALSE(c.decode(value.substr(0, 17) + "0" + value.substr(17), kNow));
}

}  // namespace
}  // namespace wsgate::routing
