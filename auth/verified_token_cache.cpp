#include "auth/verified_token_cache.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace wsgate::auth {

std::size_t VerifiedTokenCache::KeyHash::operator()(const Key& k) const {
  std::size_t h;
  std::memcpy(&h, k.digest.data(), sizeof h);
  return h ^ k.verifier;
}

std::optional<VerifiedTokenCache::Key> VerifiedTokenCache::key_of(std::uint64_t verifier, std::string_view token) {
  // Fetched once: EVP_Digest with a name would look the algorithm up on every call; and one
  // context per thread, used again, where EVP_Digest would make one per call.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  Key k{verifier, {}};
  unsigned int len = 0;
  // No digest, no key: a failure must never make two tokens one entry.
  if (!sha256 || !ctx || EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), token.data(), token.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), k.digest.data(), &len) != 1 || len != k.digest.size())
    return std::nullopt;
  return k;
}

const boost::json::object* VerifiedTokenCache::find(std::uint64_t verifier,
                                                    std::uint64_t key_generation,
                                                    std::string_view token, std::int64_t now) {
  const auto key = key_of(verifier, token);
  if (!key) return nullptr;
  auto it = entries_.find(*key);
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
  const auto key = key_of(verifier, token);
  if (!key || !entries_.try_emplace(*key, Entry{key_generation, valid_until, std::move(claims)}).second)
    return;
  order_.push_back(*key);
  while (entries_.size() > capacity_ || order_.size() > 2 * capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace wsgate::auth
