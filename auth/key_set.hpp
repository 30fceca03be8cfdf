// Keys that change while the gateway runs (a JWKS URL's document): replaced as a whole by each good
// refresh, read lock-free by every io thread. A refresh that fails never touches it.
#pragma once

#include "auth/verification_key.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wsgate::auth {

class KeySet {
 public:
  struct Snapshot {
    std::vector<VerificationKey> keys;
    std::string document;         // what they were parsed from: an identical refresh changes nothing
    std::uint64_t generation = 0;  // grows by one with every change
  };

  KeySet() : current_(std::make_shared<const Snapshot>()) {}

  std::shared_ptr<const Snapshot> snapshot() const { return current_.load(std::memory_order_acquire); }
  std::uint64_t generation() const { return snapshot()->generation; }

  // Installs the keys parsed from `document` unless it is the document already installed; returns
  // whether anything changed. Called from one thread only (the one that fetches).
  bool replace(std::vector<VerificationKey> keys, std::string document);

 private:
  std::atomic<std::shared_ptr<const Snapshot>> current_;
};

}  // namespace wsgate::auth
