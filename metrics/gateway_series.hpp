// The series wsgate's data path counts: what a route, a route's backend, a rate-limit policy and a
// listener each carry. Every label value comes from the configuration or from the fixed sets here.
#pragma once

#include "metrics/series_layout.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace wsgate::metrics {

// How an upgrade request (or a proxied plain request) ended.
enum class RequestResult : std::uint8_t {
  ok,               // 101 sent (plain requests: the backend's response sent)
  bad_request,      // 400: malformed request or WebSocket handshake
  unauthorized,     // 401: missing or invalid token
  forbidden,        // 403: a required claim or the Origin
  no_route,         // 404
  timeout,          // 408: request head not read within header_timeout
  too_large,        // 413 / 431
  rate_limited,     // 429
  unavailable,      // 503: the rate-limit store is down and the policy fails closed
  no_backend,       // 502: no backend accepted the connection
  backend_error,    // 502: the backend broke the exchange
  backend_timeout,  // 504
  backend_refused,  // the backend answered the upgrade with something other than 101
  aborted,          // the client left before an answer
};
inline constexpr std::array<std::string_view, 14> request_results{
    "ok",          "bad_request", "unauthorized",  "forbidden",       "no_route",
    "timeout",     "too_large",   "rate_limited",  "unavailable",     "no_backend",
    "backend_error", "backend_timeout", "backend_refused", "aborted"};

// auth::error's values after `none`, in its order.
inline constexpr std::array<std::string_view, 13> auth_reasons{
    "missing_token", "malformed",     "algorithm_not_allowed", "unknown_key",
    "key_type_mismatch", "bad_signature", "expired",          "not_yet_valid",
    "no_expiry",     "wrong_issuer",  "wrong_audience",        "claim_missing",
    "claim_mismatch"};

enum class Direction : std::uint8_t { client_to_backend, backend_to_client };
inline constexpr std::array<std::string_view, 2> directions{"client_to_backend", "backend_to_client"};

// Who sent a close frame: a peer (relayed on), or the gateway itself (to the client).
enum class CloseSide : std::uint8_t { client, backend, gateway };
inline constexpr std::array<std::string_view, 3> close_sides{"client", "backend", "gateway"};
// Close codes a label may take; 1005: a close frame without a code; "other": anything else
// (application codes 3000-4999 among them).
inline constexpr std::array<std::string_view, 15> close_codes{
    "1000", "1001", "1002", "1003", "1005", "1007", "1008", "1009",
    "1010", "1011", "1012", "1013", "1014", "1015", "other"};
std::size_t close_code_index(std::uint16_t code);

// What a rate-limit policy did: upgrades allowed or refused (429), let through unchecked or
// refused (503) because the store is down, frames throttled, messages dropped, sessions closed (1008).
enum class LimitAction : std::uint8_t { allow, reject, fail_open, fail_closed, throttle, drop, close };
inline constexpr std::array<std::string_view, 7> limit_actions{
    "allow", "reject", "fail_open", "fail_closed", "throttle", "drop", "close"};

enum class HandshakeResult : std::uint8_t { ok, failed, timeout };
inline constexpr std::array<std::string_view, 3> handshake_results{"ok", "failed", "timeout"};

// What a stream of an HTTP/2 connection carried: an RFC 8441 WebSocket, a plain request, or a head
// the gateway refused before any route (check_head, 431).
enum class H2StreamKind : std::uint8_t { websocket, request, refused };
inline constexpr std::array<std::string_view, 3> h2_stream_kinds{"websocket", "request", "refused"};
// Why the gateway ended an HTTP/2 connection with an error GOAWAY (http2::Attack, less none).
inline constexpr std::array<std::string_view, 5> h2_goaway_causes{"rapid_reset", "continuation_flood", "hpack_bomb",
                                                                 "control_flood", "protocol_error"};

// Why a relayed session ended: the first thing that started its end.
enum class SessionEnd : std::uint8_t {
  client_close,            // the client sent a close frame first
  backend_close,           // the backend did
  client_gone,             // the client's connection ended without a close frame (1006)
  backend_gone,            // the backend's did
  idle_timeout,            // no data frame either way for idle_timeout
  pong_timeout,            // the client did not answer the gateway's ping
  token_expired,           // close_at_expiry
  rate_limited,            // a message limit with action close
  client_protocol_error,   // a frame the client may not send (1002, 1007, 1009)
  backend_protocol_error,  // one the backend may not send
  drain,                   // the gateway is shutting down (1001)
  backend_removed,         // the backend was taken out (health, disable, reload): 1012
  operator_request,        // DELETE /api/sessions/{id}
  rebalance,               // its backend held more than its share after a scale-out: 1012
};
inline constexpr std::array<std::string_view, 14> session_end_causes{
    "client_close",  "backend_close",         "client_gone",            "backend_gone",
    "idle_timeout",  "pong_timeout",          "token_expired",          "rate_limited",
    "client_protocol_error", "backend_protocol_error", "drain",           "backend_removed",
    "operator",      "rebalance"};

// Why a connection to a backend failed. Names are resolved when the configuration is loaded, so
// no connect waits on DNS.
enum class ConnectFailure : std::uint8_t { refused, timeout, unreachable, reset, tls, other };
inline constexpr std::array<std::string_view, 6> connect_failure_causes{"refused", "timeout", "unreachable",
                                                                   "reset",   "tls",     "other"};

