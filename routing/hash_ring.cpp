#include "routing/hash_ring.hpp"

#include "routing/stable_hash.hpp"

#include <algorithm>
#include <string>

namespace wsgate::routing {

HashRing::HashRing(const std::vector<WeightedBackend>& backends, unsigned points_per_weight)
    : backends_(backends.size()) {
  std::size_t total = 0;
  for (const auto& b : backends) total += std::size_t{b.weight} * points_per_weight;
  points_.reserve(total);
  std::string label;
  for (std::size_t b = 0; b < backends.size(); ++b) {
    const std::size_t n = std::size_t{backends[b].weight} * points_per_weight;
    if (n > 0) ++placed_;
    for (std::size_t i = 0; i < n; ++i) {
      // Points depend on the backend's name only, never on its position in the list.
      label = backends[b].name;
      label += '#';
      label += std::to_string(i);
      points_.push_back({stable_hash(label), static_cast<std::uint32_t>(b)});
    }
  }
  // Ties (two names hashing alike) are broken by name, again independent of list order.
  std::sort(points_.begin(), points_.end(), [&](const Point& x, const Point& y) {
    if (x.hash != y.hash) return x.hash < y.hash;
    return backends[x.backend].name < backends[y.backend].name;
  });
}

std::size_t HashRing::first_point(std::uint64_t key) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), key,
                             [](const Point& p, std::uint64_t k) { return p.hash < k; });
  return it == points_.end() ? 0 : static_cast<std::size_t>(it - points_.begin());
}

}  // namespace wsgate::routing
