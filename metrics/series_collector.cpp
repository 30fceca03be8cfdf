#include "metrics/series_collector.hpp"

#include <limits>
#include <map>

namespace wsgate::metrics {
namespace {

prometheus::MetricType to_prometheus(Type t) {
  switch (t) {
    case Type::counter: return prometheus::MetricType::Counter;
    case Type::gauge: return prometheus::MetricType::Gauge;
    case Type::histogram: return prometheus::MetricType::Histogram;
  }
  return prometheus::MetricType::Untyped;
}

prometheus::ClientMetric read(const SeriesSet& set, const Layout::Series& s) {
  prometheus::ClientMetric m;
  for (const auto& [k, v] : set.labels()) m.label.push_back({k, v});
  for (const auto& [k, v] : s.labels) m.label.push_back({k, v});
  const auto& c = set.counters();
  switch (s.family->type) {
    case Type::counter: m.counter.value = static_cast<double>(c.sum(s.first)); break;
    case Type::gauge:
      m.gauge.value = static_cast<double>(static_cast<std::int64_t>(c.sum(s.first)));
      break;
    case Type::histogram: {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < s.bounds.size(); ++i) {
        cumulative += c.sum(s.first + i);
        m.histogram.bucket.push_back({cumulative, static_cast<double>(s.bounds[i]) / s.units_per_exposed});
      }
      // The count is the buckets' total, so a scrape racing an observation stays consistent.
      cumulative += c.sum(s.first + s.bounds.size());
      m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
      m.histogram.sample_count = cumulative;
      m.histogram.sample_sum = static_cast<double>(c.sum(s.first + s.bounds.size() + 1)) / s.units_per_exposed;
      break;
    }
  }
  return m;
}

}  // namespace

std::shared_ptr<SeriesSet> SeriesCollector::set(const Layout& layout, Labels labels) {
  std::lock_guard lock(mutex_);
  for (const auto& s : sets_)
    if (&s->layout() == &layout && s->labels() == labels) return s;
  sets_.push_back(std::make_shared<SeriesSet>(layout, std::move(labels), rows_));
  return sets_.back();
}

std::vector<prometheus::MetricFamily> SeriesCollector::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  std::map<const Family*, std::size_t> index;  // a family's place in `families`
  std::lock_guard lock(mutex_);
  for (const auto& set : sets_) {
    for (const auto& s : set->layout().series()) {
      auto [it, added] = index.try_emplace(s.family, families.size());
      if (added) {
        families.emplace_back();
        families.back().name = s.family->name;
        families.back().help = s.family->help;
        families.back().type = to_prometheus(s.family->type);
      }
      families[it->second].metric.push_back(read(*set, s));
    }
  }
  return families;
}

}  // namespace wsgate::metrics
