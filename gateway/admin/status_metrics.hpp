// The gateway's state as Prometheus families, read when scraped on the control thread: build and
// configuration info, reloads, backend health and ejections, JWKS refreshes, certificate expiry,
// lost access log lines and the process's resources.
#pragma once

#include "gateway/runtime.hpp"

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wsgate::gateway {

struct ReloadHistory {
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  double last_success_unix = 0;  // the start counts as the first load
  std::string config_hash;       // of the file in use: the first 16 hex digits of its SHA-256
};

// Binary upgrades (SIGUSR2), as this process took part in them: which generation it is (1: started
// by hand; n+1: started by generation n) and what became of the sessions it handed or took over.
struct HandoverHistory {
  std::uint64_t generation = 1;
  std::uint64_t handed_over = 0;  // moved to the new process
  std::uint64_t drained = 0;      // could not move (TLS, HTTP/2, no frame boundary in time): 1001
  std::uint64_t kept = 0;         // the new process failed or refused them: relayed on here
  std::uint64_t adopted = 0;      // taken over from the previous process
  std::uint64_t closed = 0;       // taken over, then closed: their route or backend is gone (1012)
  std::uint64_t refused = 0;      // not taken over: left with the previous process
};

// SHA-256 of the file's bytes (16 hex digits), or "" when it cannot be read.
std::string config_file_hash(const std::string& path);

std::vector<prometheus::MetricFamily> status_families(const Runtime& rt, const ReloadHistory& reloads,
                                                      const HandoverHistory& handovers);

}  // namespace wsgate::gateway
