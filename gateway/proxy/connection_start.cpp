#include "gateway/proxy/connection_start.hpp"

#include "gateway/log.hpp"

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <optional>
#include "gateway/proxy/h2_session.hpp"
#include "gateway/proxy/hash_key.hpp"
#include "proxy_protocol/header_parser.hpp"
#include "gateway/proxy/upgrade_session.hpp"

namespace wsgate::gateway {

namespace {

// Why a failed handshake failed over the client certificate, if it did.
std::optional<metrics::ClientCertFailure> client_cert_failure(SSL* ssl, const error_code& ec) {
  using F = metrics::ClientCertFailure;
  if (!ssl) return std::nullopt;
  if (ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
    return F::no_certificate;
  // A chain that fails verification is never stored as the peer's: the result is what remains.
  switch (SSL_get_verify_result(ssl)) {
    case X509_V_OK: return std::nullopt;
    case X509_V_ERR_CERT_REVOKED: return F::revoked;
    case X509_V_ERR_CERT_HAS_EXPIRED: return F::expired;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG: return F::chain_too_long;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return F::unknown_ca;
    default: return F::other;
  }
}

// True when the listener's deny_from names the client: the line and the count are written here,
// the caller closes the connection.
bool denied(const Runtime& rt, std::size_t listener, SessionRegistry& registry, const std::string& client) {
  if (!is_trusted(client, rt.listener_deny[listener])) return false;
  log::info("connection_denied", {{"listener", rt.config.listeners[listener].name}, {"client", client}});
  rt.listener_deny_series[listener]->row(registry.thread()).add(metrics::DenyListenerSeries::get().denied);
  return true;
}

}  // namespace

void start_connection(tcp::socket socket, std::string client_ip, std::shared_ptr<const Runtime> runtime,
                      std::size_t listener, SessionRegistry& registry) {
  // Counted here once; whichever session ends up with the connection takes the count over and
  // subtracts it from connections_open when the connection ends.
  auto& row = runtime->listener_series[listener]->row(registry.thread());
  row.add(metrics::ListenerSeries::get().connections);
  row.add(metrics::ListenerSeries::get().connections_open);
  const auto& tls = runtime->listener_tls[listener];
  // Only a balancer the listener trusts may say who the client is; anyone else is the client.
  const bool read_header = runtime->config.listeners[listener].proxy_protocol &&
                           is_trusted(client_ip, runtime->proxy_trusted[listener]);
  // deny_from, before any TLS work; a balancer's client is checked once its header has come.
  if (!read_header && denied(*runtime, listener, registry, client_ip)) {
    row.subtract(metrics::ListenerSeries::get().connections_open);
    return;  // the socket closes here
  }
  if (!tls && !read_header) {
    const auto deadline = std::chrono::steady_clock::now() + runtime->config.http.header_timeout;
    std::allocate_shared<UpgradeSession>(memory::recycling_allocator<UpgradeSession>(), Transport(std::move(socket)),
                                         std::move(client_ip), std::move(runtime), listener, registry, deadline)
        ->start();
    return;
  }
  SSL_CTX* ctx = tls ? tls->default_context() : nullptr;
  std::make_shared<ConnectionStart>(std::move(socket), std::move(client_ip), std::move(runtime), listener, registry)
      ->start(ctx, read_header);
}

ConnectionStart::ConnectionStart(tcp::socket socket, std::string client_ip, std::shared_ptr<const Runtime> runtime,
                                 std::size_t listener, SessionRegistry& registry)
    : rt_(std::move(runtime)),
      listener_(listener),
      registry_(registry),
      client_(std::move(socket)),
      client_ip_(std::move(client_ip)),
      timer_(client_.socket().get_executor()),
      deadline_(std::chrono::steady_clock::now() + rt_->config.http.header_timeout) {}

ConnectionStart::~ConnectionStart() {
  finish();  // any path that ended without a hand-over
  registry_.remove(this);
}

void ConnectionStart::start(SSL_CTX* tls, bool read_header) {
  registry_.add(shared_from_this());
  if (done_) return;  // the thread is draining
  tls_ = tls;
  reading_header_ = read_header;
  timer_.expires_at(read_header ? std::chrono::steady_clock::now() +
                                      rt_->config.listeners[listener_].proxy_protocol->timeout
                                : deadline_);
  timer_.async_wait([weak = weak_from_this()](error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->on_timeout();
  });
  if (read_header) {
    error_code ec;
    client_.socket().non_blocking(true, ec);  // a look at the socket must never wait for it
    return wait_header();
  }
  after_header();
}

// The header is read with MSG_PEEK and taken off the socket only once whole, so that whatever the
// balancer sent behind it (the ClientHello, the request) stays in the socket for what comes next,
// however the segments fell. A wait ends when more bytes come: what was there has been looked at.
void ConnectionStart::wait_header() {
  const auto generation = ++wait_generation_;
  client_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(), generation](error_code ec) {
    if (generation != self->wait_generation_ || self->done_ || !self->reading_header_) return;
    if (ec) return self->header_refused(metrics::ProxyHeaderResult::missing, ec.message());
    self->look_at_header(false);
  });
  // Asio's registration is edge-triggered: bytes that came after the last look and before this
  // wait was queued raised their edge with nobody waiting. One more look catches them.
  look_at_header(true);
}

