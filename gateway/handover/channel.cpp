#include "gateway/handover/channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wsgate::gateway {
namespace asio = boost::asio;

namespace {

// SCM_MAX_FD: the kernel's limit of descriptors in one message.
constexpr std::size_t kMaxFds = 253;

// Sends one datagram; 0 on success, else errno (EAGAIN when the socket is full).
int send_datagram(int fd, const std::string& bytes, const std::vector<int>& fds, int flags) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.assign(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    if (::sendmsg(fd, &msg, flags | MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

}  // namespace

ReceivedFds& ReceivedFds::operator=(ReceivedFds&& o) noexcept {
  if (this != &o) {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
    fds_ = std::move(o.fds_);
    o.fds_.clear();
  }
  return *this;
}

ReceivedFds::~ReceivedFds() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

int ReceivedFds::take(std::size_t i) {
  if (i >= fds_.size()) return -1;
  const int fd = fds_[i];
  fds_[i] = -1;
  return fd;
}

HandoverChannel::HandoverChannel(asio::io_context& io, int fd) : socket_(io, fd) {}

HandoverChannel::~HandoverChannel() {
  *alive_ = false;
  close();
}

void HandoverChannel::close() {
  boost::system::error_code ec;
  socket_.close(ec);
  queue_.clear();
}

void HandoverChannel::start(OnMessage on_message, OnClosed on_closed) {
  on_message_ = std::move(on_message);
  on_closed_ = std::move(on_closed);
  wait_readable();
}

void HandoverChannel::wait_readable() {
  if (!socket_.is_open()) return;
  socket_.async_wait(asio::posix::descriptor_base::wait_read,
                     [this, alive = alive_](boost::system::error_code ec) {
                       if (!*alive || ec == asio::error::operation_aborted) return;
                       if (ec) return fail(ec.message());
                       on_readable();
                     });
}

HandoverChannel::Got HandoverChannel::receive_one(handover::Message& m, ReceivedFds& fds, std::string& error) {
  in_.resize(kMaxMessage + 1);  // one more: a longer datagram shows as truncated
  in_fds_.resize(CMSG_SPACE(sizeof(int) * kMaxFds));
  iovec iov{in_.data(), in_.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = in_fds_.data();
  msg.msg_controllen = in_fds_.size();
  ssize_t n;
  do n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Got::nothing;
  std::vector<int> got;
  for (cmsghdr* c = n >= 0 ? CMSG_FIRSTHDR(&msg) : nullptr; c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const std::size_t at = got.size();
    got.resize(at + count);
    std::memcpy(got.data() + at, CMSG_DATA(c), count * sizeof(int));
  }
  fds = ReceivedFds(std::move(got));  // closed with the message unless taken
  if (n < 0) {
    error = std::strerror(errno);
    return Got::end;
  }
  if (n == 0) {
    error = "the other process closed the handover socket";
    return Got::end;
  }
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    error = "a handover message was truncated";
    return Got::end;
  }
  auto decoded = handover::decode_message(std::string_view(in_.data(), static_cast<std::size_t>(n)), error);
  if (!decoded) return Got::end;
  m = std::move(*decoded);
  return Got::message;
}

void HandoverChannel::on_readable() {
  for (;;) {
    handover::Message m;
    ReceivedFds fds;
    std::string error;
    switch (receive_one(m, fds, error)) {
      case Got::nothing: return wait_readable();
      case Got::end: return fail(error);
      case Got::message: break;
    }
    auto alive = alive_;
    on_message_(std::move(m), std::move(fds));
    if (!*alive || !socket_.is_open()) return;
  }
}

void HandoverChannel::send(const handover::Message& m, const std::vector<int>& fds, std::function<void()> sent) {
  if (!socket_.is_open()) return;
  queue_.push_back({handover::encode(m), fds, std::move(sent)});
  if (!writing_) flush();
}

void HandoverChannel::flush() {
  while (!queue_.empty() && socket_.is_open()) {
    Outgoing& out = queue_.front();
    const int err = send_datagram(socket_.native_handle(), out.bytes, out.fds, MSG_DONTWAIT);
    if (err == EAGAIN || err == EWOULDBLOCK) {
      writing_ = true;
      socket_.async_wait(asio::posix::descriptor_base::wait_write,
                         [this, alive = alive_](boost::system::error_code ec) {
                           if (!*alive || ec == asio::error::operation_aborted) return;
                           writing_ = false;
                           if (ec) return fail(ec.message());
                           flush();
                         });
      return;
    }
    if (err != 0) return fail(std::strerror(err));
    auto sent = std::move(out.sent);
    queue_.pop_front();
    if (sent) {
      auto alive = alive_;
      sent();
      if (!*alive) return;
    }
  }
}

void HandoverChannel::fail(const std::string& why) {
  if (!socket_.is_open()) return;
  close();
  if (on_closed_) on_closed_(why);
}

bool HandoverChannel::send_now(const handover::Message& m, const std::vector<int>& fds, std::string& error) {
  const int err = send_datagram(socket_.native_handle(), handover::encode(m), fds, 0);
  if (err != 0) error = std::strerror(err);
  return err == 0;
}

std::optional<std::pair<handover::Message, ReceivedFds>> HandoverChannel::receive_now(std::chrono::milliseconds timeout,
                                                                                      std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    handover::Message m;
    ReceivedFds fds;
    switch (receive_one(m, fds, error)) {
      case Got::message: return std::make_pair(std::move(m), std::move(fds));
      case Got::end: return std::nullopt;
      case Got::nothing: break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      error = "no answer from the other process in time";
      return std::nullopt;
    }
    pollfd p{socket_.native_handle(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

}  // namespace wsgate::gateway
