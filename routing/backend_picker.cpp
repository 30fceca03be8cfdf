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
  for (const auto& b : config_.backends) total_weight_ += b.weight;
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

const std::vector<std::size_t>& BackendPicker::hash_order(std::uint64_t key) const {
  // Per thread, reused: a pick on every upgrade allocates nothing once a thread has seen the
  // route's size.
  thread_local std::vector<std::size_t> order;
  thread_local std::vector<bool> listed;
  const std::size_t n = config_.backends.size();
  order.clear();
  if (n == 0) return order;
  listed.assign(n, false);
  walk(key, [&](std::size_t b) {
    order.push_back(b);
    listed[b] = true;
    return order.size() >= kWalkLimit;
  });
  for (std::size_t b = 0; b < n; ++b)
    if (!listed[b]) order.push_back(b);
  return order;
}

// ceil(c * total * weight / live weight), `total` counting the session being placed; with equal
// weights, c times the average.
std::pair<std::int64_t, double> BackendPicker::usable_load(Clock::time_point now) const {
  double live_weight = 0;
  std::int64_t total = 0;
  for (std::size_t x = 0; x < states_.size(); ++x) {
    if (!usable(x, now)) continue;
    live_weight += config_.backends[x].weight;
    total += std::max<std::int64_t>(0, states_[x]->load()) + remote(x);
  }
  return {total, live_weight};
}

double BackendPicker::bound(std::size_t b, std::int64_t total, double live_weight) const {
  return std::ceil(config_.balance_factor * static_cast<double>(total) * config_.backends[b].weight /
                   live_weight);
}

std::optional<BackendCharge> BackendPicker::charge_within_bound(std::size_t b,
                                                                Clock::time_point now) const {
  const std::int64_t mine = states_[b]->charge() + remote(b);
  BackendCharge charge(states_[b]);
  // Read after the charge: another thread's charge made before ours is in the total, and ours in
  // its, so of two picks racing for the last place under the bound at most one keeps it.
  const auto [total, live_weight] = usable_load(now);
  if (live_weight > 0 && static_cast<double>(mine) <= bound(b, total, live_weight)) return charge;
  return std::nullopt;  // the charge is released here
}

std::optional<Pick> BackendPicker::pick(std::uint64_t key, const std::vector<bool>& tried,
                                        Clock::time_point now,
                                        std::optional<std::size_t> preferred) const {
  const std::size_t n = config_.backends.size();
  auto untried = [&](std::size_t b) { return b >= tried.size() || !tried[b]; };
  if (preferred && *preferred < n && untried(*preferred) && usable(*preferred, now))
    return charged(*preferred);
  std::optional<std::size_t> first_available, first_untried;
  if (config_.balance == Balance::least_sessions) {
    // Charged, then checked against loads read after the charge (as bounded loads are): a pick
    // that two threads made at once for the same emptiest backend is redone by the one that lost,
    // so sessions stay within one of each other per unit of weight.
    for (int attempt = 0; attempt < 8; ++attempt) {
      const auto order = spread_order(key, now);
      const auto it = std::find_if(order.begin(), order.end(), [&](std::size_t b) { return untried(b); });
      if (it == order.end()) break;
      Pick pick = charged(*it);
      if (!lighter_exists(*it, now, untried)) return pick;
    }
  }
  if (config_.balance != Balance::hash) {
    // Usable backends first, in the balance's order; then, as with hashing, an untried one.
    for (const std::size_t b : spread_order(key, now))
      if (untried(b) && usable(b, now)) return charged(b);
    for (const std::size_t b : hash_order(key))
      if (untried(b) && states_[b]->mode() == BackendState::Mode::enabled) return charged(b);
    return std::nullopt;
  }
  for (const std::size_t b : hash_order(key)) {
    // Drained or disabled by the operator: not even a last resort.
    if (!untried(b) || states_[b]->mode() != BackendState::Mode::enabled) continue;
    if (!first_untried) first_untried = b;
    if (!usable(b, now)) continue;
    if (config_.balance_factor <= 0) return charged(b);
    if (!first_available) first_available = b;
    if (auto charge = charge_within_bound(b, now)) return Pick{b, std::move(*charge)};
  }
  const auto b = first_available ? first_available : first_untried;
  if (!b) return std::nullopt;
  return charged(*b);
}

