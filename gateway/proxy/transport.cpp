#include "gateway/proxy/transport.hpp"

#include "gateway/proxy/h2_stream.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace wsgate::gateway {

struct Transport::BioState {
  int fd = -1;
  bool last_recv_short = false;  // the last recv() left the socket empty (short or would block)
  // While a write batches records (write_tls_batch): where their bytes go instead of the socket.
  std::vector<std::uint8_t>* collect = nullptr;
  // Records of a batch the socket did not take, sent before anything else; `owed` is the plaintext
  // they carry, reported written once they are out. Empty, without storage, but for a slow peer.
  std::vector<std::uint8_t> unsent;
  std::size_t unsent_offset = 0;
  std::size_t owed = 0;
};

namespace {

// OpenSSL's socket BIO, on the descriptor Asio owns, with MSG_NOSIGNAL on writes.
int bio_read(BIO* bio, char* out, int size) {
  auto* s = static_cast<Transport::BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(s->fd, out, static_cast<std::size_t>(size), 0);
  s->last_recv_short = n < size;
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(bio);
  return -1;
}

int bio_write(BIO* bio, const char* data, int size) {
  auto* s = static_cast<Transport::BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (s->collect) {
    s->collect->insert(s->collect->end(), data, data + size);
    return size;
  }
  const ssize_t n = ::send(s->fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return -1;
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wsgate socket");
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

}  // namespace

Transport::Transport(tcp::socket socket) : socket_(std::move(socket)) {
  error_code ec;
  // Reads and writes are recv()/send() on the descriptor, so only O_NONBLOCK matters; sockets
  // made non-blocking at birth (asio_internals::mark_fresh) and those Asio connected say so, so
  // this is one ioctl at most. TCP_NODELAY is their makers' to set (Listener, start_connect).
  if (!socket_.native_non_blocking()) socket_.native_non_blocking(true, ec);
}

namespace {

error_code last_socket_error() {
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return asio::error::would_block;
  return error_code(errno, boost::system::system_category());
}

}  // namespace

Transport::Transport(Transport&& other) noexcept
    : socket_(std::move(other.socket_)),
      readable_(std::move(other.readable_)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      bio_state_(std::move(other.bio_state_)),
      read_wants_(other.read_wants_),
      write_wants_(other.write_wants_),
      shutdown_watched_(other.shutdown_watched_),
      unwatched_short_reads_(other.unwatched_short_reads_),
      stream_(std::move(other.stream_)) {}

Transport Transport::for_stream(const tcp::socket::executor_type& executor, std::shared_ptr<H2Stream> stream) {
  Transport t{tcp::socket(executor)};
  t.stream_ = std::move(stream);
  return t;
}

std::string_view Transport::alpn() const {
  if (!ssl_) return {};
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl_, &p, &n);
  return {reinterpret_cast<const char*>(p), n};
}

void Transport::stream_wait_read(std::function<void(error_code)> w) { stream_->wait_readable(std::move(w)); }
void Transport::stream_wait_write(std::function<void(error_code)> w) { stream_->wait_writable(std::move(w)); }

Transport::~Transport() {
  if (ssl_) SSL_free(ssl_);
  if (stream_) stream_->close();
}

bool Transport::attach_bio() {
  BIO* bio = BIO_new(bio_method());
  if (!bio) return false;
  bio_state_ = std::make_unique<BioState>();
  bio_state_->fd = socket_.native_handle();
  BIO_set_data(bio, bio_state_.get());
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL owns the single reference
  return true;
}

bool Transport::start_tls_server(SSL_CTX* ctx) {
  ssl_ = SSL_new(ctx);
  if (!ssl_ || !attach_bio()) return false;
  SSL_set_accept_state(ssl_);
  return true;
}

bool Transport::start_tls_client(SSL_CTX* ctx, const std::string& host) {
  ssl_ = SSL_new(ctx);
  if (!ssl_ || !attach_bio()) return false;
  SSL_set_connect_state(ssl_);
  error_code ec;
  asio::ip::make_address(host, ec);
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, host.c_str());
    SSL_set1_host(ssl_, host.c_str());
  }
  return true;
}

