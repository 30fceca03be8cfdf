// What the gateway knows of one backend, shared by every route and reload that uses its URL:
// active health (consecutive check results against rise/fall thresholds), passive failures, and
// its load (for bounded loads). Atomics: io threads read and charge it, the control thread checks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace wsgate::routing {

class BackendState {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Change { none, became_healthy, became_unhealthy };

  // One active check's result, of a probe sent at `sent`. `rise` successes in a row make an
  // unhealthy backend healthy, `fall` failures in a row the reverse (HAProxy's rise/fall). A
  // backend starts healthy. `rise` passes sent after a passive failure also end that failure's
  // ejection early. Control thread.
  Change record_check(bool ok, unsigned rise, unsigned fall, Clock::time_point sent = {});
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }

  // A connect or handshake failure: the backend goes to the back of the order until `eject_until`
  // (NGINX's max_fails=1 fail_timeout), or until `passes` active checks sent after `now` passed,
  // whichever comes first (0: no active checks). A successful connect ends it early too.
  void passive_failure(Clock::time_point now, Clock::time_point eject_until, unsigned passes) {
    failed_at_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    passes_needed_.store(passes, std::memory_order_relaxed);
    failed_until_.store(eject_until.time_since_epoch().count(), std::memory_order_relaxed);
    passive_ejections_.fetch_add(1, std::memory_order_relaxed);
  }
  void passive_success() { failed_until_.store(0, std::memory_order_relaxed); }

  // What the operator said through the admin API (kept while the URL stays in the configuration):
  // draining takes no new sessions or requests, live ones stay; disabled also ends the live ones.
  enum class Mode : std::uint8_t { enabled, draining, disabled };
  void set_mode(Mode m) { mode_.store(m, std::memory_order_relaxed); }
  Mode mode() const { return mode_.load(std::memory_order_relaxed); }

  // Healthy, not passively ejected, enabled: a backend new clients are sent to.
  bool available(Clock::time_point now) const {
    return healthy() && mode() == Mode::enabled &&
           failed_until_.load(std::memory_order_relaxed) <= now.time_since_epoch().count();
  }
  bool passively_ejected(Clock::time_point now) const {
    return failed_until_.load(std::memory_order_relaxed) > now.time_since_epoch().count();
  }

  // Bounded loads count a backend's sessions and the upgrades and requests on their way to it
  // (charged when it is picked, so concurrent picks see each other). See BackendCharge.
  std::int64_t load() const { return load_.load(std::memory_order_relaxed); }
  // Adds one and returns the load with it.
  std::int64_t charge() { return load_.fetch_add(1, std::memory_order_relaxed) + 1; }
  void discharge() { load_.fetch_sub(1, std::memory_order_relaxed); }
  // What the other gateway instances hold on this backend, as last read from Redis (shared_loads);
  // 0 when not shared or when Redis could not be read.
  std::int64_t remote_load() const { return remote_load_.load(std::memory_order_relaxed); }
  void set_remote_load(std::int64_t n) { remote_load_.store(n, std::memory_order_relaxed); }

  // Times taken out: by active checks (healthy to unhealthy), by a failed connect or handshake.
  std::uint64_t check_ejections() const { return check_ejections_.load(std::memory_order_relaxed); }
  std::uint64_t passive_ejections() const { return passive_ejections_.load(std::memory_order_relaxed); }

  // For the admin API, written and read on the control thread only: the last active check, and
  // when the health last changed (Unix seconds; 0: never checked).
  struct CheckRecord {
    bool ok = false;
    std::string detail;
    std::int64_t at_unix = 0;
  };
  CheckRecord last_check;
  std::int64_t health_since_unix = 0;

 private:
  std::atomic<bool> healthy_{true};
  std::atomic<Mode> mode_{Mode::enabled};
  std::atomic<std::int64_t> failed_until_{0};  // steady ticks
  std::atomic<std::int64_t> failed_at_{0};     // steady ticks of the last passive failure
  std::atomic<unsigned> passes_needed_{0};     // passing checks that end that failure's ejection
  std::atomic<std::int64_t> load_{0};
  std::atomic<std::int64_t> remote_load_{0};
  std::atomic<std::uint64_t> check_ejections_{0};
  std::atomic<std::uint64_t> passive_ejections_{0};
  unsigned streak_ = 0;  // consecutive results contradicting the current state
};

// One unit of a backend's load, held from the pick until the session ends (or the connect or
// upgrade fails): released exactly once, whichever path the upgrade takes.
class BackendCharge {
 public:
  BackendCharge() = default;
  // Takes over one unit the caller already charged.
  explicit BackendCharge(std::shared_ptr<BackendState> state) : state_(std::move(state)) {}
  BackendCharge(BackendCharge&&) noexcept = default;
  BackendCharge& operator=(BackendCharge&& other) noexcept {
    if (this != &other) {
      release();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~BackendCharge() { release(); }

  explicit operator bool() const { return state_ != nullptr; }
  void release() {
    if (state_) state_->discharge();
    state_.reset();
  }

 private:
  std::shared_ptr<BackendState> state_;
};

}  // namespace wsgate::routing
