#include "gateway/session_registry.hpp"

#include <vector>

namespace wsgate::gateway {

std::atomic<std::size_t> SessionRegistry::total_{0};

void SessionRegistry::add(const std::shared_ptr<Drainable>& session) {
  if (sessions_.emplace(session.get(), session).second) total_.fetch_add(1, std::memory_order_relaxed);
  if (draining_) session->go_away();
}

void SessionRegistry::remove(Drainable* session) {
  if (sessions_.erase(session) > 0) total_.fetch_sub(1, std::memory_order_relaxed);
}

std::vector<std::shared_ptr<Drainable>> SessionRegistry::live() const {
  // Closing may remove sessions from the map: callers iterate this copy.
  std::vector<std::shared_ptr<Drainable>> out;
  for (const auto& [ptr, weak] : sessions_)
    if (auto s = weak.lock()) out.push_back(std::move(s));
  return out;
}

void SessionRegistry::drain() {
  draining_ = true;
  for (auto& s : live()) s->go_away();
}

void SessionRegistry::close_backend(const std::string& url) {
  for (auto& s : live()) s->backend_left(url);
}

}  // namespace wsgate::gateway
