#include "gateway/admin/admin_api.hpp"

#include "gateway/log.hpp"
#include "gateway/admin/status_page.hpp"
#include "metrics/gateway_series.hpp"
#include "routing/stable_hash.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <openssl/crypto.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <set>

namespace wsgate::gateway {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t kHistory = 61;           // samples kept: two minutes at one every 2 s
constexpr auto kSampleEvery = std::chrono::seconds(2);
constexpr std::size_t kMaxSessions = 1000;     // per /api/sessions answer

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

AdminResponse json_response(unsigned status, const json::value& v) {
  return {status, "application/json", json::serialize(v) + "\n", {}};
}

AdminResponse error(unsigned status, std::string_view message) {
  return json_response(status, json::object{{"error", message}});
}

std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

// One query parameter's value (no %-decoding is needed: names, URLs' ids and numbers only).
std::string query_param(const std::string& target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string::npos) return {};
  std::string_view rest = std::string_view(target).substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

std::uint64_t parse_number(std::string_view text, std::uint64_t fallback) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty() ? n : fallback;
}

std::int64_t ms(config::Duration d) { return static_cast<std::int64_t>(d.count()); }

std::string_view kind_name(config::HashKeySource::Kind k) {
  using K = config::HashKeySource::Kind;
  switch (k) {
    case K::claim: return "claim";
    case K::header: return "header";
    case K::cookie: return "cookie";
    case K::query: return "query";
    case K::ip: return "ip";
    case K::cert: return "cert";
  }
  return "";
}

json::object fields_json(const std::vector<std::pair<std::string, std::string>>& fields) {
  json::object out;
  for (const auto& [name, value] : fields) out[name] = value;
  return out;
}

json::object match_json(const config::Route& r) {
  if (!r.path_exact.empty()) return {{"host", r.host}, {"path_exact", r.path_exact}};
  return {{"host", r.host}, {"path_prefix", r.path_prefix}, {"prefix_match", r.string_prefix ? "string" : "segment"}};
}

json::array key_sources(const std::vector<config::HashKeySource>& keys) {
  json::array out;
  for (const auto& k : keys)
    out.emplace_back(k.kind == config::HashKeySource::Kind::ip ? std::string("ip")
                                                               : std::string(kind_name(k.kind)) + ":" + k.name);
  return out;
}

// The status a RequestResult was answered with, as the status page groups rejections.
std::string_view status_of(metrics::RequestResult r) {
  using R = metrics::RequestResult;
  switch (r) {
    case R::ok: return "";
    case R::bad_request: return "400";
    case R::unauthorized: return "401";
    case R::forbidden: return "403";
    case R::no_route: return "404";
    case R::timeout: return "408";
    case R::too_large: return "413/431";
    case R::rate_limited: return "429";
    case R::unavailable: return "503";
    case R::no_backend: return "502";
    case R::backend_error: return "502";
    case R::backend_timeout: return "504";
    case R::backend_refused: return "refused by backend";
    case R::aborted: return "client left";
  }
  return "";
}

json::object health_check_json(const config::HealthCheck& h) {
  return {{"type", h.type}, {"path", h.path}, {"interval_ms", ms(h.interval)}, {"timeout_ms", ms(h.timeout)},
          {"healthy_threshold", h.healthy_threshold}, {"unhealthy_threshold", h.unhealthy_threshold}};
}

std::string_view mode_name(routing::BackendState::Mode m) {
  switch (m) {
    case routing::BackendState::Mode::enabled: return "enabled";
    case routing::BackendState::Mode::draining: return "draining";
    case routing::BackendState::Mode::disabled: return "disabled";
  }
  return "";
}

}  // namespace

AdminApi::AdminApi(Context context) : ctx_(std::move(context)) {}

std::string AdminApi::backend_id(const std::string& url) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(routing::stable_hash(url)));
  return std::string(hex, 12);
}

