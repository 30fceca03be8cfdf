#include "handover/move_pacer.hpp"

namespace wsgate::handover {

bool MovePacer::should_ask(std::size_t t) const {
  const Thread& th = threads_[t];
  return !th.asking && th.more && th.outstanding <= static_cast<std::int64_t>(batch_ / 2);
}

void MovePacer::answered(std::size_t t, std::size_t moving, bool more) {
  Thread& th = threads_[t];
  th.asking = false;
  th.more = more;
  th.outstanding += static_cast<std::int64_t>(moving);
}

std::int64_t MovePacer::outstanding() const {
  std::int64_t n = 0;
  for (const auto& th : threads_) n += th.outstanding;
  return n;
}

}  // namespace wsgate::handover
