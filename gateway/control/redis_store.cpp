#include "gateway/control/redis_store.hpp"

#include "gateway/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <hiredis/async.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <unordered_map>

namespace wsgate::gateway {
namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

// KEYS[1]: the key's upgrade schedule (GCRA theoretical arrival time, µs of Redis's clock).
// KEYS[2]: the key's live sessions, a sorted set of members scored by lease expiry (ms).
// ARGV: interval µs (0: no upgrade limit), tolerance µs, max sessions (0: none), member, lease ms.
// Returns {1, 0} admitted, {0, retry µs} over the upgrade rate, {2, 0} at the session cap. The cap
// is checked first, so a refusal there spends no upgrade credit. Redis's own clock, so instances
// whose clocks differ still share one schedule.
constexpr const char* kDecideScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cap = tonumber(ARGV[3])
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', math.floor(now / 1000))
  if redis.call('ZCARD', KEYS[2]) >= cap then return {2, 0} end
end
local interval = tonumber(ARGV[1])
if interval > 0 then
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  local base = math.max(tat, now)
  local over = base - now + interval - tonumber(ARGV[2])
  if over > 0 then return {0, over} end
  local next = base + interval
  redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.floor((next - now) / 1000) + 1)
end
if cap > 0 then
  redis.call('ZADD', KEYS[2], string.format('%.0f', math.floor(now / 1000) + tonumber(ARGV[5])), ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return {1, 0}
)lua";

// KEYS[1]: a key's session set; ARGV: lease ms, member. Keeps a live session counted.
constexpr const char* kRenewScript = R"lua(
local t = redis.call('TIME')
local now_ms = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2])) / 1000)
redis.call('ZADD', KEYS[1], string.format('%.0f', now_ms + tonumber(ARGV[1])), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
)lua";

// KEYS[1]: the live instances, a sorted set scored by lease expiry (ms); KEYS[2]: this instance's
// loads, a hash of backend URL to sessions. ARGV: lease ms, this instance's id, the key prefix,
// then URL and count pairs. Writes its own loads, forgets instances whose lease ran out, and
// returns the others' loads summed, as a flat URL, count list. Every key carries the {loads} hash
// tag, so in a Redis Cluster they share one slot, as the instances' hashes the script reads do.
constexpr const char* kLoadsScript = R"lua(
local t = redis.call('TIME')
local now = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2])) / 1000)
local lease = tonumber(ARGV[1])
redis.call('DEL', KEYS[2])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[2], lease)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + lease, ARGV[2])
redis.call('PEXPIRE', KEYS[1], lease * 4)
local sums = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    local h = redis.call('HGETALL', ARGV[3] .. '{loads}:' .. id)
    for j = 1, #h, 2 do sums[h[j]] = (sums[h[j]] or 0) + tonumber(h[j + 1]) end
  end
end
local out = {}
for url, n in pairs(sums) do out[#out + 1] = url; out[#out + 1] = n end
return out
)lua";

std::string sha1_hex(std::string_view text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string hex;
  char two[3];
  for (unsigned char b : digest) {
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return hex;
}

// hiredis's event hooks on an Asio descriptor: it asks for read or write readiness, we wait for it
// on the control thread and hand the event back. Lives until hiredis cleans up (and its waits end).
struct Watch : std::enable_shared_from_this<Watch> {
  Watch(asio::io_context& io, int fd) : descriptor(io, fd) {}
  asio::posix::stream_descriptor descriptor;
  redisAsyncContext* ac = nullptr;
  bool want_read = false, want_write = false, read_armed = false, write_armed = false;
  std::shared_ptr<Watch> self;  // hiredis holds the raw pointer; this keeps it alive until cleanup

  void arm(bool read) {
    bool& armed = read ? read_armed : write_armed;
    if (!ac || !(read ? want_read : want_write) || armed) return;
    armed = true;
    descriptor.async_wait(
        read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
        [w = shared_from_this(), read](error_code ec) {
          (read ? w->read_armed : w->write_armed) = false;
          if (ec || !w->ac || !(read ? w->want_read : w->want_write)) return;
          if (read) redisAsyncHandleRead(w->ac);
          else redisAsyncHandleWrite(w->ac);
          w->arm(read);  // a no-op when hiredis let go meanwhile
        });
  }
  static void add_read(void* p) { auto* w = static_cast<Watch*>(p); w->want_read = true; w->arm(true); }
  static void del_read(void* p) { static_cast<Watch*>(p)->want_read = false; }
  static void add_write(void* p) { auto* w = static_cast<Watch*>(p); w->want_write = true; w->arm(false); }
  static void del_write(void* p) { static_cast<Watch*>(p)->want_write = false; }
  static void cleanup(void* p) {
    auto* w = static_cast<Watch*>(p);
    w->ac = nullptr;
    w->want_read = w->want_write = false;
    error_code ec;
    w->descriptor.cancel(ec);
    w->descriptor.release();  // hiredis closes the descriptor itself
    auto keep = std::move(w->self);  // the pending waits hold it now
  }
};

}  // namespace