void AdminApi::start() {
  timer_ = std::make_unique<asio::steady_timer>(*ctx_.control);
  sample();
}

void AdminApi::sample() {
  history_.push_back(take_sample());
  while (history_.size() > kHistory) history_.pop_front();
  timer_->expires_after(kSampleEvery);
  timer_->async_wait([this](boost::system::error_code ec) {
    if (!ec) sample();
  });
}

AdminApi::Sample AdminApi::take_sample() const {
  Sample s;
  s.at_unix = now_unix();
  const auto rt = ctx_.runtime();
  const auto& series = metrics::RouteSeries::get();
  // The route="" set has a layout of its own: its offsets are passed with it.
  auto count_rejections = [&](const metrics::SeriesSet& set, std::size_t upgrades, std::size_t http_requests) {
    for (std::size_t i = 0; i < metrics::request_results.size(); ++i) {
      const auto status = status_of(static_cast<metrics::RequestResult>(i));
      if (status.empty()) continue;
      const auto n = set.counters().sum(upgrades + i) + set.counters().sum(http_requests + i);
      if (n > 0) s.rejections[std::string(status)] += n;
    }
  };
  for (const auto& route : rt->routes) {
    const auto& c = route.series->counters();
    s.routes[route.config->name] = {c.sum(series.messages), c.sum(series.messages + 1), c.sum(series.bytes),
                                    c.sum(series.bytes + 1)};
    count_rejections(*route.series, series.upgrades, series.http_requests);
  }
  const auto& unrouted = metrics::UnroutedSeries::get();
  if (rt->unrouted_series) count_rejections(*rt->unrouted_series, unrouted.upgrades, unrouted.http_requests);
  return s;
}

bool AdminApi::authorized(const AdminRequest& r) const {
  const auto& token = ctx_.runtime()->config.admin.token;
  if (token.empty()) return true;
  const std::string expected = "Bearer " + token;
  return r.authorization.size() == expected.size() &&
         CRYPTO_memcmp(r.authorization.data(), expected.data(), expected.size()) == 0;
}

void AdminApi::handle(AdminRequest r, std::function<void(AdminResponse)> respond) {
  const std::string path = path_of(r.target);
  const bool get = r.method == "GET" || r.method == "HEAD";
  if (path == "/healthz" && get) return respond({200, "text/plain", "ok\n", {}});
  if (path == "/readyz" && get) {
    const bool ready = ctx_.ready->load();
    return respond({ready ? 200u : 503u, "text/plain", ready ? "ready\n" : "draining\n", {}});
  }
  // The page is static and holds no data: it asks for the token itself when the API wants one.
  if (path == "/" && get) return respond({200, "text/html; charset=utf-8", std::string(status_page_html()), {}});
  if (!authorized(r)) {
    log::warn("admin_unauthorized", {{"client", r.peer}, {"method", r.method}, {"path", path}});
    AdminResponse denied = error(401, "a valid bearer token is required");
    denied.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="wsgate-admin")");
    return respond(std::move(denied));
  }
  if (path == "/metrics" && get)
    return respond({200, "text/plain; version=0.0.4; charset=utf-8", ctx_.metrics(), {}});
  if (!path.starts_with("/api/")) return respond({404, "text/plain", "not found\n", {}});

  if (path == "/api/routes" && get) return respond(routes());
  if (path == "/api/backends" && get) return respond(backends());
  if (path == "/api/config" && get) return respond(config());
  if (path == "/api/history" && get) return respond(history());
  if (path == "/api/sessions" && get) return sessions(r.target, std::move(respond));
  if (path == "/api/log-level" && r.method == "PUT") return respond(log_level(r));
  if (path.starts_with("/api/sessions/") && r.method == "DELETE")
    return end_session(path.substr(14), r.target, r, std::move(respond));
  if (path.starts_with("/api/backends/") && r.method == "POST") {
    const std::string rest = path.substr(14);
    const auto slash = rest.find('/');
    if (slash != std::string::npos) return respond(backend_action(r, rest.substr(0, slash), rest.substr(slash + 1)));
  }
  const bool known = path == "/api/routes" || path == "/api/backends" || path == "/api/config" ||
                     path == "/api/history" || path == "/api/sessions" || path == "/api/log-level" ||
                     path.starts_with("/api/sessions/") || path.starts_with("/api/backends/");
  respond(known ? error(405, "method not allowed here") : error(404, "no such API"));
}

