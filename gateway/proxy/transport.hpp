// A connected socket, plain or TLS, driven non-blocking: read/write return would_block and the
// caller waits for readiness. TLS is OpenSSL on the fd itself, as in NGINX and HAProxy, so that an
// idle connection holds no record buffers (SSL_MODE_RELEASE_BUFFERS) and no Asio ssl::stream buffers.
#pragma once

#include "gateway/proxy/readiness_wait.hpp"
#include "memory/recycled_memory.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace wsgate::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

class H2Stream;

class Transport {
 public:
  explicit Transport(tcp::socket socket);
  // One HTTP/2 stream instead of a socket: reads, writes and waits go to it (gateway/h2_stream).
  static Transport for_stream(const tcp::socket::executor_type& executor, std::shared_ptr<H2Stream> stream);
  Transport(Transport&& other) noexcept;
  Transport& operator=(Transport&&) = delete;
  ~Transport();

  // Wraps the socket in TLS; returns false (and logs nothing) if OpenSSL cannot allocate.
  bool start_tls_server(SSL_CTX* ctx);
  // `host` is sent as SNI (unless an IP literal) and verified against the certificate.
  bool start_tls_client(SSL_CTX* ctx, const std::string& host);
  // An HTTP/2 stream counts as TLS: h2 is only offered on TLS listeners.
  bool is_tls() const { return ssl_ != nullptr || stream_ != nullptr; }
  bool is_stream() const { return stream_ != nullptr; }
  // The protocol ALPN chose on a TLS connection ("" for none).
  std::string_view alpn() const;
  // The TLS connection itself, for what the handshake settled (the client certificate, why it
  // failed); nullptr for a plain socket or a stream.
  SSL* tls_handle() const { return ssl_; }

  // A read of ours wants the socket writable (a TLS read that must first write).
  bool read_wants_write() const { return read_wants_ == asio::socket_base::wait_write; }

  // One non-blocking step each; `ec == asio::error::would_block` means wait and call again.
  // A read of 0 bytes is reported as asio::error::eof (for TLS: after close_notify or TCP FIN).
  // A write that returned would_block, or wrote less than asked, must be called again with the
  // bytes it did not report written (as OpenSSL's SSL_write requires): under TLS they may already
  // be encrypted and partly sent.
  std::size_t read_some(void* data, std::size_t size, error_code& ec);
  std::size_t write_some(const void* data, std::size_t size, error_code& ec);
  // After read_some returned `got` of `asked` bytes: true when that read is known to have left
  // the socket empty (short, with no FIN behind it), so the caller may wait for readiness instead
  // of reading once more only to hear would_block. Until epoll has been asked to report FINs
  // (at the second short read) it answers false.
  bool read_left_socket_empty(std::size_t got, std::size_t asked);
  void handshake_step(error_code& ec);

  struct BioState;  // what the TLS BIO works on

  // Wait until the last read (or handshake) that returned would_block can progress; for TLS that
  // may be writability (a read that must first write). Readability is awaited with a
  // ReadinessWait, which needs no epoll_ctl, because every read before it ended in would_block.
  template <class Handler>  // void(error_code)
  void async_wait_read(Handler&& h) {
    if (stream_) return stream_wait_read(std::function<void(error_code)>(std::forward<Handler>(h)));
    if (read_wants_ != asio::socket_base::wait_read) {
      socket_.async_wait(read_wants_, std::forward<Handler>(h));
      return;
    }
    struct Holder {
      std::decay_t<Handler> handler;
      static void invoke(void* self, const error_code& ec) { static_cast<Holder*>(self)->handler(ec); }
    };
    auto holder = std::allocate_shared<Holder>(memory::recycling_allocator<Holder>(), Holder{std::forward<Handler>(h)});
    Holder* raw = holder.get();
    readable_.start(socket_, std::move(holder), &Holder::invoke, raw);
  }
  // The relay's form of the same wait: a plain callback, and `keep` held until it has run.
  void wait_readable(std::shared_ptr<void> keep, ReadinessWait::Callback callback, void* context) {
    if (stream_) {
      return stream_wait_read([keep = std::move(keep), callback, context](error_code ec) { callback(context, ec); });
    }
    readable_.start(socket_, std::move(keep), callback, context);
  }
  // Write waits are rare (a slow peer): Asio's own async_wait is fine for them.
  template <class Handler>
  void async_wait_write(Handler&& h) {
    if (stream_) return stream_wait_write(std::function<void(error_code)>(std::forward<Handler>(h)));
    socket_.async_wait(write_wants_, std::forward<Handler>(h));
  }

