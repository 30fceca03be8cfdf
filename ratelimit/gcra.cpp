#include "ratelimit/gcra.hpp"

#include <algorithm>

namespace wsgate::ratelimit {

Rate Rate::per(std::int64_t units, std::int64_t period_ns, std::int64_t burst) {
  Rate r;
  if (units <= 0) return r;
  // Rounded up: a rate is never exceeded because of the rounding.
  r.interval_ns = (period_ns + units - 1) / units;
  r.tolerance_ns = r.interval_ns * std::max<std::int64_t>(burst, 1);
  return r;
}

Decision decide(const Rate& rate, std::int64_t& tat, std::int64_t now_ns, std::int64_t cost) {
  if (rate.unlimited()) return {};
  const std::int64_t next = std::max(tat, now_ns) + rate.interval_ns * cost;
  // Allowed while the schedule runs at most `tolerance` ahead of now.
  const std::int64_t ahead = next - now_ns;
  if (ahead <= rate.tolerance_ns) {
    tat = next;
    return {};
  }
  if (rate.interval_ns * cost > rate.tolerance_ns) return {false, INT64_MAX};
  return {false, ahead - rate.tolerance_ns};
}

}  // namespace wsgate::ratelimit
