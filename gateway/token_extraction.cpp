#include "gateway/token_extraction.hpp"

#include "gateway/request_fields.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

namespace wsgate::gateway {
namespace http = boost::beast::http;

namespace {

std::optional<std::string> from_header(const http::request_header<>& req, const std::string& name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  std::string_view v = it->value();
  // RFC 6750 2.1: "Bearer" (any case), one space, the token.
  if (v.size() > 7 && boost::beast::iequals(v.substr(0, 7), "Bearer ")) return std::string(v.substr(7));
  return std::nullopt;
}

std::optional<std::string> from_query(http::request_header<>& req, const std::string& name) {
  auto parsed = boost::urls::parse_origin_form(req.target());
  if (!parsed) return std::nullopt;
  boost::urls::url url(*parsed);
  auto params = url.encoded_params();
  for (auto it = params.begin(); it != params.end(); ++it) {
    if ((*it).key != name) continue;
    std::string token((*it).value.decode());
    params.erase(it);  // the backend never sees a token that travelled in the URL
    req.target(url.encoded_target());
    return token;
  }
  return std::nullopt;
}

// Browsers cannot set headers on a WebSocket; they can offer subprotocols: ["bearer", TOKEN].
std::optional<std::string> from_protocol(http::request_header<>& req) {
  std::vector<std::string> offered;
  for (auto p : http::token_list(req[http::field::sec_websocket_protocol])) offered.emplace_back(p);
  for (std::size_t i = 0; i + 1 < offered.size(); ++i) {
    if (!boost::beast::iequals(offered[i], "bearer")) continue;
    std::string token = offered[i + 1];
    offered.erase(offered.begin() + static_cast<std::ptrdiff_t>(i), offered.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    std::string rest;
    for (const auto& p : offered) rest += (rest.empty() ? "" : ", ") + p;
    if (rest.empty()) req.erase(http::field::sec_websocket_protocol);
    else req.set(http::field::sec_websocket_protocol, rest);
    return token;
  }
  return std::nullopt;
}

}  // namespace

std::optional<TakenToken> take_token(http::request_header<>& req,
                                     const std::vector<config::TokenSource>& sources) {
  using Kind = config::TokenSource::Kind;
  for (const auto& s : sources) {
    std::optional<std::string> t;
    switch (s.kind) {
      case Kind::header: t = from_header(req, s.name); break;
      case Kind::query: t = from_query(req, s.name); break;
      case Kind::cookie: t = find_cookie(req, s.name); break;
      case Kind::protocol: t = from_protocol(req); break;
    }
    if (t && !t->empty()) return TakenToken{std::move(*t), s.kind == Kind::protocol};
  }
  return std::nullopt;
}

}  // namespace wsgate::gateway
