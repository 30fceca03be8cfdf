// Starts a TCP connection with the system calls the work needs and no more: a socket non-blocking
// from birth, TCP_NODELAY set before connect, and one getsockopt asking whether the connection is
// already up, which on loopback or a near network it often is by the time connect() returns.
#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace wsgate::gateway {

enum class ConnectStart { established, in_progress, failed };

// Opens `socket` (closed on entry) and connects it to `to`. On in_progress, wait for the socket
// to be writable, then ask connect_result; on failed, `ec` says why.
ConnectStart start_connect(boost::asio::ip::tcp::socket& socket, const boost::asio::ip::tcp::endpoint& to,
                           boost::system::error_code& ec);
// The outcome of a connection that was in progress: its pending error (SO_ERROR), if any.
boost::system::error_code connect_result(boost::asio::ip::tcp::socket& socket);

}  // namespace wsgate::gateway
