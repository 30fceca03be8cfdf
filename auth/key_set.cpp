#include "auth/key_set.hpp"

namespace wsgate::auth {

bool KeySet::replace(std::vector<VerificationKey> keys, std::string document) {
  const auto old = snapshot();
  if (old->generation > 0 && old->document == document) return false;
  auto next = std::make_shared<Snapshot>();
  next->keys = std::move(keys);
  next->document = std::move(document);
  next->generation = old->generation + 1;
  current_.store(std::move(next), std::memory_order_release);
  return true;
}

}  // namespace wsgate::auth
