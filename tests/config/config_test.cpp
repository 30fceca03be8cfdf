#include "config/config.hpp"
#include "config/config_keys.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace wsgate::config {
namespace {

using namespace std::chrono_literals;

EnvLookup no_env() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

LoadResult load(const std::string& yaml, EnvLookup env = no_env()) {
  return load_config_text(yaml, "gw.yaml", "/etc/wsgate", env);
}

const char* kMinimal = R"(
listeners:
  - name: public
    bind: 127.0.0.1:8080
routes:
  - name: chat
    match: { path_prefix: /chat }
    backends: [ "ws://127.0.0.1:9001", "wss://backend.example:9443", "ws://[::1]" ]
)";

TEST(Config, MinimalFileGetsDefaults) {
  auto r = load(kMinimal);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const Config& c = *r.config;
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].bind.port, 8080);
  EXPECT_FALSE(c.listeners[0].tls);
  EXPECT_EQ(c.admin.bind.host, "127.0.0.1");
  EXPECT_EQ(c.http.header_timeout, 10s);
  ASSERT_EQ(c.routes.size(), 1u);
  const Route& route = c.routes[0];
  EXPECT_EQ(route.path_prefix, "/chat");
  EXPECT_EQ(route.limits.max_message, 1u << 20);
  ASSERT_EQ(route.backends.size(), 3u);
  EXPECT_FALSE(route.backends[0].tls);
  EXPECT_EQ(route.backends[0].port, 9001);
  EXPECT_TRUE(route.backends[1].tls);
  EXPECT_EQ(route.backends[1].host, "backend.example");
  EXPECT_EQ(route.backends[2].host, "::1");
  EXPECT_EQ(route.backends[2].port, 80);  // the scheme's default
}

TEST(Config, EveryOptionIsRead) {
  auto r = load(R"(
threads: 3
log: { format: json, level: debug }
listeners: [ { name: a, bind: "0.0.0.0:80" } ]
admin: { bind: "127.0.0.1:9200" }
http: { max_header_bytes: 8KiB, max_headers: 50, header_timeout: 2s, max_body: 64KiB, keepalive_timeout: 5s }
drain: { delay: 2s, timeout: 3s }
routes:
  - name: r
    match: { host: chat.example.com, path_prefix: / }
    backends: [ "ws://127.0.0.1:1" ]
    connect_timeout: 1s
    response_timeout: 2s
    limits: { max_message: 64KiB, idle_timeout: 30s, ping_interval: 0s, pong_timeout: 5s, max_frame_buffer: 16KiB }
    allowed_origins: [ "https://app.example.com" ]
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const Config& c = *r.config;
  EXPECT_EQ(c.threads, 3u);
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.admin.bind.port, 9200);
  EXPECT_EQ(c.http.max_header_bytes, 8192u);
  EXPECT_EQ(c.http.max_headers, 50u);
  EXPECT_EQ(c.http.keepalive_timeout, 5s);
  EXPECT_EQ(c.drain.delay, 2s);
  EXPECT_EQ(c.drain.timeout, 3s);
  EXPECT_TRUE(r.warnings.empty());
  const Route& route = c.routes[0];
  EXPECT_EQ(route.host, "chat.example.com");
  EXPECT_EQ(route.connect_timeout, 1s);
  EXPECT_EQ(route.limits.max_message, 65536u);
  EXPECT_EQ(route.limits.ping_interval, 0s);
  EXPECT_EQ(route.limits.max_frame_buffer, 16384u);
  EXPECT_EQ(route.allowed_origins, std::vector<std::string>{"https://app.example.com"});
}

TEST(Config, EnvironmentVariables) {
  auto env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "BACKEND_PORT") return "9100";
    return std::nullopt;
  };
  auto r = load(R"(
listeners: [ { bind: "127.0.0.1:8080" } ]
routes: [ { backends: [ "ws://127.0.0.1:${BACKEND_PORT}" ] } ]
)", env);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.config->routes[0].backends[0].port, 9100);
  auto missing = load(R"(
listeners: [ { bind: "127.0.0.1:${NOT_SET}" } ]
routes: [ { backends: [ "ws://127.0.0.1:1" ] } ]
)");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0], "gw.yaml:2:22: listeners[0].bind: environment variable NOT_SET is not set");
}

TEST(Config, EveryErrorWithLineAndColumn) {
  auto r = load(R"(listeners:
  - name: public
    bind: nowhere
    tls: { certificates: [ { cert: missing.crt, key: missing.key } ], min_version: "1.1" }
  - name: public
    bind: 127.0.0.1:1
admin: { bnd: 1 }
http: { header_timeout: 10 }
routes:
  - name: chat
    match: { path_prefix: chat }
    backends: []
  - name: chat
    backends: [ "http://127.0.0.1:1" ]
    limits: { max_message: 1GiBB }
)");
  const std::vector<std::string> expected{
      "gw.yaml:3:11: listeners[0].bind: must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080",
      "gw.yaml:4:84: listeners[0].tls.min_version: must be one of 1.2, 1.3",
      "gw.yaml:4:36: listeners[0].tls.certificates[0].cert: cannot read file /etc/wsgate/missing.crt",
      "gw.yaml:4:54: listeners[0].tls.certificates[0].key: cannot read file /etc/wsgate/missing.key",
      "gw.yaml:5:5: listeners[1].name: duplicate name public",
      "gw.yaml:7:10: admin.bnd: unknown key",
      "gw.yaml:8:25: http.header_timeout: must be a duration such as 250ms, 30s, 5m or 1h",
      "gw.yaml:11:27: routes[0].match.path_prefix: must start with /",
      "gw.yaml:12:15: routes[0].backends: must not be empty",
      "gw.yaml:13:5: routes[1].name: duplicate name chat",
      "gw.yaml:14:17: routes[1].backends[0]: must be ws://HOST:PORT or wss://HOST:PORT",
      "gw.yaml:15:28: routes[1].limits.max_message: must be a size such as 512, 64KiB or 1MiB",
  };
  EXPECT_EQ(r.errors, expected);
  EXPECT_FALSE(r.config);
}

