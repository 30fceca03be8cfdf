// What one set of series holds (a route's, a backend's, ...): counters, gauges and histograms at
// fixed slots of a per-thread row, with their families and labels for the exposition.
#pragma once

#include "metrics/thread_counters.hpp"

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::metrics {

enum class Type { counter, gauge, histogram };

struct Family {
  std::string name;
  std::string help;
  Type type;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

struct HistogramSlots {
  std::size_t first = 0;  // bucket i (values up to bounds[i]) at first + i, +Inf next, then the sum
  const std::uint64_t* bounds = nullptr;
  std::size_t bounds_count = 0;
};

// One observation: a bucket count and the sum, both in the calling thread's row.
inline void observe(ThreadCounters::Shard& row, const HistogramSlots& h, std::uint64_t value) {
  std::size_t i = 0;
  while (i < h.bounds_count && value > h.bounds[i]) ++i;
  row.add(h.first + i);
  row.add(h.first + h.bounds_count + 1, value);
}

class Layout {
 public:
  struct Series {
    const Family* family;
    Labels labels;  // its own, added to those of the set
    std::size_t first;
    std::vector<std::uint64_t> bounds;  // histograms: bucket upper bounds in the unit observed
    // Units observed per unit exposed (1e9: ns observed, seconds exposed). A divisor, not a factor
    // like 1e-9, so that a bound of 60e9 ns is exposed as exactly 60 (60e9 * 1e-9 is 60.00000000000001).
    double units_per_exposed = 1;
  };

  // One series per value of `label` (a fixed set), at consecutive slots; returns the first.
  std::size_t counters(const Family& f, std::string_view label,
                       std::span<const std::string_view> values, const Labels& extra = {});
  std::size_t counter(const Family& f, Labels labels = {});
  std::size_t gauge(const Family& f, Labels labels = {});  // add to raise, subtract to lower
  HistogramSlots histogram(const Family& f, Labels labels, std::vector<std::uint64_t> bounds,
                           double units_per_exposed = 1);

  std::size_t slots() const { return slots_; }
  const std::deque<Series>& series() const { return series_; }

 private:
  std::size_t add(const Family& f, Labels labels, std::size_t slots);
  std::deque<Series> series_;  // a deque: the bounds a HistogramSlots points to never move
  std::size_t slots_ = 0;
};

}  // namespace wsgate::metrics
