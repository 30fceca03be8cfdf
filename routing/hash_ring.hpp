// Consistent hashing on a ring with virtual nodes (Karger et al.; Ketama): each backend owns
// points_per_weight x weight points; a key belongs to the first point clockwise of its hash.
#pragma once

#include "routing/distinct_walk.hpp"
#include "routing/weighted_backend.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsgate::routing {

class HashRing {
 public:
  explicit HashRing(const std::vector<WeightedBackend>& backends, unsigned points_per_weight = 2000);

  // Calls visit(backend) for each distinct backend in clockwise order from the key's point, the
  // key's owner first, until visit returns true or every backend has been seen.
  template <class Visit>
  void walk(std::uint64_t key, Visit&& visit) const;

  std::size_t owner(std::uint64_t key) const { return owners_[first_point(key)]; }
  std::size_t backends() const { return backends_; }
  std::size_t points() const { return hashes_.size(); }

 private:
  static constexpr int kBucketBits = 16;
  std::size_t first_point(std::uint64_t key) const;

  // The points sorted by hash, as two arrays so the search reads only hashes; buckets_[b] is the
  // first point whose top kBucketBits bits are >= b, which narrows each search to a few points.
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint32_t> owners_;
  std::vector<std::uint32_t> buckets_;
  std::size_t backends_;
  std::size_t placed_ = 0;     // backends with points (weight > 0)
};

template <class Visit>
void HashRing::walk(std::uint64_t key, Visit&& visit) const {
  if (hashes_.empty()) return;
  walk_distinct(hashes_.size(), first_point(key), backends_, placed_,
                [this](std::size_t i) { return std::size_t{owners_[i]}; }, visit);
}

}  // namespace wsgate::routing