// Beast throws on a field longer than 64 KiB; a larger limit let one request header end the process.
TEST(Config, MaxHeaderBytesStopsAt64KiB) {
  auto r = load("listeners: [ { bind: \"127.0.0.1:1\" } ]\nhttp: { max_header_bytes: 1MiB }\n"
                "routes: [ { backends: [ \"ws://127.0.0.1:1\" ] } ]\n");
  const std::vector<std::string> expected{
      "gw.yaml:2:27: http.max_header_bytes: must be between 1024 and 65536"};
  EXPECT_EQ(r.errors, expected);
  r = load("listeners: [ { bind: \"127.0.0.1:1\" } ]\nhttp: { max_header_bytes: 64KiB }\n"
           "routes: [ { backends: [ \"ws://127.0.0.1:1\" ] } ]\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.config->http.max_header_bytes, 65536u);
}

TEST(Config, MissingSectionsAndTypos) {
  auto r = load("listenrs: []\n");
  const std::vector<std::string> expected{
      "gw.yaml:1:1: listenrs: unknown key",
      "gw.yaml:1:1: listeners: is required",
      "gw.yaml:1:1: routes: is required",
  };
  EXPECT_EQ(r.errors, expected);
}

TEST(Config, YamlSyntaxError) {
  auto r = load("listeners: [ { bind: 1 \n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(r.errors[0].starts_with("gw.yaml:")) << r.errors[0];
}

TEST(Config, SameMatchTwiceIsAnError) {
  auto r = load(R"(
listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - { name: a, match: { path_prefix: /x }, backends: [ "ws://127.0.0.1:1" ] }
  - { name: b, match: { path_prefix: /x }, backends: [ "ws://127.0.0.1:1" ] }
)");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "gw.yaml:5:23: routes[1].match: same host and path as an earlier route");
}

TEST(Config, ExactAndSegmentMatches) {
  auto r = load(R"(
listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - { name: a, match: { path_exact: /x }, backends: [ "ws://127.0.0.1:1" ] }
  - { name: b, match: { path_prefix: /x }, backends: [ "ws://127.0.0.1:1" ] }
  - { name: c, match: { path_prefix: /y, prefix_match: string }, backends: [ "ws://127.0.0.1:1" ] }
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const auto& routes = r.config->routes;
  EXPECT_EQ(routes[0].path_exact, "/x");
  EXPECT_EQ(routes[0].match_path(), "/x");
  EXPECT_FALSE(routes[1].string_prefix);
  EXPECT_TRUE(routes[2].string_prefix);
}

TEST(Config, MatchMistakes) {
  auto r = load(R"(
listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - { name: a, match: { path_prefix: /x, path_exact: /x }, backends: [ "ws://127.0.0.1:1" ] }
  - { name: b, match: { path_exact: /y, prefix_match: string }, backends: [ "ws://127.0.0.1:1" ] }
  - { name: c, match: { path_prefix: /z, prefix_match: regex }, backends: [ "ws://127.0.0.1:1" ] }
  - { name: d, match: { path_exact: y }, backends: [ "ws://127.0.0.1:1" ] }
  - { name: e, match: { path_exact: /y }, backends: [ "ws://127.0.0.1:1" ] }
)");
  const std::vector<std::string> expected{
      "gw.yaml:4:54: routes[0].match.path_exact: a route has path_prefix or path_exact, not both",
      "gw.yaml:5:55: routes[1].match.prefix_match: applies to path_prefix only",
      "gw.yaml:6:56: routes[2].match.prefix_match: must be one of segment, string",
      "gw.yaml:7:37: routes[3].match.path_exact: must start with /",
      "gw.yaml:8:23: routes[4].match: same host and path as an earlier route",
  };
  EXPECT_EQ(r.errors, expected);
}

// A cookie token with any Origin let another site's page open sessions as its visitor.
TEST(ConfigAuth, ACookieTokenNeedsAnOriginAllowlist) {
  const std::string head = R"(listeners: [ { bind: "127.0.0.1:1" } ]
auth:
  providers:
    - { name: web, algorithms: [ HS256 ], keys: [ { secret_file: /dev/null } ], token_from: [ "cookie:sid" ] }
    - { name: api, algorithms: [ HS256 ], keys: [ { secret_file: /dev/null } ] }
routes:
)";
  auto bad = load_config_text(head + R"(  - { match: { path_prefix: /a }, backends: [ "ws://127.0.0.1:1" ], auth: web }
  - { match: { path_prefix: /b }, backends: [ "ws://127.0.0.1:1" ], auth: web, allowed_origins: [] }
)", "gw.yaml", "/tmp", no_env());
  const std::string why = ": must list the origins allowed to open sessions: provider web reads tokens from cookie "
                          "sid, which a browser also sends when a page on another site opens the WebSocket "
                          "(cross-site WebSocket hijacking)";
  const std::vector<std::string> expected{"gw.yaml:7:75: routes[0].allowed_origins" + why,  // at auth
                                          "gw.yaml:8:97: routes[1].allowed_origins" + why};
  EXPECT_EQ(bad.errors, expected);
  auto good = load_config_text(head + R"(  - { match: { path_prefix: /a }, backends: [ "ws://127.0.0.1:1" ], auth: web, allowed_origins: [ "https://a.example" ] }
  - { match: { path_prefix: /b }, backends: [ "ws://127.0.0.1:1" ], auth: api }
)", "gw.yaml", "/tmp", no_env());
  EXPECT_TRUE(good.errors.empty()) << good.errors.front();
  EXPECT_EQ(good.config->auth_providers[1].token_from.size(), 3u) << "no cookie by default";
}

TEST(Config, RelativePathsResolveAgainstTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / "wsgate_config_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.crt") << "x";
  std::ofstream(dir / "a.key") << "x";
  std::ofstream(dir / "gw.yaml") << R"(
listeners:
  - bind: "127.0.0.1:1"
    tls: { certificates: [ { cert: a.crt, key: a.key } ] }
routes: [ { backends: [ "ws://127.0.0.1:1" ] } ]
)";
  auto r = load_config_file((dir / "gw.yaml").string(), no_env());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.config->listeners[0].tls->certificates[0].cert_file, (dir / "a.crt").string());
  std::filesystem::remove_all(dir);
}

