// What the gateway knows of one backend, shared by every route and reload that uses its URL:
// active health (consecutive check results against rise/fall thresholds), passive failures, and
// its live sessions (for bounded loads). Atomics: io threads read it, the control thread checks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace wsgate::routing {

class BackendState {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Change { none, became_healthy, became_unhealthy };

  // One active check's result. `rise` successes in a row make an unhealthy backend healthy, `fall`
  // failures in a row the reverse (HAProxy's rise/fall). A backend starts healthy. Control thread.
  Change record_check(bool ok, unsigned rise, unsigned fall);
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }

  // A connect or handshake failure: the backend goes to the back of the order for `fail_timeout`
  // (NGINX's max_fails=1 fail_timeout); a success ends that early.
  void passive_failure(Clock::time_point now, std::chrono::milliseconds fail_timeout) {
    failed_until_.store((now + fail_timeout).time_since_epoch().count(), std::memory_order_relaxed);
    passive_ejections_.fetch_add(1, std::memory_order_relaxed);
  }
  void passive_success() { failed_until_.store(0, std::memory_order_relaxed); }

  // Healthy and not in a passive fail timeout: a backend new clients are sent to.
  bool available(Clock::time_point now) const {
    return healthy() && failed_until_.load(std::memory_order_relaxed) <= now.time_since_epoch().count();
  }

  void session_opened() { sessions_.fetch_add(1, std::memory_order_relaxed); }
  void session_closed() { sessions_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t sessions() const { return sessions_.load(std::memory_order_relaxed); }

  // Times taken out: by active checks (healthy to unhealthy), by a failed connect or handshake.
  std::uint64_t check_ejections() const { return check_ejections_.load(std::memory_order_relaxed); }
  std::uint64_t passive_ejections() const { return passive_ejections_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> healthy_{true};
  std::atomic<std::int64_t> failed_until_{0};  // steady ticks
  std::atomic<std::int64_t> sessions_{0};
  std::atomic<std::uint64_t> check_ejections_{0};
  std::atomic<std::uint64_t> passive_ejections_{0};
  unsigned streak_ = 0;  // consecutive results contradicting the current state
};

}  // namespace wsgate::routing
