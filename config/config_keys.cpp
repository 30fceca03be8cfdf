#include "config/config_keys.hpp"

#include <array>

namespace wsgate::config {
namespace {

constexpr std::size_t kSections = static_cast<std::size_t>(Section::handover) + 1;

const std::array<SectionKeys, kSections>& table() {
  // In Section's order; a new key goes here, in docs/configuration.md and in gateway.yaml.
  static const std::array<SectionKeys, kSections> sections{{
      {{""}, {"threads", "log", "access_log", "listeners", "admin", "http", "drain", "drain_timeout", "handover", "auth",
              "trusted_proxies", "rate_limits", "redis", "dns", "routes"}},
      {{"log"}, {"format", "level"}},
      {{"access_log"}, {"enabled", "path"}},
      {{"admin"}, {"enabled", "bind", "token_file"}},
      {{"http"}, {"max_header_bytes", "max_headers", "header_timeout", "max_body", "keepalive_timeout"}},
      {{"drain"}, {"delay", "timeout"}},
      {{"listeners[]"}, {"name", "bind", "tls", "reuse_port_with_others", "http2", "proxy_protocol", "deny_from"}},
      {{"listeners[].proxy_protocol"}, {"trusted", "timeout"}},
      {{"listeners[].tls"}, {"certificates", "min_version", "client_auth"}},
      {{"listeners[].tls.certificates[]"}, {"cert", "key", "client_auth"}},
      {{"listeners[].tls.client_auth", "listeners[].tls.certificates[].client_auth"},
       {"mode", "ca_file", "crl_file", "verify_depth"}},
      {{"auth"}, {"providers"}},
      {{"auth.providers[]"},
       {"name", "issuer", "audiences", "algorithms", "keys", "token_from", "leeway", "forward_claims"}},
      {{"auth.providers[].keys[]"},
       {"secret_file", "pem_file", "jwks_file", "jwks_url", "kid", "ca_file", "refresh_interval",
        "min_refresh_interval", "fetch_timeout"}},
      {{"redis"}, {"address", "password", "timeout", "session_lease", "key_prefix"}},
      {{"dns"}, {"nameservers", "refresh", "respect_ttl", "timeout"}},
      {{"rate_limits[]"},
       {"name", "key", "upgrades", "max_sessions", "messages", "bytes", "backend_messages", "backend_bytes",
        "store", "on_store_failure"}},
      {{"rate_limits[].upgrades"}, {"rate", "per", "burst"}},
      {{"rate_limits[].messages", "rate_limits[].bytes", "rate_limits[].backend_messages",
        "rate_limits[].backend_bytes"},
       {"rate", "per", "burst", "action"}},
      {{"routes[]"},
       {"name", "match", "backends", "backend_ca_file", "connect_timeout", "response_timeout", "limits",
        "allowed_origins", "auth", "require_claims", "close_at_expiry", "hash_algorithm", "hash_key", "balance",
        "balance_factor", "health_check", "backend_drain_timeout", "rate_limit", "passive_eject_time",
        "affinity_ttl", "affinity_max_entries", "affinity_cookie", "rewrite", "request_headers",
        "response_headers", "rebalance", "shared_loads", "allow_from", "deny_from", "require_client_cert"}},
      {{"routes[].match"}, {"host", "path_prefix", "path_exact", "prefix_match"}},
      {{"routes[].backends[]"}, {"url", "weight", "discover", "max_backends"}},
      {{"routes[].limits"}, {"max_message", "idle_timeout", "ping_interval", "pong_timeout", "max_frame_buffer"}},
      {{"routes[].require_claims[]"}, {"claim", "equals", "contains"}},
      {{"routes[].health_check"},
       {"type", "path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold"}},
      {{"routes[].affinity_cookie"}, {"name", "ttl", "secure", "same_site", "secret_file"}},
      {{"routes[].rewrite"}, {"strip_prefix", "replace_prefix"}},
      {{"routes[].request_headers"}, {"set", "remove"}},
      {{"routes[].response_headers"}, {"set"}},
      {{"routes[].rebalance"}, {"max_per_minute"}},
      {{"handover"}, {"timeout"}},
  }};
  return sections;
}

}  // namespace

const SectionKeys& keys_of(Section section) { return table()[static_cast<std::size_t>(section)]; }

std::vector<std::string> all_config_keys() {
  std::vector<std::string> out;
  for (const auto& s : table())
    for (const auto path : s.paths)
      for (const auto key : s.keys)
        out.push_back(path.empty() ? std::string(key) : std::string(path) + "." + std::string(key));
  return out;
}

}  // namespace wsgate::config