TEST(Config, UnreadableFile) {
  auto r = load_config_file("/nonexistent/gw.yaml", no_env());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "/nonexistent/gw.yaml:1:1: cannot read file");
}

}  // namespace
}  // namespace wsgate::config

namespace wsgate::config {
namespace {

TEST(ConfigAuth, ProvidersAndRouteAuth) {
  const auto dir = std::filesystem::temp_directory_path() / "wsgate_config_auth_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "dev.secret") << "0123456789abcdef0123456789abcdef";
  auto r = load_config_text(R"(
listeners: [ { bind: "127.0.0.1:1" } ]
auth:
  providers:
    - name: dev
      issuer: wsgate-dev
      audiences: [ wsgate ]
      algorithms: [ HS256, EdDSA ]
      keys: [ { secret_file: dev.secret, kid: k1 } ]
      token_from: [ "header:Authorization", "query:t", protocol ]
      leeway: 5s
      forward_claims: { sub: X-User-Id }
routes:
  - backends: [ "ws://127.0.0.1:1" ]
    auth: dev
    require_claims: [ { claim: scope, contains: chat }, { claim: tier, equals: gold } ]
    close_at_expiry: true
)", "gw.yaml", dir.string(), no_env());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const auto& p = r.config->auth_providers.at(0);
  EXPECT_EQ(p.algorithms, (std::vector<std::string>{"HS256", "EdDSA"}));
  EXPECT_EQ(p.keys.at(0).secret_file, (dir / "dev.secret").string());
  EXPECT_EQ(p.keys.at(0).kid, "k1");
  ASSERT_EQ(p.token_from.size(), 3u);
  EXPECT_EQ(p.token_from[1].kind, TokenSource::Kind::query);
  EXPECT_EQ(p.token_from[1].name, "t");
  EXPECT_EQ(p.token_from[2].kind, TokenSource::Kind::protocol);
  EXPECT_EQ(p.leeway, std::chrono::seconds(5));
  EXPECT_EQ(p.forward_claims.at(0), (std::pair<std::string, std::string>{"sub", "X-User-Id"}));
  const auto& route = r.config->routes.at(0);
  EXPECT_EQ(route.auth, "dev");
  ASSERT_EQ(route.require_claims.size(), 2u);
  EXPECT_TRUE(route.require_claims[0].contains);
  EXPECT_FALSE(route.require_claims[1].contains);
  EXPECT_TRUE(route.close_at_expiry);
  std::filesystem::remove_all(dir);
}

TEST(ConfigAuth, JwksUrl) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
auth:
  providers:
    - name: idp
      algorithms: [ RS256 ]
      keys:
        - jwks_url: "https://idp.example:8443/.well-known/jwks.json?v=2"
          refresh_interval: 10m
          min_refresh_interval: 5s
        - jwks_url: "https://[::1]/keys"
          ca_file: /dev/null
routes: [ { backends: [ "ws://127.0.0.1:1" ], auth: idp } ]
)", "gw.yaml", "/tmp", no_env());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const auto& a = *r.config->auth_providers.at(0).keys.at(0).jwks_url;
  EXPECT_EQ(a.host, "idp.example");
  EXPECT_EQ(a.port, 8443);
  EXPECT_EQ(a.target, "/.well-known/jwks.json?v=2");
  EXPECT_EQ(a.refresh_interval, std::chrono::minutes(10));
  EXPECT_EQ(a.min_refresh_interval, std::chrono::seconds(5));
  EXPECT_EQ(a.fetch_timeout, std::chrono::seconds(10));
  const auto& b = *r.config->auth_providers.at(0).keys.at(1).jwks_url;
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 443);
  EXPECT_EQ(b.target, "/keys");
  EXPECT_EQ(b.ca_file, "/dev/null");
}

TEST(ConfigAuth, JwksUrlMistakes) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
auth:
  providers:
    - name: idp
      algorithms: [ RS256 ]
      keys:
        - jwks_url: "http://idp.example/jwks"
        - { jwks_url: "https://idp.example/jwks", refresh_interval: 1s, min_refresh_interval: 5s }
        - { pem_file: /dev/null, refresh_interval: 1m }
routes: [ { backends: [ "ws://127.0.0.1:1" ], auth: idp } ]
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:7:21: auth.providers[0].keys[0].jwks_url: must be an https:// URL without user or fragment",
      "gw.yaml:8:11: auth.providers[0].keys[1]: needs 0 < min_refresh_interval <= refresh_interval",
      "gw.yaml:9:11: auth.providers[0].keys[2]: ca_file and the refresh settings go with jwks_url only",
  };
  EXPECT_EQ(r.errors, expected);
}

