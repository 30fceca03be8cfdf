#include "routing/rebalance_plan.hpp"

#include <algorithm>
#include <numeric>

namespace wsgate::routing {

std::vector<std::string> plan_rebalance(std::vector<LiveSession> sessions, const std::vector<std::int64_t>& over_share,
                                        std::size_t budget) {
  std::vector<std::string> out;
  // Oldest first: a long session has had its turn on the crowded backend; ties by id, so the
  // choice is the same whatever order the threads answered in.
  std::sort(sessions.begin(), sessions.end(), [](const LiveSession& a, const LiveSession& b) {
    return a.age_seconds != b.age_seconds ? a.age_seconds > b.age_seconds : a.id < b.id;
  });
  std::vector<std::int64_t> left = over_share;
  std::vector<std::size_t> order(left.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return left[a] > left[b]; });
  // Round by round, one session from each backend still over, the furthest over first: a small
  // budget spreads over the crowded backends instead of emptying the first of them.
  bool progress = true;
  std::vector<std::size_t> next(left.size(), 0);  // where to look next in `sessions`, per backend
  while (out.size() < budget && progress) {
    progress = false;
    for (const std::size_t b : order) {
      if (out.size() >= budget) break;
      if (left[b] <= 0) continue;
      while (next[b] < sessions.size() && sessions[next[b]].backend != b) ++next[b];
      if (next[b] >= sessions.size()) continue;
      out.push_back(sessions[next[b]].id);
      ++next[b];
      --left[b];
      progress = true;
    }
  }
  return out;
}

}  // namespace wsgate::routing
