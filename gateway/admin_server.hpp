// The admin listener: /healthz (the process serves) and /readyz (it accepts new sessions; 503
// while draining). Loopback by default; metrics join it in their own issue.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <functional>

namespace wsgate::gateway {

class AdminServer {
 public:
  AdminServer(boost::asio::io_context& io, const std::atomic<bool>& ready);

  boost::system::error_code open(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  void stop();

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  const std::atomic<bool>& ready_;
};

}  // namespace wsgate::gateway
