// Every set of series the gateway counts in, exposed to prometheus-cpp's serializer as one family
// per metric name however many sets (routes, backends) carry it; a scrape sums the per-thread rows.
#pragma once

#include "metrics/series_layout.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>

namespace wsgate::metrics {

// The series of one layout under fixed labels (route="chat"), one row per thread.
class SeriesSet {
 public:
  SeriesSet(const Layout& layout, Labels labels, std::size_t rows)
      : layout_(layout), labels_(std::move(labels)), counters_(layout.slots(), rows) {}

  ThreadCounters::Shard& row(std::size_t r) { return counters_.shard(r); }
  const Layout& layout() const { return layout_; }
  const Labels& labels() const { return labels_; }
  const ThreadCounters& counters() const { return counters_; }

 private:
  const Layout& layout_;
  Labels labels_;
  ThreadCounters counters_;
};

class SeriesCollector : public prometheus::Collectable {
 public:
  // `rows`: the threads that count (io threads and the control thread).
  explicit SeriesCollector(std::size_t rows) : rows_(rows) {}

  // The set of `layout` with these labels: the one made before (a reload keeps its counts) or a
  // new one. Sets are never dropped, so a counter never goes back while the process lives.
  std::shared_ptr<SeriesSet> set(const Layout& layout, Labels labels);
  std::size_t rows() const { return rows_; }

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::size_t rows_;
  mutable std::mutex mutex_;  // sets are added by a reload while a scrape may read them
  std::vector<std::shared_ptr<SeriesSet>> sets_;
};

}  // namespace wsgate::metrics
