// Per-key limiter state with bounded memory: at most `max_keys` entries (more only while every one
// has live sessions); an entry without sessions is dropped once it is back at full credit, and when
// the table is full the least recently used one without sessions goes (counted). Entries are
// node-stable: a reference stays valid while the entry lives.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

namespace wsgate::ratelimit {

// The message and byte schedules of one key, both directions. Its sessions decide on them from any
// thread without a lock; a cache line of its own, so two busy keys never share one.
struct alignas(64) FlowSchedules {
  std::atomic<std::int64_t> client_messages{0};
  std::atomic<std::int64_t> client_bytes{0};
  std::atomic<std::int64_t> backend_messages{0};
  std::atomic<std::int64_t> backend_bytes{0};

  bool at_full_credit(std::int64_t now_ns) const;
};

struct KeyState {
  std::int64_t tat = 0;        // GCRA schedule of the upgrades
  std::int64_t sessions = 0;   // live sessions of the key: never evicted while above 0
  std::int64_t last_used = 0;  // ns
  FlowSchedules flows;

  bool at_full_credit(std::int64_t now_ns) const;
};

class KeyTable {
 public:
  explicit KeyTable(std::size_t max_keys = 100'000) : max_keys_(max_keys) {}

  // The entry for `key` (created at full credit if absent). May evict others; never one with sessions.
  KeyState& get(std::uint64_t key, std::int64_t now_ns);
  KeyState* find(std::uint64_t key);
  // Drops entries without sessions that are at full credit by `now_ns`; returns how many.
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
