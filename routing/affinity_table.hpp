// Which backend each client key of a route was last sent to, so that its later requests and
// sessions follow it there even when bounded loads would now pick another (HAProxy's stick table).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace wsgate::routing {

// Thread-safe: one lock per shard, taken once per lookup, bind or release (per request or session,
// never per message). An entry lives while a request or session of its key is on the backend and
// `ttl` after the last one ends; past `max_entries` the least recently used goes first. Backends are
// named by an id that survives reloads (a hash of the URL), never by an index.
class AffinityTable {
 public:
  using Clock = std::chrono::steady_clock;

  AffinityTable(std::size_t max_entries, std::chrono::milliseconds ttl);

  // The backend `key` is bound to, if its entry is live.
  std::optional<std::uint64_t> lookup(std::uint64_t key, Clock::time_point now);
  // `key` goes to `backend` from now on, with one more request or session in progress there.
  void bind(std::uint64_t key, std::uint64_t backend, Clock::time_point now);
  // One request or session of `key` ended; the entry's ttl runs from the last.
  void release(std::uint64_t key, Clock::time_point now);

  std::size_t size() const;
  std::chrono::milliseconds ttl() const { return ttl_; }
  std::size_t max_entries() const { return max_entries_; }

 private:
  struct Entry {
    std::uint64_t key;
    std::uint64_t backend;
    std::uint32_t users;          // requests and sessions in progress
    Clock::rep idle_since;        // when users last fell to 0
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> lru;  // most recently used first
    std::unordered_map<std::uint64_t, std::list<Entry>::iterator> index;
  };
  Shard& shard(std::uint64_t key) { return shards_[key % shards_.size()]; }
  bool live(const Entry& e, Clock::time_point now) const {
    return e.users > 0 || now.time_since_epoch().count() - e.idle_since < ttl_ticks_;
  }

  std::vector<Shard> shards_;
  std::size_t max_entries_;
  std::size_t max_per_shard_;
  std::chrono::milliseconds ttl_;
  Clock::rep ttl_ticks_;
};

// One request's or session's use of its key's affinity entry: released when it ends, whichever way.
class AffinityHold {
 public:
  AffinityHold() = default;
  AffinityHold(std::shared_ptr<AffinityTable> table, std::uint64_t key)
      : table_(std::move(table)), key_(key) {}
  AffinityHold(AffinityHold&& o) noexcept : table_(std::move(o.table_)), key_(o.key_) {}
  AffinityHold& operator=(AffinityHold&& o) noexcept {
    if (this != &o) {
      release();
      table_ = std::move(o.table_);
      key_ = o.key_;
    }
    return *this;
  }
  ~AffinityHold() { release(); }

  void release() {
    if (table_) table_->release(key_, AffinityTable::Clock::now());
    table_.reset();
  }

 private:
  std::shared_ptr<AffinityTable> table_;
  std::uint64_t key_ = 0;
};

}  // namespace wsgate::routing
