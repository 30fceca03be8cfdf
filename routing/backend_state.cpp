#include "routing/backend_state.hpp"

namespace wsgate::routing {

BackendState::Change BackendState::record_check(bool ok, unsigned rise, unsigned fall,
                                                Clock::time_point sent) {
  if (!ok) {
    if (passes_needed_.load(std::memory_order_relaxed) > 0)
      passes_needed_.store(rise, std::memory_order_relaxed);  // a failing check restarts the count
  } else if (sent.time_since_epoch().count() >= failed_at_.load(std::memory_order_relaxed)) {
    // Only a probe sent after the failure says the backend is back; one sent before proves nothing.
    unsigned needed = passes_needed_.load(std::memory_order_relaxed);
    if (needed > 0) {
      passes_needed_.store(--needed, std::memory_order_relaxed);
      if (needed == 0) failed_until_.store(0, std::memory_order_relaxed);
    }
  }
  const bool was_healthy = healthy();
  if (ok == was_healthy) {
    streak_ = 0;
    return Change::none;
  }
  if (++streak_ < (ok ? rise : fall)) return Change::none;
  streak_ = 0;
  healthy_.store(ok, std::memory_order_relaxed);
  if (!ok) check_ejections_.fetch_add(1, std::memory_order_relaxed);
  return ok ? Change::became_healthy : Change::became_unhealthy;
}

}  // namespace wsgate::routing
