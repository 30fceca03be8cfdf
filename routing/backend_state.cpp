#include "routing/backend_state.hpp"

namespace wsgate::routing {

BackendState::Change BackendState::record_check(bool ok, unsigned rise, unsigned fall) {
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
