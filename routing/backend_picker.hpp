// Which backend of a route a client goes to: its key's place by consistent hashing (ring or
// Maglev), skipping backends that are unhealthy or, with bounded loads, over their share; the rest
// of the order is where to fail over to. The same key and backends give the same order anywhere.
#pragma once

#include "routing/backend_state.hpp"
#include "routing/hash_ring.hpp"
#include "routing/maglev_table.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace wsgate::routing {

enum class HashAlgorithm { ring, maglev };

struct PickerConfig {
  HashAlgorithm algorithm = HashAlgorithm::ring;
  std::vector<WeightedBackend> backends;
  // Bounded loads (Mirrokni et al.; HAProxy's hash-balance-factor): no backend is given a session
  // while it holds balance_factor x the average or more; 0 turns the bound off.
  double balance_factor = 0;
  std::chrono::milliseconds fail_timeout{10'000};  // passive: a failed backend goes last this long
};

class BackendPicker {
 public:
  using Clock = BackendState::Clock;

  // `states` holds one per backend, shared with other routes using the same URL; empty: own ones.
  explicit BackendPicker(PickerConfig config,
                         std::vector<std::shared_ptr<BackendState>> states = {});

  // Every backend once, in the order to try them for `key`: available backends under their bound
  // in hash order, then available ones over it, then unavailable ones (better a retry than a 502).
  std::vector<std::size_t> pick_order(std::uint64_t key, Clock::time_point now) const;
  // The key's backend with every backend healthy and unloaded: where the key belongs.
  std::size_t home(std::uint64_t key) const;

  void report_failure(std::size_t backend, Clock::time_point now) {
    states_[backend]->passive_failure(now, config_.fail_timeout);
  }
  void report_success(std::size_t backend) { states_[backend]->passive_success(); }

  BackendState& state(std::size_t backend) const { return *states_[backend]; }
  std::size_t size() const { return config_.backends.size(); }

 private:
  template <class Visit>
  void walk(std::uint64_t key, Visit&& visit) const;

  PickerConfig config_;
  std::optional<HashRing> ring_;
  std::optional<MaglevTable> maglev_;
  std::vector<std::shared_ptr<BackendState>> states_;
};

}  // namespace wsgate::routing
