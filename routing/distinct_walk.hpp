// Reading a circular table of backend indices onward from a key's position and reporting each
// backend the first time it appears: the fail-over order of both the ring and Maglev.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsgate::routing {

// backend_at(i) is the backend of entry i of `size`; visit(b) returns true to stop. Stops too once
// `placed` distinct backends (those with entries) have been seen.
template <class BackendAt, class Visit>
void walk_distinct(std::size_t size, std::size_t start, std::size_t backends, std::size_t placed,
                   BackendAt&& backend_at, Visit&& visit) {
  // Up to 256 backends the seen set is on the stack: every pick walks, and allocates nothing.
  constexpr std::size_t kInline = 256;
  std::array<std::uint64_t, kInline / 64> inline_seen{};
  std::vector<bool> heap_seen(backends > kInline ? backends : 0);
  const auto first_time = [&](std::size_t b) {
    if (backends > kInline) return heap_seen[b] ? false : (heap_seen[b] = true);
    const std::uint64_t bit = std::uint64_t{1} << (b % 64);
    if (inline_seen[b / 64] & bit) return false;
    inline_seen[b / 64] |= bit;
    return true;
  };
  std::size_t distinct = 0;
  for (std::size_t i = start, n = 0; n < size && distinct < placed; ++n) {
    const std::size_t b = backend_at(i);
    if (first_time(b)) {
      ++distinct;
      if (visit(b)) return;
    }
    if (++i == size) i = 0;
  }
}

}  // namespace wsgate::routing
