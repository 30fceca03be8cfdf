#include "gateway/header_rewrite.hpp"

#include <gtest/gtest.h>

namespace wsgate::gateway {
namespace {

namespace http = boost::beast::http;

TEST(HeaderRewrite, UpgradeRequestKeepsWebsocketHeadersAndDropsHopByHop) {
  http::request_header<> req;
  req.method(http::verb::get);
  req.target("/chat");
  req.set(http::field::host, "chat.example.com");
  req.set(http::field::connection, "Upgrade, X-Secret-Hop");
  req.set(http::field::upgrade, "websocket");
  req.set("X-Secret-Hop", "1");
  req.set(http::field::keep_alive, "timeout=5");
  req.set(http::field::proxy_authorization, "Basic abc");
  req.set(http::field::te, "trailers");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_protocol, "chat.v1");
  req.set(http::field::sec_websocket_extensions, "permessage-deflate");
  rewrite_request(req, {"10.1.2.3", true, true});

  EXPECT_EQ(req[http::field::connection], "Upgrade");
  EXPECT_EQ(req[http::field::upgrade], "websocket");
  EXPECT_EQ(req.count("X-Secret-Hop"), 0u);
  EXPECT_EQ(req.count(http::field::keep_alive), 0u);
  EXPECT_EQ(req.count(http::field::proxy_authorization), 0u);
  EXPECT_EQ(req.count(http::field::te), 0u);
  // The handshake itself passes unchanged, so the backend's answer is valid for the client.
  EXPECT_EQ(req[http::field::sec_websocket_key], "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(req[http::field::sec_websocket_protocol], "chat.v1");
  EXPECT_EQ(req[http::field::sec_websocket_extensions], "permessage-deflate");
  EXPECT_EQ(req[http::field::host], "chat.example.com");
  EXPECT_EQ(req["X-Forwarded-For"], "10.1.2.3");
  EXPECT_EQ(req["X-Forwarded-Proto"], "https");
  EXPECT_EQ(req["X-Forwarded-Host"], "chat.example.com");
}

TEST(HeaderRewrite, ForwardedForAppends) {
  http::request_header<> req;
  req.set(http::field::host, "h");
  req.set("X-Forwarded-For", "192.0.2.1");
  req.set("X-Forwarded-Proto", "https");  // a client's claim is replaced, not trusted
  rewrite_request(req, {"10.0.0.9", false, false});
  EXPECT_EQ(req["X-Forwarded-For"], "192.0.2.1, 10.0.0.9");
  EXPECT_EQ(req["X-Forwarded-Proto"], "http");
  EXPECT_EQ(req.count(http::field::connection), 0u);
  EXPECT_EQ(req.count(http::field::upgrade), 0u);
}

TEST(HeaderRewrite, PlainRequestLosesTransferEncoding) {
  http::request_header<> req;
  req.set(http::field::host, "h");
  req.set(http::field::transfer_encoding, "chunked");
  req.set(http::field::connection, "keep-alive");
  rewrite_request(req, {"1.1.1.1", false, false});
  EXPECT_EQ(req.count(http::field::transfer_encoding), 0u);
  EXPECT_EQ(req.count(http::field::connection), 0u);
}

TEST(HeaderRewrite, SwitchingProtocolsResponse) {
  http::response_header<> res;
  res.result(http::status::switching_protocols);
  res.set(http::field::connection, "upgrade");
  res.set(http::field::upgrade, "websocket");
  res.set(http::field::sec_websocket_accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  res.set(http::field::keep_alive, "timeout=5");
  rewrite_response(res, true);
  EXPECT_EQ(res[http::field::connection], "Upgrade");
  EXPECT_EQ(res[http::field::upgrade], "websocket");
  EXPECT_EQ(res[http::field::sec_websocket_accept], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(res.count(http::field::keep_alive), 0u);
}

}  // namespace
}  // namespace wsgate::gateway
