// One JWKS URL kept fresh on the control thread: fetched at start, every refresh_interval, and when a
// token names a kid we lack (at most once per min_refresh_interval); a failed fetch keeps the last good set.
#pragma once

#include "auth/key_set.hpp"
#include "auth/refresh_schedule.hpp"
#include "config/config.hpp"
#include "gateway/tls_context.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wsgate::gateway {

class JwksSource : public std::enable_shared_from_this<JwksSource> {
 public:
  // nullptr, with `error` set, when the CA file cannot be loaded.
  static std::shared_ptr<JwksSource> create(const config::JwksUrl& settings, std::string& error);
  explicit JwksSource(const config::JwksUrl& settings, SslCtxPtr ctx);

  const config::JwksUrl& settings() const { return settings_; }
  // Fetches that brought a key set, and those that failed (the last good set kept). Control thread.
  std::uint64_t refreshes_ok() const { return refreshes_ok_; }
  std::uint64_t refreshes_failed() const { return refreshes_failed_; }
  std::shared_ptr<const auth::KeySet> keys() const { return keys_; }
  // Takes `other`'s current keys as its own (a reload that changed a refresh setting).
  void adopt_keys(const JwksSource& other);

  // Begins the background refreshes on `control` (the first fetch at once); later calls do nothing.
  // Control thread only. They end when the source is destroyed.
  void start(boost::asio::io_context& control);

  // From any thread, after start(): fetch now unless a fetch is under way (then wait for it) or the
  // last one began less than min_refresh_interval ago. `done` runs on `executor` once the fetch is
  // over, or at once when none is allowed.
  void refresh_soon(boost::asio::any_io_executor executor, std::function<void()> done);
  // A reload (SIGHUP) asks for the keys at once, whatever the schedule: a key the provider removed
  // stops verifying now, not up to refresh_interval later. Control thread, after start().
  void refresh_now();

 private:
  void schedule_next();
  void fetch();
  void on_fetched(std::string error, unsigned status, std::string body);

  config::JwksUrl settings_;
  SslCtxPtr ctx_;
  std::shared_ptr<auth::KeySet> keys_ = std::make_shared<auth::KeySet>();
  auth::RefreshSchedule schedule_;
  std::uint64_t refreshes_ok_ = 0;
  std::uint64_t refreshes_failed_ = 0;
  boost::asio::io_context* control_ = nullptr;
  std::optional<boost::asio::steady_timer> timer_;
  bool in_flight_ = false;
  std::vector<std::pair<boost::asio::any_io_executor, std::function<void()>>> waiters_;
};

}  // namespace wsgate::gateway
