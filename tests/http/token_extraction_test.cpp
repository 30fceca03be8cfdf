#include "http/token_extraction.hpp"

#include <gtest/gtest.h>

namespace wsgate::http {
namespace {

namespace bh = boost::beast::http;
using Kind = TokenSource::Kind;

const std::vector<TokenSource> kAll = {
    {Kind::header, "Authorization"}, {Kind::query, "access_token"}, {Kind::cookie, "access_token"}, {Kind::protocol, ""}};

wsgate::http::RequestHeader request(std::string target = "/chat") {
  wsgate::http::RequestHeader req;
  req.method(bh::verb::get);
  req.target(target);
  req.set(bh::field::host, "h");
  return req;
}

TEST(FindToken, BearerHeaderAnyCase) {
  auto req = request();
  req.set(bh::field::authorization, "bearer abc.def.ghi");
  auto t = find_token(req, kAll);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc.def.ghi");
  EXPECT_FALSE(t->from_protocol);
  req.set(bh::field::authorization, "Basic dXNlcjpwYXNz");
  EXPECT_FALSE(find_token(req, kAll));
}

TEST(FindToken, QueryParameterAndItsRemoval) {
  auto req = request("/chat/room?x=1&access_token=abc.def.ghi&y=%20z");
  auto t = find_token(req, kAll);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc.def.ghi");
  EXPECT_EQ(target_without_tokens(req.target(), kAll), "/chat/room?x=1&y=%20z");
  EXPECT_EQ(target_without_tokens("/chat?access_token=t1", kAll), "/chat");
  EXPECT_EQ(target_without_tokens("/chat?access%5Ftoken=t1&access_token=t2", kAll), "/chat");
  EXPECT_EQ(target_without_tokens("/chat?a=1", kAll), "/chat?a=1");
}

TEST(FindToken, CookieInAnyCookieFieldAndItsRemoval) {
  auto req = request();
  req.insert(bh::field::cookie, "theme=dark");
  req.insert(bh::field::user_agent, "test");
  req.insert(bh::field::cookie, "lang=en; access_token=abc.def.ghi");  // a second Cookie field
  auto t = find_token(req, kAll);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc.def.ghi");
  auto none = request();
  none.set(bh::field::cookie, "my_access_token=x; access_token_old=y");
  EXPECT_FALSE(find_token(none, kAll));
  EXPECT_EQ(cookies_without_tokens("lang=en; access_token=abc; theme=dark", kAll), "lang=en; theme=dark");
  EXPECT_EQ(cookies_without_tokens("access_token=abc", kAll), "");
  EXPECT_EQ(cookies_without_tokens("my_access_token=x", kAll), "my_access_token=x");
}

TEST(FindToken, SubprotocolPairAcrossLinesAndItsRemoval) {
  auto alone = request();
  alone.set(bh::field::sec_websocket_protocol, "bearer, abc.def.ghi");
  auto t = find_token(alone, kAll);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc.def.ghi");
  EXPECT_TRUE(t->from_protocol);
  auto split = request();
  split.insert(bh::field::sec_websocket_protocol, "chat.v2, bearer");
  split.insert(bh::field::sec_websocket_protocol, "abc.def.ghi");
  EXPECT_EQ(find_token(split, kAll)->token, "abc.def.ghi");
  auto offer = protocols_without_bearer("chat.v2, bearer, abc.def.ghi, chat.v1");
  EXPECT_EQ(offer.offer, "chat.v2, chat.v1");
  EXPECT_TRUE(offer.had_bearer);
  EXPECT_EQ(protocols_without_bearer("chat, bearer").offer, "chat");
  EXPECT_FALSE(protocols_without_bearer("chat").had_bearer);
}

TEST(FindToken, SourcesInConfiguredOrderAndOnlyThose) {
  auto req = request("/chat?access_token=from-query");
  req.set(bh::field::authorization, "Bearer from-header");
  EXPECT_EQ(find_token(req, kAll)->token, "from-header");
  const std::vector<TokenSource> query_only = {{Kind::query, "access_token"}};
  EXPECT_EQ(find_token(req, query_only)->token, "from-query");
  auto empty = request("/chat?access_token=");
  EXPECT_FALSE(find_token(empty, kAll));  // an empty token is no token
}

}  // namespace
}  // namespace wsgate::http