  template <class Handler>  // void(error_code)
  void async_handshake(Handler&& h) {
    error_code ec;
    handshake_step(ec);
    if (ec != asio::error::would_block) {
      complete([h = std::forward<Handler>(h), ec]() mutable { h(ec); });
      return;
    }
    async_wait_read([this, h = std::forward<Handler>(h)](error_code wait_ec) mutable {
      if (wait_ec) return h(wait_ec);
      async_handshake(std::move(h));
    });
  }

  // For the short HTTP phase; the relay drives read_some/write_some itself. The handlers of
  // these async_* forms may run before the call returns (see complete).
  template <class Handler>  // void(error_code, std::size_t)
  void async_read_some(void* data, std::size_t size, Handler&& h) {
    error_code ec;
    const std::size_t n = read_some(data, size, ec);
    if (ec != asio::error::would_block) {
      complete([h = std::forward<Handler>(h), ec, n]() mutable { h(ec, n); });
      return;
    }
    async_wait_read([this, data, size, h = std::forward<Handler>(h)](error_code wait_ec) mutable {
      if (wait_ec) return h(wait_ec, std::size_t{0});
      async_read_some(data, size, std::move(h));
    });
  }

  // Writes all of [data, data+size); the bytes must stay alive until the handler runs.
  template <class Handler>  // void(error_code)
  void async_write_all(const void* data, std::size_t size, Handler&& h) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      error_code ec;
      const std::size_t n = write_some(p, size, ec);
      if (ec == asio::error::would_block) {
        async_wait_write([this, p, size, h = std::forward<Handler>(h)](error_code wait_ec) mutable {
          if (wait_ec) return h(wait_ec);
          async_write_all(p, size, std::move(h));
        });
        return;
      }
      if (ec) {
        complete([h = std::forward<Handler>(h), ec]() mutable { h(ec); });
        return;
      }
      p += n;
      size -= n;
    }
    complete([h = std::forward<Handler>(h)]() mutable { h(error_code{}); });
  }

  // Ends our sending side: TLS close_notify (not waiting for the peer's), then TCP FIN.
  void shutdown_send();
  // Cancels pending waits (their handlers see operation_aborted) and closes the socket.
  void close();
  // Cancels pending waits only.
  void cancel();
  // Gives up a plain socket without closing it or telling the peer (a session handed to another
  // process): pending waits end as operation_aborted and epoll forgets it. -1 for TLS or a stream.
  int release();

  tcp::socket& socket() { return socket_; }

 private:
  error_code tls_error(int result, asio::socket_base::wait_type& wants);
  std::size_t write_tls_batch(const void* data, std::size_t size, error_code& ec);
  std::size_t flush_unsent(error_code& ec);
  // TLS's largest record payload (max_send_fragment is left at its default), and how many records
  // one batched write builds at most.
  static constexpr std::size_t kRecordPlaintext = 16384;
  static constexpr std::size_t kBatchRecords = 4;

  // Runs the completion of an operation that finished without waiting: at once, unless this
  // thread is already that deep in such completions (a peer that keeps the socket full), then
  // posted so the stack stays bounded. A post costs a trip through Asio's scheduler, which polls
  // epoll (a system call) before it runs the handler: several per upgrade.
  template <class F>
  void complete(F&& f) {
    int& depth = inline_completions();
    if (depth >= kMaxInlineCompletions) {
      asio::post(socket_.get_executor(), std::forward<F>(f));
      return;
    }
    ++depth;  // thread-wide, not a member: f may destroy this Transport
    f();
    --depth;
  }
  static constexpr int kMaxInlineCompletions = 8;
  static int& inline_completions();

  bool attach_bio();
  void stream_wait_read(std::function<void(error_code)> w);
  void stream_wait_write(std::function<void(error_code)> w);

  tcp::socket socket_;
  ReadinessWait readable_;
  SSL* ssl_ = nullptr;
  std::unique_ptr<BioState> bio_state_;  // on the heap: its address survives moves of Transport
  asio::socket_base::wait_type read_wants_ = asio::socket_base::wait_read;
  asio::socket_base::wait_type write_wants_ = asio::socket_base::wait_write;
  bool shutdown_watched_ = false;  // epoll reports the peer's FIN (ReadinessWait::watch_peer_shutdown)
  std::uint8_t unwatched_short_reads_ = 0;
  std::shared_ptr<H2Stream> stream_;  // set: an HTTP/2 stream, and socket_ is never opened
};

}  // namespace wsgate::gateway
