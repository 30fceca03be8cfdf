#include "http2/request_head.hpp"

#include <gtest/gtest.h>

namespace wsgate::http2 {
namespace {

// What Chromium sends for new WebSocket("wss://example.com/chat?x=1") over HTTP/2.
RequestHead websocket_head() {
  RequestHead head;
  head.method = "CONNECT";
  head.protocol = "websocket";
  head.scheme = "https";
  head.authority = "example.com";
  head.path = "/chat?x=1";
  head.fields = {{"sec-websocket-version", "13"}, {"origin", "https://example.com"},
                 {"sec-websocket-extensions", "permessage-deflate; client_max_window_bits"}};
  return head;
}

TEST(RequestHead, AcceptsBrowserWebsocketOpening) {
  const auto head = websocket_head();
  EXPECT_TRUE(head.websocket());
  EXPECT_EQ(check_head(head), HeadProblem::none);
}

TEST(RequestHead, AcceptsPlainGetWithHostInsteadOfAuthority) {
  RequestHead head;
  head.method = "GET";
  head.scheme = "https";
  head.path = "/socket.io/?EIO=4&transport=polling";
  head.fields = {{"host", "example.com:8443"}};
  head.ends_stream = true;
  EXPECT_EQ(check_head(head), HeadProblem::none);
  EXPECT_EQ(authority_of(head), "example.com:8443");
}

TEST(RequestHead, RefusesWhatNoWebsocketOpeningMayCarry) {
  auto head = websocket_head();
  head.protocol = "connect-udp";
  EXPECT_EQ(check_head(head), HeadProblem::unknown_protocol);
  EXPECT_EQ(status_for(check_head(head)), 501);

  head = websocket_head();
  head.protocol.clear();  // CONNECT to a host: a forward proxy's job
  EXPECT_EQ(check_head(head), HeadProblem::plain_connect);
  EXPECT_EQ(status_for(check_head(head)), 405);

  head = websocket_head();
  head.ends_stream = true;
  EXPECT_EQ(check_head(head), HeadProblem::websocket_body);

  head = websocket_head();
  head.fields[0].second = "8";
  EXPECT_EQ(check_head(head), HeadProblem::bad_version);
  head = websocket_head();
  head.fields.emplace_back("sec-websocket-version", "13");
  EXPECT_EQ(check_head(head), HeadProblem::bad_version);

  // A key of the client's own would let it choose what the backend's accept is checked against.
  head = websocket_head();
  head.fields.emplace_back("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(check_head(head), HeadProblem::has_key);
}

TEST(RequestHead, RefusesHostileFieldsPathsAndAuthorities) {
  auto head = websocket_head();
  head.fields.emplace_back("x-user", "alice\r\nx-admin: 1");
  EXPECT_EQ(check_head(head), HeadProblem::bad_field);
  head = websocket_head();
  head.method = "GET /admin HTTP/1.1";
  EXPECT_EQ(check_head(head), HeadProblem::bad_field);
  head = websocket_head();
  head.fields.emplace_back("x user", "a");
  EXPECT_EQ(check_head(head), HeadProblem::bad_field);
  head = websocket_head();
  head.fields.emplace_back("x-nul", std::string("a\0b", 3));
  EXPECT_EQ(check_head(head), HeadProblem::bad_field);

  for (const char* path : {"", "*", "http://other/chat", "/chat x", "/a\tb"}) {
    head = websocket_head();
    head.path = path;
    EXPECT_EQ(check_head(head), HeadProblem::bad_path) << path;
  }
  for (const char* authority : {"a@example.com", "example.com/x", "x:y:z"}) {
    head = websocket_head();
    head.authority = authority;
    EXPECT_EQ(check_head(head), HeadProblem::bad_authority) << authority;
  }
  head = websocket_head();
  head.authority.clear();
  EXPECT_EQ(check_head(head), HeadProblem::bad_authority);

  // RFC 9113 8.3.1: Host and :authority must agree, or routing and the backend see two hosts.
  head = websocket_head();
  head.fields.emplace_back("host", "admin.internal");
  EXPECT_EQ(check_head(head), HeadProblem::host_mismatch);
  head = websocket_head();
  head.authority.clear();
  head.method = "GET";
  head.protocol.clear();
  head.fields = {{"host", "a.example"}, {"host", "b.example"}};
  EXPECT_EQ(check_head(head), HeadProblem::host_mismatch);
}

}  // namespace
}  // namespace wsgate::http2
