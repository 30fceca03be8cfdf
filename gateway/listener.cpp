#include "gateway/listener.hpp"

#include "gateway/log.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>

#include <sys/socket.h>

namespace wsgate::gateway {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

Listener::Listener(asio::io_context& io, OnAccept on_accept)
    : acceptor_(io), retry_timer_(io), on_accept_(std::move(on_accept)) {}

boost::system::error_code Listener::open(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.set_option(reuse_port(true), ec);
  if (!ec && endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

bool Listener::held_by_another(const tcp::endpoint& endpoint) {
  if (endpoint.port() == 0) return false;
  // A bind without SO_REUSEPORT fails on an address a listening socket holds; SO_REUSEADDR keeps a
  // restart from being refused over the previous run's connections in TIME_WAIT.
  asio::io_context io;
  tcp::acceptor probe(io);
  boost::system::error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6()) probe.set_option(asio::ip::v6_only(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  return ec == asio::error::address_in_use;
}

tcp::endpoint Listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::start() { accept(); }

void Listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
}

void Listener::accept() {
  acceptor_.async_accept(peer_, [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors (EMFILE) and the like: pause instead of spinning on the error.
      log::warn("accept_failed", {{"error", ec.message()}});
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](boost::system::error_code tec) {
        if (!tec) accept();
      });
      return;
    }
    on_accept_(std::move(socket), peer_);
    accept();
  });
}

}  // namespace wsgate::gateway
