// Which route serves a request: an exact path before any prefix, then the longest prefix; on a tie a
// route naming the host beats a catch-all. Built once per configuration, then only read, from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::routing {

enum class PathMatch : std::uint8_t {
  segment_prefix,  // /echo: /echo and /echo/..., never /echoXYZ (a prefix ending in / is plain)
  string_prefix,   // /echo: anything that starts with it, /echoXYZ too (prefix_match: string)
  exact,           // /echo only (the query aside)
};

struct RouteMatch {
  std::string host;  // lower case, no port; empty matches every host
  std::string path;  // starts with '/'
  PathMatch kind = PathMatch::segment_prefix;
};

// Whether `path` (no query) is matched by `pattern` of kind `kind`.
bool path_matches(PathMatch kind, std::string_view pattern, std::string_view path);

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