error_code Transport::tls_error(int result, asio::socket_base::wait_type& wants) {
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      wants = asio::socket_base::wait_read;
      return asio::error::would_block;
    case SSL_ERROR_WANT_WRITE:
      wants = asio::socket_base::wait_write;
      return asio::error::would_block;
    case SSL_ERROR_ZERO_RETURN:
      return asio::error::eof;
    case SSL_ERROR_SYSCALL: {
      const int e = errno;
      ERR_clear_error();
      if (e == 0) return asio::error::eof;
      return error_code(e, boost::system::system_category());
    }
    default: {
      const auto err = ERR_get_error();
      ERR_clear_error();
      return error_code(static_cast<int>(err), asio::error::get_ssl_category());
    }
  }
}

std::size_t Transport::read_some(void* data, std::size_t size, error_code& ec) {
  if (stream_) return stream_->read(data, size, ec);
  if (!ssl_) {
    const ssize_t n = ::recv(socket_.native_handle(), data, size, 0);
    if (n > 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    ec = n == 0 ? error_code(asio::error::eof) : last_socket_error();
    return 0;
  }
  ERR_clear_error();
  std::size_t n = 0;
  const int r = SSL_read_ex(ssl_, data, size, &n);
  if (r == 1) {
    ec = {};
    read_wants_ = asio::socket_base::wait_read;
    return n;
  }
  ec = tls_error(r, read_wants_);
  return 0;
}

std::size_t Transport::write_some(const void* data, std::size_t size, error_code& ec) {
  if (stream_) return stream_->write(data, size, ec);
  if (!ssl_) {
    const ssize_t n = ::send(socket_.native_handle(), data, size, MSG_NOSIGNAL);
    if (n >= 0) {
      ec = {};
      return static_cast<std::size_t>(n);
    }
    ec = last_socket_error();
    return 0;
  }
  if (!bio_state_->unsent.empty()) return flush_unsent(ec);
  if (size > kRecordPlaintext) return write_tls_batch(data, size, ec);
  ERR_clear_error();
  std::size_t n = 0;
  const int r = SSL_write_ex(ssl_, data, size, &n);
  if (r == 1) {
    ec = {};
    return n;
  }
  ec = tls_error(r, write_wants_);
  return 0;
}

namespace {

// Sends as much of [data, data+size) as the socket takes now; false on an error other than a full
// socket (in ec).
bool send_what_fits(int fd, const std::uint8_t* data, std::size_t size, std::size_t& sent, error_code& ec) {
  while (sent < size) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0) {
      ec = last_socket_error();
      if (ec == asio::error::would_block) break;
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  ec = {};
  return true;
}

}  // namespace

// A write of more than one record's plaintext: its records (up to kBatchRecords) are built into one
// buffer and go out in one send(), where OpenSSL would send each record by itself. Records the
// socket does not take stay in bio_state_->unsent, and the plaintext they carry is not reported
// written until they are out; the caller retries with the same bytes, as OpenSSL itself requires
// after SSL_ERROR_WANT_WRITE (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), so those bytes are not
// encrypted twice.
std::size_t Transport::write_tls_batch(const void* data, std::size_t size, error_code& ec) {
  thread_local std::vector<std::uint8_t> records;
  records.clear();
  std::size_t record_end[kBatchRecords];   // where each record's bytes end in `records`
  std::size_t plain_end[kBatchRecords];    // and the plaintext up to and with it
  std::size_t count = 0, plain = 0;
  const auto* p = static_cast<const std::uint8_t*>(data);
  bio_state_->collect = &records;
  ERR_clear_error();
  while (count < kBatchRecords && plain < size) {
    std::size_t n = 0;
    // SSL_MODE_ENABLE_PARTIAL_WRITE: each call makes one record and returns.
    const int r = SSL_write_ex(ssl_, p + plain, size - plain, &n);
    if (r != 1) {
      bio_state_->collect = nullptr;
      ec = tls_error(r, write_wants_);
      if (count == 0) return 0;
      // A failure after some records (the connection is broken): the socket never saw them.
      if (ec == asio::error::would_block) ec = asio::error::broken_pipe;
      return 0;
    }
    plain += n;
    record_end[count] = records.size();
    plain_end[count] = plain;
    ++count;
  }
  bio_state_->collect = nullptr;
  std::size_t sent = 0;
  if (!send_what_fits(bio_state_->fd, records.data(), records.size(), sent, ec)) return 0;
  if (sent == records.size()) return plain;
  // Records wholly sent count as written; the rest wait in `unsent`.
  std::size_t whole = 0;
  while (record_end[whole] <= sent) ++whole;
  const std::size_t written = whole == 0 ? 0 : plain_end[whole - 1];
  bio_state_->unsent.assign(records.begin() + static_cast<std::ptrdiff_t>(sent), records.end());
  bio_state_->unsent_offset = 0;
  bio_state_->owed = plain - written;
  if (written > 0) return written;
  write_wants_ = asio::socket_base::wait_write;
  ec = asio::error::would_block;
  return 0;
}

// Sends the records a batch left behind; once all are out, reports the plaintext they carry as
// written.
std::size_t Transport::flush_unsent(error_code& ec) {
  BioState& s = *bio_state_;
  if (!send_what_fits(s.fd, s.unsent.data(), s.unsent.size(), s.unsent_offset, ec)) return 0;
  if (s.unsent_offset < s.unsent.size()) {
    write_wants_ = asio::socket_base::wait_write;
    ec = asio::error::would_block;
    return 0;
  }
  std::vector<std::uint8_t>().swap(s.unsent);
  s.unsent_offset = 0;
  return std::exchange(s.owed, 0);
}

int& Transport::inline_completions() {
  static thread_local int depth = 0;
  return depth;
}

bool Transport::read_left_socket_empty(std::size_t got, std::size_t asked) {
  if (stream_) return stream_->drained();
  // Under TLS the socket was read by OpenSSL: short there, and nothing left in its buffers.
  const bool short_read = ssl_ ? bio_state_->last_recv_short && SSL_has_pending(ssl_) == 0
                               : got < asked;
  if (!short_read) return false;
  if (!shutdown_watched_) {
    // From the second short read on: a session that relays one read each way (a health probe,
    // a bare close handshake) never pays the epoll_ctl.
    if (++unwatched_short_reads_ >= 2) shutdown_watched_ = ReadinessWait::watch_peer_shutdown(socket_);
    return false;
  }
  return !ReadinessWait::end_may_be_pending(socket_);
}

void Transport::handshake_step(error_code& ec) {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  ec = r == 1 ? error_code{} : tls_error(r, read_wants_);
}

void Transport::shutdown_send() {
  if (stream_) return stream_->end_output();
  if (!socket_.is_open()) return;
  // A close_notify behind records still unsent would cut one of them: the stream just ends.
  if (ssl_ && SSL_is_init_finished(ssl_) && bio_state_->unsent.empty()) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // queues and tries to send close_notify; the peer's is not awaited
    ERR_clear_error();
  }
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
}

void Transport::close() {
  if (stream_) stream_->close();
  error_code ec;
  socket_.close(ec);
}

void Transport::cancel() {
  if (stream_) stream_->cancel();
  error_code ec;
  socket_.cancel(ec);
}

int Transport::release() {
  if (ssl_ || stream_ || !socket_.is_open()) return -1;
  // Not close(): another process holds the same socket now, so a close would not take it out of
  // this process's epoll set (only the last descriptor's close does). release() deletes it there.
  error_code ec;
  const int fd = socket_.release(ec);
  return ec ? -1 : fd;
}


}  // namespace wsgate::gateway
