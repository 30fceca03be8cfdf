#include "routing/backend_picker.hpp"

#include <algorithm>
#include <cmath>

namespace wsgate::routing {

namespace {
// Hash order is followed this far; beyond it (routes with many backends) the remaining ones are
// appended in list order, which keeps a pick short while every backend still gets its try.
constexpr std::size_t kWalkLimit = 8;
}  // namespace

BackendPicker::BackendPicker(PickerConfig config, std::vector<std::shared_ptr<BackendState>> states)
    : config_(std::move(config)), states_(std::move(states)) {
  if (config_.algorithm == HashAlgorithm::maglev) maglev_.emplace(config_.backends);
  else ring_.emplace(config_.backends);
  if (states_.size() != config_.backends.size()) {
    states_.clear();
    for (std::size_t i = 0; i < config_.backends.size(); ++i)
      states_.push_back(std::make_shared<BackendState>());
  }
}

template <class Visit>
void BackendPicker::walk(std::uint64_t key, Visit&& visit) const {
  if (maglev_) maglev_->walk(key, std::forward<Visit>(visit));
  else ring_->walk(key, std::forward<Visit>(visit));
}

std::size_t BackendPicker::home(std::uint64_t key) const {
  return maglev_ ? maglev_->owner(key) : ring_->owner(key);
}

std::vector<std::size_t> BackendPicker::pick_order(std::uint64_t key, Clock::time_point now) const {
  const std::size_t n = config_.backends.size();
  std::vector<std::size_t> order;
  order.reserve(n);
  if (n == 0) return order;
  std::vector<bool> listed(n);
  walk(key, [&](std::size_t b) {
    order.push_back(b);
    listed[b] = true;
    return order.size() >= kWalkLimit;
  });
  for (std::size_t b = 0; b < n; ++b)
    if (!listed[b]) order.push_back(b);

  // The bound: ceil(c * (sessions + 1) * weight / live weight), the "+1" being the session placed
  // now; with equal weights, c times the average.
  double live_weight = 0;
  std::int64_t sessions = 0;
  std::vector<bool> up(n);
  for (std::size_t b = 0; b < n; ++b) {
    up[b] = states_[b]->available(now) && config_.backends[b].weight > 0;
    if (!up[b]) continue;
    live_weight += config_.backends[b].weight;
    sessions += std::max<std::int64_t>(0, states_[b]->sessions());
  }
  auto over_bound = [&](std::size_t b) {
    if (config_.balance_factor <= 0) return false;
    const double bound = std::ceil(config_.balance_factor * static_cast<double>(sessions + 1) *
                                   config_.backends[b].weight / live_weight);
    return static_cast<double>(states_[b]->sessions()) >= bound;
  };
  // Three ranks, hash order kept within each: under the bound, over it, unavailable.
  auto rank = [&](std::size_t b) { return !up[b] ? 2 : over_bound(b) ? 1 : 0; };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return rank(x) < rank(y); });
  return order;
}

}  // namespace wsgate::routing
