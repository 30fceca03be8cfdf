// Which live sessions a rebalance closes: on each backend over its bounded-load share, its oldest
// sessions beyond the share, at most `budget` in all, the backend furthest over first. Socket-free:
// the server gathers the sessions from every thread and closes the ones chosen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsgate::routing {

struct LiveSession {
  std::size_t backend = 0;  // index in the route's backends
  double age_seconds = 0;
  std::string id;           // "THREAD-N"
};

// `over_share`: by backend, sessions beyond its share (BackendPicker::over_share). Returns ids.
std::vector<std::string> plan_rebalance(std::vector<LiveSession> sessions, const std::vector<std::int64_t>& over_share,
                                        std::size_t budget);

}  // namespace wsgate::routing
