#include "gateway/readiness_wait.hpp"

#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/version.hpp>

#include <sys/epoll.h>

#include <cstdint>

// This file uses Asio's reactor internals as they are in Boost 1.81 (CMakeLists.txt requires
// exactly that version): epoll_reactor::start_op, reactor_op, the socket's reactor data, and three
// private members (the epoll descriptor, a descriptor's registered events, and the events epoll
// last reported for it).
static_assert(BOOST_VERSION / 100 == 1081, "readiness_wait.cpp is written against Boost 1.81");
#if !defined(BOOST_ASIO_HAS_EPOLL)
#error "readiness_wait.cpp needs Asio's epoll reactor"
#endif

namespace wsgate::gateway {
namespace detail = boost::asio::detail;
using tcp = boost::asio::ip::tcp;

namespace {

// The socket's reactor registration lives in a protected member of basic_socket; a pointer to
// member formed through a derived class reaches it without touching anything else.
struct SocketInternals : tcp::socket {
  static auto& impl(tcp::socket& s) { return (s.*(&SocketInternals::impl_)).get_implementation(); }
};

// Private members are named in an explicit instantiation, where access is not checked, and
// handed out through a friend function: the standard way to read them without patching Asio.
template <class Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};
using DescriptorState = detail::epoll_reactor::descriptor_state;
struct EpollFd {
  using type = int detail::epoll_reactor::*;
  friend type member(EpollFd);
};
struct RegisteredEvents {
  using type = std::uint32_t DescriptorState::*;
  friend type member(RegisteredEvents);
};
struct ReportedEvents {  // what the reactor's last epoll_wait reported for the descriptor
  using type = unsigned int detail::scheduler_operation::*;
  friend type member(ReportedEvents);
};
template struct Expose<EpollFd, &detail::epoll_reactor::epoll_fd_>;
template struct Expose<RegisteredEvents, &DescriptorState::registered_events_>;
template struct Expose<ReportedEvents, &detail::scheduler_operation::task_result_>;

// The descriptor state derives privately from scheduler_operation; a C-style cast may name an
// inaccessible base.
detail::scheduler_operation& as_operation(DescriptorState& state) {
  return *(detail::scheduler_operation*)(&state);  // NOLINT(google-readability-casting)
}

}  // namespace

struct ReadinessWait::Op : detail::reactor_op {
  Op() : detail::reactor_op(boost::system::error_code(), &Op::do_perform, &Op::do_complete) {}

  // Called by the reactor when epoll reported the descriptor readable (or at start, when it has
  // been since the last wait). "Exhausted" makes the reactor clear its note of readiness, so the
  // next wait really waits for the next edge.
  static status do_perform(detail::reactor_op*) { return done_and_exhausted; }

  static void do_complete(void* owner, detail::operation* base, const boost::system::error_code&,
                          std::size_t) {
    auto* op = static_cast<Op*>(base);
    op->in_use = false;
    // Take everything out first: the callback may destroy the object that owns this Op, and
    // `self` may be the last reference to it.
    std::shared_ptr<Op> self = std::move(op->self);
    std::shared_ptr<void> keep = std::move(op->keep);
    const boost::system::error_code ec = op->ec_;
    op->ec_ = {};
    if (owner) op->callback(op->context, ec);  // owner is null when the io_context is destroyed
  }

  std::shared_ptr<Op> self;  // set while queued in the reactor
  std::shared_ptr<void> keep;
  Callback callback = nullptr;
  void* context = nullptr;
  detail::reactor* reactor = nullptr;  // looked up once: use_service locks and searches
  bool in_use = false;
};

ReadinessWait::ReadinessWait() : op_(std::make_shared<Op>()) {}

ReadinessWait::ReadinessWait(ReadinessWait&&) noexcept = default;

ReadinessWait::~ReadinessWait() = default;

void ReadinessWait::start(tcp::socket& socket, std::shared_ptr<void> keep, Callback callback,
                          void* context) {
  // A cancelled wait may still sit in Asio's completion queue: it finishes on its own (it holds
  // itself), and this wait gets a fresh Op rather than re-queueing one that is queued.
  if (op_->in_use) op_ = std::make_shared<Op>();
  Op& op = *op_;
  op.self = op_;
  op.keep = std::move(keep);
  op.callback = callback;
  op.context = context;
  op.in_use = true;
  if (!op.reactor) op.reactor = &boost::asio::use_service<detail::reactor>(socket.get_executor().context());
  auto& impl = SocketInternals::impl(socket);
  op.reactor->start_op(detail::reactor::read_op, impl.socket_, impl.reactor_data_, &op,
                       /*is_continuation=*/false, /*allow_speculative=*/true);
}

bool ReadinessWait::watch_peer_shutdown(tcp::socket& socket) {
  auto& impl = SocketInternals::impl(socket);
  DescriptorState* state = impl.reactor_data_;
  if (!state) return false;
  auto& reactor = boost::asio::use_service<detail::epoll_reactor>(socket.get_executor().context());
  std::uint32_t& registered = state->*member(RegisteredEvents{});
  epoll_event ev{};
  ev.events = registered | EPOLLRDHUP;
  ev.data.ptr = state;
  if (::epoll_ctl(reactor.*member(EpollFd{}), EPOLL_CTL_MOD, impl.socket_, &ev) != 0) return false;
  registered = ev.events;  // Asio's own later changes (adding EPOLLOUT) start from this
  // Until epoll reports the socket again, its last report could not have shown a FIN.
  as_operation(*state).*member(ReportedEvents{}) |= EPOLLRDHUP;
  return true;
}

bool ReadinessWait::end_may_be_pending(tcp::socket& socket) {
  DescriptorState* state = SocketInternals::impl(socket).reactor_data_;
  if (!state || (state->*member(RegisteredEvents{}) & EPOLLRDHUP) == 0) return true;
  return (as_operation(*state).*member(ReportedEvents{}) & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
}

}  // namespace wsgate::gateway