AdminResponse AdminApi::routes() const {
  const auto rt = ctx_.runtime();
  const auto& series = metrics::RouteSeries::get();
  json::array out;
  for (const auto& route : rt->routes) {
    const auto& c = *route.config;
    json::array backends;
    for (std::size_t b = 0; b < c.backends.size(); ++b)
      backends.push_back(json::object{{"id", backend_id(c.backends[b].url)}, {"url", c.backends[b].url},
                                      {"weight", c.backends[b].weight}});
    const auto& counters = route.series->counters();
    std::uint64_t rejected = 0;
    for (std::size_t i = 1; i < metrics::request_results.size(); ++i)
      rejected += counters.sum(series.upgrades + i) + counters.sum(series.http_requests + i);
    std::int64_t sessions = 0;
    for (const auto& bs : route.backend_series)
      sessions += static_cast<std::int64_t>(bs->counters().sum(metrics::BackendSeries::get().sessions_active));
    out.push_back(json::object{
        {"name", c.name},
        {"match", match_json(c)},
        {"backends", std::move(backends)},
        {"hash_key", key_sources(c.hash_key)},
        {"balance", c.balance}, {"hash_algorithm", c.hash_algorithm},
        {"balance_factor", c.balance_factor},
        {"affinity_ttl_ms", ms(c.affinity_ttl)},
        {"affinity_cookie", c.affinity_cookie ? json::value(c.affinity_cookie->name) : json::value(nullptr)},
        {"auth", c.auth.empty() ? json::value(nullptr) : json::value(c.auth)},
        {"rate_limit", c.rate_limit.empty() ? json::value(nullptr) : json::value(c.rate_limit)},
        {"allowed_origins", json::value_from(c.allowed_origins)},
        {"health_check", c.health_check ? json::value(health_check_json(*c.health_check)) : json::value(nullptr)},
        {"stats", json::object{{"sessions", sessions},
                               {"upgrades_ok", counters.sum(series.upgrades)},
                               {"requests_ok", counters.sum(series.http_requests)},
                               {"rejected", rejected},
                               {"messages_in", counters.sum(series.messages)},
                               {"messages_out", counters.sum(series.messages + 1)},
                               {"bytes_in", counters.sum(series.bytes)},
                               {"bytes_out", counters.sum(series.bytes + 1)}}},
    });
  }
  return json_response(200, out);
}

