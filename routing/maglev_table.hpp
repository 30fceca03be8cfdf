// Maglev hashing (Eisenbud et al., NSDI 2016): each backend fills a prime-sized lookup table along
// its own permutation, in turns weighted by its weight; a key's backend is one table read.
#pragma once

#include "routing/distinct_walk.hpp"
#include "routing/weighted_backend.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsgate::routing {

class MaglevTable {
 public:
  // table_size 0: the smallest prime of at least 131071 and 500 entries per backend. The paper's
  // M >> N keeps max/mean near 1; a larger M also moves fewer other keys when a backend leaves
  // (bench/hash_balance), at the price of rebuild time (~23 ms for 1,000 backends here).
  explicit MaglevTable(const std::vector<WeightedBackend>& backends, std::size_t table_size = 0);

  std::size_t owner(std::uint64_t key) const { return table_[key % table_.size()]; }

  // Calls visit(backend) for each distinct backend met reading the table onward from the key's
  // entry, the owner first, until visit returns true or every backend has been seen.
  template <class Visit>
  void walk(std::uint64_t key, Visit&& visit) const;

  std::size_t backends() const { return backends_; }
  std::size_t size() const { return table_.size(); }

 private:
  std::vector<std::uint32_t> table_;
  std::size_t backends_;
  std::size_t placed_ = 0;  // backends with entries
};

template <class Visit>
void MaglevTable::walk(std::uint64_t key, Visit&& visit) const {
  if (table_.empty()) return;
  walk_distinct(table_.size(), key % table_.size(), backends_, placed_,
                [this](std::size_t i) { return std::size_t{table_[i]}; }, visit);
}

}  // namespace wsgate::routing