TEST(ConfigRoutes, HashingAndHealthChecks) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
trusted_proxies: [ "10.0.0.0/8", "::1" ]
routes:
  - backends: [ "ws://127.0.0.1:1", { url: "ws://127.0.0.1:2", weight: 3 } ]
    hash_algorithm: maglev
    hash_key: [ "header:X-Client", "ip" ]
    balance_factor: 1.25
    health_check: { type: websocket, path: /ws, interval: 1s, healthy_threshold: 3 }
    backend_drain_timeout: 30s
)", "gw.yaml", "/tmp", no_env());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const auto& route = r.config->routes.at(0);
  EXPECT_EQ(route.backends.at(1).weight, 3u);
  EXPECT_EQ(route.hash_algorithm, "maglev");
  ASSERT_EQ(route.hash_key.size(), 2u);
  EXPECT_EQ(route.hash_key[0].kind, HashKeySource::Kind::header);
  EXPECT_EQ(route.hash_key[0].name, "X-Client");
  EXPECT_DOUBLE_EQ(route.balance_factor, 1.25);
  ASSERT_TRUE(route.health_check);
  EXPECT_EQ(route.health_check->type, "websocket");
  EXPECT_EQ(route.health_check->interval, std::chrono::seconds(1));
  EXPECT_EQ(route.health_check->timeout, std::chrono::seconds(2));  // default kept
  EXPECT_EQ(route.health_check->healthy_threshold, 3u);
  EXPECT_EQ(route.backend_drain_timeout, std::chrono::seconds(30));
  EXPECT_EQ(r.config->trusted_proxies.size(), 2u);
}

TEST(ConfigRoutes, HashingMistakes) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
trusted_proxies: [ "10.0.0.0/33" ]
routes:
  - backends: [ "ws://127.0.0.1:1", "ws://127.0.0.1:1" ]
    hash_algorithm: random
    hash_key: [ "claim:sub", "body:x" ]
    balance_factor: 0.5
    health_check: { type: tcp, path: health }
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:2:20: trusted_proxies[0]: must be an address or a CIDR block such as 10.0.0.0/8",
      "gw.yaml:4:37: routes[0].backends[1]: duplicate backend ws://127.0.0.1:1",
      "gw.yaml:5:21: routes[0].hash_algorithm: must be one of ring, maglev",
      "gw.yaml:6:17: routes[0].hash_key[0]: claim: needs auth on the route",
      "gw.yaml:6:30: routes[0].hash_key[1]: must be claim:NAME, header:NAME, cookie:NAME, query:NAME, cert:subject, cert:uri, cert:dns, cert:hash or ip",
      "gw.yaml:7:21: routes[0].balance_factor: must be 0 (off) or a number from 1 to 100, e.g. 1.25",
      "gw.yaml:8:27: routes[0].health_check.type: must be one of http, websocket",
      "gw.yaml:8:38: routes[0].health_check.path: must start with /",
  };
  EXPECT_EQ(r.errors, expected);
}

// Issue 32: discovered entries and the dns section.
TEST(ConfigRoutes, DiscoveredBackends) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
dns: { nameservers: [ "127.0.0.1:5353", "[::1]:53" ], refresh: 2s, respect_ttl: true, timeout: 500ms }
routes:
  - backends:
      - { url: "ws://pods.default.svc:9000", discover: dns, max_backends: 8 }
      - { url: "wss://_ws._tcp.chat.default.svc", discover: srv }
      - "ws://127.0.0.1:9001"
)", "gw.yaml", "/tmp", no_env());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const auto& c = *r.config;
  ASSERT_EQ(c.dns.nameservers.size(), 2u);
  EXPECT_EQ(c.dns.nameservers[1].host, "::1");
  EXPECT_EQ(c.dns.refresh, 2s);
  EXPECT_TRUE(c.dns.respect_ttl);
  EXPECT_EQ(c.dns.timeout, 500ms);
  const auto& b = c.routes[0].backends;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].discover, Backend::Discover::dns);
  EXPECT_EQ(b[0].host, "pods.default.svc");
  EXPECT_EQ(b[0].port, 9000);
  EXPECT_EQ(b[0].max_backends, 8u);
  EXPECT_EQ(b[1].discover, Backend::Discover::srv);
  EXPECT_TRUE(b[1].tls);
  EXPECT_EQ(b[1].host, "_ws._tcp.chat.default.svc");
  EXPECT_EQ(b[2].discover, Backend::Discover::none);
  EXPECT_EQ(load(kMinimal).config->dns.refresh, 5s) << "the default refresh is Envoy's";
}

TEST(ConfigRoutes, DiscoveredBackendMistakes) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
dns: { nameservers: [ "ns.example:53", "127.0.0.1" ], refresh: 10ms }
routes:
  - backends:
      - { url: "ws://10.0.0.1:9000", discover: dns }
      - { url: "ws://chat.svc:9000", discover: srv }
      - { url: "ws://_ws._tcp.chat.svc", discover: srv, weight: 3 }
      - { url: "ws://pods.svc:9000", discover: consul }
      - { url: "ws://127.0.0.1:9001", max_backends: 4 }
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:2:23: dns.nameservers[0]: must be IP:PORT (a name server is never looked up by name)",
      "gw.yaml:2:40: dns.nameservers[1]: must be IP:PORT (a name server is never looked up by name)",
      "gw.yaml:2:64: dns.refresh: must be at least 100ms",
      "gw.yaml:5:9: routes[0].backends[0]: discover: dns needs a name to look up, not an address",
      "gw.yaml:6:9: routes[0].backends[1]: discover: srv needs ws://_SERVICE._tcp.NAME or wss://_SERVICE._tcp.NAME (no port)",
      "gw.yaml:7:65: routes[0].backends[2].weight: comes from each SRV record with discover: srv",
      "gw.yaml:8:48: routes[0].backends[3].discover: must be none, dns or srv",
      "gw.yaml:9:53: routes[0].backends[4].max_backends: is for discover: dns or srv",
  };
  EXPECT_EQ(r.errors, expected);
}