AdminResponse AdminApi::backends() const {
  const auto rt = ctx_.runtime();
  const auto now = routing::BackendState::Clock::now();
  std::map<std::string, json::object> by_url;
  std::vector<std::string> order;
  for (const auto& route : rt->routes) {
    const auto& c = *route.config;
    for (std::size_t b = 0; b < c.backends.size(); ++b) {
      const auto& url = c.backends[b].url;
      const auto& state = route.picker->state(b);
      const auto sessions = route.backend_series[b]->counters().sum(metrics::BackendSeries::get().sessions_active);
      auto [it, fresh] = by_url.try_emplace(url);
      auto& o = it->second;
      if (fresh) {
        order.push_back(url);
        const bool checked = state.last_check.at_unix > 0;
        o = json::object{
            {"id", backend_id(url)},
            {"url", url},
            // The discover: entry it stands for (null: written in the file as it is).
            {"discovered_from", c.backends[b].discovered_from.empty() ? json::value(nullptr)
                                                                     : json::value(c.backends[b].discovered_from)},
            {"health", !checked ? "unchecked" : state.healthy() ? "healthy" : "unhealthy"},
            {"health_since_unix", checked ? json::value(state.health_since_unix) : json::value(nullptr)},
            {"last_check", checked ? json::value(json::object{{"ok", state.last_check.ok},
                                                                {"detail", state.last_check.detail},
                                                                {"at_unix", state.last_check.at_unix}})
                                   : json::value(nullptr)},
            {"passively_ejected", state.passively_ejected(now)},
            {"mode", mode_name(state.mode())},
            {"load", state.load()},
            {"sessions", 0},
            {"routes", json::array{}},
        };
      }
      o["sessions"] = o["sessions"].to_number<std::int64_t>() + static_cast<std::int64_t>(sessions);
      o["routes"].as_array().push_back(json::object{{"route", c.name}, {"weight", c.backends[b].weight}});
    }
  }
  // Discovered backends stand together under the name they came from, in address order.
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    const auto from = [&](const std::string& url) {
      const auto& v = by_url[url].at("discovered_from");
      return v.is_null() ? std::string() : std::string(v.as_string());
    };
    return from(a) < from(b);
  });
  json::array out;
  for (const auto& url : order) out.push_back(std::move(by_url[url]));
  return json_response(200, out);
}

