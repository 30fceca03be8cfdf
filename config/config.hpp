// The typed form of gateway.yaml: every field declared once, with its default and what it does.
// load_config() collects every error as "FILE:LINE:COL: path: message" instead of stopping at the first.
#pragma once

#include "http/header_rules.hpp"
#include "http/token_source.hpp"
#include "config/config_values.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::config {

using namespace std::chrono_literals;

// Client certificates (mTLS). optional: asked for, and verified when one is sent (a bad one fails
// the handshake); required: a handshake without a valid one fails with a TLS alert.
struct ClientAuth {
  std::string mode = "optional";  // "optional" or "required"
  std::string ca_file;            // the CAs client certificates must chain to (PEM); required
  std::string crl_file;           // revoked certificates (PEM CRL of the issuing CA); "" none
  // Intermediate CAs allowed between a client certificate and its root. 4, not NGINX's 1 (which
  // refuses any client PKI with an intermediate, a common surprise): room for the usual one or
  // two intermediates and a cross-sign, while bounding the chain a client makes us verify.
  unsigned verify_depth = 4;
};

struct Certificate {
  std::string cert_file;  // PEM chain; the names in it (SAN/CN) are what SNI selects on
  std::string key_file;
  std::optional<ClientAuth> client_auth;  // this SNI's own; absent: the listener's
};

struct ServerTls {
  std::vector<Certificate> certificates;  // the first is the default when SNI matches none
  std::string min_version = "1.2";        // "1.2" or "1.3"; nothing older is offered
  std::optional<ClientAuth> client_auth;  // absent: no client certificate is asked for
};

// The PROXY protocol (v1 and v2) from layer-4 balancers in front of a listener: a connection from a
// trusted address must start with one header, whose source address is then the client's
// everywhere; any other connection is served with its own address, and a header it sends is
// never believed.
struct ProxyProtocol {
  std::vector<std::string> trusted;  // addresses or CIDR blocks of the balancers
  Duration timeout = 5s;             // the whole header must have come by then, or the connection closes
};

struct Listener {
  std::string name;
  HostPort bind;
  std::optional<ServerTls> tls;  // absent: plain HTTP/ws
  // Another process already listening on `bind` is an error ("address in use") unless this says
  // the operator means to share the port with it (SO_REUSEPORT, e.g. a second instance on purpose).
  bool reuse_port_with_others = false;
  // TLS listeners offer h2 by ALPN beside http/1.1, so that browsers open WebSockets on the
  // page's HTTP/2 connection (RFC 8441); false offers http/1.1 alone. Plain listeners never do.
  bool http2 = true;
  std::optional<ProxyProtocol> proxy_protocol;  // absent: the peer is the client
  // Clients (the PROXY header's, else the peer) whose connections close at once, before any TLS.
  std::vector<std::string> deny_from;
};

// The admin listener: /healthz, /readyz, /metrics, the runtime API (/api/...) and the status page (/).
struct Admin {
  bool enabled = true;
  HostPort bind{"127.0.0.1", 9100};  // loopback unless the operator says otherwise; port 0: any free one
  // Bearer token every request but /healthz and /readyz must carry; required when bind is not a
  // loopback address. Compared in constant time.
  std::string token_file;
  std::string token;  // its contents, read at load
};

// SIGTERM: /readyz turns 503 while the listeners still accept for `delay` (load balancers and
// Kubernetes Services notice), then the listeners close, every session gets 1001 and has up to
// `timeout` to end; the process then exits 0. The admin listener answers until the end.
struct Drain {
  Duration delay = 0s;
  Duration timeout = 10s;
};

// A binary upgrade (SIGUSR2): how long the old process waits for its sessions to reach a frame
// boundary and move; those that do not get 1001, as in a drain.
struct Handover {
  Duration timeout = 30s;
};

struct Log {
  std::string format = "text";  // "text" or "json"
  std::string level = "info";   // "debug", "info", "warn", "error"
};

// One line per plain request and per upgrade (event "access", in log.format), whatever log.level.
struct AccessLog {
  bool enabled = true;
  std::string path;  // "": stderr, with the other lines; else appended to, reopened on SIGUSR1
};

