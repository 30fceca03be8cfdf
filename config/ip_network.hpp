// An address block such as 10.0.0.0/8, fd00::/8 or a single address, and whether an address is in
// it: how trusted_proxies is read and applied. Text in, text out; no sockets.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgate::config {

class IpNetwork {
 public:
  // "ADDR" or "ADDR/PREFIX", IPv4 or IPv6; nullopt when malformed.
  static std::optional<IpNetwork> parse(std::string_view text);
  // IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as their IPv4 form.
  bool contains(std::string_view address) const;

 private:
  std::array<std::uint8_t, 16> bytes_{};  // IPv4 stored as IPv4-mapped IPv6
  unsigned prefix_ = 128;
};

}  // namespace wsgate::config
