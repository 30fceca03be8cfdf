#include "routing/maglev_table.hpp"

#include "routing/stable_hash.hpp"

#include <algorithm>

namespace wsgate::routing {

namespace {

bool is_prime(std::size_t n) {
  if (n < 2) return false;
  for (std::size_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

std::size_t prime_at_least(std::size_t n) {
  while (!is_prime(n)) ++n;
  return n;
}

}  // namespace

MaglevTable::MaglevTable(const std::vector<WeightedBackend>& backends, std::size_t table_size)
    : backends_(backends.size()) {
  const std::size_t m =
      table_size ? prime_at_least(table_size) : prime_at_least(std::max<std::size_t>(131071, 500 * backends.size()));
  std::uint32_t max_weight = 0;
  for (const auto& b : backends) max_weight = std::max(max_weight, b.weight);
  if (max_weight == 0) return;
  table_.assign(m, UINT32_MAX);

  // Permutation of backend b: offset, offset + skip, offset + 2 skip, ... (mod m); m prime makes
  // every skip in [1, m) visit every slot. Both come from the name alone.
  // Visit backends by name so that the fill, like the permutations, ignores list order.
  std::vector<std::size_t> order(backends.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t x, std::size_t y) { return backends[x].name < backends[y].name; });
  std::vector<std::uint64_t> offset(backends.size()), skip(backends.size()), next(backends.size());
  std::vector<double> credit(backends.size());
  for (std::size_t b = 0; b < backends.size(); ++b) {
    offset[b] = stable_hash(backends[b].name, 0x6d61676c6576ULL) % m;
    skip[b] = stable_hash(backends[b].name, 0x736b6970ULL) % (m - 1) + 1;
    if (backends[b].weight > 0) ++placed_;
  }
  std::size_t filled = 0;
  while (filled < m) {
    for (std::size_t b : order) {
      // Weighted turns: a backend of half the top weight claims a slot every other round.
      credit[b] += static_cast<double>(backends[b].weight) / max_weight;
      if (credit[b] < 1.0) continue;
      credit[b] -= 1.0;
      std::uint64_t slot;
      do {
        slot = (offset[b] + next[b] * skip[b]) % m;
        ++next[b];
      } while (table_[slot] != UINT32_MAX);
      table_[slot] = static_cast<std::uint32_t>(b);
      if (++filled == m) break;
    }
  }
}

}  // namespace wsgate::routing
