// Per-key limiter state with bounded memory: at most `max_keys` entries; an entry nobody holds is
// dropped once it is back at full credit, and when the table is full the least recently used one
// nobody holds goes (counted). Entries are node-stable, so a session keeps a pointer to its own and
// decides per message without a lookup, a lock or an allocation. One table per thread, or one
// behind a lock for decisions shared by all threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

namespace wsgate::ratelimit {

struct KeyState {
  std::int64_t tat = 0;         // GCRA schedule of the limit this table is for
  std::int64_t tat_bytes = 0;   // a second schedule (bytes beside messages)
  std::int64_t sessions = 0;    // live sessions of the key (concurrency)
  std::int64_t holders = 0;     // sessions holding a pointer to this entry: never evicted
  std::int64_t last_used = 0;   // ns, for idle eviction
};

class KeyTable {
 public:
  explicit KeyTable(std::size_t max_keys = 100'000) : max_keys_(max_keys) {}

  // The entry for `key` (created at full credit if absent). May evict others; never one with holders.
  KeyState& get(std::uint64_t key, std::int64_t now_ns);
  KeyState* find(std::uint64_t key);
  // Drops entries without holders or sessions that are at full credit by `now_ns`; returns how many.
  std::size_t sweep(std::int64_t now_ns);

  std::size_t size() const { return entries_.size(); }
  std::uint64_t evicted() const { return evicted_; }  // dropped by the cap while not at full credit

 private:
  struct Entry {
    KeyState state;
    std::list<std::uint64_t>::iterator lru;
  };
  void evict_one();

  std::size_t max_keys_;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::list<std::uint64_t> lru_;  // front: least recently used
  std::uint64_t evicted_ = 0;
  std::int64_t last_sweep_ = INT64_MIN / 2;
};

}  // namespace wsgate::ratelimit
