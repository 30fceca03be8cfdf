#include "metrics/counter_family.hpp"

#include <algorithm>

namespace wsgate::metrics {

CounterFamily::CounterFamily(std::string name, std::string help, std::vector<Labels> label_sets)
    : name_(std::move(name)), help_(std::move(help)), label_sets_(std::move(label_sets)),
      counters_(label_sets_.size()) {}

long CounterFamily::index_of(const Labels& labels) const {
  const auto it = std::find(label_sets_.begin(), label_sets_.end(), labels);
  return it == label_sets_.end() ? -1 : static_cast<long>(it - label_sets_.begin());
}

std::vector<prometheus::MetricFamily> CounterFamily::Collect() const {
  prometheus::MetricFamily family;
  family.name = name_;
  family.help = help_;
  family.type = prometheus::MetricType::Counter;
  for (std::size_t i = 0; i < label_sets_.size(); ++i) {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : label_sets_[i]) m.label.push_back({k, v});
    m.counter.value = static_cast<double>(counters_.sum(i));
    family.metric.push_back(std::move(m));
  }
  return {std::move(family)};
}

}  // namespace wsgate::metrics
