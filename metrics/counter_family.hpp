// A Prometheus counter family over ThreadCounters: the label sets are fixed when it is made (route
// names from the configuration, fixed reason sets), never taken from client input, so the number of
// series is bounded; a scrape sums each counter's per-thread shards.
#pragma once

#include "metrics/thread_counters.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <map>
#include <string>
#include <vector>

namespace wsgate::metrics {

class CounterFamily : public prometheus::Collectable {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // One counter per entry of `label_sets`, in that order: index i is label_sets[i].
  CounterFamily(std::string name, std::string help, std::vector<Labels> label_sets);

  ThreadCounters& counters() { return counters_; }
  // The index of a label set, for wiring once at start (never on the data path); -1 when absent.
  long index_of(const Labels& labels) const;

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::string name_, help_;
  std::vector<Labels> label_sets_;
  ThreadCounters counters_;
};

}  // namespace wsgate::metrics