TEST(ConfigRoutes, RebalanceNeedsBoundedLoads) {
  auto ok = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - { backends: [ "ws://127.0.0.1:1" ], balance_factor: 1.25, rebalance: { max_per_minute: 120 } }
)", "gw.yaml", "/tmp", no_env());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors.front();
  EXPECT_EQ(ok.config->routes[0].rebalance_per_minute, 120u);
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - { backends: [ "ws://127.0.0.1:1" ], rebalance: { max_per_minute: 120 } }
  - { backends: [ "ws://127.0.0.1:2" ], balance_factor: 2, rebalance: { per_second: 1 } }
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:3:52: routes[0].rebalance: moves sessions above the bounded-load share: it needs balance_factor",
      "gw.yaml:4:73: routes[1].rebalance.per_second: unknown key",
      "gw.yaml:4:71: routes[1].rebalance.max_per_minute: is required",
  };
  EXPECT_EQ(r.errors, expected);
}

TEST(ConfigRoutes, SharedLoadsNeedBoundedLoadsAndRedis) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - { backends: [ "ws://127.0.0.1:1" ], shared_loads: true }
  - { backends: [ "ws://127.0.0.1:2" ], balance_factor: 1.5, shared_loads: true }
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:3:55: routes[0].shared_loads: shares bounded loads: it needs balance_factor",
      "gw.yaml:3:55: routes[0].shared_loads: shares loads through Redis: it needs the redis section",
      "gw.yaml:4:76: routes[1].shared_loads: shares loads through Redis: it needs the redis section",
  };
  EXPECT_EQ(r.errors, expected);
}

TEST(ConfigListeners, ProxyProtocol) {
  auto ok = load_config_text(R"(listeners:
  - { bind: "127.0.0.1:1", proxy_protocol: { trusted: [ "10.0.0.0/8", "192.0.2.1" ], timeout: 2s } }
  - { bind: "127.0.0.1:2" }
routes: [ { backends: [ "ws://127.0.0.1:1" ] } ]
)", "gw.yaml", "/tmp", no_env());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors.front();
  ASSERT_TRUE(ok.config->listeners[0].proxy_protocol);
  EXPECT_EQ(ok.config->listeners[0].proxy_protocol->trusted.size(), 2u);
  EXPECT_EQ(ok.config->listeners[0].proxy_protocol->timeout, 2s);
  EXPECT_FALSE(ok.config->listeners[1].proxy_protocol);
  auto r = load_config_text(R"(listeners:
  - { bind: "127.0.0.1:1", proxy_protocol: { trusted: [ "10.0.0.0/33" ], timeout: 0s } }
  - { bind: "127.0.0.1:2", proxy_protocol: { timeout: 5s, v2_only: true } }
routes: [ { backends: [ "ws://127.0.0.1:1" ] } ]
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:2:57: listeners[0].proxy_protocol.trusted[0]: must be an address or a CIDR block such as 10.0.0.0/8",
      "gw.yaml:2:83: listeners[0].proxy_protocol.timeout: must be above 0 and at most 1m",
      "gw.yaml:3:59: listeners[1].proxy_protocol.v2_only: unknown key",
      "gw.yaml:3:44: listeners[1].proxy_protocol.trusted: is required: the balancers whose header is believed",
  };
  EXPECT_EQ(r.errors, expected);
}

// The accepted keys' table is indexed by Section: a section added without its row (or with its
// row out of place) would check maps against another section's keys.
TEST(ConfigKeys, EverySectionHasItsRow) {
  for (auto s = static_cast<std::size_t>(Section::root); s <= static_cast<std::size_t>(Section::rebalance); ++s) {
    const auto& row = keys_of(static_cast<Section>(s));
    EXPECT_FALSE(row.paths.empty()) << s;
    EXPECT_FALSE(row.keys.empty()) << s;
  }
  EXPECT_EQ(keys_of(Section::proxy_protocol).paths.front(), "listeners[].proxy_protocol");
  EXPECT_EQ(keys_of(Section::rebalance).paths.front(), "routes[].rebalance");
  EXPECT_EQ(keys_of(Section::dns).paths.front(), "dns");
}

TEST(ConfigRoutes, AddressRules) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1", deny_from: [ "10.0.0.0/8", "bad" ] } ]
routes:
  - { backends: [ "ws://127.0.0.1:1" ], allow_from: [ "192.0.2.0/24", "192.0.2.0/40" ], deny_from: [ "::1", "x" ] }
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:1:64: listeners[0].deny_from[1]: must be an address or a CIDR block such as 10.0.0.0/8",
      "gw.yaml:3:71: routes[0].allow_from[1]: must be an address or a CIDR block such as 10.0.0.0/8",
      "gw.yaml:3:109: routes[0].deny_from[1]: must be an address or a CIDR block such as 10.0.0.0/8",
  };
  EXPECT_EQ(r.errors, expected);
}

