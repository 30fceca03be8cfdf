#include "auth/base64url.hpp"

#include <array>
#include <cstdint>

namespace wsgate::auth {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

std::optional<std::string> base64url_decode(std::string_view text) {
  const std::size_t whole = text.size() / 4 * 4;
  const std::size_t tail = text.size() - whole;  // 0, 2 or 3 characters: 0, 1 or 2 bytes
  if (tail == 1) return std::nullopt;             // no length leaves one character over
  std::string out(whole / 4 * 3 + (tail == 0 ? 0 : tail - 1), '\0');
  auto value = [&](std::size_t i) { return kTable[static_cast<unsigned char>(text[i])]; };
  char* o = out.data();
  // Four characters to three bytes at a time: tokens are decoded on every cache miss.
  for (std::size_t i = 0; i < whole; i += 4) {
    const int a = value(i), b = value(i + 1), c = value(i + 2), d = value(i + 3);
    if ((a | b | c | d) < 0) return std::nullopt;
    const auto v = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6 | d);
    *o++ = static_cast<char>(v >> 16);
    *o++ = static_cast<char>(v >> 8);
    *o++ = static_cast<char>(v);
  }
  if (tail > 0) {
    const int a = value(whole), b = value(whole + 1), c = tail == 3 ? value(whole + 2) : 0;
    if ((a | b | c) < 0) return std::nullopt;
    const auto v = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6);
    // Bits below the last whole byte must be zero (the canonical encoding).
    if ((tail == 2 ? v & 0xFFFF : v & 0xFF) != 0) return std::nullopt;
    *o++ = static_cast<char>(v >> 16);
    if (tail == 3) *o = static_cast<char>(v >> 8);
  }
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

}  // namespace wsgate::auth
