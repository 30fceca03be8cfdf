// One accepting socket on one io thread. Every io thread opens its own on the same address with
// SO_REUSEPORT, so the kernel spreads connections and a session never changes thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace wsgate::gateway {

class Listener {
 public:
  // The socket is non-blocking with TCP_NODELAY (inherited from the listening socket).
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket, const boost::asio::ip::tcp::endpoint&)>;

  Listener(boost::asio::io_context& io, OnAccept on_accept);
  ~Listener();

  boost::system::error_code open(const boost::asio::ip::tcp::endpoint& endpoint);
  // A listening socket the previous process of a binary upgrade passed on (already bound and
  // listening, its queue of connections intact).
  boost::system::error_code adopt(int fd);
  int native_handle() { return acceptor_.native_handle(); }
  // IPv4 or IPv6, for a descriptor this process received; nothing when it is not an inet socket.
  static std::optional<boost::asio::ip::tcp> protocol_of(int fd);
  // Whether another process already listens on `endpoint`: SO_REUSEPORT would let this one join
  // it silently and take a share of its clients. Checked before the first open (port 0: never).
  static bool held_by_another(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  void stop();  // from the listener's own thread
  // Stops and restarts accepting, the socket kept (own thread): while the new process of a binary
  // upgrade accepts on the same socket, and if it fails.
  void pause();
  void resume();

 private:
  struct AcceptOp;
  void wait_for_connections();
  void on_accepted(AcceptOp& op);
  // Level-triggered readiness for the listening socket, or none while accepting is paused.
  bool watch(bool readable);

  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<AcceptOp> op_;
  boost::asio::steady_timer retry_timer_;
  OnAccept on_accept_;
  bool paused_ = false;
};

}  // namespace wsgate::gateway
