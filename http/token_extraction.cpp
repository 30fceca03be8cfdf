#include "http/token_extraction.hpp"

#include "http/request_fields.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>

namespace wsgate::http {
namespace bh = boost::beast::http;

namespace {

using Kind = TokenSource::Kind;

std::optional<std::string> from_header(const RequestHeader& req, const std::string& name) {
  auto it = req.find(name);
  if (it == req.end()) return std::nullopt;
  std::string_view v = it->value();
  // RFC 6750 2.1: "Bearer" (any case), one space, the token.
  if (v.size() > 7 && boost::beast::iequals(v.substr(0, 7), "Bearer ")) return std::string(v.substr(7));
  return std::nullopt;
}

// Browsers cannot set headers on a WebSocket; they can offer subprotocols: ["bearer", TOKEN].
std::optional<std::string> from_protocol(const RequestHeader& req) {
  std::optional<std::string> previous;
  auto [first, last] = req.equal_range(bh::field::sec_websocket_protocol);
  for (auto it = first; it != last; ++it) {
    for (auto p : bh::token_list(it->value())) {
      if (previous && boost::beast::iequals(*previous, "bearer")) return std::string(p);
      previous = std::string(p);
    }
  }
  return std::nullopt;
}

bool names(std::span<const TokenSource> sources, Kind kind, std::string_view name) {
  return std::any_of(sources.begin(), sources.end(),
                     [&](const TokenSource& s) { return s.kind == kind && s.name == name; });
}

}  // namespace

std::optional<FoundToken> find_token(const RequestHeader& req, std::span<const TokenSource> sources) {
  for (const auto& s : sources) {
    std::optional<std::string> t;
    switch (s.kind) {
      case Kind::header: t = from_header(req, s.name); break;
      case Kind::query: t = find_query_param(req.target(), s.name); break;
      case Kind::cookie: t = find_cookie(req, s.name); break;
      case Kind::protocol: t = from_protocol(req); break;
    }
    if (t && !t->empty()) return FoundToken{std::move(*t), s.kind == Kind::protocol};
  }
  return std::nullopt;
}

std::string target_without_tokens(std::string_view target, std::span<const TokenSource> sources) {
  // No query, or no source in one: nothing to cut, and no URL to parse and copy.
  if (target.find('?') == std::string_view::npos ||
      std::none_of(sources.begin(), sources.end(), [](const TokenSource& s) { return s.kind == Kind::query; }))
    return std::string(target);
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::string(target);
  boost::urls::url url(*parsed);
  auto params = url.encoded_params();
  bool cut = false;
  for (auto it = params.begin(); it != params.end();) {
    // Compared decoded, as find_query_param reads it: "access%5Ftoken" is the same parameter.
    if (names(sources, Kind::query, (*it).key.decode())) {
      it = params.erase(it);
      cut = true;
    } else {
      ++it;
    }
  }
  if (!cut) return std::string(target);
  if (params.empty()) url.remove_query();  // "/chat", not "/chat?"
  return std::string(url.encoded_target());
}

std::string cookies_without_tokens(std::string_view cookies, std::span<const TokenSource> sources) {
  std::string out;
  while (!cookies.empty()) {
    const auto semi = cookies.find(';');
    std::string_view pair = cookies.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    const bool token = eq != std::string_view::npos && names(sources, Kind::cookie, pair.substr(0, eq));
    if (!token && !pair.empty()) {
      if (!out.empty()) out += "; ";
      out += pair;
    }
    if (semi == std::string_view::npos) break;
    cookies.remove_prefix(semi + 1);
  }
  return out;
}

ProtocolOffer protocols_without_bearer(std::string_view offer) {
  ProtocolOffer out;
  bool skip_next = false;
  for (auto p : bh::token_list(offer)) {
    if (skip_next) {
      skip_next = false;
      continue;
    }
    if (boost::beast::iequals(p, "bearer")) {
      out.had_bearer = true;
      skip_next = true;
      continue;
    }
    if (!out.offer.empty()) out.offer += ", ";
    out.offer += p;
  }
  return out;
}

}  // namespace wsgate::http