// The effective configuration (defaults filled in), every secret left out: key and token files
// are named, their contents never shown, and the Redis password is "(set)".
AdminResponse AdminApi::config() const {
  const auto rt = ctx_.runtime();
  const auto& c = rt->config;
  json::array listeners;
  for (const auto& l : c.listeners) {
    json::array certs;
    if (l.tls)
      for (const auto& cert : l.tls->certificates)
        certs.push_back(json::object{{"cert", cert.cert_file}, {"key", cert.key_file}});
    listeners.push_back(json::object{
        {"name", l.name}, {"bind", l.bind.host + ":" + std::to_string(l.bind.port)},
        {"reuse_port_with_others", l.reuse_port_with_others},
        {"tls", l.tls ? json::value(json::object{{"certificates", std::move(certs)}, {"min_version", l.tls->min_version}})
                      : json::value(nullptr)}});
  }
  json::array providers;
  for (const auto& p : c.auth_providers) {
    json::array keys;
    for (const auto& k : p.keys) {
      json::object key{{"kid", k.kid}};
      if (!k.secret_file.empty()) key["secret_file"] = k.secret_file;
      if (!k.pem_file.empty()) key["pem_file"] = k.pem_file;
      if (!k.jwks_file.empty()) key["jwks_file"] = k.jwks_file;
      if (k.jwks_url) key["jwks_url"] = k.jwks_url->url;
      keys.push_back(std::move(key));
    }
    json::array claims;
    for (const auto& [claim, header] : p.forward_claims) claims.push_back(json::object{{"claim", claim}, {"header", header}});
    providers.push_back(json::object{{"name", p.name}, {"issuer", p.issuer},
                                     {"audiences", json::value_from(p.audiences)},
                                     {"algorithms", json::value_from(p.algorithms)}, {"keys", std::move(keys)},
                                     {"leeway_ms", ms(p.leeway)}, {"forward_claims", std::move(claims)}});
  }
  json::array policies;
  for (const auto& p : c.rate_limits)
    policies.push_back(json::object{{"name", p.name}, {"key", key_sources(p.key)}, {"store", p.store},
                                    {"max_sessions", p.max_sessions}, {"fail_open", p.fail_open},
                                    {"upgrades", p.upgrades ? json::value(json::object{{"rate", p.upgrades->rate},
                                                                                        {"per_ms", ms(p.upgrades->per)},
                                                                                        {"burst", p.upgrades->burst}})
                                                            : json::value(nullptr)}});
  json::array routes;
  for (const auto& r : c.routes) {
    json::array backends;
    for (const auto& b : r.backends) backends.push_back(json::object{{"url", b.url}, {"weight", b.weight}});
    routes.push_back(json::object{
        {"name", r.name}, {"match", match_json(r)}, {"rewrite_to", r.rewrite_to},
        {"request_headers", json::object{{"set", fields_json(r.request_headers.set)},
                                         {"remove", json::array(r.request_headers.remove.begin(), r.request_headers.remove.end())}}},
        {"response_headers", json::object{{"set", fields_json(r.response_headers)}}},
        {"backends", std::move(backends)},
        {"balance", r.balance}, {"hash_algorithm", r.hash_algorithm}, {"hash_key", key_sources(r.hash_key)},
        {"balance_factor", r.balance_factor}, {"affinity_ttl_ms", ms(r.affinity_ttl)},
        {"affinity_max_entries", r.affinity_max_entries},
        {"affinity_cookie", r.affinity_cookie
                                ? json::value(json::object{{"name", r.affinity_cookie->name},
                                                           {"ttl_ms", ms(r.affinity_cookie->ttl)},
                                                           {"secure", r.affinity_cookie->secure},
                                                           {"same_site", r.affinity_cookie->same_site},
                                                           {"secret_file", r.affinity_cookie->secret_file}})
                                : json::value(nullptr)},
        {"passive_eject_time_ms", ms(r.passive_eject_time)},
        {"health_check", r.health_check ? json::value(health_check_json(*r.health_check)) : json::value(nullptr)},
        {"backend_drain_timeout_ms", ms(r.backend_drain_timeout)}, {"backend_ca_file", r.backend_ca_file},
        {"connect_timeout_ms", ms(r.connect_timeout)}, {"response_timeout_ms", ms(r.response_timeout)},
        {"limits", json::object{{"max_message", r.limits.max_message}, {"idle_timeout_ms", ms(r.limits.idle_timeout)},
                                {"ping_interval_ms", ms(r.limits.ping_interval)},
                                {"pong_timeout_ms", ms(r.limits.pong_timeout)},
                                {"max_frame_buffer", r.limits.max_frame_buffer}}},
        {"allowed_origins", json::value_from(r.allowed_origins)}, {"auth", r.auth},
        {"close_at_expiry", r.close_at_expiry}, {"rate_limit", r.rate_limit}});
  }
  json::object out{
      {"generation", ctx_.generation},
      {"source_file", c.source_file},
      {"threads", c.threads},
      {"log", json::object{{"format", c.log.format}, {"level", c.log.level}}},
      {"listeners", std::move(listeners)},
      {"admin", json::object{{"enabled", c.admin.enabled},
                             {"bind", c.admin.bind.host + ":" + std::to_string(c.admin.bind.port)},
                             {"token_file", c.admin.token_file}}},
      {"http", json::object{{"max_header_bytes", c.http.max_header_bytes}, {"max_headers", c.http.max_headers},
                            {"header_timeout_ms", ms(c.http.header_timeout)}, {"max_body", c.http.max_body},
                            {"keepalive_timeout_ms", ms(c.http.keepalive_timeout)}}},
      {"drain", json::object{{"delay_ms", ms(c.drain.delay)}, {"timeout_ms", ms(c.drain.timeout)}}},
      {"handover", json::object{{"timeout_ms", ms(c.handover.timeout)}}},
      {"auth_providers", std::move(providers)},
      {"trusted_proxies", json::value_from(c.trusted_proxies)},
      {"rate_limits", std::move(policies)},
      {"redis", c.redis ? json::value(json::object{
                              {"address", c.redis->address.host + ":" + std::to_string(c.redis->address.port)},
                              {"password", c.redis->password.empty() ? "" : "(set)"},
                              {"timeout_ms", ms(c.redis->timeout)},
                              {"session_lease_ms", ms(c.redis->session_lease)},
                              {"key_prefix", c.redis->key_prefix}})
                        : json::value(nullptr)},
      {"routes", std::move(routes)},
  };
  return json_response(200, out);
}

