// The new process's side of a binary upgrade: says its configuration is valid, takes the old
// process's listening sockets, then adopts each session it is handed onto one of its io threads,
// telling the old process before a byte is read so that nothing is relayed twice or lost.
#pragma once

#include "gateway/admin/status_metrics.hpp"
#include "gateway/handover/channel.hpp"
#include "gateway/proxy/session_registry.hpp"
#include "gateway/runtime.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wsgate::gateway {

class Takeover {
 public:
  struct Worker {
    boost::asio::io_context* io;
    SessionRegistry* registry;
  };

  // `fd`: the handover socket the old process started this one with.
  Takeover(boost::asio::io_context& control, int fd);
  ~Takeover();

  // Before the io threads start: tells the old process the configuration is valid and receives
  // its listening sockets.
  bool receive_listeners(std::string& error);
  // The received sockets of the listener `name` (this process owns them now), or of the admin listener.
  std::vector<int> take_listener(const std::string& name);
  int take_admin();  // -1: none came

  // Accepting on every listener: asks for the sessions and adopts them as they come.
  void start(std::vector<Worker> workers, std::function<std::shared_ptr<const Runtime>()> runtime,
             HandoverHistory* history);

 private:
  void on_message(handover::Message m, ReceivedFds fds);
  void adopt(std::uint64_t id, std::string record, int client_fd, int backend_fd);
  void finish(const std::string& why);

  boost::asio::io_context& control_;
  std::unique_ptr<HandoverChannel> channel_;
  std::map<std::string, std::vector<int>> listeners_;  // received, not yet taken
  int admin_ = -1;
  std::vector<Worker> workers_;
  std::function<std::shared_ptr<const Runtime>()> runtime_;
  HandoverHistory* history_ = nullptr;
  handover::RecordAssembler assembler_{256u << 20};
  int pending_client_ = -1, pending_backend_ = -1;  // the sockets of the record being assembled
  std::size_t next_worker_ = 0;
  std::uint64_t sessions_seen_ = 0;
  std::uint64_t exit_at_session_ = 0;  // fault injection for the tests (WSGATE_HANDOVER_TEST_EXIT_AT_SESSION)
  std::uint64_t adopted_ = 0, closed_ = 0, refused_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wsgate::gateway
