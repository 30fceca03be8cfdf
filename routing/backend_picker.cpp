#include "routing/backend_picker.hpp"

namespace wsgate::routing {

BackendPicker::BackendPicker(std::size_t backends, std::chrono::milliseconds fail_timeout)
    : count_(backends),
      fail_timeout_(fail_timeout),
      failed_until_(std::make_unique<std::atomic<std::int64_t>[]>(backends)) {}

std::vector<std::size_t> BackendPicker::pick_order(Clock::time_point now) {
  std::vector<std::size_t> healthy, failed;
  healthy.reserve(count_);
  if (count_ == 0) return healthy;
  const auto start = next_.fetch_add(1, std::memory_order_relaxed) % count_;
  const auto ticks = now.time_since_epoch().count();
  for (std::size_t k = 0; k < count_; ++k) {
    const std::size_t i = (start + k) % count_;
    if (failed_until_[i].load(std::memory_order_relaxed) > ticks) failed.push_back(i);
    else healthy.push_back(i);
  }
  // A backend in its fail timeout is still tried last: better a retry than a certain 502.
  healthy.insert(healthy.end(), failed.begin(), failed.end());
  return healthy;
}

void BackendPicker::report_failure(std::size_t backend, Clock::time_point now) {
  failed_until_[backend].store((now + fail_timeout_).time_since_epoch().count(),
                               std::memory_order_relaxed);
}

void BackendPicker::report_success(std::size_t backend) {
  failed_until_[backend].store(0, std::memory_order_relaxed);
}

}  // namespace wsgate::routing
