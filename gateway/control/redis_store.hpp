// Rate-limit decisions several gateway instances share: upgrades per window and concurrent sessions
// per key, decided atomically in Redis by one Lua script, over one connection the control thread drives.
#pragma once

#include "config/config.hpp"
#include "ratelimit/gcra.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace boost::asio {
class io_context;
}

namespace wsgate::gateway {

class RedisStore;

// A session counted in Redis; removes itself from its key's set when destroyed. Until then the
// store renews it, so a gateway that dies leaves its sessions counted for one lease at most.
class RedisLease {
 public:
  RedisLease(std::shared_ptr<RedisStore> store, std::string key, std::string member)
      : store_(std::move(store)), key_(std::move(key)), member_(std::move(member)) {}
  RedisLease(RedisLease&&) noexcept = default;
  RedisLease& operator=(RedisLease&&) = delete;
  ~RedisLease();

  const std::string& key() const { return key_; }
  const std::string& member() const { return member_; }
  // The session moves to a new process, which renews the lease from now on: this one forgets it
  // without removing it from Redis.
  void hand_over();

 private:
  std::shared_ptr<RedisStore> store_;
  std::string key_, member_;
};

class RedisStore : public std::enable_shared_from_this<RedisStore> {
 public:
  struct Query {
    std::string policy;
    std::uint64_t key = 0;       // the client key's hash
    ratelimit::Rate upgrades;    // unlimited: not checked
    std::int64_t max_sessions = 0;
  };
  enum class Outcome { allowed, rate_limited, session_cap, unavailable };
  struct Answer {
    Outcome outcome = Outcome::unavailable;
    std::int64_t retry_after_ns = 0;  // rate_limited
    // Allowed with a session cap; also unavailable, for a session admitted anyway (fail_open).
    std::optional<RedisLease> lease;
  };
  // Called on the control thread; the caller posts to its own thread.
  using Callback = std::function<void(Answer)>;

  RedisStore(boost::asio::io_context& control, config::RedisSettings settings);
  ~RedisStore();
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  const config::RedisSettings& settings() const { return settings_; }
  // Connects (and reconnects with backoff); control thread.
  void start();
  // Disconnects for good: control thread, once it no longer runs (shutdown).
  void stop();
  // From any thread. Answers within the configured timeout: unavailable when Redis is down or slow.
  void decide(Query query, Callback done);

  // Shared bounded loads, control thread: publishes this instance's sessions per backend URL under
  // a lease and answers with the sum over the other live instances; nullopt when Redis is down,
  // slow or answers nonsense (the caller then bounds by its own counts).
  using Loads = std::map<std::string, std::int64_t>;
  // A session the previous process handed over keeps its count: renewed from here on, released at
  // its end. Any thread.
  RedisLease adopt_lease(std::string key, std::string member);

  void exchange_loads(const Loads& mine, std::chrono::milliseconds lease, std::function<void(std::optional<Loads>)> done);

 private:
  friend class RedisLease;
  struct Connection;
  struct Pending;

  void release(std::string key, std::string member);
  void forget(std::string member);
  Answer unavailable(const std::string& session_key, const std::string& member);
  void connect();
  void on_connected(bool ok, const std::string& error);
  void on_disconnected(const std::string& error);
  void send(const std::shared_ptr<Pending>& p, bool by_hash);
  void on_reply(const std::shared_ptr<Pending>& p, const void* reply);
  void renew_leases();
  void went_down(const std::string& error);
  void came_up();
  std::string key_for(const std::string& policy, std::uint64_t key, char kind) const;

  boost::asio::io_context& control_;
  config::RedisSettings settings_;
  std::unique_ptr<Connection> connection_;  // control thread only
};

}  // namespace wsgate::gateway
