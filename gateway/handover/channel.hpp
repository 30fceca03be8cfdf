// One end of the handover socket (AF_UNIX, SOCK_SEQPACKET) between the old and the new process of a
// binary upgrade: datagrams with descriptors attached, sent in order without blocking the control
// thread, and received as they come.
#pragma once

#include "handover/channel_message.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::gateway {

// Descriptors received with a message: closed with it unless taken.
class ReceivedFds {
 public:
  ReceivedFds() = default;
  explicit ReceivedFds(std::vector<int> fds) : fds_(std::move(fds)) {}
  ReceivedFds(ReceivedFds&& o) noexcept : fds_(std::move(o.fds_)) { o.fds_.clear(); }
  ReceivedFds& operator=(ReceivedFds&& o) noexcept;
  ReceivedFds(const ReceivedFds&) = delete;
  ~ReceivedFds();
  std::size_t size() const { return fds_.size(); }
  int take(std::size_t i);  // the caller owns it now; -1 when taken already or out of range

 private:
  std::vector<int> fds_;
};

class HandoverChannel {
 public:
  // The largest datagram either side sends; records travel in pieces of this size.
  static constexpr std::size_t kMaxMessage = 32 * 1024;

  using OnMessage = std::function<void(handover::Message, ReceivedFds)>;
  using OnClosed = std::function<void(const std::string& why)>;

  // Takes `fd` (a connected SOCK_SEQPACKET socket).
  HandoverChannel(boost::asio::io_context& io, int fd);
  ~HandoverChannel();

  // Receives on the io_context's thread until the peer closes or a message is malformed.
  void start(OnMessage on_message, OnClosed on_closed);
  // Queues `m` with duplicates of `fds` attached (the caller keeps its own); `sent` runs once the
  // datagram is in the socket, so that a descriptor may then be closed.
  void send(const handover::Message& m, const std::vector<int>& fds = {}, std::function<void()> sent = {});
  void close();
  bool open() const { return socket_.is_open(); }

  // Blocking forms, for the new process before its threads start.
  bool send_now(const handover::Message& m, const std::vector<int>& fds, std::string& error);
  std::optional<std::pair<handover::Message, ReceivedFds>> receive_now(std::chrono::milliseconds timeout,
                                                                       std::string& error);

 private:
  struct Outgoing {
    std::string bytes;
    std::vector<int> fds;
    std::function<void()> sent;
  };
  void wait_readable();
  void on_readable();
  void flush();
  void fail(const std::string& why);
  // One recvmsg: a message (and its fds), nothing yet (would block), or an end (error set).
  enum class Got { message, nothing, end };
  Got receive_one(handover::Message& m, ReceivedFds& fds, std::string& error);

  boost::asio::posix::stream_descriptor socket_;
  std::deque<Outgoing> queue_;
  std::string in_;            // one datagram, reused: a move sends thousands
  std::vector<char> in_fds_;  // its control message
  bool writing_ = false;
  OnMessage on_message_;
  OnClosed on_closed_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wsgate::gateway
