// Remembers tokens that verified, keyed by a SHA-256 of the token and the verifier that accepted
// them, until they expire: a client that reconnects does not pay for the signature again. Bounded
// (oldest evicted first); one per io thread, so it takes no lock.
#pragma once

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace wsgate::auth {

class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(std::size_t capacity = 10'000) : capacity_(capacity) {}

  // The claims `verifier` accepted `token` with, if that was before `valid_until` (Unix seconds,
  // exp plus leeway), `now` is still earlier and the verifier's keys are those it was checked with
  // (a rotated-out key no longer vouches for its tokens).
  const boost::json::object* find(std::uint64_t verifier, std::uint64_t key_generation,
                                  std::string_view token, std::int64_t now);
  void insert(std::uint64_t verifier, std::uint64_t key_generation, std::string_view token,
              std::int64_t valid_until, boost::json::object claims);
  std::size_t size() const { return entries_.size(); }

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Key {
    std::uint64_t verifier;
    Digest digest;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const;  // the digest is already uniform: take its bytes
  };
  struct Entry {
    std::uint64_t key_generation;
    std::int64_t valid_until;
    boost::json::object claims;
  };
  static std::optional<Key> key_of(std::uint64_t verifier, std::string_view token);

  std::size_t capacity_;
  std::unordered_map<Key, Entry, KeyHash> entries_;
  std::deque<Key> order_;  // insertion order, for eviction
};

}  // namespace wsgate::auth
