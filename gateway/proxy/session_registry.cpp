#include "gateway/proxy/session_registry.hpp"

#include <vector>

namespace wsgate::gateway {

std::atomic<std::size_t> SessionRegistry::total_{0};

void SessionRegistry::add(const std::shared_ptr<Drainable>& session, std::uint64_t number) {
  Drainable* s = session.get();
  if (!s->registered_) {
    s->registered_ = true;
    s->registry_self_ = session;
    s->registry_prev_ = nullptr;
    s->registry_next_ = first_;
    if (first_) first_->registry_prev_ = s;
    first_ = s;
    total_.fetch_add(1, std::memory_order_relaxed);
    s->registry_id_ = number != 0 ? number : ++next_id_;
  }
  if (draining_) session->go_away();
}

void SessionRegistry::remove(Drainable* session) {
  if (!session->registered_) return;
  session->registered_ = false;
  (session->registry_prev_ ? session->registry_prev_->registry_next_ : first_) = session->registry_next_;
  if (session->registry_next_) session->registry_next_->registry_prev_ = session->registry_prev_;
  session->registry_prev_ = session->registry_next_ = nullptr;
  total_.fetch_sub(1, std::memory_order_relaxed);
}

std::vector<std::shared_ptr<Drainable>> SessionRegistry::live() const {
  // Closing may remove sessions from the map: callers iterate this copy.
  std::vector<std::shared_ptr<Drainable>> out;
  for (const Drainable* d = first_; d; d = d->registry_next_)
    if (auto s = d->registry_self_.lock()) out.push_back(std::move(s));
  return out;
}

void SessionRegistry::drain() {
  draining_ = true;
  for (auto& s : live()) s->go_away();
}

SessionRegistry::HandoverStart SessionRegistry::hand_over(const std::shared_ptr<HandoverSink>& sink,
                                                          std::size_t limit) {
  draining_ = true;
  HandoverStart start;
  std::vector<std::shared_ptr<Drainable>> batch;
  while (start.moving < limit) {
    // Sessions not asked before, no more than could still move; held, since asking may end one.
    batch.clear();
    for (Drainable* d = first_; d && batch.size() < limit - start.moving; d = d->registry_next_) {
      if (d->handover_asked_) continue;
      if (auto s = d->registry_self_.lock()) {
        d->handover_asked_ = true;
        batch.push_back(std::move(s));
      }
    }
    if (batch.empty()) return start;
    for (const auto& s : batch) {
      switch (s->hand_over(sink)) {
        case HandoverStep::moving: ++start.moving; break;
        case HandoverStep::draining: ++start.draining; break;
        case HandoverStep::ending: break;
      }
    }
  }
  for (const Drainable* d = first_; d && !start.more; d = d->registry_next_) start.more = !d->handover_asked_;
  return start;
}

void SessionRegistry::stop_draining() {
  draining_ = false;
  for (Drainable* d = first_; d; d = d->registry_next_) d->handover_asked_ = false;
}

void SessionRegistry::close_backend(const std::string& url) {
  for (auto& s : live()) s->backend_left(url);
}

std::vector<SessionView> SessionRegistry::describe(const std::string& route, const std::string& backend,
                                                   std::size_t limit) const {
  std::vector<SessionView> out;
  for (const Drainable* d = first_; d; d = d->registry_next_) {
    if (out.size() >= limit) break;
    const auto s = d->registry_self_.lock();
    SessionView v;
    if (!s || !s->describe(v)) continue;
    if ((!route.empty() && v.route != route) || (!backend.empty() && v.backend != backend)) continue;
    v.id = id_of(*s);
    out.push_back(std::move(v));
  }
  return out;
}

bool SessionRegistry::rebalance_session(std::uint64_t number) {
  for (auto& s : live())
    if (s->registry_id_ == number && s->rebalance()) return true;
  return false;
}

bool SessionRegistry::end_session(std::uint64_t number, std::uint16_t code) {
  bool ended = false;  // a relay shares its number with its upgrade, which may still be alive
  for (auto& s : live())
    if (s->registry_id_ == number) ended = s->end_by_operator(code) || ended;
  return ended;
}

}  // namespace wsgate::gateway