// `only_if_changed`: the look right after a wait was queued, which leaves an unchanged socket to it.
void ConnectionStart::look_at_header(bool only_if_changed) {
  std::array<std::uint8_t, proxy_protocol::kMaxV2> buf;
  auto& socket = client_.socket();
  error_code ec;
  const std::size_t n = socket.receive(asio::buffer(buf), tcp::socket::message_peek, ec);
  const bool nothing_new = ec == asio::error::would_block || ec == asio::error::try_again || (!ec && n == peeked_);
  if (nothing_new) {
    if (!only_if_changed) wait_header();
    return;
  }
  ++wait_generation_;  // decided here: a wait still queued is no longer ours
  peeked_ = n;
  if (ec || n == 0) return header_refused(metrics::ProxyHeaderResult::missing, "closed before a PROXY header");
  const auto parsed = proxy_protocol::parse(buf.data(), n);
  switch (parsed.status) {
    case proxy_protocol::Status::need_more: return wait_header();
    case proxy_protocol::Status::invalid:
      return header_refused(parsed.problem == proxy_protocol::Problem::not_a_header
                                ? metrics::ProxyHeaderResult::missing
                                : metrics::ProxyHeaderResult::invalid,
                            proxy_protocol::to_string(parsed.problem));
    case proxy_protocol::Status::done: break;
  }
  // Take exactly the header: it is all in the socket, so this one receive gets it whole.
  const std::size_t taken = socket.receive(asio::buffer(buf.data(), parsed.length), 0, ec);
  if (ec || taken != parsed.length) return header_refused(metrics::ProxyHeaderResult::invalid, "header not readable");
  reading_header_ = false;
  const auto& h = parsed.header;
  count_header(h.local ? metrics::ProxyHeaderResult::local : metrics::ProxyHeaderResult::ok);
  if (!h.local) {
    log::debug("proxy_header", {{"peer", client_ip_}, {"client", h.source_address}, {"version", h.version}});
    client_ip_ = h.source_address;  // the client, for everything from here on
  }
  balancer_ = {h.authority, h.aws_vpc_endpoint};
  if (denied(*rt_, listener_, registry_, client_ip_)) return finish();
  timer_.cancel();
  timer_.expires_at(deadline_);
  timer_.async_wait([weak = weak_from_this()](error_code wec) {
    if (auto self = weak.lock(); self && !wec) self->on_timeout();
  });
  after_header();
}

