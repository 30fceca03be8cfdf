#include "gateway/proxy/asio_internals.hpp"

#include <boost/version.hpp>

// Written against Boost 1.81's Asio (CMakeLists.txt requires exactly that version): the socket's
// implementation, the reactor's epoll descriptor and two members of its per-descriptor state.
static_assert(BOOST_VERSION / 100 == 1081, "asio_internals.cpp is written against Boost 1.81");
#if !defined(BOOST_ASIO_HAS_EPOLL) || defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#error "asio_internals.cpp needs Asio's epoll reactor"
#endif

namespace wsgate::gateway::asio_internals {
namespace detail = boost::asio::detail;
using tcp = boost::asio::ip::tcp;

namespace {

// Private and protected members are named in an explicit instantiation, where access is not
// checked, and handed out through a friend function: the standard way to read them without
// patching Asio.
template <class Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};
struct SocketObject {
  using type = detail::io_object_impl<detail::reactive_socket_service<tcp>, boost::asio::any_io_executor>
      boost::asio::basic_socket<tcp>::*;
  friend type member(SocketObject);
};
struct AcceptorObject {
  using type = detail::io_object_impl<detail::reactive_socket_service<tcp>, boost::asio::any_io_executor>
      boost::asio::basic_socket_acceptor<tcp>::*;
  friend type member(AcceptorObject);
};
struct EpollFd {
  using type = int Reactor::*;
  friend type member(EpollFd);
};
struct RegisteredEvents {
  using type = std::uint32_t DescriptorState::*;
  friend type member(RegisteredEvents);
};
struct ReportedEvents {
  using type = unsigned int detail::scheduler_operation::*;
  friend type member(ReportedEvents);
};
struct TrySpeculative {  // per operation type: whether the descriptor may be ready for it
  using type = bool (DescriptorState::*)[Reactor::max_ops];
  friend type member(TrySpeculative);
};
template struct Expose<TrySpeculative, &DescriptorState::try_speculative_>;
template struct Expose<SocketObject, &boost::asio::basic_socket<tcp>::impl_>;
template struct Expose<AcceptorObject, &boost::asio::basic_socket_acceptor<tcp>::impl_>;
template struct Expose<EpollFd, &Reactor::epoll_fd_>;
template struct Expose<RegisteredEvents, &DescriptorState::registered_events_>;
template struct Expose<ReportedEvents, &detail::scheduler_operation::task_result_>;

}  // namespace

SocketImpl& impl(tcp::socket& socket) {
  return (static_cast<boost::asio::basic_socket<tcp>&>(socket).*member(SocketObject{})).get_implementation();
}

SocketImpl& impl(tcp::acceptor& acceptor) {
  return (acceptor.*member(AcceptorObject{})).get_implementation();
}

int epoll_descriptor(Reactor& reactor) { return reactor.*member(EpollFd{}); }

std::uint32_t& registered_events(DescriptorState& state) { return state.*member(RegisteredEvents{}); }

unsigned& reported_events(DescriptorState& state) {
  // The state derives privately from scheduler_operation; a C-style cast may name an
  // inaccessible base.
  auto& op = *(detail::scheduler_operation*)(&state);  // NOLINT(google-readability-casting)
  return op.*member(ReportedEvents{});
}

void mark_fresh(tcp::socket& socket) {
  auto& state = impl(socket).state_;
  state = static_cast<detail::socket_ops::state_type>((state | detail::socket_ops::internal_non_blocking) &
                                                      ~detail::socket_ops::possible_dup);
}

void forget_readable(tcp::socket& socket) {
  if (DescriptorState* state = impl(socket).reactor_data_) (state->*member(TrySpeculative{}))[Reactor::read_op] = false;
}

}  // namespace wsgate::gateway::asio_internals
