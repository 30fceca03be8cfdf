#include "metrics/series_layout.hpp"

namespace wsgate::metrics {

std::size_t Layout::add(const Family& f, Labels labels, std::size_t slots) {
  series_.push_back({&f, std::move(labels), slots_, {}, 1});
  slots_ += slots;
  return series_.back().first;
}

std::size_t Layout::counters(const Family& f, std::string_view label,
                             std::span<const std::string_view> values, const Labels& extra) {
  const std::size_t first = slots_;
  for (const auto value : values) {
    Labels labels = extra;
    labels.emplace_back(label, value);
    add(f, std::move(labels), 1);
  }
  return first;
}

std::size_t Layout::counter(const Family& f, Labels labels) { return add(f, std::move(labels), 1); }

std::size_t Layout::gauge(const Family& f, Labels labels) { return add(f, std::move(labels), 1); }

HistogramSlots Layout::histogram(const Family& f, Labels labels, std::vector<std::uint64_t> bounds,
                                 double units_per_exposed) {
  add(f, std::move(labels), bounds.size() + 2);  // the buckets, +Inf and the sum
  auto& s = series_.back();
  s.bounds = std::move(bounds);
  s.units_per_exposed = units_per_exposed;
  return {s.first, s.bounds.data(), s.bounds.size()};
}

}  // namespace wsgate::metrics
