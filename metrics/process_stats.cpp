#include "metrics/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace wsgate::metrics {
namespace {

// The system's boot time (Unix seconds), from the btime line of /proc/stat.
std::optional<double> boot_time() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  return std::nullopt;
}

}  // namespace

std::optional<ProcessStats> read_process_stats() {
  std::ifstream in("/proc/self/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces: fields are counted after
  // its last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  // Fields 3.. (proc(5)): utime is 14, stime 15, starttime 22, vsize 23, rss 24.
  std::uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0, rss = 0;
  for (int n = 3; n <= 24 && fields >> f; ++n) {
    if (n == 14) utime = std::stoull(f);
    else if (n == 15) stime = std::stoull(f);
    else if (n == 22) starttime = std::stoull(f);
    else if (n == 23) vsize = std::stoull(f);
    else if (n == 24) rss = std::stoull(f);
  }
  if (!fields) return std::nullopt;
  const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  const auto boot = boot_time();
  if (ticks <= 0 || !boot) return std::nullopt;

  ProcessStats s;
  s.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  s.resident_bytes = rss * page;
  s.virtual_bytes = vsize;
  s.start_time_unix = *boot + static_cast<double>(starttime) / ticks;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec))
    ++s.open_fds;
  if (s.open_fds > 0) --s.open_fds;  // the iterator's own descriptor
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = limit.rlim_cur;
  return s;
}

}  // namespace wsgate::metrics
