#include "gateway/proxy/hash_key.hpp"

#include "http/request_fields.hpp"

#include <boost/json/serialize.hpp>

namespace wsgate::gateway {
namespace bh = boost::beast::http;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_trusted(std::string_view address, const std::vector<config::IpNetwork>& trusted) {
  for (const auto& n : trusted)
    if (n.contains(address)) return true;
  return false;
}

std::string client_address(std::string_view peer, const http::RequestHeader& req,
                           const std::vector<config::IpNetwork>& trusted) {
  std::string address(peer);
  if (!is_trusted(peer, trusted)) return address;
  // Several X-Forwarded-For fields count as one list, in order (RFC 9110 5.3).
  std::string list;
  auto [first, last] = req.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) {
    if (!list.empty()) list += ',';
    list += it->value();
  }
  std::string_view rest = list;
  while (!rest.empty()) {
    const auto comma = rest.rfind(',');
    const auto entry = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    if (entry.empty()) continue;
    address.assign(entry);
    if (!is_trusted(entry, trusted)) break;
  }
  return address;
}

std::optional<std::string> hash_key_of(const http::RequestHeader& req,
                                       const std::vector<config::HashKeySource>& sources,
                                       const boost::json::object* claims,
                                       std::string_view client_address,
                                       const http::ClientIdentity* certificate) {
  using Kind = config::HashKeySource::Kind;
  for (const auto& s : sources) {
    switch (s.kind) {
      // An empty value is absent, whatever its source (issue 17: "?sub=" pinned everyone sending
      // it to one backend); the next source decides.
      case Kind::claim:
        if (const auto* v = claims ? claims->if_contains(s.name) : nullptr;
            v && !(v->is_string() && v->get_string().empty()) && !v->is_null())
          return "claim:" + (v->is_string() ? std::string(v->get_string()) : boost::json::serialize(*v));
        break;
      case Kind::header:
        if (auto it = req.find(s.name); it != req.end() && !it->value().empty())
          return "header:" + std::string(it->value());
        break;
      case Kind::cookie:
        if (auto v = http::find_cookie(req, s.name); v && !v->empty()) return "cookie:" + *v;
        break;
      case Kind::query:
        if (auto v = http::find_query_param(req.target(), s.name); v && !v->empty()) return "query:" + *v;
        break;
      case Kind::ip:
        if (!client_address.empty()) return "ip:" + std::string(client_address);
        break;
      case Kind::cert: {
        if (!certificate || certificate->empty()) break;
        const std::string value = s.name == "subject" ? certificate->subject
                                  : s.name == "uri"   ? certificate->uri
                                  : s.name == "dns"   ? (certificate->dns.empty() ? "" : certificate->dns.front())
                                                      : certificate->hash;
        if (!value.empty()) return "cert:" + s.name + ":" + value;
        break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace wsgate::gateway
