// Reading a circular table of backend indices onward from a key's position and reporting each
// backend the first time it appears: the fail-over order of both the ring and Maglev.
#pragma once

#include <cstddef>
#include <vector>

namespace wsgate::routing {

// backend_at(i) is the backend of entry i of `size`; visit(b) returns true to stop. Stops too once
// `placed` distinct backends (those with entries) have been seen.
template <class BackendAt, class Visit>
void walk_distinct(std::size_t size, std::size_t start, std::size_t backends, std::size_t placed,
                   BackendAt&& backend_at, Visit&& visit) {
  std::vector<bool> seen(backends);
  std::size_t distinct = 0;
  for (std::size_t i = start, n = 0; n < size && distinct < placed; ++n) {
    const std::size_t b = backend_at(i);
    if (!seen[b]) {
      seen[b] = true;
      ++distinct;
      if (visit(b)) return;
    }
    if (++i == size) i = 0;
  }
}

}  // namespace wsgate::routing
