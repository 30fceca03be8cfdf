#include "handover/session_record.hpp"

#include <cstring>

namespace wsgate::handover {
namespace {

// Bumped whenever the layout changes: a new binary refuses a record it cannot read rather than
// misread it (the session stays with the old process).
constexpr std::uint8_t kVersion = 1;
// No string in a record comes near this; a length beyond it means the record is not one.
constexpr std::size_t kMaxField = 64u << 20;
// About 100 years in nanoseconds, and the year 2100 in Unix seconds: beyond any real session, and
// within what a steady_clock time point in nanoseconds can hold once added to one.
constexpr std::int64_t kMaxSpanNs = 100LL * 365 * 24 * 3600 * 1'000'000'000;
constexpr std::int64_t kMaxUnixSeconds = 4'102'444'800;

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void flag(bool v) { u8(v ? 1 : 0); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(std::uint8_t& v) {
    if (in_.size() < 1) return fail("truncated");
    v = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (in_.size() < 8) return fail("truncated");
    v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(in_[i])} << (8 * i);
    in_.remove_prefix(8);
    return true;
  }
  bool i64(std::int64_t& v) {
    std::uint64_t u = 0;
    if (!u64(u)) return false;
    v = static_cast<std::int64_t>(u);
    return true;
  }
  bool flag(bool& v) {
    std::uint8_t b = 0;
    if (!u8(b)) return false;
    if (b > 1) return fail("bad flag");
    v = b == 1;
    return true;
  }
  bool str(std::string& s) {
    std::uint64_t n = 0;
    if (!u64(n)) return false;
    if (n > kMaxField || n > in_.size()) return fail("field length beyond the record");
    s.assign(in_.substr(0, static_cast<std::size_t>(n)));
    in_.remove_prefix(static_cast<std::size_t>(n));
    return true;
  }
  bool done() { return in_.empty() || fail("trailing bytes"); }
  const std::string& error() const { return error_; }

 private:
  bool fail(const char* why) {
    if (error_.empty()) error_ = why;
    return false;
  }
  std::string_view in_;
  std::string error_;
};

void put(Writer& w, const DirectionRecord& d) {
  w.str(d.unsent);
  w.str(d.unread);
  w.str(d.parked);
  w.i64(d.resume_in_ns);
  w.u64(d.bytes);
  w.u64(d.throttled);
  w.u64(d.message_bytes);
  w.flag(d.in_message);
  w.u64(d.messages);
  w.u64(d.data_frames);
  w.u64(d.dropped);
  w.u64(d.pongs);
}

bool get(Reader& r, DirectionRecord& d) {
  return r.str(d.unsent) && r.str(d.unread) && r.str(d.parked) && r.i64(d.resume_in_ns) && r.u64(d.bytes) &&
         r.u64(d.throttled) && r.u64(d.message_bytes) && r.flag(d.in_message) && r.u64(d.messages) &&
         r.u64(d.data_frames) && r.u64(d.dropped) && r.u64(d.pongs);
}

}  // namespace

std::string encode(const SessionRecord& s) {
  Writer w;
  w.u8(kVersion);
  w.str(s.id);
  w.str(s.route);
  w.str(s.backend_url);
  w.str(s.listener);
  w.str(s.client_ip);
  w.flag(s.deflate);
  w.u64(s.key_hash);
  w.flag(s.has_limit_key);
  w.u64(s.limit_key);
  w.i64(s.client_messages_ahead_ns);
  w.i64(s.client_bytes_ahead_ns);
  w.i64(s.backend_messages_ahead_ns);
  w.i64(s.backend_bytes_ahead_ns);
  w.str(s.lease_key);
  w.str(s.lease_member);
  w.i64(s.expires_at_unix);
  w.i64(s.age_ns);
  w.i64(s.idle_ns);
  w.i64(s.client_quiet_ns);
  w.i64(s.ping_age_ns);
  w.flag(s.ping_answered);
  w.i64(s.ping_retry_in_ns);
  w.flag(s.limit_logged);
  put(w, s.up);
  put(w, s.down);
  return w.take();
}

std::optional<SessionRecord> decode(std::string_view bytes, std::string& error) {
  Reader r(bytes);
  SessionRecord s;
  std::uint8_t version = 0;
  if (!r.u8(version)) {
    error = r.error();
    return std::nullopt;
  }
  if (version != kVersion) {
    error = "record version " + std::to_string(version) + ", this binary reads " + std::to_string(kVersion);
    return std::nullopt;
  }
  const bool ok = r.str(s.id) && r.str(s.route) && r.str(s.backend_url) && r.str(s.listener) && r.str(s.client_ip) &&
                  r.flag(s.deflate) && r.u64(s.key_hash) && r.flag(s.has_limit_key) && r.u64(s.limit_key) &&
                  r.i64(s.client_messages_ahead_ns) && r.i64(s.client_bytes_ahead_ns) &&
                  r.i64(s.backend_messages_ahead_ns) && r.i64(s.backend_bytes_ahead_ns) && r.str(s.lease_key) &&
                  r.str(s.lease_member) && r.i64(s.expires_at_unix) && r.i64(s.age_ns) && r.i64(s.idle_ns) &&
                  r.i64(s.client_quiet_ns) && r.i64(s.ping_age_ns) && r.flag(s.ping_answered) &&
                  r.i64(s.ping_retry_in_ns) && r.flag(s.limit_logged) && get(r, s.up) && get(r, s.down) && r.done();
  if (!ok) {
    error = r.error();
    return std::nullopt;
  }
  // Times are ages: a negative one is not a clock difference but a damaged record.
  if (s.age_ns < 0 || s.idle_ns < 0 || s.client_quiet_ns < 0 || s.ping_age_ns < -1 || s.ping_retry_in_ns < 0 ||
      s.up.resume_in_ns < -1 || s.down.resume_in_ns < -1) {
    error = "negative age";
    return std::nullopt;
  }
  // Every time is added to a clock reading: bounded, so that no sum can overflow.
  const auto within = [](std::int64_t v) { return v >= -kMaxSpanNs && v <= kMaxSpanNs; };
  if (!within(s.age_ns) || !within(s.idle_ns) || !within(s.client_quiet_ns) || !within(s.ping_age_ns) ||
      !within(s.ping_retry_in_ns) || !within(s.up.resume_in_ns) || !within(s.down.resume_in_ns) ||
      !within(s.client_messages_ahead_ns) || !within(s.client_bytes_ahead_ns) ||
      !within(s.backend_messages_ahead_ns) || !within(s.backend_bytes_ahead_ns) || s.expires_at_unix < 0 ||
      s.expires_at_unix > kMaxUnixSeconds) {
    error = "time out of range";
    return std::nullopt;
  }
  return s;
}

}  // namespace wsgate::handover
