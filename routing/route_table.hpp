// Which route serves a request: exact host (or any host), then the longest path prefix.
// Built once per configuration snapshot and only read afterwards, from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::routing {

struct RouteMatch {
  std::string host;         // lower case, no port; empty matches every host
  std::string path_prefix;  // starts with '/'
};

class RouteTable {
 public:
  explicit RouteTable(std::vector<RouteMatch> routes);

  // `host` is the Host header as sent (port and case ignored); `target` the request target
  // (query ignored). Returns the index of the route in the order given to the constructor.
  std::optional<std::size_t> match(std::string_view host, std::string_view target) const;

 private:
  std::vector<RouteMatch> routes_;
};

// "Example.COM:8443" -> "example.com", "[::1]:80" -> "::1".
std::string normalize_host(std::string_view host_header);

}  // namespace wsgate::routing
