#include "routing/route_table.hpp"

#include <algorithm>
#include <cctype>

namespace wsgate::routing {

std::string normalize_host(std::string_view host) {
  if (host.starts_with('[')) {
    auto close = host.find(']');
    host = host.substr(1, close == std::string_view::npos ? host.size() - 1 : close - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

RouteTable::RouteTable(std::vector<RouteMatch> routes) : routes_(std::move(routes)) {
  for (auto& r : routes_) r.host = normalize_host(r.host);
}

bool path_matches(PathMatch kind, std::string_view pattern, std::string_view path) {
  switch (kind) {
    case PathMatch::exact: return path == pattern;
    case PathMatch::string_prefix: return path.starts_with(pattern);
    case PathMatch::segment_prefix:
      return path.starts_with(pattern) &&
             (pattern.ends_with('/') || path.size() == pattern.size() || path[pattern.size()] == '/');
  }
  return false;
}

std::optional<std::size_t> RouteTable::match(std::string_view host_header,
                                             std::string_view target) const {
  const std::string host = normalize_host(host_header);
  const std::string_view path = target.substr(0, target.find('?'));
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& r = routes_[i];
    if (!r.host.empty() && r.host != host) continue;
    if (!path_matches(r.kind, r.path, path)) continue;
    if (best) {
      const auto& b = routes_[*best];
      const bool r_exact = r.kind == PathMatch::exact, b_exact = b.kind == PathMatch::exact;
      // An exact path beats every prefix (NGINX's location =); then the longer prefix; on a tie
      // a route naming the host beats a catch-all.
      if (b_exact && !r_exact) continue;
      if (r_exact == b_exact) {
        if (r.path.size() < b.path.size()) continue;
        if (r.path.size() == b.path.size() && r.host.empty()) continue;
      }
    }
    best = i;
  }
  return best;
}

}  // namespace wsgate::routing
