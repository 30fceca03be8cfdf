#include "gateway/proxy/listener.hpp"

#include "gateway/proxy/asio_internals.hpp"
#include "gateway/log.hpp"

#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace wsgate::gateway {
namespace asio = boost::asio;
namespace detail = asio::detail;
namespace internals = asio_internals;
using tcp = asio::ip::tcp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Accepts in the reactor, the moment epoll reports the listening socket, with accept4 (already
// non-blocking: no ioctl). The listening socket is level-triggered, so a connection left in the
// queue is reported again by the next epoll_wait and accept4 is never called only to hear EAGAIN
// while one connection at a time arrives; in a burst (batches filled several reports in a row)
// a report takes a growing batch, the way HAProxy's maxaccept does, so the queue drains fast.
struct Listener::AcceptOp : detail::reactor_op {
  static constexpr std::size_t kMaxBatch = 64;
  static constexpr int kFilledToGrow = 4;

  struct Accepted {
    int fd;
    sockaddr_storage peer;
  };

  explicit AcceptOp(Listener& l)
      : detail::reactor_op(boost::system::error_code(), &AcceptOp::do_perform, &AcceptOp::do_complete),
        listener(&l) {}

  static status do_perform(detail::reactor_op* base) {
    auto* op = static_cast<AcceptOp*>(base);
    const int fd = internals::impl(op->listener->acceptor_).socket_;
    while (op->count < op->batch) {
      Accepted& a = op->accepted[op->count];
      socklen_t len = sizeof a.peer;
      const int s = ::accept4(fd, reinterpret_cast<sockaddr*>(&a.peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (s >= 0) {
        a.fd = s;
        ++op->count;
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;  // that client gave up: the next one
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      op->ec_ = boost::system::error_code(errno, asio::error::get_system_category());
      break;
    }
    const bool filled = op->count == op->batch;
    if (filled && ++op->filled_in_row >= kFilledToGrow) {
      op->batch = std::min(op->batch * 2, kMaxBatch);
      op->filled_in_row = 0;
    } else if (!filled) {
      op->batch = 1;
      op->filled_in_row = 0;
    }
    if (op->count == 0 && !op->ec_) return not_done;  // a report with nothing left (another waker)
    // Exhausted: the reactor forgets the report, so the next wait is not tried on the spot (which
    // would cost an accept4 that fails); level triggering reports what is still queued.
    return done_and_exhausted;
  }

  static void do_complete(void* owner, detail::operation* base, const boost::system::error_code&, std::size_t) {
    auto* op = static_cast<AcceptOp*>(base);
    std::shared_ptr<AcceptOp> self = std::move(op->self);  // the Listener may be gone
    if (!owner || !op->listener) {
      for (std::size_t i = 0; i < op->count; ++i) ::close(op->accepted[i].fd);
      op->count = 0;
      return;
    }
    op->listener->on_accepted(*op);
  }

  Listener* listener;  // null once the Listener is destroyed
  detail::reactor* reactor = nullptr;  // looked up once: use_service locks and searches
  std::shared_ptr<AcceptOp> self;  // held while queued in the reactor
  std::array<Accepted, kMaxBatch> accepted{};
  std::size_t count = 0;
  std::size_t batch = 1;
  int filled_in_row = 0;
};

Listener::Listener(asio::io_context& io, OnAccept on_accept)
    : acceptor_(io), retry_timer_(io), on_accept_(std::move(on_accept)) {}

Listener::~Listener() {
  if (op_) op_->listener = nullptr;
}

boost::system::error_code Listener::open(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.set_option(reuse_port(true), ec);
  if (!ec && endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
  // Accepted sockets inherit TCP_NODELAY: one setsockopt here instead of one per connection.
  if (!ec) acceptor_.set_option(tcp::no_delay(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acceptor_.non_blocking(true, ec);  // accept4 runs in the reactor: it must never block
  if (!ec && !watch(true)) ec = boost::system::error_code(errno, asio::error::get_system_category());
  return ec;
}

std::optional<tcp> Listener::protocol_of(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return std::nullopt;
  if (addr.ss_family == AF_INET) return tcp::v4();
  if (addr.ss_family == AF_INET6) return tcp::v6();
  return std::nullopt;
}

boost::system::error_code Listener::adopt(int fd) {
  boost::system::error_code ec;
  const auto protocol = protocol_of(fd);
  if (!protocol) {
    ::close(fd);
    return asio::error::bad_descriptor;
  }
  acceptor_.assign(*protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return ec;
  }
  acceptor_.non_blocking(true, ec);
  if (!ec && !watch(true)) ec = boost::system::error_code(errno, asio::error::get_system_category());
  return ec;
}

void Listener::pause() {
  paused_ = true;
  watch(false);
}

void Listener::resume() {
  if (!paused_) return;
  paused_ = false;
  watch(true);
}

bool Listener::watch(bool readable) {
  auto& impl = internals::impl(acceptor_);
  if (!impl.reactor_data_) return false;
  auto& reactor = asio::use_service<internals::Reactor>(acceptor_.get_executor().context());
  // Asio registers descriptors edge-triggered; the listening socket is the one exception.
  epoll_event ev{};
  ev.events = readable ? static_cast<std::uint32_t>(EPOLLIN | EPOLLERR | EPOLLHUP) : 0u;
  ev.data.ptr = impl.reactor_data_;
  if (::epoll_ctl(internals::epoll_descriptor(reactor), EPOLL_CTL_MOD, impl.socket_, &ev) != 0) return false;
  internals::registered_events(*impl.reactor_data_) = ev.events;
  return true;
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

void Listener::start() {
  op_ = std::make_shared<AcceptOp>(*this);
  op_->reactor = &asio::use_service<detail::reactor>(acceptor_.get_executor().context());
  wait_for_connections();
}

void Listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);  // a queued AcceptOp completes with operation_aborted
  retry_timer_.cancel();
}

void Listener::wait_for_connections() {
  if (!acceptor_.is_open()) return;
  AcceptOp& op = *op_;
  op.self = op_;
  op.count = 0;
  op.ec_ = {};
  auto& impl = internals::impl(acceptor_);
  op.reactor->start_op(detail::reactor::read_op, impl.socket_, impl.reactor_data_, &op,
                   /*is_continuation=*/true, /*allow_speculative=*/true);
}

void Listener::on_accepted(AcceptOp& op) {
  auto& io = static_cast<asio::io_context&>(acceptor_.get_executor().context());
  const bool open = acceptor_.is_open() && op.ec_ != asio::error::operation_aborted;
  for (std::size_t i = 0; i < op.count; ++i) {
    const auto& a = op.accepted[i];
    if (!open) {
      ::close(a.fd);
      continue;
    }
    tcp::endpoint peer;
    std::memcpy(peer.data(), &a.peer, std::min<std::size_t>(sizeof a.peer, peer.capacity()));
    peer.resize(a.peer.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    tcp::socket socket(io);
    boost::system::error_code ec;
    socket.assign(peer.protocol(), a.fd, ec);  // registers it with epoll
    if (ec) {
      ::close(a.fd);
      log::warn("accept_failed", {{"error", ec.message()}});
      continue;
    }
    internals::mark_fresh(socket);
    on_accept_(std::move(socket), peer);
  }
  op.count = 0;
  if (!open) return;
  if (op.ec_) {
    // Out of descriptors (EMFILE) and the like: pause instead of spinning on the error. The
    // socket stays level-triggered, so it is unwatched for the pause or epoll would spin too.
    log::warn("accept_failed", {{"error", op.ec_.message()}});
    op.ec_ = {};
    watch(false);
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([this](boost::system::error_code tec) {
      if (tec || !acceptor_.is_open()) return;
      if (!paused_) watch(true);
      wait_for_connections();
    });
    return;
  }
  wait_for_connections();
}

}  // namespace wsgate::gateway
