#include "gateway/proxy/hash_key.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace wsgate::gateway {
namespace {

namespace http = boost::beast::http;
using Kind = config::HashKeySource::Kind;

wsgate::http::RequestHeader request(std::initializer_list<std::pair<const char*, const char*>> fields,
                               const char* target = "/chat?room=7&client=abc") {
  wsgate::http::RequestHeader req;
  req.method(http::verb::get);
  req.target(target);
  for (const auto& [k, v] : fields) req.insert(k, v);
  return req;
}

std::vector<config::IpNetwork> nets(std::initializer_list<const char*> texts) {
  std::vector<config::IpNetwork> out;
  for (const auto* t : texts) out.push_back(*config::IpNetwork::parse(t));
  return out;
}

TEST(ClientAddress, ForwardedForOnlyFromTrustedProxies) {
  const auto req = request({{"X-Forwarded-For", "6.6.6.6, 203.0.113.9"}, {"X-Forwarded-For", "10.0.0.2"}});
  // An untrusted peer's header is ignored: anyone can write one.
  EXPECT_EQ(client_address("198.51.100.1", req, nets({"10.0.0.0/8"})), "198.51.100.1");
  // From a trusted proxy: the rightmost entry that is not itself trusted, not the spoofable first.
  EXPECT_EQ(client_address("10.0.0.1", req, nets({"10.0.0.0/8"})), "203.0.113.9");
  EXPECT_EQ(client_address("10.0.0.1", request({}), nets({"10.0.0.0/8"})), "10.0.0.1");
}

// Issue 17: "?sub=" or "Cookie: sub=" was hashed as a key, so every client sending it shared one
// backend; an empty header was already absent. Empty is absent for every source.
TEST(HashKey, EmptyValuesAreAbsentForEverySource) {
  const std::vector<config::HashKeySource> sources = {
      {Kind::claim, "sub"}, {Kind::header, "X-Sub"}, {Kind::cookie, "sub"}, {Kind::query, "sub"}, {Kind::ip, ""}};
  const auto claims = boost::json::parse(R"({"sub":""})").as_object();
  const auto req = request({{"X-Sub", ""}, {"Cookie", "sub="}}, "/chat?sub=");
  EXPECT_EQ(hash_key_of(req, sources, &claims, "192.0.2.1"), "ip:192.0.2.1");
  const auto null_claim = boost::json::parse(R"({"sub":null})").as_object();
  EXPECT_EQ(hash_key_of(req, sources, &null_claim, "192.0.2.1"), "ip:192.0.2.1");
  EXPECT_EQ(hash_key_of(request({{"Cookie", "sub=; sub2=x"}}, "/chat?sub=b"), sources, nullptr, ""), "query:b");
}

TEST(HashKey, FirstSourcePresentWinsPrefixedByKind) {
  const auto claims = boost::json::parse(R"({"sub":"alice","tenant":42})").as_object();
  const auto req = request({{"X-Session", "s-1"}, {"Cookie", "a=1; sticky=xyz"}});
  auto key = [&](std::vector<config::HashKeySource> s, const boost::json::object* c = nullptr) {
    return hash_key_of(req, s, c, "192.0.2.1");
  };
  EXPECT_EQ(key({{Kind::claim, "sub"}, {Kind::ip, ""}}, &claims), "claim:alice");
  EXPECT_EQ(key({{Kind::claim, "tenant"}}, &claims), "claim:42");
  EXPECT_EQ(key({{Kind::claim, "sub"}, {Kind::ip, ""}}), "ip:192.0.2.1");  // no claims: fallback
  EXPECT_EQ(key({{Kind::header, "x-session"}}), "header:s-1");
  EXPECT_EQ(key({{Kind::cookie, "sticky"}}), "cookie:xyz");
  EXPECT_EQ(key({{Kind::query, "client"}}), "query:abc");
  EXPECT_EQ(key({{Kind::header, "X-Missing"}, {Kind::cookie, "nope"}, {Kind::query, "nope"}}), std::nullopt);
}

}  // namespace
}  // namespace wsgate::gateway
