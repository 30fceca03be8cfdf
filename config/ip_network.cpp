#include "config/ip_network.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace wsgate::config {

namespace {

// The address as 16 bytes, IPv4 mapped into ::ffff:0:0/96 so one comparison serves both.
std::optional<std::array<std::uint8_t, 16>> to_bytes(std::string_view text, bool& v4) {
  const std::string s(text);
  std::array<std::uint8_t, 16> out{};
  in_addr a4;
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    v4 = true;
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &a4, 4);
    return out;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    v4 = false;
    std::memcpy(out.data(), &a6, 16);
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<IpNetwork> IpNetwork::parse(std::string_view text) {
  const auto slash = text.find('/');
  bool v4 = false;
  auto bytes = to_bytes(text.substr(0, slash), v4);
  if (!bytes) return std::nullopt;
  IpNetwork n;
  n.bytes_ = *bytes;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    unsigned prefix = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() ||
        prefix > (v4 ? 32u : 128u))
      return std::nullopt;
    n.prefix_ = v4 ? prefix + 96 : prefix;
  }
  return n;
}

bool IpNetwork::contains(std::string_view address) const {
  bool v4 = false;
  const auto bytes = to_bytes(address, v4);
  if (!bytes) return false;
  unsigned bits = prefix_;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
    if (((*bytes)[i] & mask) != (bytes_[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

}  // namespace wsgate::config
