// libFuzzer: the HTTP request path before an upgrade, as UpgradeSession runs it: parse with the
// gateway's limits, check Host and Transfer-Encoding, normalize the target (which must come out
// with no dot segment and normalize to itself again), route, check the handshake and Origin, take the token, find the client's
// address and hash key, rewrite the headers for the backend and serialize.
#include "gateway/handshake_check.hpp"
#include "gateway/hash_key.hpp"
#include "gateway/header_rewrite.hpp"
#include "gateway/ip_network.hpp"
#include "gateway/token_extraction.hpp"
#include "routing/request_target.hpp"
#include "routing/route_table.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdlib>
#include <sstream>

namespace http = boost::beast::http;
using namespace wsgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const routing::RouteTable table({{"", "/"}, {"chat.example.com", "/chat"}, {"", "/echo/deep"}});
  static const std::vector<gateway::IpNetwork> trusted{*gateway::IpNetwork::parse("10.0.0.0/8"),
                                                       *gateway::IpNetwork::parse("::1")};
  static const std::vector<config::TokenSource> token_from{
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

  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  auto& req = parser.get();
  if (gateway::check_request(req) != gateway::RequestProblem::none) return 0;
  std::string problem;
  const auto target = routing::normalize_target(req.target(), problem);
  if (!target) {
    if (problem.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const std::string_view path = std::string_view(target->target).substr(0, target->target.find('?'));
  if (!path.starts_with('/') || path.find("/../") != std::string_view::npos ||
      path.find("/./") != std::string_view::npos || path.ends_with("/..") || path.ends_with("/."))
    std::abort();
  const auto again = routing::normalize_target(target->target, problem);
  if (!again || again->target != target->target) std::abort();  // normal form is a fixed point
  if (!target->host.empty()) req.set(http::field::host, target->host);
  req.target(target->target);
  const auto route = table.match(req[http::field::host], req.target());
  if (!route || table.match(req[http::field::host], target->loose_path) != route) return 0;
  const bool upgrade = gateway::wants_websocket(req);
  if (upgrade && gateway::check_websocket_handshake(req) != gateway::HandshakeProblem::none) return 0;
  gateway::origin_allowed(origins, req[http::field::origin]);
  const auto token = gateway::take_token(req, token_from);
  const auto address = gateway::client_address("10.1.2.3", req, trusted);
  const auto key = gateway::hash_key_of(req, hash_key, nullptr, address);
  (void)token;
  (void)key;
  gateway::rewrite_request(req, {address, (size & 1) != 0, upgrade});
  std::ostringstream out;
  out << req.base();
  return 0;
}