// Limits on the HTTP request that precedes an upgrade (or a proxied plain request).
struct HttpLimits {
  std::uint32_t max_header_bytes = 16 * 1024;  // request line + headers; over it: 431
  std::uint32_t max_headers = 100;             // header fields; over it: 431
  Duration header_timeout = 10s;  // TLS handshake + whole request head; over it: 408 (slowloris)
  std::uint64_t max_body = 1 << 20;           // proxied request/response bodies; over it: 413 / 502
  Duration keepalive_timeout = 60s;           // idle client connection between plain requests
};

struct Backend {
  // How the entry becomes backends. none: it is one (its name resolved at load, first address).
  // dns: every A and AAAA record of HOST is one, at ADDRESS:PORT. srv: every SRV record of the
  // lowest priority of _SERVICE._tcp.NAME is one, at its target's addresses and its port, with
  // its weight. Discovered on the control thread and refreshed; the data path never waits on DNS.
  enum class Discover : std::uint8_t { none, dns, srv };
  std::string url;  // as written: ws://host:port or wss://host:port; also its place on the ring
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::uint32_t weight = 1;  // share of clients relative to the route's other backends; 0: none
  Discover discover = Discover::none;
  std::uint32_t max_backends = 64;  // discovered from this entry at most (the first in address order)
  // Set on the backends a discovered entry stands for: the entry's url. Their own url is
  // scheme://ADDRESS:PORT, and `host` is the name the entry gave (SNI, certificate check, the
  // health check's Host) while `address` is where to connect.
  std::string discovered_from;
  std::string address;  // an IP literal to connect to; empty: resolve `host` at load
};

// Where and how often discovered names are looked up (c-ares on the control thread).
struct DnsSettings {
  std::vector<HostPort> nameservers;  // empty: those of /etc/resolv.conf
  Duration refresh = 5s;              // ask again this often (and at most this often with respect_ttl)
  bool respect_ttl = false;           // ask again at the records' smallest TTL, never sooner than refresh
  Duration timeout = 2s;              // one lookup; then it counts as failed and the last good set stays
};

// What a route's clients are pinned by: the first source the request has wins.
struct HashKeySource {
  enum class Kind { claim, header, cookie, query, ip, cert };  // cert: subject, uri, dns or hash
  Kind kind = Kind::ip;
  std::string name;  // claim, header, cookie or query parameter name; unused for ip
};

// Active checks of each backend, from the control thread (HAProxy's check inter/rise/fall).
struct HealthCheck {
  std::string type = "http";  // "http": GET path answered 2xx; "websocket": upgrade on path answered 101
  std::string path = "/";
  Duration interval = 5s;
  Duration timeout = 2s;
  unsigned healthy_threshold = 2;    // passes in a row that bring a backend back
  unsigned unhealthy_threshold = 2;  // failures in a row that take it out (its clients get 1012)
};

// A JWKS document published by the identity provider, fetched over HTTPS at start and refreshed in
// the background; a failed refresh keeps the last good set.
struct JwksUrl {
  std::string url;                   // as written: https://host[:port]/path
  std::string host;
  std::uint16_t port = 443;
  std::string target = "/";          // path and query sent in the GET
  std::string ca_file;               // verifies the server; empty: the system store
  Duration refresh_interval = 5min;  // Envoy's cache_duration default
  // Least time between two fetches: bounds refreshes asked for by tokens with an unknown kid (a
  // client inventing kids cannot make us hammer the provider) and is the first retry after a failure.
  Duration min_refresh_interval = 30s;
  Duration fetch_timeout = 10s;      // connect, TLS, request and response together
};

// Where a key comes from; exactly one of the four is set.
struct KeySource {
  std::string secret_file;  // HMAC secret, raw bytes (trailing newline ignored)
  std::string pem_file;     // PEM public key (RSA >= 2048, EC P-256/P-384, Ed25519)
  std::string jwks_file;    // JWKS document
  std::optional<JwksUrl> jwks_url;
  std::string kid;          // for secret_file and pem_file; JWKS keys carry their own
  std::string located;      // "FILE:LINE:COL: auth.providers[i].keys[j]": a load error's place
};

using TokenSource = http::TokenSource;

