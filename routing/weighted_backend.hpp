// A backend as the hashing sees it: a name that places it (its URL, the same in every instance)
// and a weight (its share of keys relative to the others).
#pragma once

#include <cstdint>
#include <string>

namespace wsgate::routing {

struct WeightedBackend {
  std::string name;
  std::uint32_t weight = 1;
};

}  // namespace wsgate::routing
