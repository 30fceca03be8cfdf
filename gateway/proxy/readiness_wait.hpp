// Waits until a socket may be read, without a buffer and without a system call: a reactor
// operation on Asio's edge-triggered epoll registration, which async_wait would re-arm with an
// epoll_ctl on every wait and a speculative async_read_some would probe with a recv() that fails.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace wsgate::gateway {

class ReadinessWait {
 public:
  using Callback = void (*)(void* context, const boost::system::error_code& ec);

  ReadinessWait();
  ~ReadinessWait();
  ReadinessWait(ReadinessWait&&) noexcept;
  ReadinessWait& operator=(ReadinessWait&&) = delete;

  // Calls `callback(context, ec)` once the socket has been reported readable (or hung up) since
  // the previous wait completed, at once if that happened while nobody waited. The caller must
  // have read the socket until a read came back short or would_block before waiting again.
  // `keep` is held until the callback has run; ec is operation_aborted after cancel/close.
  // One wait at a time per object.
  void start(boost::asio::ip::tcp::socket& socket, std::shared_ptr<void> keep, Callback callback,
             void* context);

  // A short read proves a socket empty only if no FIN waits behind the data; epoll tells that
  // (EPOLLRDHUP) once asked to. This asks, with one epoll_ctl; false if epoll refused.
  static bool watch_peer_shutdown(boost::asio::ip::tcp::socket& socket);
  // Whether an end may be waiting to be read: the readiness last reported for the socket showed
  // a FIN, a hang-up or an error, or was reported before watch_peer_shutdown. Then only a read
  // that would block proves the socket empty; otherwise a short read does, because anything that
  // arrives after the last report (data or FIN) makes epoll report the socket again.
  static bool end_may_be_pending(boost::asio::ip::tcp::socket& socket);

 private:
  struct Op;
  // Reused for every wait: no allocation per message. A started Op also holds itself until Asio
  // has completed it, so destroying this object (or closing the socket) under a pending wait is
  // safe: the wait ends as operation_aborted.
  std::shared_ptr<Op> op_;
};

}  // namespace wsgate::gateway
