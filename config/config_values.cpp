#include "config/config_values.hpp"

#include <charconv>
#include <cstdlib>

namespace wsgate::config {
namespace {

// Splits "123unit" into the number and the unit; nullopt when there is no leading number.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  return std::pair{n, text.substr(static_cast<std::size_t>(end - text.data()))};
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  auto [n, unit] = *parts;
  constexpr std::uint64_t max_ms = 365ull * 24 * 3600 * 1000;
  std::uint64_t factor = 0;
  if (unit == "ms") factor = 1;
  else if (unit == "s") factor = 1000;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else return std::nullopt;
  if (n > max_ms / factor) return std::nullopt;
  return Duration(static_cast<Duration::rep>(n * factor));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  auto [n, unit] = *parts;
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "B") factor = 1;
  else if (unit == "KiB") factor = 1ull << 10;
  else if (unit == "MiB") factor = 1ull << 20;
  else if (unit == "GiB") factor = 1ull << 30;
  else if (unit == "KB") factor = 1000;
  else if (unit == "MB") factor = 1000'000;
  else if (unit == "GB") factor = 1000'000'000;
  else return std::nullopt;
  if (n > (1ull << 62) / factor) return std::nullopt;
  return n * factor;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty() || port_text.empty()) return std::nullopt;
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return std::nullopt;
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

Expanded expand_env(std::string_view text, const EnvLookup& lookup) {
  Expanded out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto start = text.find("${", i);
    if (start == std::string_view::npos) break;
    auto end = text.find('}', start + 2);
    if (end == std::string_view::npos) break;
    out.value.append(text.substr(i, start - i));
    std::string name(text.substr(start + 2, end - start - 2));
    if (auto v = lookup(name)) {
      out.value += *v;
    } else if (out.missing.empty()) {
      out.missing = name;
    }
    i = end + 1;
  }
  out.value.append(text.substr(i));
  return out;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

}  // namespace wsgate::config
