// The active configuration as the data path uses it: routes with their tables, backend pickers,
// resolved addresses and TLS contexts. Immutable once built; a reload builds a new one and swaps it.
#pragma once

#include "auth/jwt_verifier.hpp"
#include "config/config.hpp"
#include "gateway/control/backend_registry.hpp"
#include "config/ip_network.hpp"
#include "gateway/control/jwks_registry.hpp"
#include "gateway/tls_context.hpp"
#include "gateway/control/redis_store.hpp"
#include "http/token_source.hpp"
#include "metrics/series_collector.hpp"
#include "ratelimit/shared_limiter.hpp"
#include "routing/affinity_cookie.hpp"
#include "routing/affinity_table.hpp"
#include "routing/backend_picker.hpp"
#include "routing/route_table.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wsgate::gateway {

class Discovery;

struct RouteRuntime {
  const config::Route* config = nullptr;  // points into Runtime::config
  std::unique_ptr<routing::BackendPicker> picker;
  std::vector<std::uint64_t> backend_ids;            // by backend: its name in the affinity table
  std::shared_ptr<routing::AffinityTable> affinity;  // set with affinity_ttl
  std::optional<routing::AffinityCookie> cookie;     // set with affinity_cookie
  std::vector<std::uint64_t> cookie_ids;             // by backend: its name in the cookie
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;  // one per backend, resolved at load
  SslCtxPtr backend_tls;                                 // set when any backend is wss://
  const config::AuthProvider* auth = nullptr;            // the route's provider, if any
  // What the backend never gets: every place the provider reads a token from, and the affinity
  // cookie.
  std::vector<http::TokenSource> stripped_tokens;
  std::unique_ptr<auth::JwtVerifier> verifier;           // its keys and rules plus the route's claims
  std::vector<std::shared_ptr<JwksSource>> jwks;         // the provider's JWKS URLs, to refresh
  std::vector<std::shared_ptr<HealthChecker>> checkers;  // held so they run while the route lives
  const config::RateLimitPolicy* limit = nullptr;        // the route's policy, if any
  std::shared_ptr<ratelimit::SharedLimiter> limiter;     // its shared state (kept across reloads)
  ratelimit::Rate upgrade_rate;                          // unlimited when the policy sets none
  ratelimit::MessageLimits message_limits;               // handed to the limiter by apply_limits()
  std::shared_ptr<RedisStore> redis;                     // set when the policy's store is redis
  std::shared_ptr<RedisStore> loads_store;               // set with shared_loads: where loads are shared
  std::vector<config::IpNetwork> allow_from, deny_from;  // the route's address rules
  // What the route counts (route="NAME"), by backend (route, backend) and under its policy.
  std::shared_ptr<metrics::SeriesSet> series;
  std::vector<std::shared_ptr<metrics::SeriesSet>> backend_series;
  std::shared_ptr<metrics::SeriesSet> limit_series;  // set with `limit`
};

// What outlives one configuration: JWKS sources and backend states are shared by URL with the next.
struct Registries {
  JwksRegistry jwks;
  BackendRegistry backends;
  // By policy name: a reload changes the limits, not the buckets already filled.
  std::map<std::string, std::shared_ptr<ratelimit::SharedLimiter>> limiters;
  // By route name: a reload keeps each client key on its backend.
  std::map<std::string, std::shared_ptr<routing::AffinityTable>> affinity;
  // Every Redis store a configuration in use names, or a live session's lease still needs.
  std::vector<std::shared_ptr<RedisStore>> redis;
  boost::asio::io_context* control = nullptr;  // where Redis connections run; null: --check-config
  // The discovered backend names' current sets; null: --check-config (discovered entries stand
  // for no backend).
  const Discovery* discovery = nullptr;
  // Every series counted, kept by labels so a reload never resets one. Made by the first build.
  std::shared_ptr<metrics::SeriesCollector> series;

  std::shared_ptr<RedisStore> redis_store(const config::RedisSettings& settings);
  void start_redis();
  void stop_redis();  // control thread, after it stopped running: disconnects
};

// The io threads a configuration asks for: `threads`, or one per core. Each counts metrics in its
// own row; the control thread writes the row after them.
unsigned io_threads(const config::Config& config);

struct Runtime {
  config::Config config;
  std::vector<config::IpNetwork> trusted_proxies;
  routing::RouteTable table{{}};
  std::vector<RouteRuntime> routes;
  std::vector<std::shared_ptr<const ServerTlsContext>> listener_tls;  // by listener; nullptr: plain
  std::vector<std::shared_ptr<metrics::SeriesSet>> listener_series;  // by listener
  std::vector<std::shared_ptr<metrics::SeriesSet>> listener_tls_series;  // by listener; nullptr: plain
  std::vector<std::shared_ptr<metrics::SeriesSet>> listener_proxy_series;  // by listener; nullptr: no PROXY header
  std::vector<std::vector<config::IpNetwork>> proxy_trusted;  // by listener: balancers whose header counts
  std::vector<std::vector<config::IpNetwork>> listener_deny;  // by listener: clients closed at accept
  std::vector<std::shared_ptr<metrics::SeriesSet>> listener_deny_series;  // by listener; nullptr: no deny_from
  std::vector<std::shared_ptr<metrics::SeriesSet>> listener_cert_series;  // by listener; nullptr: no client_auth
  std::shared_ptr<metrics::SeriesSet> unrouted_series;  // route="": requests no route took

  // Errors (unresolvable backend, unreadable certificate) are appended and nullptr returned.
  // JWKS sources, backend states and health checkers come from `shared`; nothing is fetched or
  // checked until it is started. `same_file`: a runtime built from this very configuration (a
  // discovered set changed), whose listener TLS contexts are kept: their files are not read again
  // and the session tickets they issued still resume.
  static std::shared_ptr<const Runtime> build(config::Config config, std::vector<std::string>& errors,
                                              Registries& shared, const Runtime* same_file = nullptr);

  // Gives each policy's limiter this configuration's message limits; live sessions take them at
  // their next frame. Called once the configuration is accepted, so a rejected reload changes nothing.
  void apply_limits() const;
};

}  // namespace wsgate::gateway