struct RedisStore::Pending {
  explicit Pending(asio::io_context& io) : timer(io) {}
  Query query;
  Callback done;
  std::string upgrade_key, session_key, member;
  asio::steady_timer timer;
  bool answered = false;
  bool by_hash = true;  // sent as EVALSHA (else EVAL with the text)
};

struct RedisStore::Connection {
  explicit Connection(asio::io_context& io) : reconnect_timer(io), renew_timer(io) {}
  redisAsyncContext* ac = nullptr;
  bool connected = false;
  bool up = true;  // as last logged: one line per outage
  config::Duration backoff{100};
  asio::steady_timer reconnect_timer;
  asio::steady_timer renew_timer;
  std::unordered_map<std::string, std::string> leases;  // member -> session set key
  std::string instance;  // names this process's members
  std::uint64_t next_member = 0;
  bool stopped = false;
  std::string decide_sha = sha1_hex(kDecideScript);
  bool started = false;
};

RedisLease::~RedisLease() {
  if (store_) store_->release(std::move(key_), std::move(member_));
}

RedisStore::RedisStore(asio::io_context& control, config::RedisSettings settings)
    : control_(control), settings_(std::move(settings)),
      connection_(std::make_unique<Connection>(control)) {
  std::uint64_t id = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(id));
  connection_->instance = hex;
}

RedisStore::~RedisStore() { stop(); }

void RedisStore::stop() {
  auto& c = *connection_;
  c.stopped = true;
  c.reconnect_timer.cancel();
  c.renew_timer.cancel();
  if (auto* ac = std::exchange(c.ac, nullptr)) {
    ac->data = nullptr;  // pending commands are answered with no reply and go unheard
    redisAsyncFree(ac);
  }
  c.connected = false;
}

void RedisStore::start() {
  if (connection_->started) return;
  connection_->started = true;
  connect();
  renew_leases();
}

std::string RedisStore::key_for(const std::string& policy, std::uint64_t key, char kind) const {
  // A hash tag ({...}) keeps a key's two entries in one Redis Cluster slot, as the script needs.
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
  return settings_.key_prefix + "{" + policy + ":" + hex + "}:" + kind;
}

