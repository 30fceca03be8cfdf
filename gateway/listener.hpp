// One accepting socket on one io thread. Every io thread opens its own on the same address with
// SO_REUSEPORT, so the kernel spreads connections and a session never changes thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>

namespace wsgate::gateway {

class Listener {
 public:
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket, const boost::asio::ip::tcp::endpoint&)>;

  Listener(boost::asio::io_context& io, OnAccept on_accept);

  boost::system::error_code open(const boost::asio::ip::tcp::endpoint& endpoint);
  // Whether another process already listens on `endpoint`: SO_REUSEPORT would let this one join
  // it silently and take a share of its clients. Checked before the first open (port 0: never).
  static bool held_by_another(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  void stop();  // from the listener's own thread

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint peer_;  // filled by accept(), which saves a getpeername()
  boost::asio::steady_timer retry_timer_;
  OnAccept on_accept_;
};

}  // namespace wsgate::gateway
