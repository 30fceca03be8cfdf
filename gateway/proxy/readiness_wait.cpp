#include "gateway/proxy/readiness_wait.hpp"

#include "gateway/proxy/asio_internals.hpp"
#include "memory/recycled_memory.hpp"

#include <boost/asio/detail/reactor_op.hpp>

#include <sys/epoll.h>

#include <cstdint>

namespace wsgate::gateway {
namespace detail = boost::asio::detail;
namespace internals = asio_internals;
using tcp = boost::asio::ip::tcp;

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

ReadinessWait::ReadinessWait() : op_(std::allocate_shared<Op>(memory::recycling_allocator<Op>())) {}

ReadinessWait::ReadinessWait(ReadinessWait&&) noexcept = default;

ReadinessWait::~ReadinessWait() = default;

void ReadinessWait::start(tcp::socket& socket, std::shared_ptr<void> keep, Callback callback,
                          void* context) {
  // A cancelled wait may still sit in Asio's completion queue: it finishes on its own (it holds
  // itself), and this wait gets a fresh Op rather than re-queueing one that is queued.
  if (op_->in_use) op_ = std::allocate_shared<Op>(memory::recycling_allocator<Op>());
  Op& op = *op_;
  op.self = op_;
  op.keep = std::move(keep);
  op.callback = callback;
  op.context = context;
  op.in_use = true;
  if (!op.reactor) op.reactor = &boost::asio::use_service<detail::reactor>(socket.get_executor().context());
  auto& impl = internals::impl(socket);
  op.reactor->start_op(detail::reactor::read_op, impl.socket_, impl.reactor_data_, &op,
                       /*is_continuation=*/false, /*allow_speculative=*/true);
}

bool ReadinessWait::watch_peer_shutdown(tcp::socket& socket) {
  auto& impl = internals::impl(socket);
  internals::DescriptorState* state = impl.reactor_data_;
  if (!state) return false;
  auto& reactor = boost::asio::use_service<internals::Reactor>(socket.get_executor().context());
  std::uint32_t& registered = internals::registered_events(*state);
  epoll_event ev{};
  ev.events = registered | EPOLLRDHUP;
  ev.data.ptr = state;
  if (::epoll_ctl(internals::epoll_descriptor(reactor), EPOLL_CTL_MOD, impl.socket_, &ev) != 0) return false;
  registered = ev.events;  // Asio's own later changes (adding EPOLLOUT) start from this
  // Until epoll reports the socket again, its last report could not have shown a FIN.
  internals::reported_events(*state) |= EPOLLRDHUP;
  return true;
}

bool ReadinessWait::end_may_be_pending(tcp::socket& socket) {
  internals::DescriptorState* state = internals::impl(socket).reactor_data_;
  if (!state || (internals::registered_events(*state) & EPOLLRDHUP) == 0) return true;
  return (internals::reported_events(*state) & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
}

}  // namespace wsgate::gateway
