// The admin listener's HTTP plumbing: reads one small request per connection (head and a body of
// at most 64 KiB), hands it to the handler, writes the handler's answer. What it answers is AdminApi's.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace wsgate::gateway {

struct AdminRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;  // the Authorization field, as sent
  std::string peer;           // the client's address
};

struct AdminResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class AdminServer {
 public:
  // Called on the admin listener's thread (the control thread); `respond` may be called later.
  using Handler = std::function<void(AdminRequest, std::function<void(AdminResponse)> respond)>;

  AdminServer(boost::asio::io_context& io, Handler handler);

  boost::system::error_code open(const boost::asio::ip::tcp::endpoint& endpoint);
  // The listening socket the previous process of a binary upgrade passed on.
  boost::system::error_code adopt(int fd);
  int native_handle() { return acceptor_.native_handle(); }
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  void stop();
  // Stops and restarts accepting, the socket kept: the new process of a binary upgrade accepts on
  // it meanwhile, and if that process fails this one goes on.
  void pause();
  void resume();

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  Handler handler_;
  bool paused_ = false;
};

}  // namespace wsgate::gateway