// Labels: route.
struct RouteSeries {
  static const RouteSeries& get();
  Layout layout;
  std::size_t upgrades;       // + RequestResult
  std::size_t http_requests;  // + RequestResult
  std::size_t auth_failures;  // + auth::error - 1
  std::size_t messages;       // + Direction
  std::size_t bytes;          // + Direction
  std::size_t discarded_bytes;  // + Direction: sent behind the sender's close frame
  std::array<HistogramSlots, 2> message_size;  // by Direction, payload bytes
  HistogramSlots upgrade_duration;             // ns, request read to 101 sent
  HistogramSlots session_duration;             // ns
  std::size_t closes;  // + CloseSide * close_codes.size() + close_code_index(code)
  std::size_t session_ends;   // + SessionEnd
  std::size_t rebalance_closes;  // sessions closed to rebalance the route (SessionEnd::rebalance)
  std::size_t shared_load_fallbacks;  // shared_loads exchanges with Redis that failed
  std::size_t keys_sampled;  // per change of a discovered set: a fixed sample of keys ...
  std::size_t keys_moved;    // ... and those of them whose backend changed
  std::size_t address_denials;  // requests refused (403) by the route's allow_from / deny_from
  HistogramSlots ping_rtt;    // ns, the gateway's ping to the client's pong

 private:
  RouteSeries();
};

// Labels: route="": what a request no route took can count.
struct UnroutedSeries {
  static const UnroutedSeries& get();
  Layout layout;
  std::size_t upgrades;       // + RequestResult
  std::size_t http_requests;  // + RequestResult

 private:
  UnroutedSeries();
};

// Labels: route, backend.
struct BackendSeries {
  static const BackendSeries& get();
  Layout layout;
  std::size_t sessions_active;
  std::size_t connect_failures;     // + ConnectFailure
  HistogramSlots connect_duration;  // ns, TCP connect (and TLS handshake for wss://)
  HistogramSlots upgrade_duration;  // ns, upgrade request written to the backend's answer read
  std::size_t messages;             // + Direction: a hot backend shows here, not in the route's sum
  std::size_t bytes;                // + Direction

 private:
  BackendSeries();
};

// Labels: route, policy.
struct LimitSeries {
  static const LimitSeries& get();
  Layout layout;
  std::size_t decisions;  // + LimitAction

 private:
  LimitSeries();
};

// Labels: listener.
struct ListenerSeries {
  static const ListenerSeries& get();
  Layout layout;
  std::size_t connections;
  std::size_t connections_open;  // gauge: accepted and not yet closed, upgraded or not

 private:
  ListenerSeries();
};

// What became of the PROXY header a trusted balancer's connection must start with.
enum class ProxyHeaderResult : std::uint8_t { ok, local, missing, invalid, timeout };
inline constexpr std::array<std::string_view, 5> proxy_header_results{"ok", "local", "missing", "invalid", "timeout"};

// Labels: listener; listeners with proxy_protocol only.
struct ProxyListenerSeries {
  static const ProxyListenerSeries& get();
  Layout layout;
  std::size_t headers;  // + ProxyHeaderResult

 private:
  ProxyListenerSeries();
};

// Labels: listener; listeners with deny_from only.
struct DenyListenerSeries {
  static const DenyListenerSeries& get();
  Layout layout;
  std::size_t denied;  // connections closed at accept: deny_from named their client

 private:
  DenyListenerSeries();
};

// Why a client certificate was refused, failing the handshake (client_auth).
enum class ClientCertFailure : std::uint8_t { no_certificate, unknown_ca, revoked, expired, chain_too_long, other };
inline constexpr std::array<std::string_view, 6> client_cert_failures{"no_certificate", "unknown_ca", "revoked",
                                                                      "expired", "chain_too_long", "other"};

// Labels: listener; TLS listeners with client_auth only.
struct ClientCertSeries {
  static const ClientCertSeries& get();
  Layout layout;
  std::size_t failures;  // + ClientCertFailure
  std::size_t verified;  // handshakes that ended with a verified client certificate

 private:
  ClientCertSeries();
};

// Labels: listener; TLS listeners only.
struct TlsListenerSeries {
  static const TlsListenerSeries& get();
  Layout layout;
  std::size_t tls_handshakes;  // + HandshakeResult
  std::size_t h2_connections;  // ALPN chose h2
  std::size_t h2_streams;      // + H2StreamKind
  std::size_t h2_goaways;      // + index in h2_goaway_causes

 private:
  TlsListenerSeries();
};

enum class CheckResult : std::uint8_t { ok, failed };
inline constexpr std::array<std::string_view, 2> check_results{"ok", "failed"};

// Labels: backend; counted by the control thread, which runs the health checks.
struct HealthCheckSeries {
  static const HealthCheckSeries& get();
  Layout layout;
  std::size_t checks;          // + CheckResult
  HistogramSlots duration;     // ns, request sent to verdict

 private:
  HealthCheckSeries();
};

// Labels: name (a discovered backend entry's url, from the configuration).
inline constexpr std::array<std::string_view, 6> lookup_results{"ok", "timeout", "servfail", "nxdomain", "refused",
                                                                "other"};
struct DiscoverySeries {
  static const DiscoverySeries& get();
  Layout layout;
  std::size_t lookups;   // + discovery::Outcome, in lookup_results' order
  std::size_t backends;  // gauge: what the name stands for now
  std::size_t changes;   // answers that changed the set

 private:
  DiscoverySeries();
};

}  // namespace wsgate::metrics
