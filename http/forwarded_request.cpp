#include "http/forwarded_request.hpp"

#include "http/field_rules.hpp"
#include "http/token_extraction.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <algorithm>
#include <memory_resource>

namespace wsgate::http {
namespace bh = boost::beast::http;

namespace {

// Fields a client's Connection header may not remove (RFC 9110 7.6.1 lets it name hop-by-hop
// fields only): Host, the handshake's own fields, and the body's framing.
bool protected_from_connection(std::string_view name) {
  return same_folded_name(name, "host") || folded_starts_with(name, "sec-websocket-") ||
         same_folded_name(name, "content-length");
}

// RFC 9110 7.6.1 and RFC 9112: fields that describe one connection, not the message.
bool is_hop_by_hop(bh::field f) {
  switch (f) {
    case bh::field::connection:
    case bh::field::keep_alive:
    case bh::field::proxy_connection:
    case bh::field::proxy_authenticate:
    case bh::field::proxy_authorization:
    case bh::field::te:
    case bh::field::trailer:
    case bh::field::transfer_encoding:
    case bh::field::upgrade:
      return true;
    default:
      return false;
  }
}

// The same set by folded name, for names an operator writes (header rules).
constexpr std::string_view kHopByHopFolded[] = {"connection", "keep-alive", "proxy-connection",
                                                "proxy-authenticate", "proxy-authorization", "te",
                                                "trailer", "transfer-encoding", "upgrade"};

// What a forwarded request never copies from the client: the hop-by-hop set, Expect (answered by
// the gateway itself, which reads the whole body before forwarding) and Content-Length
// (recomputed from the body it forwards).
bool is_connection_field(bh::field f) {
  return is_hop_by_hop(f) || f == bh::field::expect || f == bh::field::content_length;
}

bool is_header_token_source(std::span<const TokenSource> sources, std::string_view name) {
  return std::any_of(sources.begin(), sources.end(), [&](const TokenSource& s) {
    return s.kind == TokenSource::Kind::header && boost::beast::iequals(s.name, name);
  });
}

bool has_source(std::span<const TokenSource> sources, TokenSource::Kind kind) {
  return std::any_of(sources.begin(), sources.end(), [&](const TokenSource& s) { return s.kind == kind; });
}

bool names_any(const std::vector<std::string>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return same_folded_name(n, name); });
}

bool rule_names(const HeaderRules* rules, std::string_view name) {
  if (!rules) return false;
  return names_any(rules->remove, name) ||
         std::any_of(rules->set.begin(), rules->set.end(),
                     [&](const auto& field) { return same_folded_name(field.first, name); });
}

bool is_claim_field(const std::vector<std::pair<std::string, std::string>>& claims, std::string_view name) {
  return std::any_of(claims.begin(), claims.end(), [&](const auto& f) { return same_folded_name(f.first, name); });
}

bool is_owned_field(std::string_view name) {
  return std::any_of(std::begin(owned_fields), std::end(owned_fields),
                     [&](std::string_view owned) { return same_folded_name(owned, name); });
}

// "Name: value\r\n". Every value written was checked: Beast's parser refuses CR, LF and NUL in a
// client's, the claims are checked above, the configuration checks the operator's.
void put_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

// Compared by folded name, so that no spelling a backend folds together (Transfer_Encoding) slips by.
bool is_gateway_owned_request_field(std::string_view name) {
  if (is_owned_field(name)) return true;
  for (auto f : kHopByHopFolded)
    if (same_folded_name(name, f)) return true;
  return same_folded_name(name, "host") || same_folded_name(name, "expect") ||
         same_folded_name(name, "content-length") || folded_starts_with(name, "sec-websocket-");
}

bool is_gateway_owned_response_field(std::string_view name) {
  for (auto f : kHopByHopFolded)
    if (same_folded_name(name, f)) return true;
  return same_folded_name(name, "content-length") || same_folded_name(name, "set-cookie") ||
         folded_starts_with(name, "sec-websocket-");
}