TEST(ConfigListeners, ClientAuth) {
  const auto dir = std::filesystem::temp_directory_path() / "wsgate-config-client-auth";
  std::filesystem::create_directories(dir);
  for (const char* f : {"a.crt", "a.key", "ca.crt"}) std::ofstream(dir / f) << "x";
  auto r = load_config_text(R"(listeners:
  - bind: "127.0.0.1:1"
    tls:
      client_auth: { mode: required, ca_file: ca.crt }
      certificates:
        - { cert: a.crt, key: a.key }
        - { cert: a.crt, key: a.key, client_auth: { ca_file: ca.crt, verify_depth: 2 } }
routes: [ { backends: [ "ws://127.0.0.1:1" ] } ]
)", "gw.yaml", dir.string(), no_env());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const auto& tls = *r.config->listeners[0].tls;
  ASSERT_TRUE(tls.client_auth);
  EXPECT_EQ(tls.client_auth->mode, "required");
  EXPECT_EQ(tls.client_auth->verify_depth, 4u) << "the default depth";
  EXPECT_FALSE(tls.certificates[0].client_auth) << "the listener's applies";
  ASSERT_TRUE(tls.certificates[1].client_auth);
  EXPECT_EQ(tls.certificates[1].client_auth->mode, "optional");
  EXPECT_EQ(tls.certificates[1].client_auth->verify_depth, 2u);
  auto bad = load_config_text(R"(listeners:
  - bind: "127.0.0.1:1"
    tls: { client_auth: { mode: sometimes, verify_depth: 99 }, certificates: [ { cert: a.crt, key: a.key } ] }
routes: [ { backends: [ "ws://127.0.0.1:1" ] } ]
)", "gw.yaml", dir.string(), no_env());
  const std::vector<std::string> expected{
      "gw.yaml:3:33: listeners[0].tls.client_auth.mode: must be one of optional, required",
      "gw.yaml:3:25: listeners[0].tls.client_auth.ca_file: is required",
      "gw.yaml:3:58: listeners[0].tls.client_auth.verify_depth: must be between 0 and 16",
  };
  EXPECT_EQ(bad.errors, expected);
}

TEST(Config, DrainTimeoutIsAnAliasWithAWarning) {
  auto old = load("listeners: [ { bind: \"127.0.0.1:1\" } ]\ndrain_timeout: 7s\n"
                  "routes: [ { backends: [ \"ws://127.0.0.1:1\" ] } ]\n");
  ASSERT_TRUE(old.errors.empty()) << old.errors.front();
  EXPECT_EQ(old.config->drain.timeout, 7s);
  EXPECT_EQ(old.warnings, std::vector<std::string>{
                              "gw.yaml:2:16: drain_timeout: is deprecated: use drain: { timeout: ... }"});
  auto both = load("listeners: [ { bind: \"127.0.0.1:1\" } ]\ndrain_timeout: 7s\ndrain: { timeout: 3s }\n"
                   "routes: [ { backends: [ \"ws://127.0.0.1:1\" ] } ]\n");
  EXPECT_EQ(both.errors, std::vector<std::string>{
                             "gw.yaml:2:16: drain_timeout: is drain.timeout's old name: give only one of them"});
}

TEST(Config, AdminOffLoopbackNeedsAToken) {
  const auto dir = std::filesystem::temp_directory_path() / "wsgate-config-admin";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "admin.token") << std::string(40, 't') << "\n";
  auto open = load_config_text("listeners: [ { bind: \"127.0.0.1:1\" } ]\nadmin: { bind: \"0.0.0.0:9100\" }\n"
                               "routes: [ { backends: [ \"ws://127.0.0.1:1\" ] } ]\n", "gw.yaml", dir.string(), no_env());
  EXPECT_EQ(open.errors, std::vector<std::string>{
                             "gw.yaml:2:16: admin.bind: a listener that is not loopback needs admin.token_file "
                             "(its API can drain backends)"});
  auto guarded = load_config_text(
      "listeners: [ { bind: \"127.0.0.1:1\", reuse_port_with_others: true } ]\n"
      "admin: { bind: \"0.0.0.0:9100\", token_file: admin.token }\n"
      "routes: [ { backends: [ \"ws://127.0.0.1:1\" ] } ]\n", "gw.yaml", dir.string(), no_env());
  ASSERT_TRUE(guarded.errors.empty()) << guarded.errors.front();
  EXPECT_EQ(guarded.config->admin.token, std::string(40, 't'));
  EXPECT_TRUE(guarded.config->listeners[0].reuse_port_with_others);
  auto off = load("listeners: [ { bind: \"127.0.0.1:1\" } ]\nadmin: { enabled: false, bind: \"0.0.0.0:9100\" }\n"
                  "routes: [ { backends: [ \"ws://127.0.0.1:1\" ] } ]\n");
  EXPECT_TRUE(off.errors.empty());
  EXPECT_FALSE(off.config->admin.enabled);
}

TEST(ConfigRoutes, AffinityAndPassiveEjection) {
  const auto dir = std::filesystem::temp_directory_path() / "wsgate-config-affinity";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "long.key") << std::string(64, 'a') << "\n";
  std::ofstream(dir / "short.key") << "too short\n";
  auto good = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - backends: [ "ws://127.0.0.1:1" ]
    affinity_ttl: 10m
    affinity_max_entries: 5000
    passive_eject_time: 3s
    affinity_cookie: { name: wsg_aff, ttl: 2h, secure: true, same_site: Strict, secret_file: long.key }
)", "gw.yaml", dir.string(), no_env());
  ASSERT_TRUE(good.errors.empty()) << good.errors.front();
  const auto& route = good.config->routes.at(0);
  EXPECT_EQ(route.affinity_ttl, 10min);
  EXPECT_EQ(route.affinity_max_entries, 5000u);
  EXPECT_EQ(route.passive_eject_time, 3s);
  ASSERT_TRUE(route.affinity_cookie);
  EXPECT_EQ(route.affinity_cookie->secret, std::string(64, 'a')) << "the trailing newline is not the key's";
  EXPECT_EQ(route.affinity_cookie->ttl, 2h);
  EXPECT_TRUE(route.affinity_cookie->secure);
  EXPECT_EQ(route.affinity_cookie->same_site, "Strict");

  auto bad = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - backends: [ "ws://127.0.0.1:1" ]
    affinity_cookie: { name: "a b", same_site: lax, secret_file: short.key }
)", "gw.yaml", dir.string(), no_env());
  const std::string key = (dir / "short.key").string();
  const std::vector<std::string> expected{
      "gw.yaml:4:30: routes[0].affinity_cookie.name: must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
      "gw.yaml:4:48: routes[0].affinity_cookie.same_site: must be one of Lax, Strict, None",
      "gw.yaml:4:66: routes[0].affinity_cookie.secret_file: " + key +
          " holds 9 bytes; a signing key needs at least 32 (e.g. openssl rand -hex 32)",
  };
  EXPECT_EQ(bad.errors, expected);
}

