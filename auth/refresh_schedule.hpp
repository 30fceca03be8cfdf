// When a JWKS URL is fetched again: every refresh_interval after a success; on demand (a token names
// a kid we do not have) but never twice within min_interval; after a failure, retries that back off
// from min_interval to refresh_interval. Pure arithmetic on time points, so tests need no clock.
#pragma once

#include <chrono>

namespace wsgate::auth {

class RefreshSchedule {
 public:
  using clock = std::chrono::steady_clock;

  RefreshSchedule(clock::duration interval, clock::duration min_interval)
      : interval_(interval), min_interval_(min_interval) {}

  // When the next background fetch is due; the first is due at once.
  clock::time_point next_due() const { return next_due_; }
  // Whether a fetch asked for by a request may start now.
  bool on_demand_allowed(clock::time_point now) const {
    return !attempted_ || now - last_attempt_ >= min_interval_;
  }
  void started(clock::time_point now) {
    attempted_ = true;
    last_attempt_ = now;
  }
  void succeeded(clock::time_point now) {
    failures_ = 0;
    next_due_ = now + interval_;
  }
  void failed(clock::time_point now);
  unsigned failures() const { return failures_; }

 private:
  clock::duration interval_;
  clock::duration min_interval_;
  clock::time_point next_due_{};
  clock::time_point last_attempt_{};
  bool attempted_ = false;
  unsigned failures_ = 0;
};

}  // namespace wsgate::auth