std::string rewrite_target(std::string_view target, const PathRewrite& rewrite) {
  if (rewrite.replacement.empty()) return std::string(target);
  const auto query_at = target.find('?');
  const std::string_view path = target.substr(0, query_at);
  const std::string_view query = query_at == std::string_view::npos ? "" : target.substr(query_at);
  std::string_view rest = path.starts_with(rewrite.prefix) ? path.substr(rewrite.prefix.size()) : path;
  std::string out(rewrite.replacement);
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (!rest.empty()) {
    if (!out.ends_with('/')) out += '/';
    out += rest;
  }
  if (out.empty() || out.front() != '/') out.insert(out.begin(), '/');
  return out + std::string(query);
}

std::string_view to_string(BuildProblem p) {
  switch (p) {
    case BuildProblem::none: return "ok";
    case BuildProblem::claim_not_a_field_value: return "a claim to forward is not a valid header value";
  }
  return "unknown";
}

ForwardedRequest build_forwarded_request(const ClientRequest& client, const ForwardContext& context) {
  ForwardedRequest result;
  for (const auto& [name, value] : context.claim_fields) {
    if (!is_field_value(value)) {
      result.problem = BuildProblem::claim_not_a_field_value;
      return result;
    }
  }
  const auto& in = client.message;
  const auto head_end = std::next(in.begin(), static_cast<std::ptrdiff_t>(
                                                  std::min<std::size_t>(client.head_fields,
                                                                        std::distance(in.begin(), in.end()))));

  // Hop-by-hop names come from the head's Connection fields, and are applied before the gateway
  // adds anything, so they can never remove what it writes. Views into the client's request.
  std::vector<std::string_view> connection_named;
  for (auto it = in.begin(); it != head_end; ++it)
    if (it->name() == bh::field::connection)
      for (auto token : bh::token_list(it->value())) connection_named.push_back(token);
  auto named_by_connection = [&](std::string_view name) {
    return std::any_of(connection_named.begin(), connection_named.end(),
                       [&](std::string_view n) { return same_folded_name(n, name); });
  };

  const bool strip_cookies = has_source(context.token_sources, TokenSource::Kind::cookie);
  const bool strip_protocol = has_source(context.token_sources, TokenSource::Kind::protocol);
  // Written straight out, not built as a Beast message: no allocation per field, and nothing that
  // can throw (Beast's fields refuse a value over 64 KiB, which joined lines can reach).
  std::string& out = result.bytes;
  out.reserve(in.target().size() + 512 + (context.upgrade ? 0 : in.body().size()) +
              static_cast<std::size_t>(std::distance(in.begin(), head_end)) * 48);
  out.append(in.method_string()).append(" ");
  out.append(rewrite_target(target_without_tokens(in.target(), context.token_sources), context.rewrite));
  out.append(in.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  std::string forwarded_for;  // a trusted proxy's X-Forwarded-For, to append to
  std::string protocols;      // every Sec-WebSocket-Protocol line, joined
  bool offers_protocols = false;
  std::string_view host;
  for (auto it = in.begin(); it != head_end; ++it) {
    const std::string_view name = it->name_string();
    const std::string_view value = it->value();
    if (is_connection_field(it->name())) continue;
    if (is_owned_field(name) || is_claim_field(context.claim_fields, name)) {
      // Only a trusted proxy's own spelling of X-Forwarded-For is believed (and extended).
      if (context.peer_is_trusted_proxy && boost::beast::iequals(name, "X-Forwarded-For"))
        forwarded_for.append(forwarded_for.empty() ? "" : ", ").append(value);
      continue;
    }
    if (named_by_connection(name) && !protected_from_connection(name)) continue;
    if (is_header_token_source(context.token_sources, name)) continue;
    // Removed, or replaced below; a rule never reaches a field the gateway owns.
    if (rule_names(context.request_headers, name) && !is_gateway_owned_request_field(name)) continue;
    if (it->name() == bh::field::host && host.empty()) host = value;
    if (it->name() == bh::field::cookie && strip_cookies) {
      std::string kept = cookies_without_tokens(value, context.token_sources);
      if (!kept.empty()) put_field(out, "Cookie", kept);
      continue;
    }
    if (it->name() == bh::field::sec_websocket_protocol && strip_protocol) {
      if (offers_protocols) protocols += ", ";
      protocols += value;
      offers_protocols = true;
      continue;
    }
    put_field(out, name, value);
  }
  if (offers_protocols) {
    auto offer = protocols_without_bearer(protocols);
    result.offered_bearer = offer.had_bearer;
    if (!offer.offer.empty()) put_field(out, "Sec-WebSocket-Protocol", offer.offer);
  }

  // The operator's fields go in before the gateway's own; a name the gateway writes (a claim's
  // among them) is never the operator's, even were the configuration's check missing.
  if (context.request_headers)
    for (const auto& [name, value] : context.request_headers->set)
      if (!is_gateway_owned_request_field(name) && !is_claim_field(context.claim_fields, name))
        put_field(out, name, value);
  if (context.upgrade) {
    put_field(out, "Connection", "Upgrade");
    put_field(out, "Upgrade", "websocket");
  }
  // As NGINX's $proxy_add_x_forwarded_for, but believing only what a trusted proxy wrote.
  out.append("X-Forwarded-For: ");
  if (!forwarded_for.empty()) out.append(forwarded_for).append(", ");
  out.append(context.peer_address).append("\r\n");
  put_field(out, "X-Real-IP", is_field_value(context.client_address) ? context.client_address : context.peer_address);
  put_field(out, "X-Forwarded-Proto", context.tls ? "https" : "http");
  if (!host.empty()) put_field(out, "X-Forwarded-Host", host);
  if (!context.client_certificate.empty() && is_field_value(context.client_certificate))
    put_field(out, "X-Forwarded-Client-Cert", context.client_certificate);
  // One line per claim field; of two claims for one field, the later one's value stands.
  const auto& claims = context.claim_fields;
  for (auto c = claims.begin(); c != claims.end(); ++c)
    if (std::none_of(std::next(c), claims.end(), [&](const auto& later) { return same_folded_name(later.first, c->first); }))
      put_field(out, c->first, c->second);

  if (!context.upgrade) {
    // As Beast's prepare_payload: a chunked body goes on with a Content-Length, its trailers
    // dropped; an empty one gets a length only where the method defines a body.
    const auto size = in.body().size();
    const auto verb = in.method();
    if (size > 0 || verb == bh::verb::options || verb == bh::verb::put || verb == bh::verb::post)
      put_field(out, "Content-Length", std::to_string(size));
    out.append("\r\n").append(in.body());
  } else {
    out.append("\r\n");
  }
  return result;
}

void rewrite_response(ResponseHeader& res, bool upgrade) {
  // Copied, in the response's own memory: erasing a named field may erase Connection itself.
  std::pmr::vector<std::pmr::string> named(res.get_allocator().resource());
  for (auto token : bh::token_list(res[bh::field::connection])) named.emplace_back(token);
  for (const auto& name : named) res.erase(name);
  for (auto it = res.begin(); it != res.end();) it = is_hop_by_hop(it->name()) ? res.erase(it) : std::next(it);
  if (upgrade) {
    res.set(bh::field::connection, "Upgrade");
    res.set(bh::field::upgrade, "websocket");
  }
}

void append_response_head(const ResponseHeader& res, std::string& out) {
  const unsigned version = res.version();
  const char status[] = {char('0' + res.result_int() / 100 % 10), char('0' + res.result_int() / 10 % 10),
                         char('0' + res.result_int() % 10)};
  std::string_view reason = res.reason();
  if (reason.empty()) reason = bh::obsolete_reason(res.result());
  out.append("HTTP/").append(1, char('0' + version / 10 % 10)).append(1, '.').append(1, char('0' + version % 10));
  out.append(1, ' ').append(status, sizeof status).append(1, ' ').append(reason).append("\r\n");
  for (const auto& f : res) put_field(out, f.name_string(), f.value());
  out.append("\r\n");
}

void set_gateway_cookie(ResponseHeader& res, std::string_view name, const std::string& set_cookie) {
  // RFC 6265 5.2: the cookie's name is what precedes the first '=', whitespace trimmed.
  auto cookie_name = [](std::string_view v) {
    v = v.substr(0, v.find('='));
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  for (auto it = res.begin(); it != res.end();)
    it = it->name() == bh::field::set_cookie && cookie_name(it->value()) == name ? res.erase(it)
                                                                                : std::next(it);
  res.insert(bh::field::set_cookie, set_cookie);
}

}  // namespace wsgate::http
