#include "gateway/proxy/connection_start.hpp"

#include "gateway/log.hpp"
#include "gateway/proxy/h2_session.hpp"
#include "gateway/proxy/upgrade_session.hpp"

namespace wsgate::gateway {

void start_connection(tcp::socket socket, std::string client_ip, std::shared_ptr<const Runtime> runtime,
                      std::size_t listener, SessionRegistry& registry) {
  // Counted here once; whichever session ends up with the connection takes the count over and
  // subtracts it from connections_open when the connection ends.
  auto& row = runtime->listener_series[listener]->row(registry.thread());
  row.add(metrics::ListenerSeries::get().connections);
  row.add(metrics::ListenerSeries::get().connections_open);
  const auto& tls = runtime->listener_tls[listener];
  if (!tls) {
    const auto deadline = std::chrono::steady_clock::now() + runtime->config.http.header_timeout;
    std::make_shared<UpgradeSession>(Transport(std::move(socket)), std::move(client_ip), std::move(runtime),
                                     listener, registry, deadline)
        ->start();
    return;
  }
  SSL_CTX* ctx = tls->default_context();
  std::make_shared<ConnectionStart>(std::move(socket), std::move(client_ip), std::move(runtime), listener, registry)
      ->start(ctx);
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

void ConnectionStart::start(SSL_CTX* tls) {
  registry_.add(shared_from_this());
  if (done_) return;  // the thread is draining
  if (!client_.start_tls_server(tls)) return finish();
  timer_.expires_at(deadline_);
  timer_.async_wait([weak = weak_from_this()](error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->on_timeout();
  });
  client_.async_handshake([self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
}

void ConnectionStart::go_away() { finish(); }

void ConnectionStart::count_handshake(metrics::HandshakeResult result) {
  rt_->listener_tls_series[listener_]->row(registry_.thread())
      .add(metrics::TlsListenerSeries::get().tls_handshakes + static_cast<std::size_t>(result));
}

void ConnectionStart::on_timeout() {
  if (done_) return;
  log::info("tls_handshake_timeout", {{"client", client_ip_}});
  count_handshake(metrics::HandshakeResult::timeout);
  finish();
}

void ConnectionStart::on_handshake(error_code ec) {
  if (done_) return;
  count_handshake(ec ? metrics::HandshakeResult::failed : metrics::HandshakeResult::ok);
  if (ec) {
    log::info("tls_handshake_failed", {{"client", client_ip_}, {"error", ec.message()}});
    return finish();
  }
  done_ = true;
  timer_.cancel();
  // The connection, its id in the registry and its count in connections_open go to the session.
  if (client_.alpn() == "h2") {
    std::make_shared<H2Session>(std::move(client_), std::move(client_ip_), std::move(rt_), listener_, registry_)
        ->start();
    return;
  }
  std::make_shared<UpgradeSession>(std::move(client_), std::move(client_ip_), std::move(rt_), listener_,
                                   registry_, deadline_, registry_id())
      ->start();
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
