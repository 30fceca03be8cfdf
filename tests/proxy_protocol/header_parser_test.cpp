#include "proxy_protocol/header_parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace wsgate::proxy_protocol {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
Parsed parse_all(const Bytes& b) { return parse(b.data(), b.size()); }

const Bytes kSig{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

Bytes v2(std::uint8_t version_command, std::uint8_t family, const Bytes& body) {
  Bytes out = kSig;
  out.push_back(version_command);
  out.push_back(family);
  out.push_back(static_cast<std::uint8_t>(body.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out;
  out.reserve(a.size() + b.size());
  for (const auto x : a) out.push_back(x);
  for (const auto x : b) out.push_back(x);
  return out;
}

Bytes tcp4_body() { return {192, 0, 2, 7, 10, 0, 0, 1, 0xD4, 0x31, 0x01, 0xBB}; }  // 192.0.2.7:54321 -> 10.0.0.1:443
Bytes tlv(std::uint8_t type, const Bytes& value) {
  return concat({type, static_cast<std::uint8_t>(value.size() >> 8), static_cast<std::uint8_t>(value.size())}, value);
}

TEST(ProxyHeaderV1, Tcp4Tcp6AndUnknownWithWhatFollowsLeftAlone) {
  const std::string line = "PROXY TCP4 192.0.2.7 10.0.0.1 54321 443\r\n";
  auto r = parse_all(bytes(line + "GET / HTTP/1.1\r\n"));
  ASSERT_EQ(r.status, Status::done) << to_string(r.problem);
  EXPECT_EQ(r.length, line.size()) << "the request behind it is the connection's, not the header's";
  EXPECT_EQ(r.header.version, 1);
  EXPECT_FALSE(r.header.local);
  EXPECT_EQ(r.header.source_address, "192.0.2.7");
  EXPECT_EQ(r.header.source_port, 54321);
  EXPECT_EQ(r.header.destination_address, "10.0.0.1");
  EXPECT_EQ(r.header.destination_port, 443);
  r = parse_all(bytes("PROXY TCP6 2001:db8:0:0::7 2001:db8::1 1 2\r\n"));
  ASSERT_EQ(r.status, Status::done);
  EXPECT_EQ(r.header.source_address, "2001:db8::7") << "one spelling, inet_ntop's";
  r = parse_all(bytes("PROXY UNKNOWN ffff::1 whatever\r\n"));
  ASSERT_EQ(r.status, Status::done);
  EXPECT_TRUE(r.header.local);
}

TEST(ProxyHeaderV1, EverySplitWaitsThenAgrees) {
  const Bytes whole = bytes("PROXY TCP4 192.0.2.7 10.0.0.1 54321 443\r\n\x16\x03\x01");
  for (std::size_t n = 0; n < whole.size() - 3; ++n) EXPECT_EQ(parse(whole.data(), n).status, Status::need_more) << n;
  EXPECT_EQ(parse(whole.data(), whole.size()).length, whole.size() - 3);
}

TEST(ProxyHeaderV1, RefusesWhatTheSpecDoesNotWrite) {
  for (const char* bad : {"PROXY TCP4 192.0.2.7  10.0.0.1 1 2\r\n", "PROXY TCP4 192.0.2.7 10.0.0.1 1 65536\r\n",
                          "PROXY TCP4 192.0.2.7 10.0.0.1 01 2\r\n", "PROXY TCP4 192.0.2.7 10.0.0.1 +1 2\r\n",
                          "PROXY TCP5 192.0.2.7 10.0.0.1 1 2\r\n", "PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n",
                          "PROXY TCP4 192.0.2.7 10.0.0.1 1\r\n", "PROXY TCP4 192.0.2.7 10.0.0.1 1 2 3\r\n",
                          "PROXY TCP4 192.0.2.7 10.0.0.1 1 2\n",
                          "PROXY TCP4 192.0.2.007 10.0.0.1 1 2\r\n"}) {
    EXPECT_EQ(parse_all(bytes(bad)).status, Status::invalid) << bad;
  }
  const std::string nul("PROXY TCP4 1.2.3.4\0", 19);
  EXPECT_EQ(parse_all(bytes(nul)).status, Status::invalid) << "a NUL can never become a header";
  // Found by the fuzz target: inet_pton read up to the NUL and took the address before it.
  const std::string nul_in_address("PROXY TCP6 2001:db8::7 2001:db8::\0\0FF 1 1\r\n", 43);
  EXPECT_EQ(parse_all(bytes(nul_in_address)).status, Status::invalid);
  EXPECT_EQ(parse_all(bytes("proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n")).problem, Problem::not_a_header);
  EXPECT_EQ(parse_all(bytes("GET / HTTP/1.1\r\n")).problem, Problem::not_a_header);
  EXPECT_EQ(parse_all(bytes("PROXY TCP4 " + std::string(120, '1'))).problem, Problem::v1_too_long)
      << "no CRLF within 107 bytes: never waits for more";
}

TEST(ProxyHeaderV2, Tcp4WithTlvsKeptAsBytes) {
  const Bytes authority = bytes("chat.example.com");
  const Bytes aws = concat(Bytes{0x01}, bytes("vpce-08d2bf15fac5001c9"));
  const Bytes hostile = {'a', 0x00, 'b', '\r', '\n'};
  const Bytes body = concat(concat(concat(tcp4_body(), tlv(0x02, authority)), tlv(0xEA, aws)), tlv(0x30, hostile));
  const Bytes header = v2(0x21, 0x11, body);
  auto r = parse_all(concat(header, bytes("\x16\x03\x01")));
  ASSERT_EQ(r.status, Status::done) << to_string(r.problem);
  EXPECT_EQ(r.length, header.size());
  EXPECT_EQ(r.header.version, 2);
  EXPECT_EQ(r.header.source_address, "192.0.2.7");
  EXPECT_EQ(r.header.source_port, 54321);
  EXPECT_EQ(r.header.destination_port, 443);
  EXPECT_EQ(r.header.authority, "chat.example.com");
  EXPECT_EQ(r.header.aws_vpc_endpoint, "vpce-08d2bf15fac5001c9");
  EXPECT_EQ(r.header.tlvs.size(), body.size() - 12) << "every TLV byte kept as it came";
  // An authority with a NUL or CR LF in it is kept as bytes only, never as text for a log.
  r = parse_all(v2(0x21, 0x11, concat(tcp4_body(), tlv(0x02, hostile))));
  ASSERT_EQ(r.status, Status::done);
  EXPECT_TRUE(r.header.authority.empty());
  for (std::size_t n = 0; n < header.size(); ++n) EXPECT_EQ(parse(header.data(), n).status, Status::need_more) << n;
}

TEST(ProxyHeaderV2, LocalAndUnspecUseTheSocketsOwnAddresses) {
  auto r = parse_all(v2(0x20, 0x00, {}));  // what an AWS NLB health check sends
  ASSERT_EQ(r.status, Status::done);
  EXPECT_TRUE(r.header.local);
  EXPECT_EQ(r.length, 16u);
  r = parse_all(v2(0x20, 0x11, tcp4_body()));  // LOCAL with addresses: ignored
  ASSERT_EQ(r.status, Status::done);
  EXPECT_TRUE(r.header.local);
  EXPECT_TRUE(r.header.source_address.empty());
  r = parse_all(v2(0x21, 0x00, {}));
  ASSERT_EQ(r.status, Status::done);
  EXPECT_TRUE(r.header.local);
}

TEST(ProxyHeaderV2, RefusesHostileHeadersWithoutWaitingForTheirBodies) {
  EXPECT_EQ(parse_all(v2(0x11, 0x11, tcp4_body())).problem, Problem::v2_bad_version);
  EXPECT_EQ(parse_all(v2(0x22, 0x11, tcp4_body())).problem, Problem::v2_bad_command);
  EXPECT_EQ(parse_all(v2(0x21, 0x12, tcp4_body())).problem, Problem::v2_bad_family) << "UDP";
  EXPECT_EQ(parse_all(v2(0x21, 0x31, tcp4_body())).problem, Problem::v2_bad_family) << "unix";
  Bytes huge = kSig;
  for (const std::uint8_t b : Bytes{0x21, 0x11, 0xFF, 0xFF}) huge.push_back(b);
  EXPECT_EQ(parse_all(huge).problem, Problem::v2_too_long) << "decided from the 16 bytes alone";
  EXPECT_EQ(parse_all(v2(0x21, 0x21, tcp4_body())).problem, Problem::v2_short_addresses) << "TCP6 needs 36";
  EXPECT_EQ(parse_all(v2(0x21, 0x11, concat(tcp4_body(), Bytes{0x02, 0x00, 0x09, 'x'}))).problem, Problem::v2_bad_tlv);
  EXPECT_EQ(parse_all(v2(0x21, 0x11, concat(tcp4_body(), Bytes{0x02, 0x00}))).problem, Problem::v2_bad_tlv);
  Bytes wrong_sig = kSig;
  wrong_sig[11] = 0x0B;
  EXPECT_EQ(parse_all(wrong_sig).problem, Problem::not_a_header);
}

TEST(ProxyHeaderV2, LargestAcceptedHeader) {
  Bytes body = tcp4_body();
  body = concat(body, tlv(0x30, Bytes(kMaxV2 - 16 - 12 - 3, 'x')));
  const Bytes header = v2(0x21, 0x11, body);
  ASSERT_EQ(header.size(), kMaxV2);
  EXPECT_EQ(parse_all(header).status, Status::done);
}

}  // namespace
}  // namespace wsgate::proxy_protocol
