#include "http2/http1_request.hpp"

#include "http/handshake_check.hpp"

#include <gtest/gtest.h>

namespace wsgate::http2 {
namespace {

namespace bh = boost::beast::http;

TEST(Http1Request, ExtendedConnectBecomesAnUpgradeWithTheGatewaysKey) {
  RequestHead head;
  head.method = "CONNECT";
  head.protocol = "websocket";
  head.scheme = "https";
  head.authority = "example.com";
  head.path = "/chat?access_token=abc";
  head.fields = {{"sec-websocket-version", "13"}, {"cookie", "a=1"}, {"sec-websocket-protocol", "chat"},
                 {"cookie", "b=2"}};
  const auto req = to_http1(head, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(req.method(), bh::verb::get);
  EXPECT_EQ(req.target(), "/chat?access_token=abc");
  EXPECT_EQ(req[bh::field::host], "example.com");
  EXPECT_EQ(req[bh::field::cookie], "a=1; b=2");
  EXPECT_EQ(req.count(bh::field::cookie), 1u);
  EXPECT_EQ(req[bh::field::sec_websocket_protocol], "chat");
  EXPECT_EQ(req[bh::field::sec_websocket_key], "dGhlIHNhbXBsZSBub25jZQ==");
  // The same checks an HTTP/1.1 upgrade passes.
  EXPECT_TRUE(http::wants_websocket(req));
  EXPECT_EQ(http::check_request(req), http::RequestProblem::none);
  EXPECT_EQ(http::check_websocket_handshake(req), http::HandshakeProblem::none);
}

TEST(Http1Request, AStreamedBodyGoesChunkedWhateverLengthTheClientClaimed) {
  RequestHead head;
  head.method = "POST";
  head.scheme = "https";
  head.authority = "example.com";
  head.path = "/socket.io/?EIO=4&transport=polling&sid=x";
  // A length that is not the body's would leave a backend waiting, or reading the next request.
  head.fields = {{"content-type", "text/plain"}, {"content-length", "999"}, {"host", "example.com"}};
  const auto req = to_http1(head, "");
  EXPECT_EQ(req.method(), bh::verb::post);
  EXPECT_EQ(req.count(bh::field::content_length), 0u);
  EXPECT_EQ(req[bh::field::transfer_encoding], "chunked");
  EXPECT_EQ(req.count(bh::field::host), 1u);
  EXPECT_FALSE(http::wants_websocket(req));
  EXPECT_EQ(http::check_request(req), http::RequestProblem::none);
  EXPECT_EQ(chunk("40"), "2\r\n40\r\n");
  EXPECT_EQ(chunk(std::string(300, 'a')).substr(0, 5), "12c\r\n");
  EXPECT_EQ(chunk(""), "0\r\n\r\n");

  head.ends_stream = true;  // no DATA at all
  const auto empty = to_http1(head, "");
  EXPECT_EQ(empty[bh::field::content_length], "0");
  EXPECT_EQ(empty.count(bh::field::transfer_encoding), 0u);
  head.method = "GET";
  EXPECT_EQ(to_http1(head, "").count(bh::field::content_length), 0u);
}

}  // namespace
}  // namespace wsgate::http2