void RedisStore::connect() {
  auto& c = *connection_;
  redisAsyncContext* ac = redisAsyncConnect(settings_.address.host.c_str(), settings_.address.port);
  if (!ac || ac->err) {
    const std::string error = ac ? ac->errstr : "out of memory";
    if (ac) redisAsyncFree(ac);
    return on_disconnected(error);
  }
  c.ac = ac;
  ac->data = this;
  auto watch = std::make_shared<Watch>(control_, ac->c.fd);
  watch->self = watch;
  watch->ac = ac;
  ac->ev.data = watch.get();
  ac->ev.addRead = &Watch::add_read;
  ac->ev.delRead = &Watch::del_read;
  ac->ev.addWrite = &Watch::add_write;
  ac->ev.delWrite = &Watch::del_write;
  ac->ev.cleanup = &Watch::cleanup;
  redisAsyncSetConnectCallback(ac, [](const redisAsyncContext* ctx, int status) {
    auto* self = static_cast<RedisStore*>(ctx->data);
    if (self) self->on_connected(status == REDIS_OK, ctx->errstr);
  });
  redisAsyncSetDisconnectCallback(ac, [](const redisAsyncContext* ctx, int) {
    auto* self = static_cast<RedisStore*>(ctx->data);
    if (self) self->on_disconnected(ctx->err ? ctx->errstr : "connection closed");
  });
  if (!settings_.password.empty()) {
    const char* argv[] = {"AUTH", settings_.password.c_str()};
    const std::size_t lens[] = {4, settings_.password.size()};
    redisAsyncCommandArgv(ac, [](redisAsyncContext* ctx, void* r, void*) {
      auto* reply = static_cast<redisReply*>(r);
      auto* self = static_cast<RedisStore*>(ctx->data);
      if (self && reply && reply->type == REDIS_REPLY_ERROR) {
        self->went_down(std::string("AUTH: ") + reply->str);
        redisAsyncDisconnect(ctx);
      }
    }, nullptr, 2, argv, lens);
  }
}

void RedisStore::on_connected(bool ok, const std::string& error) {
  auto& c = *connection_;
  if (!ok) {
    c.ac = nullptr;  // hiredis frees it after this callback
    return on_disconnected(error);
  }
  c.connected = true;
  c.backoff = config::Duration(100);
  came_up();
}

void RedisStore::on_disconnected(const std::string& error) {
  auto& c = *connection_;
  c.ac = nullptr;
  c.connected = false;
  went_down(error);
  // Reconnect with backoff: 100 ms, doubling up to 5 s, so a Redis restart is noticed quickly and a
  // long outage costs one attempt every few seconds.
  c.reconnect_timer.expires_after(c.backoff);
  c.backoff = std::min(c.backoff * 2, config::Duration(5000));
  if (c.stopped) return;
  c.reconnect_timer.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec && !self->connection_->ac && !self->connection_->stopped) self->connect();
  });
}

void RedisStore::went_down(const std::string& error) {
  if (!connection_->up) return;
  connection_->up = false;
  log::warn("redis_unavailable", {{"address", settings_.address.host + ":" +
                                                  std::to_string(settings_.address.port)},
                                  {"error", error}});
}

void RedisStore::came_up() {
  if (connection_->up) return;
  connection_->up = true;
  log::info("redis_available", {{"address", settings_.address.host + ":" +
                                                std::to_string(settings_.address.port)},
                                {"leases", connection_->leases.size()}});
  // At once, not at the next renewal: every live session of this instance is counted again,
  // those admitted during the outage and those whose entries a restarted Redis lost.
  renew_leases();
}

void RedisStore::decide(Query query, Callback done) {
  asio::post(control_, [self = shared_from_this(), query = std::move(query),
                        done = std::move(done)]() mutable {
    auto& c = *self->connection_;
    const std::string session_key = self->key_for(query.policy, query.key, 's');
    std::string member;
    if (query.max_sessions > 0) member = c.instance + ":" + std::to_string(++c.next_member);
    if (!c.connected) return done(self->unavailable(session_key, member));
    auto p = std::make_shared<Pending>(self->control_);
    p->query = std::move(query);
    p->done = std::move(done);
    p->upgrade_key = self->key_for(p->query.policy, p->query.key, 'u');
    p->session_key = session_key;
    p->member = std::move(member);
    p->timer.expires_after(self->settings_.timeout);
    p->timer.async_wait([self, p](error_code ec) {
      if (ec || p->answered) return;
      p->answered = true;
      self->went_down("no answer within " + std::to_string(self->settings_.timeout.count()) + "ms");
      p->done(self->unavailable(p->session_key, p->member));
    });
    self->send(p, /*by_hash=*/true);
  });
}

