#include "auth/refresh_schedule.hpp"

#include <algorithm>

namespace wsgate::auth {

void RefreshSchedule::failed(clock::time_point now) {
  // min_interval, 2x, 4x, ... up to the interval: a provider that is down is not hammered, and one
  // that comes back is noticed well before the next regular refresh.
  auto wait = min_interval_;
  for (unsigned i = 0; i < failures_ && wait < interval_; ++i) wait *= 2;
  ++failures_;
  next_due_ = now + std::min(wait, interval_);
}

}  // namespace wsgate::auth
