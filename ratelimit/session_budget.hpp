// The per-message side of a limit policy for one session: each data frame is decided against the
// key's message and byte schedules, which all its sessions share lock-free, with the policy's action.
#pragma once

#include "ratelimit/shared_limiter.hpp"

#include <cstdint>

namespace wsgate::ratelimit {

enum class Flow : std::uint8_t { from_client, from_backend };

enum class Verdict : std::uint8_t {
  pass,
  wait,   // throttle: decide again after retry_after_ns; the frame stays where it is
  drop,   // discard this frame (a whole message)
  close,  // end the session
};

struct FrameDecision {
  Verdict verdict = Verdict::pass;
  std::int64_t retry_after_ns = 0;  // for wait
  bool bytes = false;               // the byte limit decided (else the message limit)
};

class SessionBudget {
 public:
  SessionBudget() = default;  // no policy: everything passes
  explicit SessionBudget(SessionSlot slot);

  const SessionSlot& slot() const { return slot_; }

  // A data frame of `payload` bytes; `starts_message` for a message's first frame, `fin` for its
  // last. A message is counted at its first frame, bytes at every frame.
  FrameDecision frame(Flow flow, bool starts_message, bool fin, std::uint64_t payload,
                      std::int64_t now_ns);

 private:
  void refresh();

  SessionSlot slot_;
  MessageLimits limits_;
  std::uint64_t generation_ = 0;
};

}  // namespace wsgate::ratelimit
