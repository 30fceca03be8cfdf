// A relayed session as one process hands it to the next between frames (SIGUSR2): what the new
// process needs, besides the two sockets, to go on relaying it as if nothing had happened.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate::handover {

// One direction of the relay at a frame boundary.
struct DirectionRecord {
  std::string unsent;   // bytes relayed but not yet taken by the destination (a slow reader)
  std::string unread;   // bytes read from the source but not yet relayed: scanned again first
  std::string parked;   // a throttled frame and what came behind it
  std::int64_t resume_in_ns = -1;  // the throttle's wait left; -1: not throttled
  std::uint64_t bytes = 0;         // relayed so far
  std::uint64_t throttled = 0;     // times held back
  // The frame scanner at the boundary.
  std::uint64_t message_bytes = 0;
  bool in_message = false;  // inside a fragmented message: continuation frames come next
  std::uint64_t messages = 0;
  std::uint64_t data_frames = 0;
  std::uint64_t dropped = 0;
  std::uint64_t pongs = 0;
};

struct SessionRecord {
  std::string id;  // the session's id in the process that handed it over, for the logs
  std::string route;
  std::string backend_url;
  std::string listener;  // the listener the client came through (its connections_open)
  std::string client_ip;
  bool deflate = false;
  std::uint64_t key_hash = 0;  // the client's pinning key, hashed (0: none)
  bool has_limit_key = false;  // counted under a rate-limit policy, by this key
  std::uint64_t limit_key = 0;
  // The key's message and byte schedules (GCRA), as time ahead of now: >0 is credit already spent.
  std::int64_t client_messages_ahead_ns = 0;
  std::int64_t client_bytes_ahead_ns = 0;
  std::int64_t backend_messages_ahead_ns = 0;
  std::int64_t backend_bytes_ahead_ns = 0;
  std::string lease_key, lease_member;  // its count in Redis (empty: none)
  std::int64_t expires_at_unix = 0;      // the token's expiry, when the route closes at it (0: never)
  // Times as ages, so that two processes' monotonic clocks never meet.
  std::int64_t age_ns = 0;          // since the upgrade
  std::int64_t idle_ns = 0;         // since the last data frame either way
  std::int64_t client_quiet_ns = 0; // since the last byte from the client
  std::int64_t ping_age_ns = -1;    // the gateway's outstanding ping was sent this long ago; -1: none
  bool ping_answered = false;
  std::int64_t ping_retry_in_ns = 0;  // a ping that found no boundary is tried again then
  bool limit_logged = false;
  DirectionRecord up;    // client to backend
  DirectionRecord down;  // backend to client
};

std::string encode(const SessionRecord& record);
// Every length is checked against what is left, and every time against a century: a short, long
// or altered record is refused with `error` set, never read past its end nor let to overflow a clock.
std::optional<SessionRecord> decode(std::string_view bytes, std::string& error);

}  // namespace wsgate::handover
