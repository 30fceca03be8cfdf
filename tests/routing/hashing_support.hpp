// Fixed-seed keys and load counting for the consistent-hashing tests.
#pragma once

#include "routing/weighted_backend.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace wsgate::routing::testing {

// SplitMix64 from a fixed seed: the same keys on every run and machine.
inline std::vector<std::uint64_t> keys(std::size_t n, std::uint64_t seed = 42) {
  std::vector<std::uint64_t> out(n);
  for (auto& k : out) {
    std::uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    k = z ^ (z >> 31);
  }
  return out;
}

inline std::vector<WeightedBackend> backends(std::size_t n) {
  std::vector<WeightedBackend> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back({"ws://10.0.0." + std::to_string(i) + ":9000", 1});
  return out;
}

// max/mean of the keys each backend owns.
template <class Owner>
double max_over_mean(std::size_t backends, const std::vector<std::uint64_t>& ks, Owner&& owner) {
  std::vector<std::size_t> load(backends);
  for (auto k : ks) ++load[owner(k)];
  const double mean = static_cast<double>(ks.size()) / static_cast<double>(backends);
  return static_cast<double>(*std::max_element(load.begin(), load.end())) / mean;
}

}  // namespace wsgate::routing::testing
