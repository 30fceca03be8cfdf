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

// SHA-256 of the file's bytes (16 hex digits), or "" when it cannot be read.
std::string config_file_hash(const std::string& path);

std::vector<prometheus::MetricFamily> status_families(const Runtime& rt, const ReloadHistory& reloads);

}  // namespace wsgate::gateway
