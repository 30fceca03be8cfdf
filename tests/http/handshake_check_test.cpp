#include "http/handshake_check.hpp"

#include <gtest/gtest.h>

namespace wsgate::http {
namespace {

namespace bh = boost::beast::http;

RequestHeader upgrade_request() {
  RequestHeader req;
  req.method(bh::verb::get);
  req.target("/chat");
  req.version(11);
  req.set(bh::field::host, "example.com");
  req.set(bh::field::upgrade, "websocket");
  req.set(bh::field::connection, "keep-alive, Upgrade");
  req.set(bh::field::sec_websocket_version, "13");
  req.set(bh::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");  // RFC 6455 1.3
  return req;
}

TEST(HandshakeCheck, AcceptsRfcExample) {
  const auto req = upgrade_request();
  EXPECT_TRUE(wants_websocket(req));
  EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::none);
}

TEST(HandshakeCheck, AcceptIsRfcExample) {
  AcceptText text;
  EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ==", text), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455 1.3
}

TEST(HandshakeCheck, WantsWebsocketNeedsBothHeaders) {
  auto req = upgrade_request();
  req.set(bh::field::connection, "keep-alive");
  EXPECT_FALSE(wants_websocket(req));
  req = upgrade_request();
  req.set(bh::field::upgrade, "h2c");
  EXPECT_FALSE(wants_websocket(req));
  req = upgrade_request();
  req.set(bh::field::upgrade, "WebSocket");  // case-insensitive token
  EXPECT_TRUE(wants_websocket(req));
}

// Issue 16: "Host: x/../y" and "Host: a@x" were accepted and copied into X-Forwarded-Host.
TEST(RequestCheck, HostGrammarAndExpect) {
  auto req = upgrade_request();
  for (const char* bad : {"x/../y", "a@x", "a b", "x:y"}) {
    req.set(bh::field::host, bad);
    EXPECT_EQ(check_request(req), RequestProblem::bad_host) << bad;
  }
  req.set(bh::field::host, "[::1]:8080");
  EXPECT_EQ(check_request(req), RequestProblem::none);
  req.set(bh::field::expect, "100-Continue");
  EXPECT_EQ(check_request(req), RequestProblem::none);
  req.set(bh::field::expect, "something-else");
  EXPECT_EQ(check_request(req), RequestProblem::expectation);
}

// RFC 9110 9.3.8. A TRACE with a body once made the forwarded request's builder throw.
TEST(RequestCheck, TraceCarriesNoContent) {
  RequestHeader req;
  req.method(bh::verb::trace);
  req.target("/");
  req.set(bh::field::host, "h");
  EXPECT_EQ(check_request(req), RequestProblem::none);
  req.set(bh::field::content_length, "0");
  EXPECT_EQ(check_request(req), RequestProblem::none);
  req.set(bh::field::content_length, "3");
  EXPECT_EQ(check_request(req), RequestProblem::trace_content);
  req.erase(bh::field::content_length);
  req.set(bh::field::transfer_encoding, "chunked");
  EXPECT_EQ(check_request(req), RequestProblem::trace_content);
  req.method(bh::verb::post);
  EXPECT_EQ(check_request(req), RequestProblem::none);
}

TEST(HandshakeCheck, NoBodyOnAnUpgrade) {
  auto req = upgrade_request();
  req.set(bh::field::content_length, "0");
  EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::none);
  req.set(bh::field::content_length, "5");
  EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::has_body);
  req.erase(bh::field::content_length);
  req.set(bh::field::transfer_encoding, "chunked");
  EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::has_body);
}

// Every request, upgrade or not, before it is routed.
TEST(RequestCheck, HostAndTransferEncoding) {
  auto req = upgrade_request();
  EXPECT_EQ(check_request(req), RequestProblem::none);
  req.erase(bh::field::host);
  EXPECT_EQ(check_request(req), RequestProblem::host_count);
  EXPECT_EQ(to_string(check_request(req)), "exactly one Host header is required");
  req.insert(bh::field::host, "a.example");
  req.insert(bh::field::host, "b.example");
  EXPECT_EQ(check_request(req), RequestProblem::host_count);
  req = upgrade_request();
  req.version(10);
  req.erase(bh::field::host);
  EXPECT_EQ(check_request(req), RequestProblem::none) << "HTTP/1.0 needs no Host";
  req = upgrade_request();
  req.set(bh::field::transfer_encoding, "Chunked");
  EXPECT_EQ(check_request(req), RequestProblem::none);
  for (const char* coding : {"gzip, chunked", "chunked, identity", "identity", ""}) {
    req.set(bh::field::transfer_encoding, coding);
    EXPECT_EQ(check_request(req), RequestProblem::transfer_coding) << coding;
  }
  req.set(bh::field::transfer_encoding, "chunked");
  req.insert(bh::field::transfer_encoding, "chunked");
  EXPECT_EQ(check_request(req), RequestProblem::transfer_coding) << "twice";
}

TEST(HandshakeCheck, EachProblem) {
  auto req = upgrade_request();
  req.method(bh::verb::post);
  EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::not_get);
  req = upgrade_request();
  req.version(10);
  EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::not_http11);
  req = upgrade_request();
  req.set(bh::field::sec_websocket_version, "8");
  EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::bad_version);
  req = upgrade_request();
  req.erase(bh::field::sec_websocket_version);
  EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::bad_version);
  for (const char* key : {"", "short==", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZ!==",
                          "dGhlIHNhbXBsZSBub25jZQ=="
                          "x"}) {
    req = upgrade_request();
    req.set(bh::field::sec_websocket_key, key);
    EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::bad_key) << key;
  }
  req = upgrade_request();
  req.erase(bh::field::sec_websocket_key);
  EXPECT_EQ(check_websocket_handshake(req), HandshakeProblem::bad_key);
}

TEST(OriginAllowed, EmptyListAllowsAll) {
  EXPECT_TRUE(origin_allowed({}, "https://evil.example"));
  EXPECT_TRUE(origin_allowed({}, ""));
}

TEST(OriginAllowed, ExactMatchOnly) {
  const std::vector<std::string> allowed{"https://app.example.com"};
  EXPECT_TRUE(origin_allowed(allowed, "https://app.example.com"));
  EXPECT_TRUE(origin_allowed(allowed, "HTTPS://APP.EXAMPLE.COM"));
  EXPECT_FALSE(origin_allowed(allowed, "https://app.example.com.evil"));
  EXPECT_FALSE(origin_allowed(allowed, "http://app.example.com"));
  EXPECT_TRUE(origin_allowed(allowed, "")) << "no Origin: no browser, no borrowed cookie";
  EXPECT_FALSE(origin_allowed(allowed, "null")) << "a sandboxed or file: page";
}

}  // namespace
}  // namespace wsgate::http
