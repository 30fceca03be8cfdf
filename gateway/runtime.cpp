#include "gateway/runtime.hpp"

#include "gateway/control/discovery.hpp"

#include "metrics/gateway_series.hpp"
#include "routing/stable_hash.hpp"

#include <boost/asio/io_context.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace wsgate::gateway {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ProviderKeys {
  std::vector<auth::VerificationKey> fixed;
  std::vector<std::shared_ptr<JwksSource>> remote;
};

// Loads a provider's keys (files are read at load and on every reload: key rotation is a SIGHUP).
ProviderKeys load_keys(const config::AuthProvider& p, const std::string& where, JwksRegistry& jwks,
                       std::vector<std::string>& errors) {
  ProviderKeys out;
  auto& keys = out.fixed;
  for (const auto& k : p.keys) {
    if (k.jwks_url) {
      std::string error;
      if (auto source = jwks.get(*k.jwks_url, error)) out.remote.push_back(std::move(source));
      else errors.push_back(where + ": " + k.jwks_url->url + ": " + error);
    } else if (!k.secret_file.empty()) {
      std::string secret = read_file(k.secret_file);
      while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
      // RFC 7518 3.2: at least the hash size. Read here, not at parse, since a reload re-reads it.
      if (secret.size() < 32)
        errors.push_back(k.located + ".secret_file: " + k.secret_file + " holds " + std::to_string(secret.size()) +
                         " bytes; an HMAC secret needs at least 32 (e.g. openssl rand -hex 32)");
      keys.push_back(auth::VerificationKey::from_secret(std::move(secret), k.kid));
    } else if (!k.pem_file.empty()) {
      std::string error;
      if (auto key = auth::VerificationKey::from_pem(read_file(k.pem_file), k.kid, error))
        keys.push_back(std::move(*key));
      else errors.push_back(where + ": " + k.pem_file + ": " + error);
    } else if (!k.jwks_file.empty()) {
      std::vector<std::string> problems;
      auto set = auth::parse_jwks(read_file(k.jwks_file), problems);
      for (const auto& e : problems) errors.push_back(where + ": " + k.jwks_file + ": " + e);
      for (auto& key : set) keys.push_back(std::move(key));
    }
  }
  return out;
}

std::unique_ptr<auth::JwtVerifier> make_verifier(const config::AuthProvider& p,
                                                 const config::Route& route,
                                                 const ProviderKeys& keys) {
  auth::VerifierConfig vc;
  for (const auto& a : p.algorithms) vc.algorithms.push_back(*auth::parse_algorithm(a));
  vc.issuer = p.issuer;
  vc.audiences = p.audiences;
  vc.leeway_seconds = std::chrono::duration_cast<std::chrono::seconds>(p.leeway).count();
  for (const auto& c : route.require_claims)
    vc.required_claims.push_back({c.claim, c.contains ? auth::ClaimRule::Kind::contains
                                                      : auth::ClaimRule::Kind::equals, c.value});
  std::vector<std::shared_ptr<const auth::KeySet>> remote;
  for (const auto& source : keys.remote) remote.push_back(source->keys());
  return std::make_unique<auth::JwtVerifier>(std::move(vc), keys.fixed, std::move(remote));
}

ratelimit::Rate to_rate(const config::RateSpec& spec) {
  return ratelimit::Rate::per(
      spec.rate, std::chrono::duration_cast<std::chrono::nanoseconds>(spec.per).count(), spec.burst);
}

void set_flow_limit(const std::optional<config::MessageLimitSpec>& spec, ratelimit::Rate& rate,
                    ratelimit::Action& action) {
  if (!spec) return;
  rate = to_rate(spec->rate);
  action = spec->action == "close"  ? ratelimit::Action::close
           : spec->action == "drop" ? ratelimit::Action::drop
                                    : ratelimit::Action::throttle;
}

}  // namespace

unsigned io_threads(const config::Config& config) {
  return config.threads ? config.threads : std::max(1u, std::thread::hardware_concurrency());
}

