#include "auth/verified_token_cache.hpp"

#include <openssl/evp.h>

#include <cstring>

namespace wsgate::auth {

std::size_t VerifiedTokenCache::KeyHash::operator()(const Key& k) const {
  std::size_t h;
  std::memcpy(&h, k.digest.data(), sizeof h);
  return h ^ k.verifier;
}

VerifiedTokenCache::Key VerifiedTokenCache::key_of(std::uint64_t verifier, std::string_view token) {
  // Fetched once: EVP_Digest with a name would look the algorithm up on every call.
  static EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  Key k{verifier, {}};
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), k.digest.data(), &len, sha256, nullptr);
  return k;
}

const boost::json::object* VerifiedTokenCache::find(std::uint64_t verifier,
                                                    std::uint64_t key_generation,
                                                    std::string_view token, std::int64_t now) {
  auto it = entries_.find(key_of(verifier, token));
  if (it == entries_.end()) return nullptr;
  if (now >= it->second.valid_until || it->second.key_generation != key_generation) {
    entries_.erase(it);  // its place in order_ is dropped when it reaches the front
    return nullptr;
  }
  return &it->second.claims;
}

void VerifiedTokenCache::insert(std::uint64_t verifier, std::uint64_t key_generation,
                                std::string_view token, std::int64_t valid_until,
                                boost::json::object claims) {
  const Key key = key_of(verifier, token);
  if (!entries_.try_emplace(key, Entry{key_generation, valid_until, std::move(claims)}).second)
    return;
  order_.push_back(key);
  while (entries_.size() > capacity_ || order_.size() > 2 * capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace wsgate::auth
