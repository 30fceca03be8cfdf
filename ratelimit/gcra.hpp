// The Generic Cell Rate Algorithm (ITU-T I.371; the "virtual scheduling" form): a rate and a burst
// as one theoretical arrival time per key, in integer nanoseconds on a monotonic clock. A decision is
// a few integer operations: no lock, no allocation, no floating point drift.
#pragma once

#include <cstdint>

namespace wsgate::ratelimit {

struct Rate {
  std::int64_t interval_ns = 0;   // time one unit of credit takes to come back (1e9 / per second)
  std::int64_t tolerance_ns = 0;  // how far ahead the schedule may run: interval x burst

  // `units` per `period_ns`, with `burst` units allowed at once from full credit (at least 1).
  static Rate per(std::int64_t units, std::int64_t period_ns, std::int64_t burst);
  bool unlimited() const { return interval_ns == 0; }
};

struct Decision {
  bool allowed = true;
  std::int64_t retry_after_ns = 0;  // when refused: wait this long for `cost` units of credit
};

// Decides whether `cost` units may pass at `now_ns`; updates `tat` (the key's theoretical arrival
// time, 0 for a new key) only when they may. A cost above the burst never passes.
Decision decide(const Rate& rate, std::int64_t& tat, std::int64_t now_ns, std::int64_t cost = 1);

// At full credit again (nothing to remember): the key's state may be dropped.
inline bool at_full_credit(std::int64_t tat, std::int64_t now_ns) { return tat <= now_ns; }

}  // namespace wsgate::ratelimit
