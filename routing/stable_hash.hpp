// The one hash every gateway instance computes alike (no per-process seed, no std::hash): keys,
// ring points and Maglev permutations all come from it, so instances agree on where a client goes.
#pragma once

#include <cstdint>
#include <string_view>

namespace wsgate::routing {

// FNV-1a over the bytes, then the SplitMix64 finalizer so that close inputs land far apart.
constexpr std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed = 0) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

}  // namespace wsgate::routing
