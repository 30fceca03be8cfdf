// The old process's side of a binary upgrade (SIGUSR2): starts the new binary, passes it the
// listening sockets once its configuration is valid, then every plain WebSocket session at a frame
// boundary, and ends this process when nothing is left. A new process that fails changes nothing:
// the listeners accept here again and the sessions it did not take stay here.
#pragma once

#include "gateway/admin/admin_server.hpp"
#include "gateway/admin/status_metrics.hpp"
#include "gateway/handover/channel.hpp"
#include "gateway/handover/successor_start.hpp"
#include "gateway/proxy/listener.hpp"
#include "gateway/proxy/session_registry.hpp"
#include "gateway/runtime.hpp"
#include "handover/move_pacer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wsgate::gateway {

class BinaryUpgrade {
 public:
  struct Worker {
    boost::asio::io_context* io;
    SessionRegistry* registry;
    std::vector<std::pair<std::string, Listener*>> listeners;  // each with its listener's name
  };
  struct Context {
    boost::asio::io_context* control = nullptr;
    std::vector<Worker> workers;
    AdminServer* admin = nullptr;  // null: no admin listener
    std::function<std::shared_ptr<const Runtime>()> runtime;
    HandoverHistory* history = nullptr;
    std::function<void()> exit;  // every session has gone: the process may end
  };

  BinaryUpgrade(Context context, ProcessImage image);
  ~BinaryUpgrade();

  // SIGUSR2 (control thread). A second one while an upgrade runs is refused with a line.
  void start();
  bool running() const { return state_ != State::idle; }

 private:
  enum class State { idle, starting, listeners_sent, moving, finishing };
  struct InFlight {
    std::size_t worker;
    HandedSession session;
  };

  void on_message(handover::Message m, ReceivedFds fds);
  void on_closed(const std::string& why);
  void send_listeners();
  void move_sessions();
  // Asks worker `w` for its next batch when the pacer says so.
  void ask(std::size_t w);
  void one_done(std::size_t w);
  void on_handed(std::size_t worker, HandedSession s);
  void take_back(std::size_t worker, HandedSession s);
  void check_progress();
  void fail(const std::string& why);
  void reap();
  void report();

  Context ctx_;
  ProcessImage image_;
  State state_ = State::idle;
  std::unique_ptr<HandoverChannel> channel_;
  pid_t child_ = -1;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point deadline_;  // handover.timeout
  std::chrono::steady_clock::time_point drain_deadline_;  // drain.timeout after it
  bool timed_out_ = false;
  std::chrono::steady_clock::time_point next_report_{};  // of a handover_waiting line
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer reap_timer_;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, InFlight> in_flight_;  // sent, not yet adopted
  std::vector<std::shared_ptr<HandoverSink>> sinks_;  // one per worker
  handover::MovePacer pacer_{0, 0};
  // This upgrade's counts, for its one line.
  std::uint64_t handed_over_ = 0, drained_ = 0, kept_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wsgate::gateway
