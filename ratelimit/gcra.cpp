#include "ratelimit/gcra.hpp"

#include <algorithm>

namespace wsgate::ratelimit {
namespace {

__extension__ using Wide = __int128;  // products of a rate and a large cost: no division on the hot path

constexpr std::int64_t kForever = INT64_MAX / 4;  // far beyond any uptime, and safe to add to

std::int64_t saturating_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || r > kForever) return kForever;
  return r;
}

}  // namespace

Rate Rate::per(std::int64_t units, std::int64_t period_ns, std::int64_t burst) {
  Rate r;
  if (units <= 0 || period_ns <= 0) return r;
  // Rounded up: a rate is never exceeded because of the rounding.
  const auto scaled = static_cast<Wide>(period_ns) << kFractionBits;
  r.interval = static_cast<std::int64_t>(
      std::min<Wide>((scaled + units - 1) / units, INT64_MAX - (1 << kFractionBits)));
  r.tolerance_ns = saturating_mul(r.interval_ns(), std::max<std::int64_t>(burst, 1));
  return r;
}

std::int64_t Rate::cost_ns(std::int64_t units) const {
  if (units <= 1) return units == 1 ? interval_ns() : 0;
  const auto scaled = static_cast<Wide>(units) * interval;
  return static_cast<std::int64_t>(
      std::min<Wide>((scaled + (1 << kFractionBits) - 1) >> kFractionBits, kForever));
}

namespace {

// From the key's schedule `tat`, the new schedule when `cost` units pass now, or the refusal.
Decision step(const Rate& rate, std::int64_t tat, std::int64_t now_ns, std::int64_t cost,
              std::int64_t& next) {
  const std::int64_t base = std::max(tat, now_ns);
  // Allowed while one more unit keeps the schedule at most `tolerance` ahead of now.
  const std::int64_t over = base - now_ns + rate.interval_ns() - rate.tolerance_ns;
  if (over > 0) return {false, over};
  next = std::min(base + rate.cost_ns(cost), kForever);
  return {};
}

}  // namespace

Decision decide(const Rate& rate, std::int64_t& tat, std::int64_t now_ns, std::int64_t cost) {
  if (rate.unlimited()) return {};
  std::int64_t next = 0;
  const auto d = step(rate, tat, now_ns, cost, next);
  if (d.allowed) tat = next;
  return d;
}

Decision decide(const Rate& rate, std::atomic<std::int64_t>& tat, std::int64_t now_ns,
                std::int64_t cost) {
  if (rate.unlimited()) return {};
  std::int64_t seen = tat.load(std::memory_order_relaxed);
  for (;;) {
    std::int64_t next = 0;
    const auto d = step(rate, seen, now_ns, cost, next);
    if (!d.allowed) return d;
    // Only the schedule itself is shared, so relaxed order is enough.
    if (tat.compare_exchange_weak(seen, next, std::memory_order_relaxed)) return d;
  }
}

void refund(const Rate& rate, std::atomic<std::int64_t>& tat, std::int64_t cost) {
  if (!rate.unlimited()) tat.fetch_sub(rate.cost_ns(cost), std::memory_order_relaxed);
}

}  // namespace wsgate::ratelimit