namespace {

// Only for an accepted configuration, so a rejected reload leaves no series behind.
void attach_series(Runtime& rt, Registries& shared) {
  if (!shared.series) shared.series = std::make_shared<metrics::SeriesCollector>(io_threads(rt.config) + 1);
  auto& collector = *shared.series;
  for (auto& r : rt.routes) {
    const auto& route = *r.config;
    r.series = collector.set(metrics::RouteSeries::get().layout, {{"route", route.name}});
    for (const auto& b : route.backends)
      r.backend_series.push_back(
          collector.set(metrics::BackendSeries::get().layout, {{"route", route.name}, {"backend", b.url}}));
    if (r.limit)
      r.limit_series = collector.set(metrics::LimitSeries::get().layout,
                                     {{"route", route.name}, {"policy", r.limit->name}});
    for (std::size_t b = 0; b < r.checkers.size(); ++b)
      r.checkers[b]->count_in(collector.set(metrics::HealthCheckSeries::get().layout,
                                            {{"backend", route.backends[b].url}}),
                              collector.rows() - 1);  // the control thread's row
  }
  for (const auto& l : rt.config.listeners) {
    rt.listener_series.push_back(collector.set(metrics::ListenerSeries::get().layout, {{"listener", l.name}}));
    rt.listener_tls_series.push_back(
        l.tls ? collector.set(metrics::TlsListenerSeries::get().layout, {{"listener", l.name}}) : nullptr);
    bool client_auth = l.tls && l.tls->client_auth;
    if (l.tls)
      for (const auto& c : l.tls->certificates) client_auth = client_auth || c.client_auth;
    rt.listener_cert_series.push_back(
        client_auth ? collector.set(metrics::ClientCertSeries::get().layout, {{"listener", l.name}}) : nullptr);
    rt.listener_deny_series.push_back(
        l.deny_from.empty() ? nullptr : collector.set(metrics::DenyListenerSeries::get().layout, {{"listener", l.name}}));
    rt.listener_proxy_series.push_back(
        l.proxy_protocol ? collector.set(metrics::ProxyListenerSeries::get().layout, {{"listener", l.name}}) : nullptr);
  }
  rt.unrouted_series = collector.set(metrics::UnroutedSeries::get().layout, {{"route", ""}});
}

}  // namespace

