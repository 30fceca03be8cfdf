// The process's own resource use, read from /proc/self as the Prometheus client libraries' process
// collectors do: CPU time, memory, descriptors and start time, for the process_* series.
#pragma once

#include <cstdint>
#include <optional>

namespace wsgate::metrics {

struct ProcessStats {
  double cpu_seconds = 0;           // user + system
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;        // the soft RLIMIT_NOFILE
  double start_time_unix = 0;
};

// nullopt when /proc cannot be read (not Linux, or hidden from the process).
std::optional<ProcessStats> read_process_stats();

}  // namespace wsgate::metrics
