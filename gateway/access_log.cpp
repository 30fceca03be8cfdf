#include "gateway/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace wsgate::gateway::access_log {
namespace {

std::mutex g_mutex;  // guards the descriptor and its path
std::atomic<bool> g_enabled{true};
std::atomic<std::uint64_t> g_dropped{0};
int g_fd = STDERR_FILENO;
std::string g_path;

// The new descriptor, or -1 with `error` set.
int open_file(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) error = path + ": " + std::strerror(errno);
  return fd;
}

void replace_sink(int fd, std::string path) {
  std::lock_guard lock(g_mutex);
  if (g_fd != STDERR_FILENO) ::close(g_fd);
  g_fd = fd;
  g_path = std::move(path);
}

}  // namespace

std::string configure(bool enabled, const std::string& path) {
  std::string error;
  {
    std::lock_guard lock(g_mutex);
    if (path == g_path && g_enabled.load() == enabled) return {};
  }
  if (path.empty()) {
    replace_sink(STDERR_FILENO, {});
  } else {
    const int fd = open_file(path, error);
    if (fd < 0) return error;
    replace_sink(fd, path);
  }
  g_enabled.store(enabled);
  return {};
}

std::string reopen() {
  std::string path;
  {
    std::lock_guard lock(g_mutex);
    path = g_path;
  }
  if (path.empty()) return {};
  std::string error;
  const int fd = open_file(path, error);
  if (fd < 0) return error;
  replace_sink(fd, path);
  return {};
}

bool enabled() { return g_enabled.load(std::memory_order_relaxed); }

std::uint64_t dropped_lines() { return g_dropped.load(std::memory_order_relaxed); }

void write(std::span<const log::Field> fields) {
  if (!enabled()) return;
  const std::string line = log::format_line(log::Level::info, "access", fields);
  std::lock_guard lock(g_mutex);
  // O_APPEND: one write per line, whole, whatever else appends to the file.
  for (std::size_t done = 0; done < line.size();) {
    const auto n = ::write(g_fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // a full disk loses access lines, never the gateway's work: they are counted
      g_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace wsgate::gateway::access_log
