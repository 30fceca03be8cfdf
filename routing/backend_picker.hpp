// Which backend of a route a client goes to: its key's place by consistent hashing (ring or
// Maglev, with bounded loads), the fewest live sessions, or the next in turn; unhealthy backends
// skipped, affinity first; the pick is charged to the backend at once so concurrent picks see it.
#pragma once

#include "routing/backend_state.hpp"
#include "routing/hash_ring.hpp"
#include "routing/maglev_table.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace wsgate::routing {

enum class HashAlgorithm { ring, maglev };

enum class Balance {
  hash,            // the key's place in hash order (sticky; every instance agrees)
  least_sessions,  // the fewest live sessions per unit of weight; ties broken in the key's hash order
  round_robin,     // each backend in turn, as often as its weight says
};

struct PickerConfig {
  HashAlgorithm algorithm = HashAlgorithm::ring;
  Balance balance = Balance::hash;
  std::vector<WeightedBackend> backends;
  // Bounded loads (Mirrokni et al.; HAProxy's hash-balance-factor): no backend is given a session
  // while it holds balance_factor x the average or more; 0 turns the bound off.
  double balance_factor = 0;
  // Passive: a backend whose connect or handshake failed goes last this long at most...
  std::chrono::milliseconds passive_eject_time{10'000};
  // The bound counts what other instances hold too (BackendState::remote_load), so that several
  // gateways together keep each backend within it.
  bool shared_loads = false;
  // ...or until this many active checks sent after the failure passed (the route's
  // healthy_threshold; 0: the route has no active checks).
  unsigned check_passes = 0;
};

// A backend picked for one upgrade or request, its load already counting it.
struct Pick {
  std::size_t backend = 0;
  BackendCharge charge;
};

class BackendPicker {
 public:
  using Clock = BackendState::Clock;

  // `states` holds one per backend, shared with other routes using the same URL; empty: own ones.
  explicit BackendPicker(PickerConfig config,
                         std::vector<std::shared_ptr<BackendState>> states = {});

  // The backend for `key` among those `tried` (one flag per backend) does not mark, charged:
  // `preferred` (the client's affinity) when it is available; else the first available backend in
  // hash order that stays within the bound with this charge; else the first available one; else
  // the first untried one (better a retry than a 502). Nothing once every backend was tried.
  // The bound is checked after the charge, against a total that includes it, so no interleaving
  // of picks on several threads can place a backend over it.
  std::optional<Pick> pick(std::uint64_t key, const std::vector<bool>& tried, Clock::time_point now,
                           std::optional<std::size_t> preferred = std::nullopt) const;
  // Every backend once, in the order pick() would take them without charging any: available
  // backends under their bound in hash order, then available ones over it, then unavailable ones.
  std::vector<std::size_t> pick_order(std::uint64_t key, Clock::time_point now) const;
  // `b`, charged whatever its load: a session that is there already (handed over by the previous
  // process of a binary upgrade).
  Pick charged(std::size_t b) const;
  // The key's backend with every backend healthy and unloaded: where the key belongs.
  std::size_t home(std::uint64_t key) const;

  void report_failure(std::size_t backend, Clock::time_point now) {
    states_[backend]->passive_failure(now, now + config_.passive_eject_time, config_.check_passes);
  }
  // Available and given a share: where new clients may go.
  bool usable(std::size_t backend, Clock::time_point now) const {
    return config_.backends[backend].weight > 0 && states_[backend]->available(now);
  }
  void report_success(std::size_t backend) { states_[backend]->passive_success(); }

  BackendState& state(std::size_t backend) const { return *states_[backend]; }
  // By backend: what it holds beyond its bounded-load share of the route's current total (most
  // hold nothing beyond it). What a rebalance may move; all 0 when balance_factor is off.
  std::vector<std::int64_t> over_share(Clock::time_point now) const;
  std::size_t size() const { return config_.backends.size(); }

 private:
  template <class Visit>
  void walk(std::uint64_t key, Visit&& visit) const;
  // The walk's backends, then every other one; valid until the next call on this thread.
  const std::vector<std::size_t>& hash_order(std::uint64_t key) const;
  // Charges `b` and keeps the charge when its load, with it, is within the bound.
  std::optional<BackendCharge> charge_within_bound(std::size_t b, Clock::time_point now) const;
  double bound(std::size_t b, std::int64_t total, double live_weight) const;
  std::int64_t remote(std::size_t b) const {
    return config_.shared_loads ? std::max<std::int64_t>(0, states_[b]->remote_load()) : 0;
  }
  // The load of the usable backends together (every instance's, with shared_loads), and their weights'.
  std::pair<std::int64_t, double> usable_load(Clock::time_point now) const;
  template <class Untried>
  bool lighter_exists(std::size_t b, Clock::time_point now, const Untried& untried) const;
  // The candidates of a least_sessions or round_robin pick, in the order they are tried.
  std::vector<std::size_t> spread_order(std::uint64_t key, Clock::time_point now) const;

  PickerConfig config_;
  std::optional<HashRing> ring_;
  std::optional<MaglevTable> maglev_;
  std::vector<std::shared_ptr<BackendState>> states_;
  std::uint64_t total_weight_ = 0;
  mutable std::atomic<std::uint64_t> turn_{0};  // round_robin: picks made so far
};

}  // namespace wsgate::routing
