// Counters the data path bumps without sharing a cache line between threads: each thread owns a
// shard and only it writes there; a scrape sums the shards. Memory per thread: one row of counters.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace wsgate::metrics {

class ThreadCounters {
 public:
  // `size` counters, addressed 0..size-1 (a family's label sets, in a fixed order).
  explicit ThreadCounters(std::size_t size) : size_(size) {}
  ThreadCounters(const ThreadCounters&) = delete;
  ThreadCounters& operator=(const ThreadCounters&) = delete;

  // One thread's row. Hold on to it (one per io thread); add() is a relaxed load and store, since
  // no other thread writes the row.
  class Shard {
   public:
    void add(std::size_t index, std::uint64_t n = 1) {
      auto& c = values_[index];
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

   private:
    friend class ThreadCounters;
    explicit Shard(std::size_t size) : values_(size) {}
    std::vector<std::atomic<std::uint64_t>> values_;
  };

  // A new row for the calling thread; rows are kept after their thread ends, so no count is lost.
  Shard& shard();
  std::uint64_t sum(std::size_t index) const;
  std::size_t size() const { return size_; }

 private:
  // Rows padded apart so two threads' writes never share a cache line.
  struct alignas(64) PaddedShard {
    explicit PaddedShard(std::size_t size) : shard(size) {}
    Shard shard;
  };
  std::size_t size_;
  mutable std::mutex mutex_;
  std::deque<std::unique_ptr<PaddedShard>> shards_;
};

}  // namespace wsgate::metrics
