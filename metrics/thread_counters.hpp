// Counters the data path bumps without sharing a cache line between threads: each thread owns a
// row and only it writes there; a scrape sums the rows. Memory per thread: one row of counters.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace wsgate::metrics {

class ThreadCounters {
 public:
  // `size` counters, addressed 0..size-1, in `rows` rows: one per thread that writes them.
  ThreadCounters(std::size_t size, std::size_t rows);
  ThreadCounters(const ThreadCounters&) = delete;
  ThreadCounters& operator=(const ThreadCounters&) = delete;

  // One thread's row. add() is a relaxed load and store, not a read-modify-write: no other thread
  // writes the row. A gauge that goes down adds the two's complement; the sum wraps back.
  class Shard {
   public:
    void add(std::size_t index, std::uint64_t n = 1) {
      auto& c = values_[index];
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void subtract(std::size_t index, std::uint64_t n = 1) { add(index, ~n + 1); }

   private:
    friend class ThreadCounters;
    explicit Shard(std::size_t size) : values_(size) {}
    std::vector<std::atomic<std::uint64_t>> values_;
  };

  // Row `row` (< rows()); at most one thread may write through it.
  Shard& shard(std::size_t row) { return rows_[row]->shard; }
  std::uint64_t sum(std::size_t index) const;
  std::size_t size() const { return size_; }
  std::size_t rows() const { return rows_.size(); }

 private:
  // Rows padded apart so two threads' writes never share a cache line.
  struct alignas(64) PaddedShard {
    explicit PaddedShard(std::size_t size) : shard(size) {}
    Shard shard;
  };
  std::size_t size_;
  std::vector<std::unique_ptr<PaddedShard>> rows_;
};

}  // namespace wsgate::metrics
