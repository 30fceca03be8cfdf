// What a request is pinned to its backend by: the route's hash_key sources in order (a verified
// claim, a header, a cookie, a query parameter, the client address), and that address itself,
// read through X-Forwarded-For only when the peer is a trusted proxy.
#pragma once

#include "config/config.hpp"
#include "config/ip_network.hpp"
#include "http/client_certificate.hpp"

#include "http/message_memory.hpp"
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::gateway {

// The address is inside one of the trusted_proxies blocks.
bool is_trusted(std::string_view address, const std::vector<config::IpNetwork>& trusted);

// The client's address: `peer` unless it is a trusted proxy, then the rightmost X-Forwarded-For
// entry that is not one (what NGINX's real_ip_recursive does); a client can prepend any lie to the
// header, but not past a proxy we trust.
std::string client_address(std::string_view peer, const http::RequestHeader& req,
                           const std::vector<config::IpNetwork>& trusted);

// The first source present, prefixed by its kind so a header and a cookie of equal value differ;
// nullopt when none is (the caller spreads such clients without pinning).
std::optional<std::string> hash_key_of(const http::RequestHeader& req,
                                       const std::vector<config::HashKeySource>& sources,
                                       const boost::json::object* claims,
                                       std::string_view client_address,
                                       const http::ClientIdentity* certificate = nullptr);

}  // namespace wsgate::gateway
