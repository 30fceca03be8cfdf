// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) a layer-4 balancer
// puts before a connection's first byte: who the client really is. Socket-free: it reads the bytes
// received so far and says whether a whole, valid header is there, how long it is, and what it says.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::proxy_protocol {

// Longest headers accepted: v1's own limit (CRLF included), and v2's 16 bytes plus a length
// capped well below its 64 KiB field, so a balancer's TLVs fit and a hostile length cannot.
inline constexpr std::size_t kMaxV1 = 107;
inline constexpr std::size_t kMaxV2 = 4096;

enum class Status : std::uint8_t { need_more, done, invalid };

enum class Problem : std::uint8_t {
  none,
  not_a_header,       // the bytes start as neither "PROXY " nor the v2 signature
  v1_too_long,        // no CRLF within 107 bytes
  v1_malformed,       // fields, spaces, family, addresses or ports not as the spec writes them
  v2_bad_version,     // not version 2
  v2_bad_command,     // neither LOCAL nor PROXY
  v2_bad_family,      // not TCP over IPv4 or IPv6 (nor UNSPEC)
  v2_too_long,        // longer than kMaxV2
  v2_short_addresses, // the length does not cover the family's address block
  v2_bad_tlv,         // a TLV runs past the header
};
std::string_view to_string(Problem p);

struct Header {
  int version = 0;
  // LOCAL (v2), UNKNOWN (v1) or UNSPEC (v2): a balancer's own connection, a health check: the
  // socket's own addresses stand.
  bool local = false;
  std::string source_address;       // an IP literal, as inet_ntop writes it
  std::uint16_t source_port = 0;
  std::string destination_address;
  std::uint16_t destination_port = 0;
  std::vector<std::uint8_t> tlvs;   // v2: the TLV bytes as sent, never read as C strings
  std::string authority;            // TLV 0x02 (the client's SNI), when printable ASCII
  std::string aws_vpc_endpoint;     // TLV 0xEA subtype 0x01, when printable ASCII
};

struct Parsed {
  Status status = Status::need_more;
  std::size_t length = 0;  // done: the header's bytes; what follows is the connection's own
  Problem problem = Problem::none;
  Header header;
};

// `data`: every byte received so far (a prefix of the connection). need_more while the bytes are a
// prefix of a header that may still be valid; never reads past the header it finds.
Parsed parse(const std::uint8_t* data, std::size_t size);

}  // namespace wsgate::proxy_protocol
