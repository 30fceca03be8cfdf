#include "http/forwarded_request.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <sstream>

namespace wsgate::http {
namespace {

namespace bh = boost::beast::http;
using Kind = TokenSource::Kind;
using Request = bh::request<bh::string_body, wsgate::http::Fields>;

const std::vector<TokenSource> kAllSources = {
    {Kind::header, "Authorization"}, {Kind::query, "access_token"}, {Kind::cookie, "access_token"}, {Kind::protocol, ""}};

// Parses `text` as the gateway does, counting the head's fields before any trailer is appended.
struct Parsed {
  Request message;
  std::size_t head_fields = 0;
};
Parsed parse_client(const std::string& text) {
  bh::request_parser<bh::string_body, wsgate::http::Allocator> parser;
  parser.eager(false);
  parser.header_limit(1 << 20);  // the most max_header_bytes allows
  boost::beast::error_code ec;
  std::size_t used = 0, head_fields = 0;
  while (used < text.size() && !parser.is_done()) {
    used += parser.put(boost::asio::buffer(text.data() + used, text.size() - used), ec);
    if (parser.is_header_done() && head_fields == 0)
      head_fields = static_cast<std::size_t>(std::distance(parser.get().begin(), parser.get().end()));
    if (ec) break;
  }
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_done());
  return {parser.release(), head_fields};
}

// What the backend reads: exactly one request, all of it.
Request parse_backend(const std::string& bytes) {
  bh::request_parser<bh::string_body, wsgate::http::Allocator> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  const auto used = parser.put(boost::asio::buffer(bytes), ec);
  EXPECT_FALSE(ec) << ec.message() << " in\n" << bytes;
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(used, bytes.size()) << "bytes after the request:\n" << bytes;
  return parser.release();
}

ForwardContext context(bool upgrade = true) {
  ForwardContext c;
  c.peer_address = "10.1.2.3";
  c.client_address = "10.1.2.3";
  c.upgrade = upgrade;
  c.token_sources = kAllSources;
  c.claim_fields = {{"X-User-Id", "alice"}};
  return c;
}

Request forward(const std::string& text, const ForwardContext& c, bool* offered_bearer = nullptr) {
  auto parsed = parse_client(text);
  auto out = build_forwarded_request({parsed.message, parsed.head_fields}, c);
  EXPECT_EQ(out.problem, BuildProblem::none);
  if (offered_bearer) *offered_bearer = out.offered_bearer;
  return parse_backend(out.bytes);
}

const std::string kUpgrade =
    "GET /chat HTTP/1.1\r\nHost: chat.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

TEST(ForwardedRequest, UpgradeKeepsTheHandshakeAndDropsHopByHop) {
  auto req = forward(kUpgrade + "Connection: X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
                     "Proxy-Authorization: Basic abc\r\nTE: trailers\r\nSec-WebSocket-Protocol: chat.v1\r\n"
                     "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", context());
  EXPECT_EQ(req[bh::field::connection], "Upgrade");
  EXPECT_EQ(req[bh::field::upgrade], "websocket");
  for (auto gone : {"X-Secret-Hop", "Keep-Alive", "Proxy-Authorization", "TE"}) EXPECT_EQ(req.count(gone), 0u) << gone;
  // The handshake itself passes unchanged, so the backend's answer is valid for the client.
  EXPECT_EQ(req[bh::field::sec_websocket_key], "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(req[bh::field::sec_websocket_protocol], "chat.v1");
  EXPECT_EQ(req[bh::field::sec_websocket_extensions], "permessage-deflate");
  EXPECT_EQ(req[bh::field::host], "chat.example.com");
  EXPECT_EQ(req["X-Forwarded-For"], "10.1.2.3");
  EXPECT_EQ(req["X-Real-IP"], "10.1.2.3");
  EXPECT_EQ(req["X-Forwarded-Proto"], "http");
  EXPECT_EQ(req["X-Forwarded-Host"], "chat.example.com");
  EXPECT_EQ(req["X-User-Id"], "alice");
}

// Issue 16: "Connection: keep-alive, X-User-Id" removed the gateway's own X-User-Id, and
// "Connection: Host" the Host.
TEST(ForwardedRequest, ConnectionCannotRemoveOwnedFieldsOrHost) {
  auto req = forward(kUpgrade + "Connection: keep-alive, X-User-Id, Host, Sec-WebSocket-Key\r\n"
                     "X-User-Id: admin\r\nX_User_Id: admin\r\nx-user_id: admin\r\n\r\n", context());
  EXPECT_EQ(req.count("X-User-Id"), 1u);
  EXPECT_EQ(req["X-User-Id"], "alice");
  for (const auto& f : req) EXPECT_NE(f.value(), "admin") << f.name_string();
  EXPECT_EQ(req[bh::field::host], "chat.example.com");
  EXPECT_EQ(req.count(bh::field::sec_websocket_key), 1u);
}

TEST(ForwardedRequest, OwnedFieldsFromAClientNeverPass) {
  auto req = forward(kUpgrade + "X-Forwarded-For: 192.0.2.1\r\nX_Forwarded_Proto: https\r\n"
                     "X-Real-IP: 192.0.2.7\r\nForwarded: for=192.0.2.8\r\nx_forwarded_host: evil\r\n\r\n", context());
  EXPECT_EQ(req["X-Forwarded-For"], "10.1.2.3");
  EXPECT_EQ(req["X-Forwarded-Proto"], "http");
  EXPECT_EQ(req["X-Real-IP"], "10.1.2.3");
  EXPECT_EQ(req.count("Forwarded"), 0u);
  EXPECT_EQ(req.count("X-Forwarded-Host"), 1u);
  EXPECT_EQ(req["X-Forwarded-Host"], "chat.example.com");
  for (const auto& f : req) EXPECT_EQ(f.name_string().find('_'), std::string_view::npos) << f.name_string();
}

// Issue 33: X-Forwarded-Client-Cert is the gateway's: a client's copies go, with or without a
// verified certificate of its own.
TEST(ForwardedRequest, ClientCertificateFieldIsTheGatewaysAlone) {
  const std::string forged = kUpgrade + "X-Forwarded-Client-Cert: Hash=00;Subject=\"CN=admin\"\r\n"
                                        "x_forwarded_client_cert: URI=spiffe://evil\r\n\r\n";
  auto none = forward(forged, context());
  EXPECT_EQ(none.count("X-Forwarded-Client-Cert"), 0u);
  auto with = context();
  const std::string value = "Hash=ab;Subject=\"CN=alice\";URI=spiffe://test/alice";
  with.client_certificate = value;
  auto req = forward(forged, with);
  EXPECT_EQ(req.count("X-Forwarded-Client-Cert"), 1u);
  EXPECT_EQ(req["X-Forwarded-Client-Cert"], value);
  for (const auto& f : req) EXPECT_EQ(f.name_string().find('_'), std::string_view::npos) << f.name_string();
}

TEST(ForwardedRequest, TrustedProxysForwardedForIsExtended) {
  auto c = context();
  c.peer_is_trusted_proxy = true;
  c.client_address = "192.0.2.1";
  auto req = forward(kUpgrade + "X-Forwarded-For: 192.0.2.1\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n", c);
  EXPECT_EQ(req["X-Forwarded-For"], "192.0.2.1, 10.1.2.3");
  EXPECT_EQ(req["X-Real-IP"], "192.0.2.1");
}

// Issue 16: a signed sub of "alice\r\nX-Admin: 1" became header lines.
TEST(ForwardedRequest, ClaimThatIsNotAFieldValueIsRefused) {
  auto parsed = parse_client(kUpgrade + "\r\n");
  for (const std::string& bad : std::vector<std::string>{"alice\r\nX-Admin: 1", std::string("a\0b", 3), "a\nb", " alice", "alice\t", "a\x7f"}) {
    auto c = context();
    c.claim_fields = {{"X-User-Id", bad}};
    auto out = build_forwarded_request({parsed.message, parsed.head_fields}, c);
    EXPECT_EQ(out.problem, BuildProblem::claim_not_a_field_value);
    EXPECT_TRUE(out.bytes.empty());
  }
  auto c = context();
  c.claim_fields = {{"X-User-Id", "Zoë O'Brien (admin) <zoe@example.com>"}};  // obs-text is a value
  EXPECT_EQ(build_forwarded_request({parsed.message, parsed.head_fields}, c).problem, BuildProblem::none);
}

// Issue 16: trailer fields of a chunked body reached the backend as header fields.
TEST(ForwardedRequest, TrailersAreDroppedNotMerged) {
  auto req = forward("POST /api HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n0\r\nOrigin: http://evil.example\r\nX-Smuggled: 1\r\n\r\n", context(false));
  EXPECT_EQ(req.body(), "hello");
  EXPECT_EQ(req[bh::field::content_length], "5");
  EXPECT_EQ(req.count(bh::field::transfer_encoding), 0u);
  EXPECT_EQ(req.count(bh::field::origin), 0u);
  EXPECT_EQ(req.count("X-Smuggled"), 0u);
}

// Issue 16: with the token in the header, the query's and the subprotocol's copies went through.
TEST(ForwardedRequest, EveryTokenSourceIsStrippedWhicheverWasUsed) {
  bool offered_bearer = false;
  auto req = forward("GET /chat?x=1&access_token=q.q.q&y=2 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer h.h.h\r\nAuthorization: Bearer x.x.x\r\n"
                     "Cookie: theme=dark; access_token=c.c.c\r\nCookie: access_token=d.d.d\r\n"
                     "Sec-WebSocket-Protocol: chat.v2, bearer\r\nSec-WebSocket-Protocol: p.p.p, chat.v1\r\n\r\n",
                     context(), &offered_bearer);
  EXPECT_EQ(req.target(), "/chat?x=1&y=2");
  EXPECT_EQ(req.count(bh::field::authorization), 0u);
  EXPECT_EQ(req.count(bh::field::cookie), 1u);
  EXPECT_EQ(req[bh::field::cookie], "theme=dark");
  EXPECT_EQ(req[bh::field::sec_websocket_protocol], "chat.v2, chat.v1");
  EXPECT_TRUE(offered_bearer);
  auto only = forward("GET /chat?access_token=q.q.q HTTP/1.1\r\nHost: h\r\n\r\n", context(false));
  EXPECT_EQ(only.target(), "/chat");
  // A route without token sources forwards them as they are.
  auto c = context(false);
  c.token_sources = {};
  auto open = forward("GET /x?access_token=a HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer b\r\n\r\n", c);
  EXPECT_EQ(open.target(), "/x?access_token=a");
  EXPECT_EQ(open[bh::field::authorization], "Bearer b");
}

TEST(ForwardedRequest, ExpectIsAnsweredByTheGatewayNotForwarded) {
  auto req = forward("POST /api HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
                     context(false));
  EXPECT_EQ(req.count(bh::field::expect), 0u);
  EXPECT_EQ(req.body(), "hi");
}

TEST(ForwardedRequest, SwitchingProtocolsResponse) {
  wsgate::http::ResponseHeader res;
  res.result(bh::status::switching_protocols);
  res.set(bh::field::connection, "upgrade, X-Hop");
  res.set(bh::field::upgrade, "websocket");
  res.set("X-Hop", "1");
  res.set(bh::field::sec_websocket_accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  res.set(bh::field::keep_alive, "timeout=5");
  rewrite_response(res, true);
  EXPECT_EQ(res[bh::field::connection], "Upgrade");
  EXPECT_EQ(res[bh::field::upgrade], "websocket");
  EXPECT_EQ(res[bh::field::sec_websocket_accept], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(res.count(bh::field::keep_alive), 0u);
  EXPECT_EQ(res.count("X-Hop"), 0u);
}

TEST(ForwardedRequest, TheGatewaysCookieReplacesABackendsOfTheSameName) {
  wsgate::http::ResponseHeader res;
  res.insert(bh::field::set_cookie, "wsg_aff=forged-by-backend; Path=/");
  res.insert(bh::field::set_cookie, " wsg_aff =spaced; Path=/");
  res.insert(bh::field::set_cookie, "wsg_aff_other=kept");
  res.insert(bh::field::set_cookie, "session=kept");
  set_gateway_cookie(res, "wsg_aff", "wsg_aff=signed; Path=/; HttpOnly");
  std::vector<std::string> cookies;
  for (auto [it, end] = res.equal_range(bh::field::set_cookie); it != end; ++it)
    cookies.emplace_back(it->value());
  EXPECT_EQ(cookies, (std::vector<std::string>{"wsg_aff_other=kept", "session=kept",
                                               "wsg_aff=signed; Path=/; HttpOnly"}));
}

TEST(RewriteTarget, StripAndReplaceAPrefix) {
  const PathRewrite strip{"/app1", "/"};
  EXPECT_EQ(rewrite_target("/app1/socket.io/?EIO=4&transport=polling", strip), "/socket.io/?EIO=4&transport=polling");
  EXPECT_EQ(rewrite_target("/app1", strip), "/");
  EXPECT_EQ(rewrite_target("/app1?x=1", strip), "/?x=1");
  EXPECT_EQ(rewrite_target("/app1/", strip), "/");
  const PathRewrite replace{"/app1/", "/v2/"};
  EXPECT_EQ(rewrite_target("/app1/rooms/7", replace), "/v2/rooms/7");
  EXPECT_EQ(rewrite_target("/app1/", replace), "/v2/");
  const PathRewrite no_slash{"/app1", "/v2"};
  EXPECT_EQ(rewrite_target("/app1/rooms", no_slash), "/v2/rooms");
  EXPECT_EQ(rewrite_target("/app1", no_slash), "/v2");
  // A string prefix may end mid-segment: the rest still starts a segment of its own.
  EXPECT_EQ(rewrite_target("/app1X/y", no_slash), "/v2/X/y");
  EXPECT_EQ(rewrite_target("/app1/x", {"/app1", ""}), "/app1/x") << "no rewrite";
}

// The Socket.IO case: the forwarded target is rewritten after the token is cut from it.
TEST(ForwardedRequest, RewriteAppliesToTheTargetWithoutTokens) {
  auto c = context(false);
  c.rewrite = {"/app1", "/"};
  auto req = forward("GET /app1/socket.io/?EIO=4&access_token=secret&t=1 HTTP/1.1\r\nHost: h\r\n\r\n", c);
  EXPECT_EQ(req.target(), "/socket.io/?EIO=4&t=1");
}

TEST(ForwardedRequest, HeaderRulesSetAndRemoveUnderEverySpelling) {
  HeaderRules rules;
  rules.set = {{"X-Env", "prod"}, {"X-Forwarded-For", "1.2.3.4"}, {"Host", "evil"}};
  rules.remove = {"X-Debug"};
  auto c = context();
  c.request_headers = &rules;
  auto req = forward(kUpgrade + "X-Env: client\r\nx_env: client2\r\nX-Debug: 1\r\nX_DEBUG: 2\r\nX-Other: kept\r\n\r\n", c);
  EXPECT_EQ(req.count("X-Env"), 1u);
  EXPECT_EQ(req["X-Env"], "prod");
  EXPECT_EQ(req.count("x_env"), 0u) << "a client's other spelling is replaced too";
  EXPECT_EQ(req.count("X-Debug") + req.count("X_DEBUG"), 0u);
  EXPECT_EQ(req["X-Other"], "kept");
  // A rule naming a gateway-owned field (which configuration refuses) still cannot win.
  EXPECT_EQ(req["X-Forwarded-For"], "10.1.2.3");
  EXPECT_EQ(req.count(bh::field::host), 1u);
  EXPECT_EQ(req[bh::field::host], "chat.example.com");
}

TEST(ForwardedRequest, OwnedFieldsForRules) {
  for (auto name : {"X-Forwarded-For", "x_forwarded_proto", "Forwarded", "X-Real-IP", "Host", "Connection", "Upgrade",
                    "Content-Length", "Transfer-Encoding", "Sec-WebSocket-Key", "sec-websocket-protocol", "Keep-Alive",
                    "TE", "Expect", "Transfer_Encoding", "proxy_connection", "CONTENT_LENGTH"})
    EXPECT_TRUE(is_gateway_owned_request_field(name)) << name;
  for (auto name : {"X-Env", "Authorization", "Cookie", "User-Agent"}) EXPECT_FALSE(is_gateway_owned_request_field(name)) << name;
  for (auto name : {"Set-Cookie", "Connection", "Upgrade", "Sec-WebSocket-Accept", "Content-Length", "Transfer-Encoding",
                    "transfer_encoding", "Keep_Alive"})
    EXPECT_TRUE(is_gateway_owned_response_field(name)) << name;
  for (auto name : {"Strict-Transport-Security", "Access-Control-Allow-Origin", "Cache-Control"})
    EXPECT_FALSE(is_gateway_owned_response_field(name)) << name;
}

// A TRACE with a body made Beast's prepare_payload throw, and the uncaught exception ended the
// gateway: one request took it down. Beast's fields also throw on a value over 64 KiB, which the
// joined Sec-WebSocket-Protocol lines of a head under a raised max_header_bytes reach. The builder
// writes the request itself now, and nothing a client sends makes it throw.
TEST(ForwardedRequest, NothingAClientSendsMakesTheBuilderThrow) {
  auto trace = parse_client("TRACE /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
  ForwardedRequest out;
  EXPECT_NO_THROW(out = build_forwarded_request({trace.message, trace.head_fields}, context(false)));
  auto req = parse_backend(out.bytes);
  EXPECT_EQ(req.method(), bh::verb::trace);
  EXPECT_EQ(req.body(), "abc");
  EXPECT_EQ(req[bh::field::content_length], "3");

  const std::string offer(40000, 'p');
  auto upgrade = parse_client(kUpgrade + "Sec-WebSocket-Protocol: " + offer + "a\r\nSec-WebSocket-Protocol: " + offer +
                              "b\r\n\r\n");
  EXPECT_NO_THROW(out = build_forwarded_request({upgrade.message, upgrade.head_fields}, context()));
  EXPECT_NE(out.bytes.find("\r\nSec-WebSocket-Protocol: " + offer + "a, " + offer + "b\r\n"), std::string::npos);
  EXPECT_TRUE(out.bytes.ends_with("\r\n\r\n"));
}

// What Beast's prepare_payload did, kept: a length where there is a body or the method defines
// one, none on an empty GET; HTTP/1.0 stays 1.0.
TEST(ForwardedRequest, ContentLengthAndVersion) {
  auto get = forward("GET /a HTTP/1.0\r\nHost: h\r\n\r\n", context(false));
  EXPECT_EQ(get.version(), 10);
  EXPECT_EQ(get.count(bh::field::content_length), 0u);
  auto post = forward("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", context(false));
  EXPECT_EQ(post[bh::field::content_length], "0");
  auto put = forward("PUT /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                     context(false));
  EXPECT_EQ(put[bh::field::content_length], "3");
  EXPECT_EQ(put.body(), "abc");
}

// An operator's rule and a claim on one field (configuration refuses it), and two claims on one
// field: one line, the claim's, the later claim's.
TEST(ForwardedRequest, OneLinePerClaimField) {
  HeaderRules rules;
  rules.set = {{"x_user_id", "operator"}};
  auto c = context();
  c.request_headers = &rules;
  c.claim_fields = {{"X-User-Id", "alice"}, {"X-Tenant", "t1"}, {"x-user-id", "bob"}};
  auto req = forward(kUpgrade + "\r\n", c);
  EXPECT_EQ(req.count("X-User-Id"), 1u);
  EXPECT_EQ(req["X-User-Id"], "bob");
  EXPECT_EQ(req["X-Tenant"], "t1");
  EXPECT_EQ(req.count("x_user_id"), 0u);
}

}  // namespace
}  // namespace wsgate::http

namespace wsgate::http {
namespace {

std::string beast_head(const ResponseHeader& res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

TEST(ForwardedRequest, AResponseHeadIsWrittenAsBeastWritesIt) {
  ResponseHeader switching;
  switching.result(bh::status::switching_protocols);
  switching.version(11);
  switching.set(bh::field::upgrade, "websocket");
  switching.set(bh::field::connection, "Upgrade");
  switching.insert("X-Custom", "a");
  switching.insert("x-custom", "b");
  ResponseHeader old_and_named;  // HTTP/1.0 and a reason the backend chose
  old_and_named.version(10);
  old_and_named.result(404);
  old_and_named.reason("Nowhere");
  ResponseHeader odd;  // a status Beast knows no reason for
  odd.result(599);
  for (const ResponseHeader* res : {&switching, &old_and_named, &odd}) {
    std::string out = "kept:";
    append_response_head(*res, out);
    EXPECT_EQ(out, "kept:" + beast_head(*res));
  }
  std::string out;
  append_response_head(switching, out);
  EXPECT_EQ(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "X-Custom: a\r\nx-custom: b\r\n\r\n");
}

}  // namespace
}  // namespace wsgate::http
