// Asio's epoll reactor as it is in Boost 1.81, reached where its public interface costs system
// calls a connection does not need: the readiness wait, the accept and the connect paths share it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
// After tcp.hpp: the reactor header needs what the socket headers declare first.
#include <boost/asio/detail/reactor.hpp>

#include <cstdint>

namespace wsgate::gateway::asio_internals {

using Reactor = boost::asio::detail::epoll_reactor;
using DescriptorState = Reactor::descriptor_state;
using SocketImpl = boost::asio::detail::reactive_socket_service<boost::asio::ip::tcp>::implementation_type;

SocketImpl& impl(boost::asio::ip::tcp::socket& socket);
SocketImpl& impl(boost::asio::ip::tcp::acceptor& acceptor);

int epoll_descriptor(Reactor& reactor);
// The events epoll_ctl last registered for a descriptor (Asio adds EPOLLOUT from these).
std::uint32_t& registered_events(DescriptorState& state);
// The events the reactor's last epoll_wait reported for a descriptor.
unsigned& reported_events(DescriptorState& state);

// Tells Asio what is true of a descriptor this process has just made itself (accept4 or socket
// with SOCK_NONBLOCK): it is non-blocking already (no ioctl), and no duplicate of it exists, so
// closing it removes it from epoll without an epoll_ctl (Asio assumes an assigned descriptor may
// be shared and deregisters it first).
void mark_fresh(boost::asio::ip::tcp::socket& socket);

// Drops the reactor's assumption, made at registration, that the socket may be readable: a
// ReadinessWait then waits for epoll's first report instead of completing at once. Only for a
// socket nothing can have arrived on yet (a backend connection before the request is sent).
void forget_readable(boost::asio::ip::tcp::socket& socket);

}  // namespace wsgate::gateway::asio_internals
