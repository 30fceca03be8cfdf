#include "ratelimit/shared_limiter.hpp"

namespace wsgate::ratelimit {

SessionSlot& SessionSlot::operator=(SessionSlot&& other) noexcept {
  if (this != &other) {
    if (limiter_) limiter_->close_session(key_);
    limiter_ = std::move(other.limiter_);
    key_ = other.key_;
    state_ = other.state_;
  }
  return *this;
}

SessionSlot::~SessionSlot() {
  if (limiter_) limiter_->close_session(key_);
}

Decision SharedLimiter::upgrade(std::uint64_t key, const Rate& rate, std::int64_t now_ns) {
  if (rate.unlimited()) return {};
  std::lock_guard lock(mutex_);
  return decide(rate, table_.get(key, now_ns).tat, now_ns);
}

SharedLimiter::Admission SharedLimiter::admit(std::uint64_t key, const Rate& rate,
                                              std::int64_t max_sessions, std::int64_t now_ns) {
  Admission a;
  std::lock_guard lock(mutex_);
  auto& state = table_.get(key, now_ns);
  if (max_sessions > 0 && state.sessions >= max_sessions) {
    a.capped = true;
    return a;
  }
  if (!rate.unlimited()) a.rate = decide(rate, state.tat, now_ns);
  if (!a.rate.allowed) return a;
  ++state.sessions;
  a.slot.emplace(shared_from_this(), key, &state);
  return a;
}

std::optional<SessionSlot> SharedLimiter::open_session(std::uint64_t key, std::int64_t max_sessions,
                                                       std::int64_t now_ns) {
  std::lock_guard lock(mutex_);
  auto& state = table_.get(key, now_ns);
  if (max_sessions > 0 && state.sessions >= max_sessions) return std::nullopt;
  ++state.sessions;
  return SessionSlot(shared_from_this(), key, &state);
}

void SharedLimiter::close_session(std::uint64_t key) {
  std::lock_guard lock(mutex_);
  if (auto* state = table_.find(key); state && state->sessions > 0) --state->sessions;
}

std::int64_t SharedLimiter::sessions(std::uint64_t key) {
  std::lock_guard lock(mutex_);
  const auto* state = table_.find(key);
  return state ? state->sessions : 0;
}

void SharedLimiter::set_message_limits(const MessageLimits& limits) {
  std::lock_guard lock(mutex_);
  message_limits_ = limits;
  generation_.fetch_add(1, std::memory_order_release);
}

MessageLimits SharedLimiter::message_limits() {
  std::lock_guard lock(mutex_);
  return message_limits_;
}

}  // namespace wsgate::ratelimit
