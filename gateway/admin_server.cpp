#include "gateway/admin_server.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <memory>

namespace wsgate::gateway {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

class AdminConnection : public std::enable_shared_from_this<AdminConnection> {
 public:
  AdminConnection(tcp::socket socket, const std::atomic<bool>& ready, const AdminServer::Render& metrics)
      : socket_(std::move(socket)), ready_(ready), metrics_(metrics) {}

  void start() {
    parser_.header_limit(8192);
    parser_.body_limit(0);
    http::async_read(socket_, buffer_, parser_,
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       if (!ec) self->respond();
                     });
  }

 private:
  void respond() {
    const auto target = parser_.get().target();
    const auto path = target.substr(0, target.find('?'));
    response_.version(11);
    response_.set(http::field::content_type, "text/plain");
    response_.keep_alive(false);
    if (path == "/healthz") {
      response_.result(http::status::ok);
      response_.body() = "ok\n";
    } else if (path == "/metrics") {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response_.body() = metrics_();
    } else if (path == "/readyz") {
      const bool ready = ready_.load();
      response_.result(ready ? http::status::ok : http::status::service_unavailable);
      response_.body() = ready ? "ready\n" : "draining\n";
    } else {
      response_.result(http::status::not_found);
      response_.body() = "not found\n";
    }
    response_.prepare_payload();
    http::async_write(socket_, response_,
                      [self = shared_from_this()](boost::system::error_code, std::size_t) {
                        boost::system::error_code ec;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ec);
                      });
  }

  tcp::socket socket_;
  const std::atomic<bool>& ready_;
  const AdminServer::Render& metrics_;
  boost::beast::flat_buffer buffer_{8192};
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

AdminServer::AdminServer(asio::io_context& io, const std::atomic<bool>& ready, Render metrics)
    : acceptor_(io), ready_(ready), metrics_(std::move(metrics)) {}

boost::system::error_code AdminServer::open(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
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
    if (!acceptor_.is_open()) return;
    if (!ec) std::make_shared<AdminConnection>(std::move(socket), ready_, metrics_)->start();
    accept();
  });
}

}  // namespace wsgate::gateway
