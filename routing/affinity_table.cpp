#include "routing/affinity_table.hpp"

#include <algorithm>

namespace wsgate::routing {

namespace {
constexpr std::size_t kShards = 16;  // spreads the lock over the io threads' upgrades
}

AffinityTable::AffinityTable(std::size_t max_entries, std::chrono::milliseconds ttl)
    : shards_(kShards),
      max_entries_(max_entries),
      max_per_shard_(std::max<std::size_t>(1, (max_entries + kShards - 1) / kShards)),
      ttl_(ttl),
      ttl_ticks_(std::chrono::duration_cast<Clock::duration>(ttl).count()) {}

std::optional<std::uint64_t> AffinityTable::lookup(std::uint64_t key, Clock::time_point now) {
  auto& s = shard(key);
  std::lock_guard lock(s.mutex);
  const auto it = s.index.find(key);
  if (it == s.index.end()) return std::nullopt;
  if (!live(*it->second, now)) {
    s.lru.erase(it->second);
    s.index.erase(it);
    return std::nullopt;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->backend;
}

void AffinityTable::bind(std::uint64_t key, std::uint64_t backend, Clock::time_point now) {
  auto& s = shard(key);
  std::lock_guard lock(s.mutex);
  if (const auto it = s.index.find(key); it != s.index.end()) {
    it->second->backend = backend;
    ++it->second->users;
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return;
  }
  if (s.index.size() >= max_per_shard_) {
    // Full: the least recently used entry goes, even one in use (its key is then placed afresh
    // next time); the table's memory is what is bounded.
    s.index.erase(s.lru.back().key);
    s.lru.pop_back();
  }
  s.lru.push_front(Entry{key, backend, 1, now.time_since_epoch().count()});
  s.index.emplace(key, s.lru.begin());
}

void AffinityTable::release(std::uint64_t key, Clock::time_point now) {
  auto& s = shard(key);
  std::lock_guard lock(s.mutex);
  const auto it = s.index.find(key);
  if (it == s.index.end() || it->second->users == 0) return;  // evicted meanwhile
  if (--it->second->users == 0) it->second->idle_since = now.time_since_epoch().count();
}

std::size_t AffinityTable::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.index.size();
  }
  return n;
}

}  // namespace wsgate::routing
