#include "metrics/thread_counters.hpp"

namespace wsgate::metrics {

ThreadCounters::ThreadCounters(std::size_t size, std::size_t rows) : size_(size) {
  rows_.reserve(rows);
  for (std::size_t r = 0; r < rows; ++r) rows_.push_back(std::make_unique<PaddedShard>(size));
}

std::uint64_t ThreadCounters::sum(std::size_t index) const {
  std::uint64_t total = 0;
  for (const auto& r : rows_) total += r->shard.values_[index].load(std::memory_order_relaxed);
  return total;
}

}  // namespace wsgate::metrics
