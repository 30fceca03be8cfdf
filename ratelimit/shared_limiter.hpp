// Decisions every io thread shares for one limit policy: upgrades per window and concurrent
// sessions per key (one lock, taken once per upgrade, never per message), and the message limits
// the key's sessions apply. The state survives reloads because the limiter outlives any configuration.
#pragma once

#include "ratelimit/gcra.hpp"
#include "ratelimit/key_table.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

namespace wsgate::ratelimit {

class SharedLimiter;

// What a session does with a message over its limit.
enum class Action : std::uint8_t {
  throttle,  // stop reading the sender until there is credit: nothing lost, order kept
  close,     // end the session (1008)
  drop,      // discard the message, keep the session (whole single-frame messages only)
};

// Messages and payload bytes per window for one direction of a session's traffic.
struct FlowLimits {
  Rate messages;
  Action messages_action = Action::throttle;
  Rate bytes;
  Action bytes_action = Action::throttle;

  bool any() const { return !messages.unlimited() || !bytes.unlimited(); }
};

struct MessageLimits {
  FlowLimits from_client;
  FlowLimits from_backend;
};

// A live session counted against its key; releases the count when destroyed. While it lives, the
// key's entry (and so its message schedules) stays in the table.
class SessionSlot {
 public:
  SessionSlot() = default;
  SessionSlot(std::shared_ptr<SharedLimiter> limiter, std::uint64_t key, KeyState* state)
      : limiter_(std::move(limiter)), key_(key), state_(state) {}
  SessionSlot(SessionSlot&&) noexcept = default;
  SessionSlot& operator=(SessionSlot&& other) noexcept;
  ~SessionSlot();

  SharedLimiter* limiter() const { return limiter_.get(); }
  std::uint64_t key() const { return key_; }
  FlowSchedules* schedules() const { return state_ ? &state_->flows : nullptr; }

 private:
  std::shared_ptr<SharedLimiter> limiter_;
  std::uint64_t key_ = 0;
  KeyState* state_ = nullptr;
};

class SharedLimiter : public std::enable_shared_from_this<SharedLimiter> {
 public:
  explicit SharedLimiter(std::size_t max_keys = 100'000) : table_(max_keys) {}

  // One upgrade of `key`: refused, spending nothing, while the key holds `max_sessions` (0: no
  // cap); else against `rate` (unlimited: always allowed), which it spends only when it passes.
  // Admitted: the slot counts the session. Both under one lock, so no other upgrade of the key
  // slips between the two checks.
  struct Admission {
    Decision rate;                   // refused: over the upgrade rate (retry_after_ns says when)
    bool capped = false;             // refused: at the session cap
    std::optional<SessionSlot> slot;  // set when admitted
  };
  Admission admit(std::uint64_t key, const Rate& rate, std::int64_t max_sessions, std::int64_t now_ns);
  // One upgrade of `key` against `rate` (unlimited: always allowed).
  Decision upgrade(std::uint64_t key, const Rate& rate, std::int64_t now_ns);
  // A slot when the key has fewer than `max_sessions` (0: no cap) live sessions; nothing otherwise.
  std::optional<SessionSlot> open_session(std::uint64_t key, std::int64_t max_sessions, std::int64_t now_ns);
  std::int64_t sessions(std::uint64_t key);

  // Message limits for every session of the policy, live ones included (a reload changes them; the
  // schedules already filled stay). Sessions notice through the generation, read without a lock.
  void set_message_limits(const MessageLimits& limits);
  MessageLimits message_limits();
  std::uint64_t limits_generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  friend class SessionSlot;
  void close_session(std::uint64_t key);

  std::mutex mutex_;
  KeyTable table_;
  MessageLimits message_limits_;
  // Read by every limited frame on every thread: a line of its own, away from the mutex that each
  // upgrade writes.
  alignas(64) std::atomic<std::uint64_t> generation_{0};
};

}  // namespace wsgate::ratelimit