void RedisStore::send(const std::shared_ptr<Pending>& p, bool by_hash) {
  auto& c = *connection_;
  if (!c.ac) return on_reply(p, nullptr);
  p->by_hash = by_hash;
  const auto& q = p->query;
  // Microseconds, rounded so the shared rate is never above the configured one.
  const std::string interval =
      q.upgrades.unlimited() ? "0" : std::to_string((q.upgrades.interval_ns() + 999) / 1000);
  const std::string tolerance = std::to_string(q.upgrades.tolerance_ns / 1000);
  const std::string cap = std::to_string(q.max_sessions);
  const std::string lease = std::to_string(settings_.session_lease.count());  // ms
  const char* argv[] = {by_hash ? "EVALSHA" : "EVAL", by_hash ? c.decide_sha.c_str() : kDecideScript, "2", p->upgrade_key.c_str(),
                        p->session_key.c_str(), interval.c_str(), tolerance.c_str(), cap.c_str(),
                        p->member.c_str(), lease.c_str()};
  std::size_t lens[std::size(argv)];
  for (std::size_t i = 0; i < std::size(argv); ++i) lens[i] = std::char_traits<char>::length(argv[i]);
  auto* holder = new std::shared_ptr<Pending>(p);  // hiredis answers every command, NULL when dropped
  const int rc = redisAsyncCommandArgv(
      c.ac,
      [](redisAsyncContext* ctx, void* reply, void* data) {
        std::unique_ptr<std::shared_ptr<Pending>> pending(static_cast<std::shared_ptr<Pending>*>(data));
        if (auto* self = static_cast<RedisStore*>(ctx->data)) self->on_reply(*pending, reply);
      },
      holder, static_cast<int>(std::size(argv)), argv, lens);
  if (rc != REDIS_OK) {
    delete holder;
    on_reply(p, nullptr);
  }
}

void RedisStore::on_reply(const std::shared_ptr<Pending>& p, const void* raw) {
  const auto* reply = static_cast<const redisReply*>(raw);
  if (reply && reply->type == REDIS_REPLY_ERROR && p->by_hash &&
      std::string_view(reply->str, reply->len).starts_with("NOSCRIPT"))
    return send(p, /*by_hash=*/false);  // Redis restarted or flushed its scripts: send the text
  Answer answer;
  bool valid = false;
  if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
      reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[1]->type == REDIS_REPLY_INTEGER) {
    valid = true;
    switch (reply->element[0]->integer) {
      case 1: answer.outcome = Outcome::allowed; break;
      case 0:
        answer.outcome = Outcome::rate_limited;
        answer.retry_after_ns = reply->element[1]->integer * 1000;
        break;
      case 2: answer.outcome = Outcome::session_cap; break;
      default: valid = false;
    }
  }
  if (!valid) {
    if (reply) went_down(reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                          : "unexpected reply");
    // No reply: the connection dropped, and on_disconnected logs it.
    answer.outcome = Outcome::unavailable;
  } else {
    came_up();
  }
  const bool admitted_member = answer.outcome == Outcome::allowed && !p->member.empty();
  if (p->answered) {
    // Too late: the client was answered as if Redis were down, with a lease of this member that
    // renewals keep counted. A session that already ended (or was refused) must not stay counted.
    if (admitted_member && !connection_->leases.contains(p->member)) release(p->session_key, p->member);
    return;
  }
  p->answered = true;
  p->timer.cancel();
  if (admitted_member) {
    connection_->leases.emplace(p->member, p->session_key);
    answer.lease.emplace(shared_from_this(), p->session_key, p->member);
  }
  p->done(std::move(answer));
}

// Redis is down or slow: a session admitted anyway (fail_open) still gets a lease, written at the
// next renewal, so that once Redis is back the key's count is true again and the cap holds.
RedisStore::Answer RedisStore::unavailable(const std::string& session_key, const std::string& member) {
  Answer answer;
  if (member.empty()) return answer;
  connection_->leases.emplace(member, session_key);
  answer.lease.emplace(shared_from_this(), session_key, member);
  return answer;
}

