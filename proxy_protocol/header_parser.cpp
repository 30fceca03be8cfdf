#include "proxy_protocol/header_parser.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace wsgate::proxy_protocol {

namespace {

constexpr std::array<std::uint8_t, 12> kSignature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Prefix = "PROXY ";

Parsed fail(Problem p) {
  Parsed out;
  out.status = Status::invalid;
  out.problem = p;
  return out;
}

bool printable(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// A decimal port as the spec writes it: 1 to 5 digits, no sign, no leading zero but "0" itself.
bool parse_port(std::string_view s, std::uint16_t& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

// An address of the family, as text; written back by inet_ntop so it has one spelling.
bool parse_address(std::string_view s, int family, std::string& out) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return false;
  // Only what an address is written with: inet_pton would stop at a NUL and take what came before.
  for (const char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
  char text[INET6_ADDRSTRLEN] = {};
  std::memcpy(text, s.data(), s.size());
  std::array<std::uint8_t, 16> bytes{};
  if (inet_pton(family, text, bytes.data()) != 1) return false;
  char back[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, bytes.data(), back, sizeof back)) return false;
  out = back;
  return true;
}

Parsed parse_v1(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), std::min(size, kMaxV1));
  const auto end = text.find("\r\n");
  if (end == std::string_view::npos) {
    // A bare LF or a NUL can never become a valid header: no need to wait for more.
    if (text.find('\n') != std::string_view::npos || text.find('\0') != std::string_view::npos)
      return fail(Problem::v1_malformed);
    return size >= kMaxV1 ? fail(Problem::v1_too_long) : Parsed{};
  }
  const std::string_view line = text.substr(kV1Prefix.size(), end - kV1Prefix.size());
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos <= line.size()) {
    const auto space = line.find(' ', pos);
    const auto field = line.substr(pos, space == std::string_view::npos ? std::string_view::npos : space - pos);
    if (field.empty()) return fail(Problem::v1_malformed);  // two spaces, or one at an end
    fields.push_back(field);
    if (space == std::string_view::npos) break;
    pos = space + 1;
  }
  Parsed out;
  out.status = Status::done;
  out.length = end + 2;
  out.header.version = 1;
  if (!fields.empty() && fields[0] == "UNKNOWN") {
    out.header.local = true;  // the rest of the line is to be ignored
    return out;
  }
  if (fields.size() != 5) return fail(Problem::v1_malformed);
  const int family = fields[0] == "TCP4" ? AF_INET : fields[0] == "TCP6" ? AF_INET6 : 0;
  if (family == 0 || !parse_address(fields[1], family, out.header.source_address) ||
      !parse_address(fields[2], family, out.header.destination_address) ||
      !parse_port(fields[3], out.header.source_port) || !parse_port(fields[4], out.header.destination_port))
    return fail(Problem::v1_malformed);
  return out;
}

Parsed parse_v2(const std::uint8_t* data, std::size_t size) {
  if (size < 16) return {};
  const std::uint8_t version = data[12] >> 4, command = data[12] & 0x0F;
  if (version != 2) return fail(Problem::v2_bad_version);
  if (command > 1) return fail(Problem::v2_bad_command);
  const std::size_t length = 16 + (std::size_t{data[14]} << 8 | data[15]);
  if (length > kMaxV2) return fail(Problem::v2_too_long);
  const std::uint8_t family = data[13];
  // Checked before the body arrives: a family no TCP client has ends the connection at once.
  std::size_t address_bytes = 0;
  int af = 0;
  if (family == 0x11) {
    address_bytes = 12;
    af = AF_INET;
  } else if (family == 0x21) {
    address_bytes = 36;
    af = AF_INET6;
  } else if (family != 0x00 && command == 1) {
    return fail(Problem::v2_bad_family);
  }
  if (size < length) return {};
  Parsed out;
  out.status = Status::done;
  out.length = length;
  out.header.version = 2;
  const std::uint8_t* body = data + 16;
  const std::size_t body_size = length - 16;
  if (command == 0 || family == 0x00) {
    out.header.local = true;  // LOCAL, or UNSPEC: the address block is to be ignored
    address_bytes = std::min(address_bytes, body_size);
  } else {
    if (body_size < address_bytes) return fail(Problem::v2_short_addresses);
    char text[INET6_ADDRSTRLEN] = {};
    const std::size_t one = af == AF_INET ? 4 : 16;
    inet_ntop(af, body, text, sizeof text);
    out.header.source_address = text;
    inet_ntop(af, body + one, text, sizeof text);
    out.header.destination_address = text;
    out.header.source_port = static_cast<std::uint16_t>(body[2 * one] << 8 | body[2 * one + 1]);
    out.header.destination_port = static_cast<std::uint16_t>(body[2 * one + 2] << 8 | body[2 * one + 3]);
  }
  // TLVs: type, 16-bit length, value; each must lie within the header.
  const std::uint8_t* tlv = body + address_bytes;
  const std::uint8_t* end = data + length;
  out.header.tlvs.assign(tlv, end);
  while (tlv < end) {
    if (end - tlv < 3) return fail(Problem::v2_bad_tlv);
    const std::uint8_t type = tlv[0];
    const std::size_t n = std::size_t{tlv[1]} << 8 | tlv[2];
    if (static_cast<std::size_t>(end - tlv - 3) < n) return fail(Problem::v2_bad_tlv);
    const std::string_view value(reinterpret_cast<const char*>(tlv + 3), n);
    if (type == 0x02 && printable(value)) out.header.authority = std::string(value);
    if (type == 0xEA && n > 1 && tlv[3] == 0x01 && printable(value.substr(1)))
      out.header.aws_vpc_endpoint = std::string(value.substr(1));
    tlv += 3 + n;
  }
  return out;
}

}  // namespace

std::string_view to_string(Problem p) {
  switch (p) {
    case Problem::none: return "none";
    case Problem::not_a_header: return "not a PROXY header";
    case Problem::v1_too_long: return "v1 header over 107 bytes";
    case Problem::v1_malformed: return "malformed v1 header";
    case Problem::v2_bad_version: return "v2 header of another version";
    case Problem::v2_bad_command: return "v2 header with an unknown command";
    case Problem::v2_bad_family: return "v2 header of a family other than TCP";
    case Problem::v2_too_long: return "v2 header over 4096 bytes";
    case Problem::v2_short_addresses: return "v2 header too short for its addresses";
    case Problem::v2_bad_tlv: return "v2 TLV past the header";
  }
  return "unknown";
}

Parsed parse(const std::uint8_t* data, std::size_t size) {
  // Which version: decided by the first bytes; while they are a prefix of both, wait.
  const std::size_t v1 = std::min(size, kV1Prefix.size());
  const bool may_be_v1 = std::memcmp(data, kV1Prefix.data(), v1) == 0;
  const std::size_t v2 = std::min(size, kSignature.size());
  const bool may_be_v2 = std::memcmp(data, kSignature.data(), v2) == 0;
  if (!may_be_v1 && !may_be_v2) return fail(Problem::not_a_header);
  if (may_be_v1) return size < kV1Prefix.size() ? Parsed{} : parse_v1(data, size);
  return size < kSignature.size() ? Parsed{} : parse_v2(data, size);
}

}  // namespace wsgate::proxy_protocol