struct AuthProvider {
  std::string name;
  std::string issuer;                    // empty: not checked
  std::vector<std::string> audiences;    // empty: not checked
  std::vector<std::string> algorithms;   // allowlist, required: no algorithm is allowed by default
  std::vector<KeySource> keys;
  // In order. "header:Authorization" takes a Bearer token; "protocol" the browser trick
  // Sec-WebSocket-Protocol: bearer, TOKEN (the token entry is removed before the backend). No
  // cookie by default: one needs an Origin allowlist on its routes (cross-site hijacking).
  std::vector<TokenSource> token_from = {{TokenSource::Kind::header, "Authorization"},
                                         {TokenSource::Kind::query, "access_token"},
                                         {TokenSource::Kind::protocol, ""}};
  Duration leeway = 30s;
  // Verified claims to request headers for the backend; a client's own headers of these names
  // are removed first, so they cannot be forged.
  std::vector<std::pair<std::string, std::string>> forward_claims;
};

struct ClaimRequirement {
  std::string claim;
  bool contains = false;  // contains: an array element or a space-separated word; else equals
  std::string value;
};

struct RouteLimits {
  std::uint64_t max_message = 1 << 20;  // one message, all fragments, as sent on the wire; over: 1009
  Duration idle_timeout = 60s;          // no data message either way; then 1001 "idle timeout"
  Duration ping_interval = 20s;         // gateway pings an otherwise silent client; 0s disables
  Duration pong_timeout = 10s;          // no byte from the client this long after a ping: dead peer
  std::uint64_t max_frame_buffer = 64 * 1024;  // bytes read per step, and so buffered per direction
};

// `rate` units per `per`, `burst` of them at once from full credit (GCRA).
struct RateSpec {
  std::int64_t rate = 0;
  Duration per = 1s;
  std::int64_t burst = 1;
};

// A limit on a session's messages or payload bytes in one direction, and what happens over it:
// "throttle" (stop reading the sender until there is credit), "close" (1008) or "drop" (discard
// the message, single-frame messages only; a fragmented one is throttled).
struct MessageLimitSpec {
  RateSpec rate;
  std::string action = "throttle";
};

// A named limit policy routes refer to. Its key is read like a route's hash_key.
struct RateLimitPolicy {
  std::string name;
  std::vector<HashKeySource> key = {{HashKeySource::Kind::ip, ""}};
  std::optional<RateSpec> upgrades;  // over it: 429 with Retry-After in whole seconds
  std::int64_t max_sessions = 0;     // concurrent sessions per key, over all threads; 0: no cap; over: 429
  // Per key, over all its sessions: client to backend, and backend to client.
  std::optional<MessageLimitSpec> messages, bytes, backend_messages, backend_bytes;
  // "local" (this process) or "redis": upgrades and max_sessions shared by every instance on the
  // same Redis; message limits stay local (a network round trip per message would cost more than it).
  std::string store = "local";
  bool fail_open = true;  // Redis unreachable: admit (fail_open) or answer 503 (fail_closed)
};

// The Redis server shared rate limits live in.
struct RedisSettings {
  HostPort address;                  // an IP address and port
  std::string password;              // AUTH at connect when set
  Duration timeout = 100ms;          // one decision; slower counts as Redis unavailable
  Duration session_lease = 30s;      // a session's count outlives a crashed gateway this long at most
  std::string key_prefix = "wsgate:";

  bool operator==(const RedisSettings& o) const {
    return address.host == o.address.host && address.port == o.address.port &&
           password == o.password && timeout == o.timeout && session_lease == o.session_lease &&
           key_prefix == o.key_prefix;
  }
};

// A cookie naming the backend a browser was sent to (Traefik's sticky cookie), signed so that every
// instance sharing the secret honours it and no client can forge one.
struct AffinityCookieSettings {
  std::string name;               // required; a cookie name (RFC 6265 token)
  Duration ttl = 1h;              // Max-Age, and the expiry signed into the value
  bool secure = false;            // Secure on every listener; false: on TLS listeners only
  std::string same_site = "Lax";  // Lax, Strict or None (None is always sent Secure)
  std::string secret_file;        // the signing key, >= 32 bytes, the same on every instance
  std::string secret;             // its contents, read at load
};