// Rates between consecutive samples, per route, and rejections by status over the window.
AdminResponse AdminApi::history() const {
  json::array samples;
  for (std::size_t i = 1; i < history_.size(); ++i) {
    const auto& a = history_[i - 1];
    const auto& b = history_[i];
    const double dt = std::max(0.001, b.at_unix - a.at_unix);
    json::object routes;
    for (const auto& entry : b.routes) {
      const auto it = a.routes.find(entry.first);
      if (it == a.routes.end()) continue;
      const auto& now = entry.second;  // a structured binding cannot be captured (C++20, clang 14)
      auto rate = [&](std::size_t k) { return static_cast<double>(now[k] - it->second[k]) / dt; };
      routes[entry.first] = json::object{{"messages_in", rate(0)}, {"messages_out", rate(1)},
                                  {"bytes_in", rate(2)}, {"bytes_out", rate(3)}};
    }
    samples.push_back(json::object{{"at_unix", b.at_unix}, {"routes", std::move(routes)}});
  }
  json::object rejections;
  if (history_.size() >= 2) {
    for (const auto& [status, n] : history_.back().rejections) {
      const auto it = history_.front().rejections.find(status);
      const auto before = it == history_.front().rejections.end() ? 0 : it->second;
      if (n > before) rejections[status] = n - before;
    }
  }
  const double window = history_.size() >= 2 ? history_.back().at_unix - history_.front().at_unix : 0;
  return json_response(200, json::object{{"generation", ctx_.generation}, {"interval_s", static_cast<double>(kSampleEvery.count())},
                                         {"window_s", window},
                                         {"samples", std::move(samples)},
                                         {"rejections", std::move(rejections)}});
}

AdminResponse AdminApi::log_level(const AdminRequest& r) {
  std::string level = r.body;
  boost::system::error_code ec;
  const auto parsed = json::parse(r.body, ec);
  if (!ec && parsed.is_object() && parsed.as_object().contains("level") && parsed.at("level").is_string())
    level = std::string(parsed.at("level").as_string());
  while (!level.empty() && std::isspace(static_cast<unsigned char>(level.back()))) level.pop_back();
  if (level != "debug" && level != "info" && level != "warn" && level != "error")
    return error(400, R"(the body must be debug, info, warn or error (or {"level": ...}))");
  log::configure(level, ctx_.runtime()->config.log.format);
  log::warn("admin_action", {{"client", r.peer}, {"action", "log-level"}, {"level", level}});
  return json_response(200, json::object{{"level", level}});
}

AdminResponse AdminApi::backend_action(const AdminRequest& r, const std::string& id, const std::string& action) {
  using Mode = routing::BackendState::Mode;
  Mode mode;
  if (action == "drain") mode = Mode::draining;
  else if (action == "disable") mode = Mode::disabled;
  else if (action == "enable") mode = Mode::enabled;
  else return error(404, "the actions are drain, disable and enable");
  const auto rt = ctx_.runtime();
  std::string url;
  for (const auto& route : rt->routes)
    for (std::size_t b = 0; b < route.config->backends.size(); ++b)
      if (backend_id(route.config->backends[b].url) == id) {
        url = route.config->backends[b].url;
        route.picker->state(b).set_mode(mode);  // one state per URL: every route sees it
      }
  if (url.empty()) return error(404, "no backend with that id");
  log::warn("admin_action", {{"client", r.peer}, {"action", action}, {"backend", url}});
  if (mode == Mode::disabled) ctx_.end_backend_sessions(url);
  return json_response(200, json::object{{"id", id}, {"url", url}, {"mode", mode_name(mode)}});
}

