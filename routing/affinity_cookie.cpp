#include "routing/affinity_cookie.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>
#include <cstdio>

namespace wsgate::routing {

namespace {
constexpr std::size_t kIdHex = 16, kMacHex = 32;

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  return out;
}
}  // namespace

AffinityCookie::AffinityCookie(std::string secret, std::string route)
    : secret_(std::move(secret)), route_(std::move(route)) {}

std::string AffinityCookie::mac_hex(std::string_view message, std::size_t bytes) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret_.data(), secret_.size(),
                 reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
                 sizeof mac, &len))
    return {};
  return hex(mac, std::min(bytes, len));
}

std::uint64_t AffinityCookie::backend_id(std::string_view url) const {
  // A separate domain from the signatures ("id" vs "sig"), so one can never stand for the other.
  const std::string h = mac_hex(std::string("id\n").append(url), 8);
  std::uint64_t id = 0;
  std::from_chars(h.data(), h.data() + h.size(), id, 16);
  return id;
}

std::string AffinityCookie::encode(std::uint64_t backend_id, std::int64_t expires_unix) const {
  char head[64];
  std::snprintf(head, sizeof head, "%016llx.%lld", static_cast<unsigned long long>(backend_id),
                static_cast<long long>(expires_unix));
  return std::string(head) + "." + mac_hex("sig\n" + route_ + "\n" + head, kMacHex / 2);
}

std::optional<std::uint64_t> AffinityCookie::decode(std::string_view value,
                                                    std::int64_t now_unix) const {
  const auto dot1 = value.find('.');
  const auto dot2 = value.rfind('.');
  if (dot1 != kIdHex || dot2 == dot1 || value.size() - dot2 - 1 != kMacHex) return std::nullopt;
  const std::string_view id_text = value.substr(0, dot1);
  const std::string_view expiry_text = value.substr(dot1 + 1, dot2 - dot1 - 1);
  std::uint64_t id = 0;
  std::int64_t expires = 0;
  auto [id_end, id_ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id, 16);
  auto [exp_end, exp_ec] =
      std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expires);
  if (id_ec != std::errc{} || id_end != id_text.data() + id_text.size() || exp_ec != std::errc{} ||
      exp_end != expiry_text.data() + expiry_text.size() || expiry_text.empty())
    return std::nullopt;
  // Recomputed from the parsed fields, then compared whole: only the canonical spelling passes.
  const std::string expected = encode(id, expires);
  if (expected.size() != value.size() ||
      CRYPTO_memcmp(expected.data(), value.data(), value.size()) != 0)
    return std::nullopt;
  if (expires <= now_unix) return std::nullopt;
  return id;
}

}  // namespace wsgate::routing
