#include "http/client_certificate.hpp"

#include <gtest/gtest.h>

namespace wsgate::http {
namespace {

TEST(Xfcc, EnvoysFormatWithQuotingWhereAValueNeedsIt) {
  ClientIdentity id;
  id.hash = "ab12";
  id.subject = "CN=alice,O=Example\\, Inc.";
  id.uri = "spiffe://example.org/alice";
  id.dns = {"alice.example.org", "a.example.org"};
  EXPECT_EQ(xfcc_value(id),
            "Hash=ab12;Subject=\"CN=alice,O=Example\\\\, Inc.\";URI=spiffe://example.org/alice;"
            "DNS=alice.example.org;DNS=a.example.org");
  ClientIdentity quote;
  quote.hash = "00";
  quote.subject = "CN=a\"b;c=d";
  EXPECT_EQ(xfcc_value(quote), "Hash=00;Subject=\"CN=a\\\"b;c=d\"") << "a quote inside cannot end the value";
  EXPECT_EQ(xfcc_value({}), "") << "no certificate, no header";
  EXPECT_TRUE(identity_of(nullptr).empty());
}

}  // namespace
}  // namespace wsgate::http
