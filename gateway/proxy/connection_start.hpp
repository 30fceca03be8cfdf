// An accepted client connection's first steps, before any HTTP: counted on its listener; from a
// trusted balancer the PROXY header (bounded in bytes and time) that names the real client; on a
// TLS listener the handshake (bounded by header_timeout) and ALPN. It then starts the HTTP/1.1
// session (UpgradeSession) or the HTTP/2 session (H2Session); neither of those knows the other.
#pragma once

#include "gateway/proxy/session_registry.hpp"
#include "gateway/proxy/transport.hpp"
#include "gateway/proxy/upgrade_session.hpp"
#include "gateway/runtime.hpp"
#include "metrics/gateway_series.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace wsgate::gateway {

// Called by a listener for every accepted socket. A plain listener's connection goes straight to
// an UpgradeSession; one that must first send a PROXY header, or do a TLS handshake, goes through
// a ConnectionStart.
void start_connection(tcp::socket socket, std::string client_ip, std::shared_ptr<const Runtime> runtime,
                      std::size_t listener, SessionRegistry& registry);

class ConnectionStart : public Drainable, public std::enable_shared_from_this<ConnectionStart> {
 public:
  ConnectionStart(tcp::socket socket, std::string client_ip, std::shared_ptr<const Runtime> runtime,
                  std::size_t listener, SessionRegistry& registry);
  ~ConnectionStart() override;

  // `read_header`: the peer is a trusted balancer, whose PROXY header comes first.
  void start(SSL_CTX* tls, bool read_header);
  void go_away() override;  // mid-handshake: nothing to say yet, the connection just closes

 private:
  void wait_header();
  void look_at_header(bool only_if_changed);
  void header_refused(metrics::ProxyHeaderResult result, std::string_view why);
  void count_header(metrics::ProxyHeaderResult result);
  void after_header();
  void start_session();
  void on_handshake(error_code ec);
  void on_timeout();
  void count_handshake(metrics::HandshakeResult result);
  void finish();

  std::shared_ptr<const Runtime> rt_;
  std::size_t listener_;
  SessionRegistry& registry_;
  Transport client_;
  std::string client_ip_;
  asio::steady_timer timer_;
  SSL_CTX* tls_ = nullptr;
  bool reading_header_ = false;  // the PROXY header's deadline is the timer's until it has come
  UpgradeSession::BalancerInfo balancer_;  // from the PROXY header's TLVs
  std::shared_ptr<const http::ClientIdentity> certificate_;  // verified in the handshake, if any
  std::size_t peeked_ = 0;              // bytes the last look at the header saw
  std::uint64_t wait_generation_ = 0;  // a wait for more header bytes that is still ours
  // The request head's deadline starts at accept: the handshake spends from the same header_timeout.
  std::chrono::steady_clock::time_point deadline_;
  bool done_ = false;  // handed over, or closed
};

}  // namespace wsgate::gateway
