// The running gateway: one io thread per core with its own listeners, the admin listener and
// signal handling on a control thread, configuration reload (SIGHUP) and drain (SIGTERM).
#pragma once

#include "gateway/admin/admin_api.hpp"
#include "gateway/admin/admin_server.hpp"
#include "gateway/proxy/listener.hpp"
#include "gateway/runtime.hpp"
#include "gateway/proxy/session_registry.hpp"
#include "gateway/admin/status_metrics.hpp"
#include "gateway/handover/successor_start.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace wsgate::gateway {

class Rebalancer;
class LoadSharer;
class BinaryUpgrade;
class Takeover;

class Server {
 public:
  // `handover_fd` >= 0: this process is the new one of a binary upgrade, started by generation
  // `generation - 1` with that socket.
  Server(std::string config_path, ProcessImage image, int handover_fd = -1, std::uint64_t generation = 1);
  ~Server();

  // Builds the runtime from a loaded configuration; false, with `errors`, when it cannot be.
  bool load(config::Config config, std::vector<std::string>& errors);

  // Binds, serves until SIGTERM/SIGINT and the drain that follows; returns the exit status.
  int run();

 private:
  struct Worker {
    explicit Worker(std::size_t index) : registry(index) {}
    SessionRegistry registry;  // declared before io: sessions die with io and unregister
    // A socket never leaves its thread, so per-descriptor reactor locks buy nothing; the
    // scheduler keeps its lock because the control thread posts (drain) to every worker.
    boost::asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    // Always due within a second (see keep_deadline_near), so that the sessions' timers, all
    // further away, never become the earliest: Asio resets its timerfd (a system call) whenever
    // the earliest deadline changes, which would be several times per upgrade.
    boost::asio::steady_timer anchor{io};
    std::vector<std::unique_ptr<Listener>> listeners;
    std::vector<std::string> listener_names;  // the configuration's name of each
    std::thread thread;
  };

  bool open_listeners();
  bool open_admin();
  void wait_for_signal();
  void reload();
  // A discovered name's set changed: the same configuration, expanded anew.
  void rediscover();
  void count_moved_keys(const Runtime& before, const Runtime& after);
  // Puts `next` in service: new sessions take it; sessions of backends it no longer has move
  // (1012) once their route's backend_drain_timeout is over.
  void swap_in(std::shared_ptr<const Runtime> next, const char* why);
  void start_background();  // JWKS fetches and health checks of the current configuration
  // Closes the sessions relayed to `url` with 1012 on every thread (after `delay`, if the URL is
  // then still gone from the configuration or still unhealthy).
  void close_backend_sessions(const std::string& url, std::chrono::milliseconds delay);
  void begin_drain();
  void check_drained();
  void stop_workers();
  std::string render_metrics() const;  // control thread
  void note_loaded();                      // a configuration was accepted: its hash and time

  std::string config_path_;
  boost::asio::io_context control_{1};
  Registries shared_;  // after control_: the timers of its sources and checkers die before it
  // After control_: its Redis stores own timers of control_, so the last reference must go first.
  std::atomic<std::shared_ptr<const Runtime>> runtime_;
  config::Config config_;  // the accepted file's configuration, before discovered entries are expanded
  std::unique_ptr<Discovery> discovery_;  // after control_: its timers and sockets die before it
  std::unique_ptr<Rebalancer> rebalancer_;  // made once the workers exist
  std::unique_ptr<LoadSharer> load_sharer_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;
  std::chrono::steady_clock::time_point drain_deadline_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> ready_{false};
  ReloadHistory reloads_;
  std::unique_ptr<AdminApi> api_;  // made once the workers exist
  AdminServer admin_;
  bool draining_ = false;
  ProcessImage image_;
  HandoverHistory handovers_;
  std::unique_ptr<Takeover> takeover_;       // set in a process a binary upgrade started
  std::unique_ptr<BinaryUpgrade> upgrade_;   // SIGUSR2; made once the workers exist
};

}  // namespace wsgate::gateway