std::shared_ptr<const Runtime> Runtime::build(config::Config cfg, std::vector<std::string>& errors,
                                              Registries& shared, const Runtime* same_file) {
  auto rt = std::make_shared<Runtime>();
  rt->config = std::move(cfg);
  // A discovered entry stands for the backends its name resolves to now (none before the first
  // answer); an address two entries both name is one backend of the route.
  for (auto& route : rt->config.routes) {
    std::vector<config::Backend> expanded;
    std::set<std::string> urls;
    for (auto& b : route.backends) {
      if (b.discover == config::Backend::Discover::none) {
        if (urls.insert(b.url).second) expanded.push_back(std::move(b));
        continue;
      }
      if (!shared.discovery) continue;
      for (auto& d : shared.discovery->backends_of(b))
        if (urls.insert(d.url).second) expanded.push_back(std::move(d));
    }
    route.backends = std::move(expanded);
  }
  const auto& c = rt->config;
  const auto errors_before = errors.size();
  for (const auto& t : c.trusted_proxies)
    if (auto n = config::IpNetwork::parse(t)) rt->trusted_proxies.push_back(*n);

  std::vector<routing::RouteMatch> matches;
  for (const auto& route : c.routes)
    matches.push_back({route.host, route.match_path(),
                       !route.path_exact.empty() ? routing::PathMatch::exact
                       : route.string_prefix     ? routing::PathMatch::string_prefix
                                                 : routing::PathMatch::segment_prefix});
  rt->table = routing::RouteTable(std::move(matches));

  std::vector<ProviderKeys> provider_keys;
  for (const auto& p : c.auth_providers)
    provider_keys.push_back(load_keys(p, c.source_file + ": auth " + p.name, shared.jwks, errors));

  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  for (const auto& route : c.routes) {
    RouteRuntime r;
    r.config = &route;
    routing::PickerConfig pc;
    pc.algorithm = route.hash_algorithm == "maglev" ? routing::HashAlgorithm::maglev
                                                    : routing::HashAlgorithm::ring;
    pc.balance_factor = route.balance_factor;
    pc.balance = route.balance == "least_sessions" ? routing::Balance::least_sessions
                 : route.balance == "round_robin"  ? routing::Balance::round_robin
                                                   : routing::Balance::hash;
    pc.passive_eject_time = route.passive_eject_time;
    pc.shared_loads = route.shared_loads;
    for (const auto& t : route.allow_from)
      if (auto n = config::IpNetwork::parse(t)) r.allow_from.push_back(*n);
    for (const auto& t : route.deny_from)
      if (auto n = config::IpNetwork::parse(t)) r.deny_from.push_back(*n);
    if (route.shared_loads && c.redis) r.loads_store = shared.redis_store(*c.redis);
    pc.check_passes = route.health_check ? route.health_check->healthy_threshold : 0;
    std::vector<std::shared_ptr<routing::BackendState>> states;
    for (const auto& b : route.backends) {
      pc.backends.push_back({b.url, b.weight});
      states.push_back(shared.backends.state(b.url));
      r.backend_ids.push_back(routing::stable_hash(b.url));
    }
    r.picker = std::make_unique<routing::BackendPicker>(std::move(pc), std::move(states));
    if (route.affinity_ttl.count() > 0) {
      // Kept across reloads by route name, so a reload moves nobody; settings that change start afresh.
      auto& table = shared.affinity[route.name];
      if (!table || table->ttl() != route.affinity_ttl || table->max_entries() != route.affinity_max_entries)
        table = std::make_shared<routing::AffinityTable>(route.affinity_max_entries, route.affinity_ttl);
      r.affinity = table;
    }
    if (route.affinity_cookie) {
      r.cookie.emplace(route.affinity_cookie->secret, route.name);
      for (const auto& b : route.backends) r.cookie_ids.push_back(r.cookie->backend_id(b.url));
    }
    bool any_tls = false;
    for (const auto& b : route.backends) {
      boost::system::error_code ec;
      if (!b.address.empty()) {  // discovered: the address DNS gave on the control thread
        r.endpoints.emplace_back(boost::asio::ip::make_address(b.address, ec), b.port);
        any_tls = any_tls || b.tls;
        continue;
      }
      auto results = resolver.resolve(b.host, std::to_string(b.port), ec);
      if (ec || results.empty()) {
        errors.push_back(c.source_file + ": routes " + route.name + ": backend " + b.url +
                         ": cannot resolve " + b.host + ": " + ec.message());
        continue;
      }
      r.endpoints.push_back(results.begin()->endpoint());
      any_tls = any_tls || b.tls;
    }
    if (any_tls) {
      std::string error;
      r.backend_tls = make_client_tls_context(route.backend_ca_file, error);
      if (!r.backend_tls) errors.push_back(c.source_file + ": routes " + route.name + ": " + error);
    }
    for (const auto& policy : c.rate_limits) {
      if (policy.name != route.rate_limit) continue;
      r.limit = &policy;
      auto& limiter = shared.limiters[policy.name];
      if (!limiter) limiter = std::make_shared<ratelimit::SharedLimiter>();
      r.limiter = limiter;
      if (policy.upgrades) r.upgrade_rate = to_rate(*policy.upgrades);
      set_flow_limit(policy.messages, r.message_limits.from_client.messages,
                     r.message_limits.from_client.messages_action);
      set_flow_limit(policy.bytes, r.message_limits.from_client.bytes,
                     r.message_limits.from_client.bytes_action);
      set_flow_limit(policy.backend_messages, r.message_limits.from_backend.messages,
                     r.message_limits.from_backend.messages_action);
      set_flow_limit(policy.backend_bytes, r.message_limits.from_backend.bytes,
                     r.message_limits.from_backend.bytes_action);
      if (policy.store == "redis" && c.redis) r.redis = shared.redis_store(*c.redis);
    }
    if (route.health_check)
      for (const auto& b : route.backends)
        r.checkers.push_back(shared.backends.checker(b, *route.health_check, r.backend_tls.get()));
    for (std::size_t i = 0; i < c.auth_providers.size(); ++i) {
      if (c.auth_providers[i].name != route.auth) continue;
      r.auth = &c.auth_providers[i];
      r.verifier = make_verifier(c.auth_providers[i], route, provider_keys[i]);
      r.jwks = provider_keys[i].remote;
    }
    if (r.auth) r.stripped_tokens = r.auth->token_from;
    if (route.affinity_cookie)
      r.stripped_tokens.push_back({http::TokenSource::Kind::cookie, route.affinity_cookie->name});
    rt->routes.push_back(std::move(r));
  }
  for (const auto& l : c.listeners) {
    auto& trusted = rt->proxy_trusted.emplace_back();
    if (l.proxy_protocol)
      for (const auto& t : l.proxy_protocol->trusted)
        if (auto n = config::IpNetwork::parse(t)) trusted.push_back(*n);
    auto& deny = rt->listener_deny.emplace_back();
    for (const auto& t : l.deny_from)
      if (auto n = config::IpNetwork::parse(t)) deny.push_back(*n);
    if (!l.tls) {
      rt->listener_tls.push_back(nullptr);
      continue;
    }
    if (same_file) {
      rt->listener_tls.push_back(same_file->listener_tls[rt->listener_tls.size()]);
      continue;
    }
    rt->listener_tls.push_back(
        ServerTlsContext::create(*l.tls, l.http2, c.source_file + ": listeners " + l.name, errors));
  }
  if (errors.size() != errors_before) return nullptr;
  attach_series(*rt, shared);
  return rt;
}

std::shared_ptr<RedisStore> Registries::redis_store(const config::RedisSettings& settings) {
  for (const auto& store : redis)
    if (store->settings() == settings) return store;
  if (!control) return nullptr;  // checking a configuration: nothing will connect
  redis.push_back(std::make_shared<RedisStore>(*control, settings));
  return redis.back();
}

void Registries::start_redis() {
  // A store only the registry holds belongs to no configuration in use (a reload changed or
  // rejected it) and no live session's lease: it goes, on this thread, as JWKS sources do.
  std::erase_if(redis, [](const auto& store) { return store.use_count() == 1; });
  for (const auto& store : redis) store->start();
}

void Registries::stop_redis() {
  for (const auto& store : redis) store->stop();
}

void Runtime::apply_limits() const {
  for (const auto& route : routes)
    if (route.limiter) route.limiter->set_message_limits(route.message_limits);
}

}  // namespace wsgate::gateway
