#include "metrics/thread_counters.hpp"

namespace wsgate::metrics {

ThreadCounters::Shard& ThreadCounters::shard() {
  std::lock_guard lock(mutex_);
  shards_.push_back(std::make_unique<PaddedShard>(size_));
  return shards_.back()->shard;
}

std::uint64_t ThreadCounters::sum(std::size_t index) const {
  std::lock_guard lock(mutex_);
  std::uint64_t total = 0;
  for (const auto& s : shards_) total += s->shard.values_[index].load(std::memory_order_relaxed);
  return total;
}

}  // namespace wsgate::metrics
