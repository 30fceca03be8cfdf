#include "routing/hash_ring.hpp"

#include "routing/stable_hash.hpp"

#include <algorithm>
#include <string>

namespace wsgate::routing {

namespace {
struct Point {
  std::uint64_t hash;
  std::uint32_t backend;
};
}  // namespace

HashRing::HashRing(const std::vector<WeightedBackend>& backends, unsigned points_per_weight)
    : backends_(backends.size()) {
  std::vector<Point> points;
  std::size_t total = 0;
  for (const auto& b : backends) total += std::size_t{b.weight} * points_per_weight;
  points.reserve(total);
  std::string label;
  for (std::size_t b = 0; b < backends.size(); ++b) {
    const std::size_t n = std::size_t{backends[b].weight} * points_per_weight;
    if (n > 0) ++placed_;
    for (std::size_t i = 0; i < n; ++i) {
      // Points depend on the backend's name only, never on its position in the list.
      label = backends[b].name;
      label += '#';
      label += std::to_string(i);
      points.push_back({stable_hash(label), static_cast<std::uint32_t>(b)});
    }
  }
  // Ties (two names hashing alike) are broken by name, again independent of list order.
  std::sort(points.begin(), points.end(), [&](const Point& x, const Point& y) {
    if (x.hash != y.hash) return x.hash < y.hash;
    return backends[x.backend].name < backends[y.backend].name;
  });
  hashes_.reserve(points.size());
  owners_.reserve(points.size());
  for (const auto& p : points) {
    hashes_.push_back(p.hash);
    owners_.push_back(p.backend);
  }
  buckets_.assign((std::size_t{1} << kBucketBits) + 1, static_cast<std::uint32_t>(hashes_.size()));
  for (std::size_t i = hashes_.size(); i-- > 0;) buckets_[hashes_[i] >> (64 - kBucketBits)] = static_cast<std::uint32_t>(i);
  for (std::size_t b = buckets_.size() - 1; b-- > 0;) buckets_[b] = std::min(buckets_[b], buckets_[b + 1]);
}

std::size_t HashRing::first_point(std::uint64_t key) const {
  const std::size_t bucket = key >> (64 - kBucketBits);
  const auto first = hashes_.begin() + buckets_[bucket];
  const auto last = hashes_.begin() + buckets_[bucket + 1];
  // Every point >= key lies at or after `first`; if none in this bucket is, the next bucket's
  // first point (`last`) is the answer, or the ring wraps to point 0.
  const auto it = std::lower_bound(first, last, key);
  return it == hashes_.end() ? 0 : static_cast<std::size_t>(it - hashes_.begin());
}

}  // namespace wsgate::routing