void AdminApi::sessions(const std::string& target, std::function<void(AdminResponse)> respond) {
  const std::string route = query_param(target, "route");
  std::string backend = query_param(target, "backend");
  const std::size_t limit = std::min<std::size_t>(parse_number(query_param(target, "limit"), 100), kMaxSessions);
  if (!backend.empty() && backend.find("://") == std::string::npos) {
    // An id: the URL it stands for.
    const auto rt = ctx_.runtime();
    std::string url;
    for (const auto& r : rt->routes)
      for (const auto& b : r.config->backends)
        if (backend_id(b.url) == backend) url = b.url;
    if (url.empty()) return respond(error(404, "no backend with that id"));
    backend = url;
  }
  // Each io thread describes its own sessions; the answer goes out when the last has.
  struct Gather {
    std::vector<SessionView> found;
    std::size_t waiting = 0;
    std::function<void(AdminResponse)> respond;
    std::size_t limit = 0;
  };
  auto g = std::make_shared<Gather>();
  g->waiting = ctx_.workers.size();
  g->respond = std::move(respond);
  g->limit = limit;
  auto* control = ctx_.control;
  auto finish = [g] {
    json::array out;
    for (auto& v : g->found) {
      if (out.size() >= g->limit) break;
      char key[17];
      std::snprintf(key, sizeof key, "%016llx", static_cast<unsigned long long>(v.key_hash));
      out.push_back(json::object{{"id", v.id}, {"route", v.route}, {"backend", v.backend},
                                 {"backend_id", backend_id(v.backend)}, {"client", v.client},
                                 {"key_hash", v.key_hash ? json::value(key) : json::value(nullptr)},
                                 {"age_seconds", v.age_seconds},
                                 {"messages_in", v.messages_in}, {"messages_out", v.messages_out},
                                 {"bytes_in", v.bytes_in}, {"bytes_out", v.bytes_out}});
    }
    g->respond(json_response(200, json::object{{"sessions", std::move(out)},
                                               {"truncated", g->found.size() > g->limit}}));
  };
  if (g->waiting == 0) return finish();
  for (const auto& w : ctx_.workers) {
    asio::post(*w.io, [w, g, route, backend, limit, control, finish] {
      // One more than the limit, so the answer can say whether it was cut.
      auto views = w.registry->describe(route, backend, limit + 1);
      asio::post(*control, [g, views = std::move(views), finish]() mutable {
        for (auto& v : views) g->found.push_back(std::move(v));
        if (--g->waiting == 0) finish();
      });
    });
  }
}

void AdminApi::end_session(const std::string& id, const std::string& target, const AdminRequest& r,
                           std::function<void(AdminResponse)> respond) {
  const auto dash = id.find('-');
  const auto thread = parse_number(std::string_view(id).substr(0, dash), UINT64_MAX);
  const auto number = dash == std::string::npos ? 0 : parse_number(std::string_view(id).substr(dash + 1), 0);
  if (thread >= ctx_.workers.size() || number == 0) return respond(error(404, "no session with that id"));
  const std::string code_text = query_param(target, "code");
  const auto code = code_text.empty() ? 1008 : parse_number(code_text, 0);
  // Codes an endpoint may send (RFC 6455 7.4): 1000-1003, 1007-1014, 3000-4999.
  const bool sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                        (code >= 3000 && code <= 4999);
  if (!sendable) return respond(error(400, "code must be a close code an endpoint may send: 1000-1003, 1007-1014, 3000-4999"));
  log::warn("admin_action", {{"client", r.peer}, {"action", "end-session"}, {"session", id},
                             {"code", code}});
  const auto w = ctx_.workers[thread];
  auto* control = ctx_.control;
  asio::post(*w.io, [w, number, code, control, id, respond = std::move(respond)]() mutable {
    const bool ended = w.registry->end_session(number, static_cast<std::uint16_t>(code));
    asio::post(*control, [ended, id, code, respond = std::move(respond)] {
      respond(ended ? json_response(200, json::object{{"id", id}, {"code", code}})
                    : error(404, "no session with that id"));
    });
  });
}

}  // namespace wsgate::gateway