void RedisStore::exchange_loads(const Loads& mine, std::chrono::milliseconds lease,
                                std::function<void(std::optional<Loads>)> done) {
  auto& c = *connection_;
  if (!c.ac || !c.connected) return done(std::nullopt);
  std::vector<std::string> args{"EVAL", kLoadsScript, "2", settings_.key_prefix + "{loads}:instances",
                                settings_.key_prefix + "{loads}:" + c.instance, std::to_string(lease.count()),
                                c.instance, settings_.key_prefix};
  for (const auto& [url, n] : mine) {
    args.push_back(url);
    args.push_back(std::to_string(n));
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  struct Call {
    explicit Call(asio::io_context& io) : timer(io) {}
    std::function<void(std::optional<Loads>)> done;
    asio::steady_timer timer;
    bool answered = false;
  };
  auto call = std::make_shared<Call>(control_);
  call->done = std::move(done);
  // No answer within the store's timeout counts as none: the bound falls back to local counts.
  call->timer.expires_after(settings_.timeout);
  call->timer.async_wait([call](error_code ec) {
    if (ec || call->answered) return;
    call->answered = true;
    call->done(std::nullopt);
  });
  auto* holder = new std::shared_ptr<Call>(call);
  const int rc = redisAsyncCommandArgv(
      c.ac,
      [](redisAsyncContext*, void* r, void* data) {
        std::unique_ptr<std::shared_ptr<Call>> owned(static_cast<std::shared_ptr<Call>*>(data));
        auto& pending = **owned;
        if (pending.answered) return;
        pending.answered = true;
        pending.timer.cancel();
        const auto* reply = static_cast<const redisReply*>(r);
        if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) return pending.done(std::nullopt);
        Loads others;
        for (std::size_t i = 0; i + 1 < reply->elements; i += 2) {
          const auto* url = reply->element[i];
          const auto* n = reply->element[i + 1];
          // Another instance's numbers: a count that is no small non-negative integer is dropped.
          if (url->type != REDIS_REPLY_STRING || n->type != REDIS_REPLY_INTEGER || n->integer < 0 ||
              n->integer > 100'000'000)
            continue;
          others[std::string(url->str, url->len)] += n->integer;
        }
        pending.done(std::move(others));
      },
      holder, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (rc != REDIS_OK) {
    delete holder;
    if (!call->answered) {
      call->answered = true;
      call->timer.cancel();
      call->done(std::nullopt);
    }
  }
}

void RedisLease::hand_over() {
  if (store_) store_->forget(std::move(member_));
  store_.reset();
}

void RedisStore::forget(std::string member) {
  asio::post(control_, [self = shared_from_this(), member = std::move(member)] { self->connection_->leases.erase(member); });
}

RedisLease RedisStore::adopt_lease(std::string key, std::string member) {
  asio::post(control_, [self = shared_from_this(), key, member] { self->connection_->leases.emplace(member, key); });
  return RedisLease(shared_from_this(), std::move(key), std::move(member));
}

void RedisStore::release(std::string key, std::string member) {
  asio::post(control_, [self = shared_from_this(), key = std::move(key), member = std::move(member)] {
    auto& c = *self->connection_;
    c.leases.erase(member);
    if (!c.ac) return;  // its lease runs out on its own
    const char* argv[] = {"ZREM", key.c_str(), member.c_str()};
    const std::size_t lens[] = {4, key.size(), member.size()};
    redisAsyncCommandArgv(c.ac, nullptr, nullptr, 3, argv, lens);
  });
}

void RedisStore::renew_leases() {
  auto& c = *connection_;
  if (c.ac && c.connected) {
    const std::string lease = std::to_string(settings_.session_lease.count());  // ms
    for (const auto& [member, key] : c.leases) {
      const char* argv[] = {"EVAL", kRenewScript, "1", key.c_str(), lease.c_str(), member.c_str()};
      const std::size_t lens[] = {4, std::char_traits<char>::length(kRenewScript), 1, key.size(),
                                  lease.size(), member.size()};
      redisAsyncCommandArgv(c.ac, nullptr, nullptr, 6, argv, lens);
    }
  }
  c.renew_timer.expires_after(settings_.session_lease / 3);
  c.renew_timer.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->renew_leases();
  });
}

}  // namespace wsgate::gateway