std::vector<std::int64_t> BackendPicker::over_share(Clock::time_point now) const {
  std::vector<std::int64_t> out(states_.size(), 0);
  if (config_.balance_factor <= 0) return out;
  const auto [total, live_weight] = usable_load(now);
  if (live_weight <= 0) return out;
  for (std::size_t x = 0; x < states_.size(); ++x) {
    if (!usable(x, now)) continue;  // health moves its sessions, not a rebalance
    const auto share = static_cast<std::int64_t>(bound(x, total, live_weight));
    // Over the sum of every instance's sessions, but only this instance's own can be moved here.
    const auto local = std::max<std::int64_t>(0, states_[x]->load());
    out[x] = std::clamp<std::int64_t>(local + remote(x) - share, 0, local);
  }
  return out;
}

Pick BackendPicker::charged(std::size_t b) const {
  states_[b]->charge();
  return Pick{b, BackendCharge(states_[b])};
}

// Whether a usable backend other than `b` had fewer sessions per weight than `b` before this
// pick's charge.
template <class Untried>
bool BackendPicker::lighter_exists(std::size_t b, Clock::time_point now, const Untried& untried) const {
  const double mine = static_cast<double>(std::max<std::int64_t>(0, states_[b]->load() - 1));
  for (std::size_t x = 0; x < states_.size(); ++x) {
    if (x == b || !untried(x) || !usable(x, now)) continue;
    const double theirs = static_cast<double>(std::max<std::int64_t>(0, states_[x]->load()));
    if (theirs * config_.backends[b].weight < mine * config_.backends[x].weight) return true;
  }
  return false;
}

std::vector<std::size_t> BackendPicker::spread_order(std::uint64_t key, Clock::time_point now) const {
  const std::size_t n = config_.backends.size();
  std::vector<std::size_t> order;
  if (n == 0 || total_weight_ == 0) return order;
  if (config_.balance == Balance::round_robin) {
    // Turn t goes to the backend whose cumulative weight passes t mod the total, then on in list
    // order past unusable ones: each backend gets weight of every total_weight turns.
    std::uint64_t t = turn_.fetch_add(1, std::memory_order_relaxed) % total_weight_;
    std::size_t first = 0;
    while (t >= config_.backends[first].weight) t -= config_.backends[first++].weight;
    for (std::size_t i = 0; i < n; ++i) order.push_back((first + i) % n);
    return order;
  }
  // least_sessions: load per unit of weight, compared exactly (a * wb < b * wa), hash order kept
  // among equals so that instances seeing the same loads choose alike.
  order = hash_order(key);
  std::erase_if(order, [&](std::size_t b) { return !usable(b, now); });
  std::vector<std::int64_t> load(n);
  for (const std::size_t b : order) load[b] = std::max<std::int64_t>(0, states_[b]->load());
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return static_cast<double>(load[x]) * config_.backends[y].weight <
           static_cast<double>(load[y]) * config_.backends[x].weight;
  });
  return order;
}

std::vector<std::size_t> BackendPicker::pick_order(std::uint64_t key, Clock::time_point now) const {
  const std::size_t n = config_.backends.size();
  auto order = hash_order(key);
  double live_weight = 0;
  std::int64_t total = 0;
  for (std::size_t b = 0; b < n; ++b) {
    if (!usable(b, now)) continue;
    live_weight += config_.backends[b].weight;
    total += std::max<std::int64_t>(0, states_[b]->load());
  }
  auto over_bound = [&](std::size_t b) {
    return config_.balance_factor > 0 &&
           static_cast<double>(states_[b]->load() + 1) > bound(b, total + 1, live_weight);
  };
  // Three ranks, hash order kept within each: under the bound, over it, unavailable.
  auto rank = [&](std::size_t b) { return !usable(b, now) ? 2 : over_bound(b) ? 1 : 0; };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return rank(x) < rank(y); });
  return order;
}

}  // namespace wsgate::routing
