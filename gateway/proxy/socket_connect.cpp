#include "gateway/proxy/socket_connect.hpp"

#include "gateway/proxy/asio_internals.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace wsgate::gateway {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

error_code errno_code(int e) { return error_code(e, asio::error::get_system_category()); }

}  // namespace

ConnectStart start_connect(tcp::socket& socket, const tcp::endpoint& to, error_code& ec) {
  const int fd = ::socket(to.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    ec = errno_code(errno);
    return ConnectStart::failed;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  bool up = ::connect(fd, to.data(), static_cast<socklen_t>(to.size())) == 0;
  if (!up && errno != EINPROGRESS) {
    ec = errno_code(errno);
    ::close(fd);
    return ConnectStart::failed;
  }
  // Registered after connect: a socket that is not yet connecting polls as hung up, and epoll
  // would report that edge for nothing.
  socket.assign(to.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return ConnectStart::failed;
  }
  asio_internals::mark_fresh(socket);
  asio_internals::forget_readable(socket);  // the peer has nothing to answer before it is asked
  if (up) return ConnectStart::established;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return ConnectStart::in_progress;
  if (info.tcpi_state == TCP_ESTABLISHED) return ConnectStart::established;
  if (info.tcpi_state == TCP_CLOSE) {  // refused (or unreachable) already
    ec = connect_result(socket);
    if (!ec) ec = asio::error::connection_refused;
    return ConnectStart::failed;
  }
  return ConnectStart::in_progress;
}

error_code connect_result(tcp::socket& socket) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno_code(errno);
  return err ? errno_code(err) : error_code{};
}

}  // namespace wsgate::gateway
