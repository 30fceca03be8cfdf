#include "handover/channel_message.hpp"
#include "handover/session_record.hpp"

#include <gtest/gtest.h>

using namespace wsgate::handover;

namespace {

SessionRecord sample() {
  SessionRecord r;
  r.id = "1-42";
  r.route = "echo";
  r.backend_url = "ws://10.0.0.7:9000";
  r.listener = "public";
  r.client_ip = "203.0.113.9";
  r.deflate = true;
  r.key_hash = 0xfeedfacecafebeefULL;
  r.has_limit_key = true;
  r.limit_key = 77;
  r.client_messages_ahead_ns = 1'500'000;
  r.backend_bytes_ahead_ns = -3;
  r.lease_key = "wsgate:{s}:x";
  r.lease_member = "member-1";
  r.expires_at_unix = 1'900'000'000;
  r.age_ns = 12'000'000'000;
  r.idle_ns = 5;
  r.client_quiet_ns = 6;
  r.ping_age_ns = 7;
  r.ping_answered = true;
  r.ping_retry_in_ns = 8;
  r.limit_logged = true;
  r.up.unsent = std::string("\x81\x02hi", 4);
  r.up.unread = std::string(3, '\0');
  r.up.parked = "p";
  r.up.resume_in_ns = 1000;
  r.up.in_message = true;
  r.up.message_bytes = 12;
  r.up.messages = 9;
  r.up.data_frames = 10;
  r.down.bytes = 1u << 30;
  r.down.pongs = 3;
  return r;
}

}  // namespace

TEST(SessionRecord, RoundTripsEveryField) {
  const auto r = sample();
  std::string error;
  const auto back = decode(encode(r), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->backend_url, r.backend_url);
  EXPECT_EQ(back->listener, r.listener);
  EXPECT_TRUE(back->deflate);
  EXPECT_EQ(back->key_hash, r.key_hash);
  EXPECT_EQ(back->limit_key, 77u);
  EXPECT_EQ(back->client_messages_ahead_ns, 1'500'000);
  EXPECT_EQ(back->backend_bytes_ahead_ns, -3);
  EXPECT_EQ(back->lease_member, "member-1");
  EXPECT_EQ(back->expires_at_unix, 1'900'000'000);
  EXPECT_EQ(back->age_ns, 12'000'000'000);
  EXPECT_EQ(back->ping_age_ns, 7);
  EXPECT_TRUE(back->ping_answered);
  EXPECT_EQ(back->up.unsent, r.up.unsent);
  EXPECT_EQ(back->up.unread, r.up.unread);
  EXPECT_EQ(back->up.parked, "p");
  EXPECT_EQ(back->up.resume_in_ns, 1000);
  EXPECT_TRUE(back->up.in_message);
  EXPECT_EQ(back->up.message_bytes, 12u);
  EXPECT_EQ(back->down.bytes, 1u << 30);
  EXPECT_EQ(back->down.pongs, 3u);
  EXPECT_EQ(back->down.resume_in_ns, -1);
}

TEST(SessionRecord, EveryTruncationIsRefused) {
  const std::string bytes = encode(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::string error;
    EXPECT_FALSE(decode(std::string_view(bytes).substr(0, n), error)) << n;
    EXPECT_FALSE(error.empty());
  }
}

TEST(SessionRecord, RefusesTrailingBytesOtherVersionsHugeLengthsAndNegativeAges) {
  std::string error;
  EXPECT_FALSE(decode(encode(sample()) + "x", error));
  EXPECT_EQ(error, "trailing bytes");
  std::string other = encode(sample());
  other[0] = 2;
  EXPECT_FALSE(decode(other, error));
  EXPECT_NE(error.find("version 2"), std::string::npos);
  // The id's length claims 2^63 bytes.
  std::string huge = encode(sample());
  huge[8] = '\x80';
  EXPECT_FALSE(decode(huge, error));
  EXPECT_EQ(error, "field length beyond the record");
  auto negative = sample();
  negative.idle_ns = -1;
  EXPECT_FALSE(decode(encode(negative), error));
  EXPECT_EQ(error, "negative age");
  for (auto field : {&SessionRecord::ping_retry_in_ns, &SessionRecord::client_bytes_ahead_ns, &SessionRecord::age_ns}) {
    auto far = sample();
    far.*field = INT64_MAX;
    EXPECT_FALSE(decode(encode(far), error));
    EXPECT_EQ(error, "time out of range");
  }
  auto expiry = sample();
  expiry.expires_at_unix = INT64_MAX;
  EXPECT_FALSE(decode(encode(expiry), error));
  auto flag = encode(sample());
  // The deflate flag sits after the version and five strings.
  std::size_t at = 1;
  for (const auto* s : {"1-42", "echo", "ws://10.0.0.7:9000", "public", "203.0.113.9"})
    at += 8 + std::string_view(s).size();
  flag[at] = 2;
  EXPECT_FALSE(decode(flag, error));
  EXPECT_EQ(error, "bad flag");
}

TEST(ChannelMessage, RoundTripsAndRefusesUnknownOrShort) {
  std::string error;
  const auto m = decode_message(encode({Kind::adopted, 99, "x"}), error);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Kind::adopted);
  EXPECT_EQ(m->id, 99u);
  EXPECT_EQ(m->body, "x");
  EXPECT_FALSE(decode_message("K1234567", error));
  EXPECT_FALSE(decode_message(std::string("Z") + std::string(8, '\0'), error));
  EXPECT_EQ(error, "unknown message kind");
}

TEST(RecordAssembler, PutsSplitRecordsTogetherWithinTheLimit) {
  std::string record(100'000, 'r');
  for (std::size_t i = 0; i < record.size(); ++i) record[i] = static_cast<char>(i * 7);
  const auto pieces = split_record(5, record, 4096);
  ASSERT_GT(pieces.size(), 20u);
  for (const auto& p : pieces) EXPECT_LE(encode(p).size(), 4096u);
  RecordAssembler a(1 << 20);
  std::string error;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const auto step = a.add(pieces[i], error);
    EXPECT_EQ(step, i + 1 == pieces.size() ? RecordAssembler::Step::complete : RecordAssembler::Step::incomplete);
  }
  EXPECT_EQ(a.id(), 5u);
  EXPECT_EQ(a.record(), record);

  RecordAssembler small(1000);
  EXPECT_EQ(small.add(pieces.front(), error), RecordAssembler::Step::broken);
  RecordAssembler orphan(1 << 20);
  EXPECT_EQ(orphan.add(pieces[1], error), RecordAssembler::Step::broken);
  // A piece beyond the size announced.
  RecordAssembler longer(1 << 20);
  const auto one = split_record(6, "abc", 4096);
  EXPECT_EQ(longer.add(one.front(), error), RecordAssembler::Step::complete);
  EXPECT_EQ(longer.add({Kind::session, 7, std::string("\x02\0\0\0\0\0\0\0abc", 11)}, error),
            RecordAssembler::Step::broken);
  EXPECT_EQ(error, "record longer than announced");
}