struct Route {
  std::string name;
  std::string host;                 // exact Host (port ignored); empty matches any host
  std::string path_prefix = "/";    // longest matching prefix wins (whole segments unless string_prefix)
  std::string path_exact;           // non-empty: this path only, before any prefix
  bool string_prefix = false;       // prefix_match: string: /echo matches /echoXYZ too
  std::vector<Backend> backends;
  // Consistent hashing: "ring" (virtual nodes; a change moves only the keys it must) or "maglev"
  // (a lookup table; flatter balance, a little collateral movement).
  std::string hash_algorithm = "ring";
  std::vector<HashKeySource> hash_key = {{HashKeySource::Kind::ip, ""}};
  // hash (the key's backend, sticky), least_sessions (fewest live sessions per weight; HAProxy's
  // leastconn, its advice for WebSockets) or round_robin. Hash keeps Socket.IO polling on one worker.
  std::string balance = "hash";
  double balance_factor = 0;  // bounded loads: none above this x average sessions; 0 = unbounded
  // Rebalancing after a scale-out: a backend over its bounded-load share has its oldest sessions
  // beyond the share closed (1012 "rebalance"), this many a minute at most; 0: never.
  std::uint64_t rebalance_per_minute = 0;
  // Bounded loads over every instance: each publishes its sessions per backend to the redis section
  // every 250 ms and bounds against the sum (its own changes since counted at once).
  bool shared_loads = false;
  // A key's requests and sessions follow the backend it was last sent to while that backend is
  // available, until this long after the last of them ended; 0s: no affinity table.
  Duration affinity_ttl = 0s;
  std::uint64_t affinity_max_entries = 100'000;  // per route; the least recently used goes first
  std::optional<AffinityCookieSettings> affinity_cookie;
  // A backend whose connect or handshake failed is tried last for this long, or until its active
  // checks pass healthy_threshold times after the failure, whichever comes first.
  Duration passive_eject_time = 10s;
  std::optional<HealthCheck> health_check;
  // A backend removed by a reload (or found unhealthy) has its sessions closed with 1012 after this.
  Duration backend_drain_timeout = 0s;
  std::string backend_ca_file;      // verifies wss:// backends; empty: the system store
  Duration connect_timeout = 5s;    // TCP (+TLS) to the backend; then the next backend, then 502/504
  Duration response_timeout = 30s;  // backend's answer to the forwarded request; then 504
  RouteLimits limits;
  // The matched path (prefix, or the exact path) becomes this in the forwarded target, query
  // kept: rewrite.strip_prefix is "/", rewrite.replace_prefix names another; "": unchanged.
  std::string rewrite_to;
  http::HeaderRules request_headers;                             // towards the backend
  std::vector<std::pair<std::string, std::string>> response_headers;  // set on its responses
  std::vector<std::string> allowed_origins;  // empty: any Origin; else exact match or 403
  // Address rules (403): the client address as the ip key sees it. deny_from first; then, when
  // allow_from is not empty, only the addresses it names.
  std::vector<std::string> allow_from, deny_from;
  bool require_client_cert = false;  // 403 without a verified client certificate (client_auth)
  // The path the route answers on (its cookie's Path, its rewrite's prefix).
  const std::string& match_path() const { return path_exact.empty() ? path_prefix : path_exact; }
  std::string auth;                          // provider name; empty: no authentication
  std::vector<ClaimRequirement> require_claims;  // failing one: 403
  bool close_at_expiry = false;              // close live sessions with 1008 when the token expires
  std::string rate_limit;                    // policy name; empty: no limits
};

struct Config {
  std::string source_file;
  unsigned threads = 0;  // io threads; 0 means one per core
  Log log;
  AccessLog access_log;
  std::vector<Listener> listeners;
  Admin admin;
  HttpLimits http;
  Drain drain;
  Handover handover;
  std::vector<AuthProvider> auth_providers;
  // Peers whose X-Forwarded-For is believed (addresses or CIDR blocks): the client address used
  // for hashing is then the last one in the header that is not itself a trusted proxy.
  std::vector<std::string> trusted_proxies;
  std::vector<RateLimitPolicy> rate_limits;
  std::optional<RedisSettings> redis;
  DnsSettings dns;
  std::vector<Route> routes;
};

struct LoadResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<std::string> errors;  // "FILE:LINE:COL: path: message"
  std::vector<std::string> warnings;  // the same form: accepted, but deprecated
};

// Relative file paths in the YAML resolve against the YAML file's folder.
LoadResult load_config_file(const std::string& path, const EnvLookup& env = process_env());
LoadResult load_config_text(const std::string& text, const std::string& name,
                            const std::string& base_dir, const EnvLookup& env = process_env());

}  // namespace wsgate::config
