// Decisions every io thread shares for one limit policy: upgrades per window and concurrent
// sessions per key. One lock, taken once per upgrade (never per message); the state survives
// reloads because the limiter outlives any one configuration.
#pragma once

#include "ratelimit/gcra.hpp"
#include "ratelimit/key_table.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

namespace wsgate::ratelimit {

class SharedLimiter;

// A live session counted against its key; releases the count when destroyed.
class SessionSlot {
 public:
  SessionSlot() = default;
  SessionSlot(std::shared_ptr<SharedLimiter> limiter, std::uint64_t key)
      : limiter_(std::move(limiter)), key_(key) {}
  SessionSlot(SessionSlot&&) noexcept = default;
  SessionSlot& operator=(SessionSlot&& other) noexcept;
  ~SessionSlot();

 private:
  std::shared_ptr<SharedLimiter> limiter_;
  std::uint64_t key_ = 0;
};

class SharedLimiter : public std::enable_shared_from_this<SharedLimiter> {
 public:
  explicit SharedLimiter(std::size_t max_keys = 100'000) : table_(max_keys) {}

  // One upgrade of `key` against `rate` (unlimited: always allowed).
  Decision upgrade(std::uint64_t key, const Rate& rate, std::int64_t now_ns);
  // A slot when the key has fewer than `max_sessions` (0: no cap) live sessions; nothing otherwise.
  std::optional<SessionSlot> open_session(std::uint64_t key, std::int64_t max_sessions, std::int64_t now_ns);
  std::int64_t sessions(std::uint64_t key);

 private:
  friend class SessionSlot;
  void close_session(std::uint64_t key);

  std::mutex mutex_;
  KeyTable table_;
};

}  // namespace wsgate::ratelimit
