// The admin listener: /healthz (the process serves), /readyz (it accepts new sessions; 503 while
// draining) and /metrics (Prometheus text format). Loopback by default.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <functional>
#include <string>

namespace wsgate::gateway {

class AdminServer {
 public:
  using Render = std::function<std::string()>;  // the /metrics body, made on the admin thread

  AdminServer(boost::asio::io_context& io, const std::atomic<bool>& ready, Render metrics);

  boost::system::error_code open(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  void stop();

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  const std::atomic<bool>& ready_;
  Render metrics_;
};

}  // namespace wsgate::gateway
