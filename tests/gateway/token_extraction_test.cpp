#include "gateway/token_extraction.hpp"

#include <gtest/gtest.h>

namespace wsgate::gateway {
namespace {

namespace http = boost::beast::http;
using Kind = config::TokenSource::Kind;

const std::vector<config::TokenSource> kAll = {
    {Kind::header, "Authorization"}, {Kind::query, "access_token"}, {Kind::cookie, "access_token"}, {Kind::protocol, ""}};

http::request_header<> request(std::string target = "/chat") {
  http::request_header<> req;
  req.method(http::verb::get);
  req.target(target);
  req.set(http::field::host, "h");
  return req;
}

TEST(TakeToken, BearerHeaderAnyCase) {
  auto req = request();
  req.set(http::field::authorization, "bearer abc.def.ghi");
  auto t = take_token(req, kAll);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc.def.ghi");
  EXPECT_FALSE(t->from_protocol);
  req.set(http::field::authorization, "Basic dXNlcjpwYXNz");
  EXPECT_FALSE(take_token(req, kAll));
}

TEST(TakeToken, QueryParameterIsCutFromTheTarget) {
  auto req = request("/chat/room?x=1&access_token=abc.def.ghi&y=%20z");
  auto t = take_token(req, kAll);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc.def.ghi");
  EXPECT_EQ(req.target(), "/chat/room?x=1&y=%20z");
  auto only = request("/chat?access_token=t1");
  take_token(only, kAll);
  EXPECT_EQ(only.target(), "/chat");
}

TEST(TakeToken, CookieInAnyCookieField) {
  auto req = request();
  req.insert(http::field::cookie, "theme=dark");
  req.insert(http::field::user_agent, "test");
  req.insert(http::field::cookie, "lang=en; access_token=abc.def.ghi");  // a second Cookie field
  auto t = take_token(req, kAll);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc.def.ghi");
  auto none = request();
  none.set(http::field::cookie, "my_access_token=x; access_token_old=y");
  EXPECT_FALSE(take_token(none, kAll));
}

TEST(TakeToken, SubprotocolPairIsRemovedFromTheOffer) {
  auto alone = request();
  alone.set(http::field::sec_websocket_protocol, "bearer, abc.def.ghi");
  auto t = take_token(alone, kAll);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->token, "abc.def.ghi");
  EXPECT_TRUE(t->from_protocol);
  EXPECT_EQ(alone.count(http::field::sec_websocket_protocol), 0u);
  auto mixed = request();
  mixed.set(http::field::sec_websocket_protocol, "chat.v2, bearer, abc.def.ghi, chat.v1");
  ASSERT_TRUE(take_token(mixed, kAll));
  EXPECT_EQ(mixed[http::field::sec_websocket_protocol], "chat.v2, chat.v1");
}

TEST(TakeToken, SourcesInConfiguredOrderAndOnlyThose) {
  auto req = request("/chat?access_token=from-query");
  req.set(http::field::authorization, "Bearer from-header");
  EXPECT_EQ(take_token(req, kAll)->token, "from-header");
  EXPECT_EQ(req.target(), "/chat?access_token=from-query");  // a later source is left alone
  const std::vector<config::TokenSource> query_only = {{Kind::query, "access_token"}};
  EXPECT_EQ(take_token(req, query_only)->token, "from-query");
  auto empty = request("/chat?access_token=");
  EXPECT_FALSE(take_token(empty, kAll));  // an empty token is no token
}

}  // namespace
}  // namespace wsgate::gateway