void ConnectionStart::count_header(metrics::ProxyHeaderResult result) {
  rt_->listener_proxy_series[listener_]->row(registry_.thread())
      .add(metrics::ProxyListenerSeries::get().headers + static_cast<std::size_t>(result));
}

void ConnectionStart::header_refused(metrics::ProxyHeaderResult result, std::string_view why) {
  count_header(result);
  log::info("proxy_header_refused", {{"peer", client_ip_},
                                     {"listener", rt_->config.listeners[listener_].name},
                                     {"result", std::string(metrics::proxy_header_results[static_cast<std::size_t>(result)])},
                                     {"error", std::string(why)}});
  finish();
}

void ConnectionStart::after_header() {
  if (!tls_) return start_session();
  if (!client_.start_tls_server(tls_)) return finish();
  client_.async_handshake([self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
}

void ConnectionStart::go_away() { finish(); }

void ConnectionStart::count_handshake(metrics::HandshakeResult result) {
  rt_->listener_tls_series[listener_]->row(registry_.thread())
      .add(metrics::TlsListenerSeries::get().tls_handshakes + static_cast<std::size_t>(result));
}

void ConnectionStart::on_timeout() {
  if (done_) return;
  if (reading_header_) return header_refused(metrics::ProxyHeaderResult::timeout, "no whole PROXY header in time");
  log::info("tls_handshake_timeout", {{"client", client_ip_}});
  count_handshake(metrics::HandshakeResult::timeout);
  finish();
}

void ConnectionStart::on_handshake(error_code ec) {
  if (done_) return;
  count_handshake(ec ? metrics::HandshakeResult::failed : metrics::HandshakeResult::ok);
  SSL* ssl = client_.tls_handle();
  auto* certs = rt_->listener_cert_series[listener_].get();
  if (ec) {
    const auto failure = client_cert_failure(ssl, ec);
    if (failure && certs) {
      certs->row(registry_.thread()).add(metrics::ClientCertSeries::get().failures + static_cast<std::size_t>(*failure));
      log::info("client_certificate_refused",
                {{"client", client_ip_}, {"listener", rt_->config.listeners[listener_].name},
                 {"reason", std::string(metrics::client_cert_failures[static_cast<std::size_t>(*failure)])}});
      return finish();
    }
    log::info("tls_handshake_failed", {{"client", client_ip_}, {"error", ec.message()}});
    return finish();
  }
  if (certs && ssl && SSL_get0_peer_certificate(ssl) && SSL_get_verify_result(ssl) == X509_V_OK) {
    certs->row(registry_.thread()).add(metrics::ClientCertSeries::get().verified);
    certificate_ = std::make_shared<const http::ClientIdentity>(http::identity_of(SSL_get0_peer_certificate(ssl)));
  }
  if (client_.alpn() == "h2") {
    done_ = true;
    timer_.cancel();
    // The connection and its count in connections_open go to the HTTP/2 session.
    auto h2 = std::make_shared<H2Session>(std::move(client_), std::move(client_ip_), std::move(rt_), listener_, registry_);
    h2->set_client_certificate(std::move(certificate_));
    h2->start();
    return;
  }
  start_session();
}

// The connection, its id in the registry and its count in connections_open go to the session.
void ConnectionStart::start_session() {
  done_ = true;
  timer_.cancel();
  auto session = std::allocate_shared<UpgradeSession>(memory::recycling_allocator<UpgradeSession>(), std::move(client_),
                                                      std::move(client_ip_), std::move(rt_), listener_, registry_,
                                                      deadline_, registry_id());
  session->set_balancer(std::move(balancer_));
  session->set_client_certificate(std::move(certificate_));
  session->start();
}

void ConnectionStart::finish() {
  if (done_) return;
  done_ = true;
  timer_.cancel();
  client_.close();
  rt_->listener_series[listener_]->row(registry_.thread())
      .subtract(metrics::ListenerSeries::get().connections_open);
}

}  // namespace wsgate::gateway
