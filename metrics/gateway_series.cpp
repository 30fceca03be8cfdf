#include "metrics/gateway_series.hpp"

namespace wsgate::metrics {
namespace {

constexpr double kSeconds = 1e9;  // durations are counted in ns and shown in seconds

const Family upgrades{"wsgate_upgrades_total",
                      "WebSocket upgrade requests by how they ended (result=ok: 101 sent).",
                      Type::counter};
const Family http_requests{"wsgate_http_requests_total",
                           "Plain HTTP requests proxied or answered, by how they ended.", Type::counter};
const Family auth_failures{"wsgate_auth_failures_total",
                           "Requests refused by JWT authentication, by reason.", Type::counter};
const Family messages{"wsgate_messages_total", "WebSocket data messages relayed, by direction.",
                      Type::counter};
const Family bytes{"wsgate_bytes_total",
                   "Bytes relayed after the upgrade (frames with their headers), by direction.",
                   Type::counter};
const Family discarded_bytes{"wsgate_discarded_bytes_total",
                             "Bytes a peer sent after its own close frame, discarded unjudged (RFC 6455 1.4), "
                             "by direction.",
                             Type::counter};
const Family backend_messages{"wsgate_backend_messages_total",
                              "WebSocket data messages relayed, by route, backend and direction.",
                              Type::counter};
const Family backend_bytes{"wsgate_backend_bytes_total",
                           "Bytes relayed after the upgrade (frames with their headers), by route, backend and direction.",
                           Type::counter};
const Family message_size{"wsgate_message_size_bytes",
                          "Payload size of the data messages relayed, by direction.", Type::histogram};
const Family upgrade_duration{"wsgate_upgrade_duration_seconds",
                              "From the upgrade request read to the 101 sent to the client.",
                              Type::histogram};
const Family session_duration{"wsgate_session_duration_seconds",
                              "Length of relayed WebSocket sessions, from 101 to the end.",
                              Type::histogram};
const Family closes{"wsgate_close_codes_total",
                    "Close frames by who sent them (client, backend, or the gateway to the client) "
                    "and code.",
                    Type::counter};
const Family address_denials{"wsgate_address_denials_total",
                             "Requests refused with 403 by the route's allow_from or deny_from.", Type::counter};
const Family rebalance_closes{"wsgate_rebalance_closes_total",
                              "Sessions closed (1012) because their backend held more than its share.", Type::counter};
const Family shared_load_fallbacks{"wsgate_shared_loads_fallbacks_total",
                                   "Exchanges of session counts with Redis that failed (shared_loads): the bound then "
                                   "uses this instance's own counts.",
                                   Type::counter};
const Family keys_sampled{"wsgate_discovery_keys_sampled_total",
                          "Keys of a fixed sample looked up at each change of a route's discovered backends.",
                          Type::counter};
const Family keys_moved{"wsgate_discovery_keys_moved_total",
                        "Of the sampled keys, those whose backend the change moved (rate over keys_sampled: the "
                        "share of clients a change moves).",
                        Type::counter};
const Family session_ends{"wsgate_session_ends_total",
                          "Relayed sessions that ended, by what started the end.", Type::counter};
const Family ping_rtt{"wsgate_ping_rtt_seconds",
                      "From the gateway's ping to the client's pong (sessions with ping_interval).",
                      Type::histogram};
const Family backend_upgrade_duration{
    "wsgate_backend_upgrade_duration_seconds",
    "From the upgrade request written to a backend until its answer (101 or a refusal) is read.",
    Type::histogram};
const Family connections_open{"wsgate_connections_open",
                              "Client connections open (before and after the upgrade).", Type::gauge};
const Family health_checks{"wsgate_health_checks_total", "Active health checks of a backend, by result.",
                           Type::counter};
const Family health_check_duration{"wsgate_health_check_duration_seconds",
                                   "From a health check sent to its verdict (a timeout counts its full wait).",
                                   Type::histogram};
const Family sessions_active{"wsgate_sessions_active", "WebSocket sessions being relayed.",
                             Type::gauge};
const Family connect_failures{"wsgate_backend_connect_failures_total",
                              "Backend connections that failed, by cause.",
                              Type::counter};
const Family connect_duration{"wsgate_backend_connect_duration_seconds",
                              "TCP connect to a backend, with its TLS handshake for wss://.",
                              Type::histogram};
const Family limit_decisions{"wsgate_ratelimit_decisions_total",
                             "What a rate-limit policy did, by action.", Type::counter};
const Family connections{"wsgate_connections_total", "Client connections accepted.", Type::counter};
const Family tls_handshakes{"wsgate_tls_handshakes_total", "TLS handshakes with clients, by result.",
                            Type::counter};

const Family h2_connections{"wsgate_http2_connections_total", "Client connections that chose HTTP/2 (ALPN h2).",
                            Type::counter};
const Family h2_streams{"wsgate_http2_streams_total",
                        "HTTP/2 streams by what they carried: websocket (RFC 8441), request, refused.",
                        Type::counter};
const Family h2_goaways{"wsgate_http2_goaways_total",
                        "HTTP/2 connections the gateway ended with an error GOAWAY, by cause.", Type::counter};

const std::vector<std::uint64_t> size_bounds{64,      256,      1024,      4096,      16384,
                                             65536,   262144,   1048576,   4194304,   16777216};
// 0.25 ms to 10 s.
const std::vector<std::uint64_t> latency_bounds{250'000,     500'000,     1'000'000,     2'500'000,
                                                5'000'000,   10'000'000,  25'000'000,    50'000'000,
                                                100'000'000, 250'000'000, 500'000'000,   1'000'000'000,
                                                2'500'000'000, 5'000'000'000, 10'000'000'000};
// 10 ms (a reconnect storm's sessions) to a day.
const std::vector<std::uint64_t> session_bounds{
    10'000'000,        50'000'000,         100'000'000,        500'000'000,
    1'000'000'000,     10'000'000'000,     60'000'000'000,     300'000'000'000,
    900'000'000'000,   3'600'000'000'000,  14'400'000'000'000, 86'400'000'000'000};

}  // namespace

std::size_t close_code_index(std::uint16_t code) {
  if (code >= 1000 && code <= 1003) return code - 1000u;
  if (code == 1005) return 4;
  if (code >= 1007 && code <= 1015) return code - 1007u + 5;
  return close_codes.size() - 1;
}

RouteSeries::RouteSeries() {
  upgrades = layout.counters(metrics::upgrades, "result", request_results);
  http_requests = layout.counters(metrics::http_requests, "result", request_results);
  auth_failures = layout.counters(metrics::auth_failures, "reason", auth_reasons);
  messages = layout.counters(metrics::messages, "direction", directions);
  bytes = layout.counters(metrics::bytes, "direction", directions);
  discarded_bytes = layout.counters(metrics::discarded_bytes, "direction", directions);
  for (std::size_t d = 0; d < directions.size(); ++d)
    message_size[d] = layout.histogram(metrics::message_size, {{"direction", std::string(directions[d])}},
                                       size_bounds);
  upgrade_duration = layout.histogram(metrics::upgrade_duration, {}, latency_bounds, kSeconds);
  session_duration = layout.histogram(metrics::session_duration, {}, session_bounds, kSeconds);
  closes = layout.slots();
  for (const auto side : close_sides)
    layout.counters(metrics::closes, "code", close_codes, {{"side", std::string(side)}});
  session_ends = layout.counters(metrics::session_ends, "cause", session_end_causes);
  rebalance_closes = layout.counter(metrics::rebalance_closes);
  shared_load_fallbacks = layout.counter(metrics::shared_load_fallbacks);
  keys_sampled = layout.counter(metrics::keys_sampled);
  keys_moved = layout.counter(metrics::keys_moved);
  address_denials = layout.counter(metrics::address_denials);
  ping_rtt = layout.histogram(metrics::ping_rtt, {}, latency_bounds, kSeconds);
}

const RouteSeries& RouteSeries::get() {
  static const RouteSeries series;
  return series;
}

UnroutedSeries::UnroutedSeries() {
  upgrades = layout.counters(metrics::upgrades, "result", request_results);
  http_requests = layout.counters(metrics::http_requests, "result", request_results);
}

const UnroutedSeries& UnroutedSeries::get() {
  static const UnroutedSeries series;
  return series;
}

BackendSeries::BackendSeries() {
  sessions_active = layout.gauge(metrics::sessions_active);
  connect_failures = layout.counters(metrics::connect_failures, "cause", connect_failure_causes);
  connect_duration = layout.histogram(metrics::connect_duration, {}, latency_bounds, kSeconds);
  upgrade_duration = layout.histogram(backend_upgrade_duration, {}, latency_bounds, kSeconds);
  messages = layout.counters(backend_messages, "direction", directions);
  bytes = layout.counters(backend_bytes, "direction", directions);
}

const BackendSeries& BackendSeries::get() {
  static const BackendSeries series;
  return series;
}

LimitSeries::LimitSeries() {
  decisions = layout.counters(limit_decisions, "action", limit_actions);
}

const LimitSeries& LimitSeries::get() {
  static const LimitSeries series;
  return series;
}

namespace {
const Family proxy_headers{"wsgate_proxy_protocol_headers_total",
                           "Connections from a trusted balancer, by what their PROXY header was: ok, local (LOCAL, "
                           "UNKNOWN, UNSPEC: the socket's own addresses), missing, invalid, timeout.",
                           Type::counter};
}  // namespace

ProxyListenerSeries::ProxyListenerSeries() { headers = layout.counters(proxy_headers, "result", proxy_header_results); }

const ProxyListenerSeries& ProxyListenerSeries::get() {
  static const ProxyListenerSeries series;
  return series;
}

namespace {
const Family listener_denied{"wsgate_listener_denied_connections_total",
                             "Connections closed at accept because the listener's deny_from names their client.",
                             Type::counter};
}  // namespace

DenyListenerSeries::DenyListenerSeries() { denied = layout.counter(listener_denied); }

const DenyListenerSeries& DenyListenerSeries::get() {
  static const DenyListenerSeries series;
  return series;
}

namespace {
const Family client_cert_failures_family{"wsgate_tls_client_cert_failures_total",
                                        "TLS handshakes failed over the client certificate (client_auth), by reason.",
                                        Type::counter};
const Family client_cert_verified{"wsgate_tls_client_certs_verified_total",
                                  "TLS handshakes that ended with a verified client certificate.", Type::counter};
}  // namespace

ClientCertSeries::ClientCertSeries() {
  failures = layout.counters(client_cert_failures_family, "reason", client_cert_failures);
  verified = layout.counter(client_cert_verified);
}

const ClientCertSeries& ClientCertSeries::get() {
  static const ClientCertSeries series;
  return series;
}

ListenerSeries::ListenerSeries() {
  connections = layout.counter(metrics::connections);
  connections_open = layout.gauge(metrics::connections_open);
}

const ListenerSeries& ListenerSeries::get() {
  static const ListenerSeries series;
  return series;
}

TlsListenerSeries::TlsListenerSeries() {
  tls_handshakes = layout.counters(metrics::tls_handshakes, "result", handshake_results);
  h2_connections = layout.counter(metrics::h2_connections);
  h2_streams = layout.counters(metrics::h2_streams, "kind", h2_stream_kinds);
  h2_goaways = layout.counters(metrics::h2_goaways, "cause", h2_goaway_causes);
}

const TlsListenerSeries& TlsListenerSeries::get() {
  static const TlsListenerSeries series;
  return series;
}

namespace {
const Family discovery_lookups{"wsgate_discovery_lookups_total",
                               "DNS lookups of a discovered backend name, by result (only ok replaces the set).",
                               Type::counter};
const Family discovery_backends{"wsgate_discovery_backends", "Backends a discovered name stands for now.",
                                Type::gauge};
const Family discovery_changes{"wsgate_discovery_changes_total",
                               "Answers that changed the backends a discovered name stands for.", Type::counter};
}  // namespace

DiscoverySeries::DiscoverySeries() {
  lookups = layout.counters(discovery_lookups, "result", lookup_results);
  backends = layout.gauge(discovery_backends);
  changes = layout.counter(discovery_changes);
}

const DiscoverySeries& DiscoverySeries::get() {
  static const DiscoverySeries series;
  return series;
}

HealthCheckSeries::HealthCheckSeries() {
  checks = layout.counters(health_checks, "result", check_results);
  duration = layout.histogram(health_check_duration, {}, latency_bounds, kSeconds);
}

const HealthCheckSeries& HealthCheckSeries::get() {
  static const HealthCheckSeries series;
  return series;
}

}  // namespace wsgate::metrics
