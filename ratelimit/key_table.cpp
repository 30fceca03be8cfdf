#include "ratelimit/key_table.hpp"

#include "ratelimit/gcra.hpp"

namespace wsgate::ratelimit {

bool FlowSchedules::at_full_credit(std::int64_t now_ns) const {
  for (const auto* tat : {&client_messages, &client_bytes, &backend_messages, &backend_bytes})
    if (tat->load(std::memory_order_relaxed) > now_ns) return false;
  return true;
}

bool KeyState::at_full_credit(std::int64_t now_ns) const {
  return ratelimit::at_full_credit(tat, now_ns) && flows.at_full_credit(now_ns);
}

KeyState& KeyTable::get(std::uint64_t key, std::int64_t now_ns) {
  if (auto it = entries_.find(key); it != entries_.end()) {
    lru_.splice(lru_.end(), lru_, it->second.lru);
    it->second.state.last_used = now_ns;
    return it->second.state;
  }
  if (entries_.size() >= max_keys_) {
    // A full sweep is O(keys): at most once a second, so a flood of new keys stays O(1) each.
    if (now_ns - last_sweep_ >= 1'000'000'000) {
      last_sweep_ = now_ns;
      sweep(now_ns);
    }
    if (entries_.size() >= max_keys_) evict_one();
  }
  lru_.push_back(key);
  auto& e = entries_[key];
  e.lru = std::prev(lru_.end());
  e.state.last_used = now_ns;
  return e.state;
}

KeyState* KeyTable::find(std::uint64_t key) {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.state;
}

std::size_t KeyTable::sweep(std::int64_t now_ns) {
  std::size_t dropped = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const auto& s = it->second.state;
    if (s.sessions == 0 && s.at_full_credit(now_ns)) {
      lru_.erase(it->second.lru);
      it = entries_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

void KeyTable::evict_one() {
  // The least recently used entry without sessions; a flood of new keys pushes out old ones, never
  // the count of live sessions.
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    auto e = entries_.find(*it);
    if (e->second.state.sessions > 0) continue;
    entries_.erase(e);
    lru_.erase(it);
    ++evicted_;
    return;
  }
}

}  // namespace wsgate::ratelimit
