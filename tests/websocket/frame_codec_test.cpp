#include "websocket/frame_codec.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace wsgate::ws {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes header_bytes(const FrameHeader& h) {
  std::uint8_t out[max_header_size];
  return Bytes(out, out + write_frame_header(h, out));
}

// A whole frame with a payload of `len` bytes of 'a' (masking is irrelevant to the scanner).
Bytes frame(std::uint8_t op, std::size_t len, bool fin = true, bool masked = true,
            bool rsv1 = false) {
  FrameHeader h;
  h.opcode = op;
  h.fin = fin;
  h.masked = masked;
  h.rsv1 = rsv1;
  h.mask = {1, 2, 3, 4};
  h.payload_length = len;
  Bytes b = header_bytes(h);
  b.insert(b.end(), len, 'a');
  return b;
}

TEST(FrameHeader, GoldenEncodings) {
  FrameHeader h;
  h.opcode = opcode::text;
  h.payload_length = 5;
  EXPECT_EQ(header_bytes(h), (Bytes{0x81, 0x05}));
  h.payload_length = 125;
  EXPECT_EQ(header_bytes(h), (Bytes{0x81, 0x7D}));
  h.payload_length = 126;  // smallest 16-bit length
  EXPECT_EQ(header_bytes(h), (Bytes{0x81, 0x7E, 0x00, 0x7E}));
  h.payload_length = 65535;
  EXPECT_EQ(header_bytes(h), (Bytes{0x81, 0x7E, 0xFF, 0xFF}));
  h.payload_length = 65536;  // smallest 64-bit length
  EXPECT_EQ(header_bytes(h), (Bytes{0x81, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}));
  h.opcode = opcode::binary;
  h.fin = false;
  h.masked = true;
  h.mask = {0x37, 0xfa, 0x21, 0x3d};
  h.payload_length = 5;  // RFC 6455 5.7 masked "Hello" header, but unfinished binary
  EXPECT_EQ(header_bytes(h), (Bytes{0x02, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
}

TEST(FrameHeader, ParsesRfcExamples) {
  // RFC 6455 5.7: a single-frame masked text message "Hello".
  const Bytes masked{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  FrameHeader h;
  ASSERT_EQ(parse_frame_header(masked.data(), masked.size(), h), ParseStatus::complete);
  EXPECT_TRUE(h.fin);
  EXPECT_EQ(h.opcode, opcode::text);
  EXPECT_TRUE(h.masked);
  EXPECT_EQ(h.payload_length, 5u);
  EXPECT_EQ(h.header_length, 6);
  EXPECT_EQ(h.mask, (std::array<std::uint8_t, 4>{0x37, 0xfa, 0x21, 0x3d}));

  // RFC 6455 5.7: 256 bytes binary in a single unmasked frame.
  const Bytes len16{0x82, 0x7E, 0x01, 0x00};
  ASSERT_EQ(parse_frame_header(len16.data(), len16.size(), h), ParseStatus::complete);
  EXPECT_EQ(h.payload_length, 256u);
  EXPECT_EQ(h.header_length, 4);

  // RFC 6455 5.7: 64 KiB binary in a single unmasked frame.
  const Bytes len64{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
  ASSERT_EQ(parse_frame_header(len64.data(), len64.size(), h), ParseStatus::complete);
  EXPECT_EQ(h.payload_length, 65536u);
  EXPECT_EQ(h.header_length, 10);
}

TEST(FrameHeader, RoundTripsEveryLengthForm) {
  for (std::uint64_t len : {0ull, 1ull, 125ull, 126ull, 65535ull, 65536ull, (1ull << 40)}) {
    for (bool masked : {false, true}) {
      FrameHeader in;
      in.opcode = opcode::binary;
      in.masked = masked;
      in.mask = {9, 8, 7, 6};
      in.payload_length = len;
      in.rsv1 = true;
      const Bytes b = header_bytes(in);
      FrameHeader out;
      ASSERT_EQ(parse_frame_header(b.data(), b.size(), out), ParseStatus::complete);
      EXPECT_EQ(out.payload_length, len);
      EXPECT_EQ(out.masked, masked);
      EXPECT_TRUE(out.rsv1);
      EXPECT_EQ(out.header_length, b.size());
      // Every strict prefix needs more bytes.
      for (std::size_t n = 0; n < b.size(); ++n)
        EXPECT_EQ(parse_frame_header(b.data(), n, out), ParseStatus::need_more) << len << " " << n;
    }
  }
}

TEST(FrameHeader, RejectsTopBitOf64BitLength) {
  const Bytes b{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0};
  FrameHeader h;
  EXPECT_EQ(parse_frame_header(b.data(), b.size(), h), ParseStatus::length_overflow);
}

TEST(ControlFrames, CloseFrameGolden) {
  EXPECT_EQ(encode_close_frame(1001, "bye"), std::string("\x88\x05\x03\xe9" "bye", 7));
  // Masked: payload XORed with the key.
  const auto masked = encode_close_frame(1000, "", std::array<std::uint8_t, 4>{0xff, 0, 0, 0});
  EXPECT_EQ(masked, std::string("\x88\x82\xff\x00\x00\x00\xfc\xe8", 8));
  // Reasons are cut so the payload stays within 125 bytes.
  EXPECT_EQ(encode_close_frame(1000, std::string(300, 'r')).size(), 2u + 125u);
}

TEST(FrameScanner, ForwardsWholeFramesAndCountsMessages) {
  FrameScanner s({true, false, 1 << 20});
  Bytes stream = frame(opcode::text, 3);
  const Bytes b = frame(opcode::binary, 70000);
  stream.insert(stream.end(), b.begin(), b.end());
  const auto r = s.scan(stream.data(), stream.size());
  EXPECT_EQ(r.forward, stream.size());
  EXPECT_EQ(r.held, 0u);
  EXPECT_EQ(r.violation, Violation::none);
  EXPECT_EQ(s.messages(), 2u);
  EXPECT_TRUE(s.at_boundary());
}

TEST(FrameScanner, FollowsPayloadAcrossReadsAndHoldsSplitHeaders) {
  FrameScanner s({true, false, 1 << 20});
  const Bytes f = frame(opcode::binary, 300);  // 4-byte length form + 4-byte mask: 8-byte header
  // Split inside the header: the partial header is held back, nothing is forwarded.
  auto r = s.scan(f.data(), 3);
  EXPECT_EQ(r.forward, 0u);
  EXPECT_EQ(r.held, 3u);
  // Rescanned with more bytes, it goes through; payload follows in pieces.
  r = s.scan(f.data(), 100);
  EXPECT_EQ(r.forward, 100u);
  EXPECT_FALSE(s.at_boundary());
  r = s.scan(f.data() + 100, f.size() - 100);
  EXPECT_EQ(r.forward, f.size() - 100);
  EXPECT_TRUE(s.at_boundary());
  EXPECT_EQ(s.messages(), 1u);
}

TEST(FrameScanner, FragmentedMessageWithInterleavedControlFrame) {
  FrameScanner s({true, false, 1 << 20});
  Bytes stream = frame(opcode::text, 10, false);
  for (const Bytes& b : {frame(opcode::ping, 4), frame(opcode::continuation, 10, false),
                         frame(opcode::continuation, 10, true)})
    stream.insert(stream.end(), b.begin(), b.end());
  const auto r = s.scan(stream.data(), stream.size());
  EXPECT_EQ(r.violation, Violation::none);
  EXPECT_EQ(r.forward, stream.size());
  EXPECT_EQ(s.messages(), 1u);
  EXPECT_FALSE(s.in_message());
}

TEST(FrameScanner, TellsTheObserverEachMessageSizeWithFragmentsSummed) {
  FrameScanner s({true, false, 1 << 20});
  std::vector<std::uint64_t> sizes;
  s.set_observer([](void* c, std::uint64_t n) { static_cast<std::vector<std::uint64_t>*>(c)->push_back(n); },
                 &sizes);
  Bytes stream = frame(opcode::text, 10, false);
  for (const Bytes& b : {frame(opcode::ping, 4), frame(opcode::continuation, 7, true),
                         frame(opcode::binary, 0), frame(opcode::binary, 300)})
    stream.insert(stream.end(), b.begin(), b.end());
  s.scan(stream.data(), stream.size());
  EXPECT_EQ(sizes, (std::vector<std::uint64_t>{17, 0, 300}));
}

// A close frame goes on only whole: split across reads, it is held (as a split header is) and
// rescanned; its code is read through the client's mask.
TEST(FrameScanner, HoldsASplitCloseFrameAndReadsItsCode) {
  FrameScanner s({true, false, 1 << 20});
  const std::array<std::uint8_t, 4> mask{0x37, 0xfa, 0x21, 0x3d};
  const std::string close = encode_close_frame(4001, "bye", mask);
  const std::string second = encode_close_frame(1000, "", mask);
  Bytes stream(close.begin(), close.end());
  stream.insert(stream.end(), second.begin(), second.end());
  const std::size_t split = 7;  // 2 + 4 header bytes, then the first code byte
  auto r = s.scan(stream.data(), split);
  EXPECT_EQ(r.forward, 0u);
  EXPECT_EQ(r.held, split);
  EXPECT_FALSE(s.close_seen());
  r = s.scan(stream.data(), stream.size());  // the held bytes and the rest, as the relay rescans
  EXPECT_EQ(r.forward, close.size());
  EXPECT_EQ(r.discard, second.size()) << "nothing follows a close frame, a second close included";
  EXPECT_EQ(r.violation, Violation::none);
  EXPECT_EQ(s.close_code(), 4001) << "the first close frame's code, not a later one's";

  FrameScanner server({false, false, 1 << 20});
  const std::string bare = encode_control_frame(opcode::close, "");
  server.scan(reinterpret_cast<const std::uint8_t*>(bare.data()), bare.size());
  EXPECT_EQ(server.close_code(), 1005) << "a close frame without a code";
}

TEST(Utf8, AcceptsWellFormedAndRefusesTheRest) {
  auto utf8 = [](std::string_view s) {
    return is_utf8(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  EXPECT_TRUE(utf8(""));
  EXPECT_TRUE(utf8("plain ascii"));
  EXPECT_TRUE(utf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"));  // é € 😀 U+10FFFF
  EXPECT_TRUE(utf8("\xED\x9F\xBF"));                                 // U+D7FF, just below the surrogates
  EXPECT_FALSE(utf8("\xC0\xAF"));                                     // overlong '/'
  EXPECT_FALSE(utf8("\xE0\x80\xAF"));                                 // overlong, 3 bytes
  EXPECT_FALSE(utf8("\xF0\x80\x80\xAF"));                             // overlong, 4 bytes
  EXPECT_FALSE(utf8("\xED\xA0\x80"));                                 // surrogate U+D800
  EXPECT_FALSE(utf8("\xF4\x90\x80\x80"));                             // U+110000
  EXPECT_FALSE(utf8("\xC3"));                                         // cut short
  EXPECT_FALSE(utf8("\xE2\x82"));                                     // cut short
  EXPECT_FALSE(utf8("\x80"));                                         // lone continuation
  EXPECT_FALSE(utf8("\xE2\x28\xA1"));                                 // bad continuation
  EXPECT_FALSE(utf8("\xFF"));
}

TEST(CloseCode, OnlyCodesAnEndpointMaySend) {
  for (int ok : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999})
    EXPECT_TRUE(close_code_may_be_sent(static_cast<std::uint16_t>(ok))) << ok;
  for (int bad : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535})
    EXPECT_FALSE(close_code_may_be_sent(static_cast<std::uint16_t>(bad))) << bad;
}

struct ViolationCase {
  const char* name;
  Bytes stream;
  ScanRules rules;
  Violation expected;
  std::size_t forward;  // bytes before the offending frame
};

class FrameScannerViolation : public ::testing::TestWithParam<ViolationCase> {};

TEST_P(FrameScannerViolation, StopsBeforeTheOffendingFrame) {
  const auto& c = GetParam();
  FrameScanner s(c.rules);
  const auto r = s.scan(c.stream.data(), c.stream.size());
  EXPECT_EQ(r.violation, c.expected) << to_string(r.violation);
  EXPECT_EQ(r.forward, c.forward);
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const ScanRules kClient{true, false, 1000};
const ScanRules kServer{false, false, 1000};

// A masked close frame with a raw payload (code bytes and reason as given).
Bytes close_frame(std::string_view payload) {
  const std::string f = encode_control_frame(opcode::close, payload, std::array<std::uint8_t, 4>{9, 8, 7, 6});
  return Bytes(f.begin(), f.end());
}
Bytes close_with(std::uint16_t code, std::string_view reason = "") {
  const std::string f = encode_close_frame(code, reason, std::array<std::uint8_t, 4>{9, 8, 7, 6});
  return Bytes(f.begin(), f.end());
}

INSTANTIATE_TEST_SUITE_P(
    Rfc6455, FrameScannerViolation,
    ::testing::Values(
        ViolationCase{"unmasked_client", frame(opcode::text, 1, true, false), kClient,
                      Violation::unmasked_client_frame, 0},
        ViolationCase{"masked_server", frame(opcode::text, 1, true, true), kServer,
                      Violation::masked_server_frame, 0},
        ViolationCase{"rsv1_without_deflate", frame(opcode::text, 1, true, true, true), kClient,
                      Violation::reserved_bits, 0},
        ViolationCase{"rsv2", Bytes{0xA1, 0x80, 0, 0, 0, 0}, kClient, Violation::reserved_bits, 0},
        ViolationCase{"rsv3", Bytes{0x91, 0x80, 0, 0, 0, 0}, kClient, Violation::reserved_bits, 0},
        ViolationCase{"opcode_3", frame(0x3, 0), kClient, Violation::reserved_opcode, 0},
        ViolationCase{"opcode_B", frame(0xB, 0), kClient, Violation::reserved_opcode, 0},
        ViolationCase{"control_126", frame(opcode::ping, 126), kClient,
                      Violation::control_too_long, 0},
        ViolationCase{"control_fragmented", frame(opcode::close, 2, false), kClient,
                      Violation::control_fragmented, 0},
        ViolationCase{"continuation_first", frame(opcode::continuation, 1), kClient,
                      Violation::unexpected_continuation, 0},
        ViolationCase{"new_message_inside_fragmented",
                      concat({frame(opcode::text, 1, false), frame(opcode::text, 1)}), kClient,
                      Violation::expected_continuation, 7},
        ViolationCase{"length_2_pow_63",
                      Bytes{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, kClient,
                      Violation::length_overflow, 0},
        ViolationCase{"too_big_single", concat({frame(opcode::text, 5), frame(opcode::binary, 1001)}),
                      kClient, Violation::message_too_big, 11},
        ViolationCase{"too_big_fragments",
                      concat({frame(opcode::binary, 600, false),
                              frame(opcode::continuation, 401, true)}),
                      kClient, Violation::message_too_big, 608},
        ViolationCase{"close_1005", concat({frame(opcode::text, 1), close_with(1005)}), kClient,
                      Violation::bad_close_code, 7},
        ViolationCase{"close_1006", close_with(1006), kClient, Violation::bad_close_code, 0},
        ViolationCase{"close_1015", close_with(1015), kClient, Violation::bad_close_code, 0},
        ViolationCase{"close_999", close_with(999), kClient, Violation::bad_close_code, 0},
        ViolationCase{"close_0", close_with(0), kClient, Violation::bad_close_code, 0},
        ViolationCase{"close_1004", close_with(1004), kClient, Violation::bad_close_code, 0},
        ViolationCase{"close_2999", close_with(2999), kClient, Violation::bad_close_code, 0},
        ViolationCase{"close_5000", close_with(5000), kClient, Violation::bad_close_code, 0},
        ViolationCase{"close_one_byte", close_frame("\x03"), kClient, Violation::bad_close_code, 0},
        ViolationCase{"close_reason_not_utf8", close_with(1000, "bad \xC0\xAF"), kClient,
                      Violation::bad_close_reason, 0},
        ViolationCase{"close_1005_from_backend",
                      Bytes{0x88, 0x02, 0x03, 0xED}, kServer, Violation::bad_close_code, 0},
        // The second close is behind the first: discarded, not forwarded (issue 35).
        ViolationCase{"close_fine", concat({close_with(4999, "\xC3\xA9t\xC3\xA9"), close_with(1000)}),
                      kClient, Violation::none, 6 + 2 + 5}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(FrameScanner, DeflateAllowsRsv1OnFirstFrameOnly) {
  FrameScanner s({true, true, 1 << 20});
  const Bytes ok = concat({frame(opcode::text, 4, false, true, true), frame(opcode::continuation, 4)});
  EXPECT_EQ(s.scan(ok.data(), ok.size()).violation, Violation::none);
  const Bytes bad = concat({frame(opcode::text, 4, false, true, true),
                            frame(opcode::continuation, 4, true, true, true)});
  FrameScanner s2({true, true, 1 << 20});
  EXPECT_EQ(s2.scan(bad.data(), bad.size()).violation, Violation::reserved_bits);
}

TEST(FrameScanner, StopAtBoundaryNeverSplitsAFrame) {
  FrameScanner s({false, false, 1 << 20});
  const Bytes two = concat({frame(opcode::text, 10, true, false), frame(opcode::text, 10, true, false)});
  // Already at a boundary: stops at 0.
  auto r = s.scan(two.data(), two.size(), true);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.forward, 0u);
  // Inside the first frame: runs to its end and stops before the second.
  s.scan(two.data(), 5);
  r = s.scan(two.data() + 5, two.size() - 5, true);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.forward, 12u - 5u);
}

TEST(FrameScanner, RecordsCloseFrames) {
  FrameScanner s({true, false, 1 << 20});
  const std::string c = encode_close_frame(1000, "", std::array<std::uint8_t, 4>{1, 2, 3, 4});
  s.scan(reinterpret_cast<const std::uint8_t*>(c.data()), c.size());
  EXPECT_TRUE(s.close_seen());
}

// A gate that answers from a script, one verdict per data frame, and records what it was asked.
struct ScriptedGate {
  explicit ScriptedGate(std::vector<FrameVerdict> v) : verdicts(std::move(v)) {}
  std::vector<FrameVerdict> verdicts;
  std::size_t asked = 0;
  std::vector<bool> starts;
  static FrameVerdict decide(void* self, const FrameHeader&, bool starts_message) {
    auto& g = *static_cast<ScriptedGate*>(self);
    g.starts.push_back(starts_message);
    return g.asked < g.verdicts.size() ? g.verdicts[g.asked++] : FrameVerdict::pass;
  }
};

TEST(FrameScannerGate, HoldStopsBeforeTheFrameAndItIsAskedAgain) {
  ScriptedGate gate({FrameVerdict::pass, FrameVerdict::hold});
  FrameScanner s({true});
  s.set_gate(&ScriptedGate::decide, &gate);
  const Bytes first = frame(opcode::text, 3), ping = frame(opcode::ping, 0), second = frame(opcode::text, 4);
  Bytes in = concat({first, ping, second});
  auto r = s.scan(in.data(), in.size());
  EXPECT_TRUE(r.held_back);
  EXPECT_EQ(r.forward, first.size() + ping.size()) << "control frames are never gated";
  EXPECT_EQ(s.messages(), 1u);
  EXPECT_TRUE(s.at_boundary());
  r = s.scan(in.data() + r.forward, in.size() - r.forward);  // later, from the held frame on
  EXPECT_FALSE(r.held_back);
  EXPECT_EQ(r.forward, second.size());
  EXPECT_EQ(s.messages(), 2u);
}

TEST(FrameScannerGate, DropSkipsAWholeFrameEvenAcrossReads) {
  ScriptedGate gate({FrameVerdict::drop});
  FrameScanner s({true});
  s.set_gate(&ScriptedGate::decide, &gate);
  const Bytes dropped = frame(opcode::binary, 1000), kept = frame(opcode::text, 5);
  Bytes in = concat({dropped, kept});
  auto r = s.scan(in.data(), 600);  // the dropped frame ends in the next read
  EXPECT_EQ(r.forward, 0u);
  EXPECT_EQ(r.discard, 600u);
  EXPECT_FALSE(s.at_boundary());
  r = s.scan(in.data() + 600, in.size() - 600);
  EXPECT_EQ(r.forward, 0u);
  EXPECT_EQ(r.discard, dropped.size() - 600) << "the rest of the dropped frame first";
  const std::size_t at = 600 + r.discard;
  r = s.scan(in.data() + at, in.size() - at);
  EXPECT_EQ(r.forward, kept.size());
  EXPECT_EQ(s.messages(), 1u) << "the dropped message is not counted as relayed";
  EXPECT_EQ(s.dropped(), 1u);
}

TEST(FrameScannerGate, RefuseIsARateLimitViolationAndContinuationsAreNotStarts) {
  ScriptedGate gate({FrameVerdict::pass, FrameVerdict::pass, FrameVerdict::refuse});
  FrameScanner s({true});
  s.set_gate(&ScriptedGate::decide, &gate);
  Bytes in = concat({frame(opcode::text, 2, false), frame(opcode::continuation, 2, true),
                     frame(opcode::text, 2)});
  const auto r = s.scan(in.data(), in.size());
  EXPECT_EQ(r.violation, Violation::rate_limited);
  EXPECT_EQ(r.forward, in.size() - 8);
  EXPECT_EQ(gate.starts, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(close_code_for(Violation::rate_limited), close_code::policy_violation);
}

TEST(Violation, CloseCodes) {
  EXPECT_EQ(close_code_for(Violation::message_too_big), 1009);
  EXPECT_EQ(close_code_for(Violation::unmasked_client_frame), 1002);
  EXPECT_EQ(close_code_for(Violation::reserved_opcode), 1002);
}



// Issue 35: what follows a close frame is discarded whatever it is and however the reads split
// it; the answer must not depend on segmentation.
struct AfterCloseCase {
  const char* name;
  ScanRules rules;
  Bytes close;
  Bytes junk;
};

class FrameScannerAfterClose : public ::testing::TestWithParam<AfterCloseCase> {};

Bytes server_close(std::uint16_t code) {
  const std::string f = encode_close_frame(code, "");
  return Bytes(f.begin(), f.end());
}

TEST_P(FrameScannerAfterClose, DiscardsWhatFollowsInOneBuffer) {
  const auto& c = GetParam();
  FrameScanner s(c.rules);
  const Bytes stream = concat({c.close, c.junk});
  const auto r = s.scan(stream.data(), stream.size());
  EXPECT_EQ(r.violation, Violation::none) << to_string(r.violation);
  EXPECT_EQ(r.forward, c.close.size());
  EXPECT_EQ(r.discard, c.junk.size());
  EXPECT_EQ(r.held, 0u);
  EXPECT_TRUE(s.close_seen());
  EXPECT_EQ(s.discarded_after_close(), c.junk.size());
}

// Every split point, each part in a read of its own, as the relay feeds the scanner (held bytes
// rescanned with what follows, discards skipped).
TEST_P(FrameScannerAfterClose, DiscardsWhatFollowsHoweverTheReadsSplitIt) {
  const auto& c = GetParam();
  const Bytes stream = concat({c.close, c.junk});
  for (std::size_t split = 1; split < stream.size(); ++split) {
    FrameScanner s(c.rules);
    std::size_t forwarded = 0, discarded = 0;
    Bytes held;
    for (const auto& [from, to] : {std::pair{std::size_t{0}, split}, std::pair{split, stream.size()}}) {
      Bytes buf = held;
      buf.insert(buf.end(), stream.begin() + static_cast<std::ptrdiff_t>(from),
                 stream.begin() + static_cast<std::ptrdiff_t>(to));
      const auto r = s.scan(buf.data(), buf.size());
      ASSERT_EQ(r.violation, Violation::none) << "split at " << split << ": " << to_string(r.violation);
      forwarded += r.forward;
      discarded += r.discard;
      held.assign(buf.begin() + static_cast<std::ptrdiff_t>(r.forward + r.discard), buf.end());
      ASSERT_EQ(held.size(), r.held) << "split at " << split;
    }
    EXPECT_EQ(forwarded, c.close.size()) << "split at " << split;
    EXPECT_EQ(discarded, c.junk.size()) << "split at " << split;
    EXPECT_EQ(s.discarded_after_close(), c.junk.size()) << "split at " << split;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Issue35, FrameScannerAfterClose,
    ::testing::Values(
        AfterCloseCase{"client_close_then_reserved_opcode", kClient, close_with(1000), frame(0x3, 4)},
        AfterCloseCase{"client_close_then_garbage", kClient, close_with(1000),
                       Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x13}},
        AfterCloseCase{"client_close_then_unmasked_frame", kClient, close_with(1000),
                       frame(opcode::text, 5, true, false)},
        AfterCloseCase{"client_close_then_text_and_ping", kClient, close_with(1001, "bye"),
                       concat({frame(opcode::text, 3), frame(opcode::ping, 0)})},
        AfterCloseCase{"backend_close_then_masked_frame", kServer, server_close(1000),
                       frame(opcode::binary, 6, true, true)},
        AfterCloseCase{"backend_close_then_reserved_bits", kServer, server_close(1000),
                       Bytes{0xB1, 0x01, 0x41}}),
    [](const ::testing::TestParamInfo<AfterCloseCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace wsgate::ws