TEST(ConfigRoutes, RateLimitPolicies) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
rate_limits:
  - { name: a, key: [ "header:X-Client", "ip" ], upgrades: { rate: 10, per: 1m }, max_sessions: 3 }
  - { name: b, key: [ "claim:sub" ], upgrades: { rate: 0 } }
  - { name: a, upgrades: { per: 0s, rate: 1, burst: 2 } }
routes:
  - { backends: [ "ws://127.0.0.1:1" ], rate_limit: a }
  - { match: { path_prefix: /b }, backends: [ "ws://127.0.0.1:1" ], rate_limit: b }
  - { match: { path_prefix: /c }, backends: [ "ws://127.0.0.1:1" ], rate_limit: nope }
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:4:56: rate_limits[1].upgrades.rate: must be between 1 and 1000000000",
      "gw.yaml:5:5: rate_limits[2].name: duplicate name a",
      "gw.yaml:5:33: rate_limits[2].upgrades.per: must be above 0",
      "gw.yaml:8:81: routes[1].rate_limit: policy b keys on a claim: needs auth on the route",
      "gw.yaml:9:81: routes[2].rate_limit: no rate_limits policy named nope",
  };
  EXPECT_EQ(r.errors, expected);
}

TEST(ConfigRoutes, MessageAndByteLimits) {
  auto ok = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
rate_limits:
  - name: per-client
    messages: { rate: 100, per: 1s, burst: 20, action: drop }
    bytes: { rate: 1MiB, per: 1s, burst: 256KiB }
    backend_messages: { rate: 5000, per: 1s, action: close }
routes:
  - { backends: [ "ws://127.0.0.1:1" ], rate_limit: per-client }
)", "gw.yaml", "/tmp", no_env());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors.front();
  const auto& p = ok.config->rate_limits.at(0);
  ASSERT_TRUE(p.messages && p.bytes && p.backend_messages);
  EXPECT_EQ(p.messages->rate.burst, 20);
  EXPECT_EQ(p.messages->action, "drop");
  EXPECT_EQ(p.bytes->rate.rate, 1 << 20);
  EXPECT_EQ(p.bytes->rate.burst, 256 << 10);
  EXPECT_EQ(p.bytes->action, "throttle") << "the default: nothing lost";
  EXPECT_EQ(p.backend_messages->rate.burst, 5000) << "burst defaults to a window's worth";
  EXPECT_FALSE(p.backend_bytes);

  auto bad = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
rate_limits:
  - { name: a, messages: { rate: 10, action: slow } }
  - { name: b, bytes: { rate: 2000GB, per: 25h }, backend_bytes: { per: 1s } }
routes: [ { backends: [ "ws://127.0.0.1:1" ] } ]
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:3:46: rate_limits[0].messages.action: must be throttle, close or drop",
      "gw.yaml:4:31: rate_limits[1].bytes.rate: must be between 1 and 1000000000000",
      "gw.yaml:4:44: rate_limits[1].bytes.per: must be at most 24h",
      "gw.yaml:4:66: rate_limits[1].backend_bytes.rate: is required",
  };
  EXPECT_EQ(bad.errors, expected);
}

TEST(ConfigRoutes, RedisStore) {
  auto ok = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
redis: { address: "127.0.0.1:6379", timeout: 50ms }
rate_limits:
  - { name: shared, store: redis, on_store_failure: fail_closed, max_sessions: 3 }
routes: [ { backends: [ "ws://127.0.0.1:1" ], rate_limit: shared } ]
)", "gw.yaml", "/tmp", no_env());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors.front();
  ASSERT_TRUE(ok.config->redis);
  EXPECT_EQ(ok.config->redis->address.port, 6379);
  EXPECT_EQ(ok.config->redis->timeout, 50ms);
  EXPECT_EQ(ok.config->redis->session_lease, 30s);
  EXPECT_EQ(ok.config->rate_limits[0].store, "redis");
  EXPECT_FALSE(ok.config->rate_limits[0].fail_open);

  auto bad = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
rate_limits:
  - { name: a, store: redis }
  - { name: b, store: memcached, on_store_failure: maybe }
routes: [ { backends: [ "ws://127.0.0.1:1" ] } ]
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:3:23: rate_limits[0].store: redis needs the top-level redis settings",
      "gw.yaml:4:23: rate_limits[1].store: must be local or redis",
      "gw.yaml:4:52: rate_limits[1].on_store_failure: must be fail_open or fail_closed",
  };
  EXPECT_EQ(bad.errors, expected);

  auto bad_redis = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
redis: { address: "redis.local:6379", session_lease: 1s }
routes: [ { backends: [ "ws://127.0.0.1:1" ] } ]
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected_redis{
      "gw.yaml:2:19: redis.address: must be an IP address and port",
      "gw.yaml:2:54: redis.session_lease: must be at least 3s",
  };
  EXPECT_EQ(bad_redis.errors, expected_redis);
}

