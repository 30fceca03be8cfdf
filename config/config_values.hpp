// Parsers for the scalar forms gateway.yaml accepts: durations, sizes, host:port, ${VAR}.
// Pure functions, so the configuration loader and its tests share one definition of each form.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate::config {

using Duration = std::chrono::milliseconds;

// "250ms", "30s", "5m", "1h"; a bare number is rejected because its unit would be a guess.
std::optional<Duration> parse_duration(std::string_view text);

// "512", "64KiB", "1MiB", "1GiB" (also KB/MB/GB as powers of 1000, like NGINX's k/m are not).
std::optional<std::uint64_t> parse_size(std::string_view text);

struct HostPort {
  std::string host;  // IP literal or name, without brackets
  std::uint16_t port = 0;
};
// "127.0.0.1:8080", "[::1]:8443", "localhost:9000". Port 0 asks the kernel for a free port.
std::optional<HostPort> parse_host_port(std::string_view text);

// Replaces each ${NAME} with lookup(NAME). Returns the name of the first unset variable as the
// error, so a typo in a secret's variable name is reported instead of expanding to "".
struct Expanded {
  std::string value;
  std::string missing;  // non-empty: this variable was not set
};
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
Expanded expand_env(std::string_view text, const EnvLookup& lookup);
EnvLookup process_env();

}  // namespace wsgate::config
