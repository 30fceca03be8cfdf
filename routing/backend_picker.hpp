// Which backend of a route a new client tries first: round robin, with backends that recently
// refused a connection moved to the end (passive health). Replaced by consistent hashing later.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace wsgate::routing {

class BackendPicker {
 public:
  using Clock = std::chrono::steady_clock;

  // fail_timeout: how long a backend that failed stays at the back of the order (NGINX's
  // max_fails=1 fail_timeout=10s).
  explicit BackendPicker(std::size_t backends,
                         std::chrono::milliseconds fail_timeout = std::chrono::seconds(10));

  // Every backend once, in the order to try them for one request.
  std::vector<std::size_t> pick_order(Clock::time_point now);

  void report_failure(std::size_t backend, Clock::time_point now);
  void report_success(std::size_t backend);

 private:
  std::size_t count_;
  std::chrono::milliseconds fail_timeout_;
  // Upgrades, not messages, touch these: relaxed atomics shared across io threads are cheap enough.
  std::atomic<std::uint64_t> next_{0};
  std::unique_ptr<std::atomic<std::int64_t>[]> failed_until_;  // steady ticks; 0 = healthy
};

}  // namespace wsgate::routing