TEST(ConfigAuth, EveryMistakeWithItsPlace) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
auth:
  providers:
    - name: dev
      algorithms: [ none ]
      keys: [ { kid: x } ]
      token_from: [ "body:token" ]
    - issuer: x
routes:
  - backends: [ "ws://127.0.0.1:1" ]
    auth: prod
  - backends: [ "ws://127.0.0.1:1" ]
    require_claims: [ { claim: scope } ]
    close_at_expiry: maybe
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:5:21: auth.providers[0].algorithms[0]: must be one of HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA",
      "gw.yaml:6:15: auth.providers[0].keys[0]: needs exactly one of secret_file, pem_file, jwks_file, jwks_url",
      "gw.yaml:7:21: auth.providers[0].token_from[0]: must be header:NAME, query:NAME, cookie:NAME or protocol",
      "gw.yaml:8:7: auth.providers[1].name: is required",
      "gw.yaml:8:7: auth.providers[1].algorithms: is required (an explicit allowlist, e.g. [HS256])",
      "gw.yaml:8:7: auth.providers[1].keys: is required",
      "gw.yaml:11:11: routes[0].auth: no auth provider named prod",
      "gw.yaml:13:23: routes[1].require_claims[0]: needs claim and exactly one of equals, contains",
      "gw.yaml:13:21: routes[1].require_claims: needs auth on the route",
      "gw.yaml:14:22: routes[1].close_at_expiry: must be true or false",
  };
  EXPECT_EQ(r.errors, expected);
}

}  // namespace
}  // namespace wsgate::config

namespace wsgate::config {
namespace {

TEST(ConfigRoutes, RewriteAndHeaderRules) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - name: app1
    match: { path_prefix: /app1 }
    rewrite: { strip_prefix: true }
    request_headers: { set: { X-Env: prod }, remove: [ X-Debug ] }
    response_headers: { set: { Strict-Transport-Security: "max-age=31536000" } }
    backends: [ "ws://127.0.0.1:1" ]
  - { match: { path_prefix: /v1 }, rewrite: { replace_prefix: /v2 }, backends: [ "ws://127.0.0.1:1" ] }
)", "gw.yaml", "/tmp", no_env());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const auto& app1 = r.config->routes[0];
  EXPECT_EQ(app1.rewrite_to, "/");
  EXPECT_EQ(app1.request_headers.set, (std::vector<std::pair<std::string, std::string>>{{"X-Env", "prod"}}));
  EXPECT_EQ(app1.request_headers.remove, std::vector<std::string>{"X-Debug"});
  EXPECT_EQ(app1.response_headers[0].first, "Strict-Transport-Security");
  EXPECT_EQ(r.config->routes[1].rewrite_to, "/v2");
}

TEST(ConfigRoutes, BalanceChoicesAndTheirMistakes) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
routes:
  - { match: { path_prefix: /a }, balance: least_sessions, balance_factor: 1.25, backends: [ "ws://127.0.0.1:1" ] }
  - { match: { path_prefix: /b }, balance: random, backends: [ "ws://127.0.0.1:1" ] }
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:3:76: routes[0].balance_factor: bounds hashing only (balance: hash)",
      "gw.yaml:4:44: routes[1].balance: must be one of hash, least_sessions, round_robin",
  };
  EXPECT_EQ(r.errors, expected);
  auto ok = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
routes: [ { balance: round_robin, backends: [ "ws://127.0.0.1:1" ] } ]
)", "gw.yaml", "/tmp", no_env());
  ASSERT_TRUE(ok.errors.empty()) << ok.errors.front();
  EXPECT_EQ(ok.config->routes[0].balance, "round_robin");
}

TEST(ConfigRoutes, RuleMistakesEachWithTheirPlace) {
  auto r = load_config_text(R"(listeners: [ { bind: "127.0.0.1:1" } ]
auth:
  providers:
    - { name: p, algorithms: [ HS256 ], keys: [ { secret_file: /dev/null } ], forward_claims: { sub: X-User-Id } }
routes:
  - match: { path_prefix: /a }
    auth: p
    rewrite: { strip_prefix: true, replace_prefix: /b }
    request_headers: { set: { X-Forwarded-For: 1.2.3.4, x_user_id: me, "Bad Name": 1 }, remove: [ Host ] }
    response_headers: { set: { Set-Cookie: "a=b" } }
    backends: [ "ws://127.0.0.1:1" ]
  - { match: { path_prefix: /c }, rewrite: { replace_prefix: "/../etc" }, backends: [ "ws://127.0.0.1:1" ] }
  - { match: { path_prefix: /d }, rewrite: { replace_prefix: "x" }, backends: [ "ws://127.0.0.1:1" ] }
)", "gw.yaml", "/tmp", no_env());
  const std::vector<std::string> expected{
      "gw.yaml:8:14: routes[0].rewrite: strip_prefix or replace_prefix, not both",
      "gw.yaml:9:72: routes[0].request_headers.set.Bad Name: must be a header name",
      "gw.yaml:9:48: routes[0].request_headers.set.X-Forwarded-For: is written by the gateway itself and cannot be set",
      "gw.yaml:9:68: routes[0].request_headers.set.x_user_id: is written by the gateway itself and cannot be set",
      "gw.yaml:9:99: routes[0].request_headers.remove[0]: is written by the gateway itself and cannot be removed",
      "gw.yaml:10:44: routes[0].response_headers.set.Set-Cookie: is written by the gateway itself and cannot be set",
      "gw.yaml:12:62: routes[1].rewrite.replace_prefix: must be a plain path (no query, dot segments or bad escapes)",
      "gw.yaml:13:62: routes[2].rewrite.replace_prefix: must start with /",
  };
  EXPECT_EQ(r.errors, expected);
}

}  // namespace
}  // namespace wsgate::config
