// Every key the configuration file accepts, by the map that holds it. The loader refuses any other
// key with these lists, and `wsgate --list-config-keys` prints them, so the docs test reads the
// parser's own list and the reference cannot drift from it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::config {

enum class Section : std::uint8_t {
  root, log, access_log, admin, http, drain, listener, proxy_protocol, tls, certificate, client_auth, auth, provider, key_source,
  redis, dns, rate_policy, rate, message_rate, route, match, backend, route_limits, claim_rule, health_check,
  affinity_cookie, rewrite, request_headers, response_headers, rebalance, handover,
};

struct SectionKeys {
  // Where maps of this kind sit, as dotted paths with [] for a list's items ("" is the file's top).
  std::vector<std::string_view> paths;
  std::vector<std::string_view> keys;
};

const SectionKeys& keys_of(Section section);

// Every accepted key as a full path ("routes[].limits.max_message"), in the table's order.
std::vector<std::string> all_config_keys();

}  // namespace wsgate::config
