// libFuzzer: a client's request in, the forwarded request out, as UpgradeSession runs it: parse
// with the gateway's limits (head fields counted before any trailer), check Host and
// Transfer-Encoding, normalize the target (which must come out with no dot segment and normalize to
// itself again), route, check the handshake and Origin, find the token, the client's address and
// hash key, then build what the backend receives, with a claim taken from the body's raw bytes.
// Asserted: the output parses as exactly one request, no owned field appears twice under any
// spelling, no field value holds CR, LF or NUL, and no token of any configured source survives.
#include "gateway/proxy/hash_key.hpp"
#include "config/ip_network.hpp"
#include "http/field_rules.hpp"
#include "http/forwarded_request.hpp"
#include "http/handshake_check.hpp"
#include "http/request_target.hpp"
#include "http/token_extraction.hpp"
#include "routing/route_table.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdlib>
#include <map>

namespace bh = boost::beast::http;
using namespace wsgate;
namespace wh = wsgate::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const routing::RouteTable table({{"", "/"}, {"chat.example.com", "/chat"}, {"", "/echo/deep"}});
  static const std::vector<config::IpNetwork> trusted{*config::IpNetwork::parse("10.0.0.0/8"),
                                                       *config::IpNetwork::parse("::1")};
  static const std::vector<wh::TokenSource> token_from{
      {config::TokenSource::Kind::header, "Authorization"},
      {config::TokenSource::Kind::query, "access_token"},
      {config::TokenSource::Kind::cookie, "access_token"},
      {config::TokenSource::Kind::protocol, ""}};
  static const std::vector<config::HashKeySource> hash_key{
      {config::HashKeySource::Kind::header, "X-User-Id"},
      {config::HashKeySource::Kind::cookie, "session"},
      {config::HashKeySource::Kind::query, "room"},
      {config::HashKeySource::Kind::ip, ""}};
  static const std::vector<std::string> origins{"https://app.example.com", "https://*.example.org"};

  bh::request_parser<bh::string_body, wsgate::http::Allocator> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(false);
  boost::system::error_code ec;
  std::size_t used = 0, head_fields = 0;
  while (used < size && !parser.is_done()) {
    const auto n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    used += n;
    if (parser.is_header_done() && head_fields == 0)
      head_fields = static_cast<std::size_t>(std::distance(parser.get().begin(), parser.get().end()));
    if (ec || n == 0) break;
  }
  if (ec || !parser.is_done()) return 0;
  auto& req = parser.get();
  if (wh::check_request(req) != wh::RequestProblem::none) return 0;
  std::string problem;
  const auto target = wh::normalize_target(req.target(), problem);
  if (!target) {
    if (problem.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const std::string_view path = std::string_view(target->target).substr(0, target->target.find('?'));
  if (!path.starts_with('/') || path.find("/../") != std::string_view::npos ||
      path.find("/./") != std::string_view::npos || path.ends_with("/..") || path.ends_with("/."))
    std::abort();
  const auto again = wh::normalize_target(target->target, problem);
  if (!again || again->target != target->target) std::abort();  // normal form is a fixed point
  if (!target->host.empty()) {
    if (!wh::is_host(target->host)) return 0;
    req.set(bh::field::host, target->host);
  }
  req.target(target->target);
  const auto route = table.match(req[bh::field::host], req.target());
  if (!route || table.match(req[bh::field::host], target->loose_path) != route) return 0;
  const bool upgrade = wh::wants_websocket(req);
  if (upgrade && wh::check_websocket_handshake(req) != wh::HandshakeProblem::none) return 0;
  wh::origin_allowed(origins, req[bh::field::origin]);
  (void)wh::find_token(req, token_from);
  const auto address = gateway::client_address("10.1.2.3", req, trusted);
  const auto key = gateway::hash_key_of(req, hash_key, nullptr, address);
  (void)key;

  wh::ForwardContext context;
  context.peer_address = "10.1.2.3";
  context.client_address = address;
  context.peer_is_trusted_proxy = true;
  context.tls = (size & 1) != 0;
  context.upgrade = upgrade;
  context.token_sources = token_from;
  const std::string claim = req.body();  // any bytes a signed claim could hold
  context.claim_fields = {{"X-User-Id", claim}};
  // A route's rules, hostile to themselves: they name owned fields, which must still not win.
  static const wh::HeaderRules rules{{{"X-Env", "prod"}, {"X-Forwarded-For", "1.1.1.1"}, {"X-User-Id", "rule"}},
                                     {"Cookie", "X-Debug", "Host"}};
  context.request_headers = &rules;
  static constexpr std::string_view route_paths[] = {"/", "/chat", "/echo/deep"};  // the table's
  context.rewrite = {route_paths[*route], (size & 2) != 0 ? "/" : "/v2/"};
  const auto forwarded = wh::build_forwarded_request({req, head_fields}, context);
  if (forwarded.problem != wh::BuildProblem::none) {
    if (wh::is_field_value(claim)) std::abort();  // refused only for a bad claim
    return 0;
  }

  bh::request_parser<bh::string_body, wh::Allocator> backend;
  backend.header_limit(64 * 1024);
  backend.body_limit(2 << 20);
  backend.eager(true);
  const auto taken = backend.put(boost::asio::buffer(forwarded.bytes), ec);
  if (ec || !backend.is_done() || taken != forwarded.bytes.size()) std::abort();  // exactly one request
  const auto& out = backend.get();
  std::map<std::string, int> owned;
  for (const auto& f : out) {
    for (char c : f.value())
      if (c == '\r' || c == '\n' || c == '\0') std::abort();
    const auto name = wh::folded_name(f.name_string());
    for (auto o : wh::owned_fields)
      if (name == wh::folded_name(o) && ++owned[name] > 1) std::abort();
    if (name == "x-user-id" && (++owned[name] > 1 || f.value() != claim)) std::abort();
  }
  if (owned["x-user-id"] != 1) std::abort();
  if (out.count("X-Env") != 1 || out["X-Env"] != "prod" || out.count("X-Debug") != 0 || out.count("Cookie") != 0)
    std::abort();
  if (!std::string_view(out.target()).starts_with(context.rewrite.replacement)) std::abort();
  const auto out_target = wh::normalize_target(out.target(), problem);
  if (!out_target) std::abort();  // the rewritten target is one a backend can parse
  if (wh::find_token(out, token_from)) std::abort();  // no source still carries a token
  return 0;
}
