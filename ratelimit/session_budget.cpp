#include "ratelimit/session_budget.hpp"

namespace wsgate::ratelimit {
namespace {

// What a refusal by a limit with `action` means for this frame. Only a whole message can be
// dropped: part of one would leave the receiver a broken message, so that case waits instead.
FrameDecision refusal(Action action, bool whole_message, const Decision& d, bool bytes) {
  switch (action) {
    case Action::close: return {Verdict::close, 0, bytes};
    case Action::drop:
      if (whole_message) return {Verdict::drop, 0, bytes};
      break;
    case Action::throttle: break;
  }
  return {Verdict::wait, d.retry_after_ns, bytes};
}

}  // namespace

SessionBudget::SessionBudget(SessionSlot slot) : slot_(std::move(slot)) {
  if (slot_.schedules()) refresh();
}

void SessionBudget::refresh() {
  // Generation first: limits set after this read are seen at the next frame.
  generation_ = slot_.limiter()->limits_generation();
  limits_ = slot_.limiter()->message_limits();
}

FrameDecision SessionBudget::frame(Flow flow, bool starts_message, bool fin, std::uint64_t payload,
                                   std::int64_t now_ns) {
  FlowSchedules* schedules = slot_.schedules();
  if (!schedules) return {};
  if (slot_.limiter()->limits_generation() != generation_) refresh();
  const bool up = flow == Flow::from_client;
  const FlowLimits& limits = up ? limits_.from_client : limits_.from_backend;
  auto& messages = up ? schedules->client_messages : schedules->backend_messages;
  auto& bytes = up ? schedules->client_bytes : schedules->backend_bytes;
  const bool whole = starts_message && fin;
  const bool counts_message = starts_message && !limits.messages.unlimited();
  if (counts_message) {
    const auto d = decide(limits.messages, messages, now_ns);
    if (!d.allowed) return refusal(limits.messages_action, whole, d, false);
  }
  if (payload > 0 && !limits.bytes.unlimited()) {
    const auto cost = static_cast<std::int64_t>(payload);
    const auto d = decide(limits.bytes, bytes, now_ns, cost);
    if (!d.allowed) {
      if (counts_message) refund(limits.messages, messages);
      return refusal(limits.bytes_action, whole, d, true);
    }
  }
  return {};
}

}  // namespace wsgate::ratelimit
