// The Generic Cell Rate Algorithm (ITU-T I.371; the "virtual scheduling" form): a rate and a burst
// as one theoretical arrival time per key, in integer nanoseconds on a monotonic clock. A decision is
// a few integer operations: no lock, no allocation, no floating point drift.
#pragma once

#include <atomic>
#include <cstdint>

namespace wsgate::ratelimit {

struct Rate {
  // Time one unit of credit takes to come back, in 1/65536 ns: byte rates of several GB/s keep
  // their precision, and one unit a day still fits in 64 bits.
  static constexpr int kFractionBits = 16;
  std::int64_t interval = 0;
  std::int64_t tolerance_ns = 0;  // how far ahead the schedule may run: interval x burst

  // `units` per `period_ns` (at most a day), with `burst` units allowed at once from full credit.
  static Rate per(std::int64_t units, std::int64_t period_ns, std::int64_t burst);
  bool unlimited() const { return interval == 0; }
  std::int64_t interval_ns() const { return (interval + (1 << kFractionBits) - 1) >> kFractionBits; }
  std::int64_t cost_ns(std::int64_t units) const;  // saturates instead of overflowing
};

struct Decision {
  bool allowed = true;
  std::int64_t retry_after_ns = 0;  // when refused: wait this long for one unit of credit
};

// Decides whether `cost` units may pass at `now_ns`; updates `tat` (the key's theoretical arrival
// time, 0 for a new key) only when they may. They pass while one unit of credit is left, and a cost
// larger than that is taken as debt the key pays back before its next pass: a 1 MiB frame gets
// through a 64 KiB burst, and the average rate stays exact.
Decision decide(const Rate& rate, std::int64_t& tat, std::int64_t now_ns, std::int64_t cost = 1);

// The same on a schedule several threads share, without a lock (compare-and-swap).
Decision decide(const Rate& rate, std::atomic<std::int64_t>& tat, std::int64_t now_ns,
                std::int64_t cost = 1);

// Gives back `cost` units a decision took (another limit refused the same frame).
void refund(const Rate& rate, std::atomic<std::int64_t>& tat, std::int64_t cost = 1);

// At full credit again (nothing to remember): the key's state may be dropped.
inline bool at_full_credit(std::int64_t tat, std::int64_t now_ns) { return tat <= now_ns; }

}  // namespace wsgate::ratelimit
