#include "gateway/admin/admin_server.hpp"

#include "gateway/proxy/listener.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <memory>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace wsgate::gateway {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

class AdminConnection : public std::enable_shared_from_this<AdminConnection> {
 public:
  AdminConnection(tcp::socket socket, const AdminServer::Handler& handler)
      : socket_(std::move(socket)), handler_(handler) {}

  void start() {
    parser_.header_limit(8192);
    parser_.body_limit(64 * 1024);
    http::async_read(socket_, buffer_, parser_,
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (!ec) self->dispatch();
                     });
  }

 private:
  void dispatch() {
    auto& req = parser_.get();
    AdminRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = std::move(req.body());
    r.authorization = std::string(req[http::field::authorization]);
    boost::system::error_code ec;
    r.peer = socket_.remote_endpoint(ec).address().to_string();
    handler_(std::move(r), [self = shared_from_this()](AdminResponse a) { self->respond(std::move(a)); });
  }

  void respond(AdminResponse a) {
    response_.version(11);
    response_.result(a.status);
    response_.set(http::field::content_type, a.content_type);
    response_.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : a.headers) response_.set(name, value);
    response_.keep_alive(false);
    response_.body() = std::move(a.body);
    response_.prepare_payload();
    http::async_write(socket_, response_,
                      [self = shared_from_this()](boost::system::error_code, std::size_t) {
                        boost::system::error_code ec;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ec);
                      });
  }

  tcp::socket socket_;
  const AdminServer::Handler& handler_;
  boost::beast::flat_buffer buffer_{8192};
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

AdminServer::AdminServer(asio::io_context& io, Handler handler)
    : acceptor_(io), handler_(std::move(handler)) {}

boost::system::error_code AdminServer::open(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

boost::system::error_code AdminServer::adopt(int fd) {
  boost::system::error_code ec;
  const auto protocol = Listener::protocol_of(fd);
  if (!protocol) {
    ::close(fd);
    return asio::error::bad_descriptor;
  }
  acceptor_.assign(*protocol, fd, ec);
  if (ec) ::close(fd);
  return ec;
}

void AdminServer::pause() {
  paused_ = true;
  boost::system::error_code ec;
  acceptor_.cancel(ec);
}

void AdminServer::resume() {
  if (!paused_) return;
  paused_ = false;
  accept();
}

tcp::endpoint AdminServer::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void AdminServer::start() { accept(); }

void AdminServer::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void AdminServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open() || paused_) return;
    if (!ec) std::make_shared<AdminConnection>(std::move(socket), handler_)->start();
    accept();
  });
}

}  // namespace wsgate::gateway
