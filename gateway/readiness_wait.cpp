#include "gateway/readiness_wait.hpp"

#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/version.hpp>

// This file uses Asio's reactor internals as they are in Boost 1.81 (CMakeLists.txt requires
// exactly that version): epoll_reactor::start_op, reactor_op, and the socket's reactor data.
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


}  // namespace wsgate::gateway
