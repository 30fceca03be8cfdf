#include "config/config.hpp"

#include "auth/algorithm.hpp"
#include "config/config_keys.hpp"
#include "config/ip_network.hpp"
#include "http/field_rules.hpp"
#include "http/forwarded_request.hpp"
#include "http/request_target.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace wsgate::config {
namespace {

// Walks the YAML tree once, converting and validating as it goes; every problem becomes one
// error line and reading continues, so one run of --check-config shows them all.
class Reader {
 public:
  Reader(std::string file, std::string base_dir, const EnvLookup& env)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), env_(env) {}

  std::vector<std::string> take_errors() { return std::move(errors_); }
  std::vector<std::string> take_warnings() { return std::move(warnings_); }

  void error(const YAML::Mark& mark, const std::string& path, const std::string& message) {
    errors_.push_back(located(mark, path, message));
  }
  void warning(const YAML::Node& at, const std::string& path, const std::string& message) {
    warnings_.push_back(located(at.Mark(), path, message));
  }
  std::string located(const YAML::Mark& mark, const std::string& path, const std::string& message) const {
    std::ostringstream out;
    out << file_ << ':' << mark.line + 1 << ':' << mark.column + 1 << ": ";
    if (!path.empty()) out << path << ": ";
    out << message;
    return out.str();
  }
  void error(const YAML::Node& at, const std::string& path, const std::string& message) {
    error(at.Mark(), path, message);
  }

  bool expect_map(const YAML::Node& node, const std::string& path) {
    if (node.IsMap()) return true;
    error(node, path, "must be a mapping");
    return false;
  }
  bool expect_seq(const YAML::Node& node, const std::string& path) {
    if (node.IsSequence()) return true;
    error(node, path, "must be a list");
    return false;
  }

  // A typo in a key must not pass silently: unknown keys are errors.
  void check_keys(const YAML::Node& map, const std::string& path, Section section) {
    const auto& known = keys_of(section).keys;
    for (const auto& kv : map) {
      auto key = kv.first.as<std::string>();
      bool ok = false;
      for (auto k : known) ok = ok || k == key;
      if (!ok) error(kv.first, join(path, key), "unknown key");
    }
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  std::optional<std::string> scalar(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
      error(node, path, "must be a scalar");
      return std::nullopt;
    }
    auto expanded = expand_env(node.Scalar(), env_);
    if (!expanded.missing.empty()) {
      error(node, path, "environment variable " + expanded.missing + " is not set");
      return std::nullopt;
    }
    return expanded.value;
  }

  // The read_* helpers leave `out` at its default when the key is absent.
  void read_string(const YAML::Node& map, std::string_view key, const std::string& path,
                   std::string& out) {
    if (auto node = map[std::string(key)]) {
      if (auto v = scalar(node, join(path, key))) out = *v;
    }
  }

  void read_choice(const YAML::Node& map, std::string_view key, const std::string& path,
                   std::string& out, std::initializer_list<std::string_view> choices) {
    auto node = map[std::string(key)];
    if (!node) return;
    auto v = scalar(node, join(path, key));
    if (!v) return;
    for (auto c : choices) {
      if (c == *v) {
        out = *v;
        return;
      }
    }
    std::string list;
    for (auto c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
    error(node, join(path, key), "must be one of " + list);
  }

  void read_duration(const YAML::Node& map, std::string_view key, const std::string& path,
                     Duration& out) {
    auto node = map[std::string(key)];
    if (!node) return;
    auto v = scalar(node, join(path, key));
    if (!v) return;
    if (auto d = parse_duration(*v)) out = *d;
    else error(node, join(path, key), "must be a duration such as 250ms, 30s, 5m or 1h");
  }

  template <class Int>
  void read_size(const YAML::Node& map, std::string_view key, const std::string& path, Int& out,
                 std::uint64_t min, std::uint64_t max) {
    read_number(map, key, path, out, min, max, true);
  }
  // A number of things (fields, sessions, threads): digits only, no unit.
  template <class Int>
  void read_count(const YAML::Node& map, std::string_view key, const std::string& path, Int& out,
                  std::uint64_t min, std::uint64_t max) {
    read_number(map, key, path, out, min, max, false);
  }
  template <class Int>
  void read_number(const YAML::Node& map, std::string_view key, const std::string& path, Int& out,
                   std::uint64_t min, std::uint64_t max, bool size) {
    auto node = map[std::string(key)];
    if (!node) return;
    auto v = scalar(node, join(path, key));
    if (!v) return;
    const bool digits = !v->empty() && std::all_of(v->begin(), v->end(), [](unsigned char c) { return std::isdigit(c); });
    auto n = size || digits ? parse_size(*v) : std::nullopt;
    if (!n) {
      error(node, join(path, key), size ? "must be a size such as 512, 64KiB or 1MiB" : "must be a whole number such as 100");
    } else if (*n < min || *n > max) {
      error(node, join(path, key),
            "must be between " + std::to_string(min) + " and " + std::to_string(max));
    } else {
      out = static_cast<Int>(*n);
    }
  }

  void read_host_port(const YAML::Node& map, std::string_view key, const std::string& path,
                      HostPort& out, bool required) {
    auto node = map[std::string(key)];
    if (!node) {
      if (required) error(map, join(path, key), "is required");
      return;
    }
    auto v = scalar(node, join(path, key));
    if (!v) return;
    if (auto hp = parse_host_port(*v)) out = *hp;
    else error(node, join(path, key), "must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
  }

  std::string resolve_path(const std::string& p) const {
    if (p.empty() || p.front() == '/') return p;
    return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
  }

  // File paths are resolved and checked for readability now, so --check-config catches them.
  void read_file_path(const YAML::Node& map, std::string_view key, const std::string& path,
                      std::string& out, bool required) {
    auto node = map[std::string(key)];
    if (!node) {
      if (required) error(map, join(path, key), "is required");
      return;
    }
    auto v = scalar(node, join(path, key));
    if (!v) return;
    if (v->empty() && !required) return;  // "" spells out the default: no file
    out = resolve_path(*v);
    if (!std::ifstream(out).good()) error(node, join(path, key), "cannot read file " + out);
  }

  void read_bool(const YAML::Node& map, std::string_view key, const std::string& path, bool& out) {
    auto node = map[std::string(key)];
    if (!node) return;
    auto v = scalar(node, join(path, key));
    if (!v) return;
    if (*v == "true") out = true;
    else if (*v == "false") out = false;
    else error(node, join(path, key), "must be true or false");
  }

  void read_string_list(const YAML::Node& map, std::string_view key, const std::string& path,
                        std::vector<std::string>& out) {
    auto node = map[std::string(key)];
    if (!node || !expect_seq(node, join(path, key))) return;
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (auto v = scalar(node[i], join(path, key) + "[" + std::to_string(i) + "]"))
        out.push_back(*v);
    }
  }

 private:
  std::string file_;
  std::string base_dir_;
  const EnvLookup& env_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

std::string index_path(std::string_view base, std::size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

void read_log(Reader& r, const YAML::Node& node, Log& log) {
  if (!r.expect_map(node, "log")) return;
  r.check_keys(node, "log", Section::log);
  r.read_choice(node, "format", "log", log.format, {"text", "json"});
  r.read_choice(node, "level", "log", log.level, {"debug", "info", "warn", "error"});
}

void read_http(Reader& r, const YAML::Node& node, HttpLimits& http) {
  if (!r.expect_map(node, "http")) return;
  r.check_keys(node, "http", Section::http);
  // 64 KiB at most: Beast keeps a field's length in 16 bits and throws on a longer one, and a head
  // that fits this limit cannot hold one (a longer limit let one request end the process; the
  // read buffer's own cap in UpgradeSession bounds a chunked body's trailer fields).
  r.read_size(node, "max_header_bytes", "http", http.max_header_bytes, 1024, 64 * 1024);
  r.read_count(node, "max_headers", "http", http.max_headers, 8, 10'000);
  r.read_duration(node, "header_timeout", "http", http.header_timeout);
  r.read_size(node, "max_body", "http", http.max_body, 0, 1ull << 32);
  r.read_duration(node, "keepalive_timeout", "http", http.keepalive_timeout);
}

void read_client_auth(Reader& r, const YAML::Node& node, const std::string& path, ClientAuth& out) {
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, Section::client_auth);
  r.read_choice(node, "mode", path, out.mode, {"optional", "required"});
  r.read_file_path(node, "ca_file", path, out.ca_file, true);
  r.read_file_path(node, "crl_file", path, out.crl_file, false);
  std::uint64_t depth = out.verify_depth;
  r.read_count(node, "verify_depth", path, depth, 0, 16);
  out.verify_depth = static_cast<unsigned>(depth);
}

void read_tls(Reader& r, const YAML::Node& node, const std::string& path, ServerTls& tls) {
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, Section::tls);
  r.read_choice(node, "min_version", path, tls.min_version, {"1.2", "1.3"});
  if (auto ca = node["client_auth"]) read_client_auth(r, ca, path + ".client_auth", tls.client_auth.emplace());
  auto certs = node["certificates"];
  if (!certs) {
    r.error(node, path + ".certificates", "is required");
    return;
  }
  if (!r.expect_seq(certs, path + ".certificates")) return;
  if (certs.size() == 0) r.error(certs, path + ".certificates", "must not be empty");
  for (std::size_t i = 0; i < certs.size(); ++i) {
    auto cpath = index_path(path + ".certificates", i);
    if (!r.expect_map(certs[i], cpath)) continue;
    r.check_keys(certs[i], cpath, Section::certificate);
    Certificate c;
    r.read_file_path(certs[i], "cert", cpath, c.cert_file, true);
    r.read_file_path(certs[i], "key", cpath, c.key_file, true);
    if (auto ca = certs[i]["client_auth"]) read_client_auth(r, ca, cpath + ".client_auth", c.client_auth.emplace());
    tls.certificates.push_back(std::move(c));
  }
}

// A list of addresses or CIDR blocks, each checked.
void read_networks(Reader& r, const YAML::Node& map, std::string_view key, const std::string& path,
                   std::vector<std::string>& out) {
  r.read_string_list(map, key, path, out);
  for (std::size_t j = 0; j < out.size(); ++j)
    if (!IpNetwork::parse(out[j]))
      r.error(map[std::string(key)][j], index_path(path + "." + std::string(key), j),
              "must be an address or a CIDR block such as 10.0.0.0/8");
}

void read_listeners(Reader& r, const YAML::Node& node, std::vector<Listener>& out) {
  if (!r.expect_seq(node, "listeners")) return;
  if (node.size() == 0) r.error(node, "listeners", "must not be empty");
  std::set<std::string> names;
  for (std::size_t i = 0; i < node.size(); ++i) {
    auto path = index_path("listeners", i);
    const auto& item = node[i];
    if (!r.expect_map(item, path)) continue;
    r.check_keys(item, path, Section::listener);
    Listener l;
    l.name = "listener" + std::to_string(i);
    r.read_string(item, "name", path, l.name);
    if (!names.insert(l.name).second) r.error(item, path + ".name", "duplicate name " + l.name);
    r.read_host_port(item, "bind", path, l.bind, true);
    r.read_bool(item, "reuse_port_with_others", path, l.reuse_port_with_others);
    r.read_bool(item, "http2", path, l.http2);
    if (auto tls = item["tls"]) {
      l.tls.emplace();
      read_tls(r, tls, path + ".tls", *l.tls);
    } else if (item["http2"] && l.http2) {
      r.error(item["http2"], path + ".http2", "needs tls: HTTP/2 is offered by ALPN (no cleartext h2c)");
    }
    if (!l.tls) l.http2 = false;
    if (auto pp = item["proxy_protocol"]; pp && r.expect_map(pp, path + ".proxy_protocol")) {
      r.check_keys(pp, path + ".proxy_protocol", Section::proxy_protocol);
      auto& p = l.proxy_protocol.emplace();
      read_networks(r, pp, "trusted", path + ".proxy_protocol", p.trusted);
      if (p.trusted.empty())
        r.error(pp, path + ".proxy_protocol.trusted", "is required: the balancers whose header is believed");
      r.read_duration(pp, "timeout", path + ".proxy_protocol", p.timeout);
      if (p.timeout.count() <= 0 || p.timeout > std::chrono::minutes(1))
        r.error(pp["timeout"] ? pp["timeout"] : pp, path + ".proxy_protocol.timeout", "must be above 0 and at most 1m");
    }
    read_networks(r, item, "deny_from", path, l.deny_from);
    out.push_back(std::move(l));
  }
}

// What follows ws:// or wss:// (one trailing / dropped), with b.url and b.tls set; nullopt for
// any other scheme.
std::optional<std::string_view> backend_authority(std::string_view url, Backend& b) {
  b.url = std::string(url);
  std::string_view rest;
  if (url.starts_with("ws://")) {
    rest = url.substr(5);
  } else if (url.starts_with("wss://")) {
    b.tls = true;
    rest = url.substr(6);
  } else {
    return std::nullopt;
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  return rest;
}

std::optional<Backend> parse_backend(std::string_view url) {
  Backend b;
  auto authority_part = backend_authority(url, b);
  if (!authority_part) return std::nullopt;
  const std::string_view rest = *authority_part;
  if (rest.find('/') != std::string_view::npos || rest.empty()) return std::nullopt;
  std::string authority(rest);
  // Without a port the scheme's default applies, as for any ws:// URL.
  bool has_port = authority.starts_with('[') ? authority.find("]:") != std::string::npos
                                             : authority.find(':') != std::string::npos;
  if (!has_port) authority += b.tls ? ":443" : ":80";
  auto hp = parse_host_port(authority);
  if (!hp || hp->port == 0) return std::nullopt;
  b.host = hp->host;
  b.port = hp->port;
  return b;
}

// ws://_SERVICE._tcp.NAME (RFC 2782): every label a DNS name may hold, the first two the
// service's and the protocol's.
std::optional<Backend> parse_srv_backend(std::string_view url) {
  Backend b;
  b.discover = Backend::Discover::srv;
  auto authority_part = backend_authority(url, b);
  if (!authority_part) return std::nullopt;
  const std::string_view rest = *authority_part;
  if (!rest.starts_with('_') || rest.find("._tcp.") == std::string_view::npos) return std::nullopt;
  if (rest.size() > 253) return std::nullopt;
  for (const char c : rest)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return std::nullopt;
  b.host = std::string(rest);
  return b;
}

void read_dns(Reader& r, const YAML::Node& node, DnsSettings& out) {
  if (!r.expect_map(node, "dns")) return;
  r.check_keys(node, "dns", Section::dns);
  if (auto servers = node["nameservers"]; servers && r.expect_seq(servers, "dns.nameservers")) {
    for (std::size_t i = 0; i < servers.size(); ++i) {
      const auto path = index_path("dns.nameservers", i);
      auto text = r.scalar(servers[i], path);
      if (!text) continue;
      auto hp = parse_host_port(*text);
      boost::system::error_code ec;
      if (hp) boost::asio::ip::make_address(hp->host, ec);
      if (!hp || hp->port == 0 || ec) {
        r.error(servers[i], path, "must be IP:PORT (a name server is never looked up by name)");
        continue;
      }
      out.nameservers.push_back(*hp);
    }
  }
  r.read_duration(node, "refresh", "dns", out.refresh);
  if (out.refresh < std::chrono::milliseconds(100)) r.error(node["refresh"], "dns.refresh", "must be at least 100ms");
  r.read_bool(node, "respect_ttl", "dns", out.respect_ttl);
  r.read_duration(node, "timeout", "dns", out.timeout);
  if (out.timeout < std::chrono::milliseconds(10)) r.error(node["timeout"], "dns.timeout", "must be at least 10ms");
}

void read_route_limits(Reader& r, const YAML::Node& node, const std::string& path,
                       RouteLimits& limits) {
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, Section::route_limits);
  r.read_size(node, "max_message", path, limits.max_message, 125, 1ull << 40);
  r.read_duration(node, "idle_timeout", path, limits.idle_timeout);
  r.read_duration(node, "ping_interval", path, limits.ping_interval);
  r.read_duration(node, "pong_timeout", path, limits.pong_timeout);
  r.read_size(node, "max_frame_buffer", path, limits.max_frame_buffer, 1024, 16 << 20);
  if (limits.idle_timeout.count() == 0)
    r.error(node, path + ".idle_timeout", "must be greater than 0");
}

// "KIND:NAME" split in two; nullopt without a colon or a name.
std::optional<std::pair<std::string_view, std::string>> kind_and_name(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
  return std::pair{text.substr(0, colon), std::string(text.substr(colon + 1))};
}

std::optional<TokenSource> parse_token_source(std::string_view text) {
  if (text == "protocol") return TokenSource{TokenSource::Kind::protocol, ""};
  auto spec = kind_and_name(text);
  if (!spec) return std::nullopt;
  auto& [kind, name] = *spec;
  if (kind == "header") return TokenSource{TokenSource::Kind::header, name};
  if (kind == "query") return TokenSource{TokenSource::Kind::query, name};
  if (kind == "cookie") return TokenSource{TokenSource::Kind::cookie, name};
  return std::nullopt;
}

void read_jwks_url(Reader& r, const YAML::Node& node, const std::string& path, JwksUrl& j) {
  r.read_string(node, "jwks_url", path, j.url);
  r.read_file_path(node, "ca_file", path, j.ca_file, false);
  r.read_duration(node, "refresh_interval", path, j.refresh_interval);
  r.read_duration(node, "min_refresh_interval", path, j.min_refresh_interval);
  r.read_duration(node, "fetch_timeout", path, j.fetch_timeout);
  auto parsed = boost::urls::parse_absolute_uri(j.url);
  if (!parsed || parsed->scheme() != "https" || parsed->encoded_host().empty() ||
      parsed->has_userinfo() || parsed->has_fragment()) {
    r.error(node["jwks_url"], path + ".jwks_url", "must be an https:// URL without user or fragment");
    return;
  }
  j.host = parsed->host_address();  // an IPv6 literal without its brackets
  if (parsed->has_port()) {
    if (parsed->port_number() == 0)
      r.error(node["jwks_url"], path + ".jwks_url", "port must be 1-65535");
    j.port = parsed->port_number();
  }
  j.target = parsed->encoded_target().empty() ? "/" : std::string(parsed->encoded_target());
  if (j.refresh_interval < j.min_refresh_interval || j.min_refresh_interval.count() <= 0)
    r.error(node, path, "needs 0 < min_refresh_interval <= refresh_interval");
}

void read_provider(Reader& r, const YAML::Node& item, const std::string& path, AuthProvider& p) {
  r.check_keys(item, path, Section::provider);
  r.read_string(item, "issuer", path, p.issuer);
  r.read_string_list(item, "audiences", path, p.audiences);
  r.read_duration(item, "leeway", path, p.leeway);
  if (auto algs = item["algorithms"]; !algs) {
    r.error(item, path + ".algorithms", "is required (an explicit allowlist, e.g. [HS256])");
  } else if (r.expect_seq(algs, path + ".algorithms")) {
    if (algs.size() == 0) r.error(algs, path + ".algorithms", "must not be empty");
    for (std::size_t i = 0; i < algs.size(); ++i) {
      auto a = r.scalar(algs[i], index_path(path + ".algorithms", i));
      if (!a) continue;
      if (!auth::parse_algorithm(*a))
        r.error(algs[i], index_path(path + ".algorithms", i),
                "must be one of HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA");
      else p.algorithms.push_back(*a);
    }
  }
  if (auto keys = item["keys"]; !keys) {
    r.error(item, path + ".keys", "is required");
  } else if (r.expect_seq(keys, path + ".keys")) {
    if (keys.size() == 0) r.error(keys, path + ".keys", "must not be empty");
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto kpath = index_path(path + ".keys", i);
      if (!r.expect_map(keys[i], kpath)) continue;
      r.check_keys(keys[i], kpath, Section::key_source);
      KeySource k;
      k.located = r.located(keys[i].Mark(), kpath, "");
      if (k.located.ends_with(": ")) k.located.resize(k.located.size() - 2);
      r.read_file_path(keys[i], "secret_file", kpath, k.secret_file, false);
      r.read_file_path(keys[i], "pem_file", kpath, k.pem_file, false);
      r.read_file_path(keys[i], "jwks_file", kpath, k.jwks_file, false);
      r.read_string(keys[i], "kid", kpath, k.kid);
      const int set = !!keys[i]["secret_file"] + !!keys[i]["pem_file"] + !!keys[i]["jwks_file"] +
                      !!keys[i]["jwks_url"];
      if (set != 1)
        r.error(keys[i], kpath, "needs exactly one of secret_file, pem_file, jwks_file, jwks_url");
      if (keys[i]["jwks_url"]) read_jwks_url(r, keys[i], kpath, k.jwks_url.emplace());
      else if (keys[i]["ca_file"] || keys[i]["refresh_interval"] || keys[i]["min_refresh_interval"] ||
               keys[i]["fetch_timeout"])
        r.error(keys[i], kpath, "ca_file and the refresh settings go with jwks_url only");
      p.keys.push_back(std::move(k));
    }
  }
  if (auto sources = item["token_from"]; sources && r.expect_seq(sources, path + ".token_from")) {
    p.token_from.clear();
    for (std::size_t i = 0; i < sources.size(); ++i) {
      auto s = r.scalar(sources[i], index_path(path + ".token_from", i));
      if (!s) continue;
      if (auto t = parse_token_source(*s)) p.token_from.push_back(*t);
      else r.error(sources[i], index_path(path + ".token_from", i),
                   "must be header:NAME, query:NAME, cookie:NAME or protocol");
    }
  }
  if (auto fwd = item["forward_claims"]; fwd && r.expect_map(fwd, path + ".forward_claims")) {
    for (const auto& kv : fwd) {
      auto header = r.scalar(kv.second, path + ".forward_claims." + kv.first.as<std::string>());
      if (header) p.forward_claims.emplace_back(kv.first.as<std::string>(), *header);
    }
  }
}

void read_auth(Reader& r, const YAML::Node& node, std::vector<AuthProvider>& out) {
  if (!r.expect_map(node, "auth")) return;
  r.check_keys(node, "auth", Section::auth);
  auto providers = node["providers"];
  if (!providers || !r.expect_seq(providers, "auth.providers")) return;
  std::set<std::string> names;
  for (std::size_t i = 0; i < providers.size(); ++i) {
    const auto path = index_path("auth.providers", i);
    if (!r.expect_map(providers[i], path)) continue;
    AuthProvider p;
    r.read_string(providers[i], "name", path, p.name);
    if (p.name.empty()) r.error(providers[i], path + ".name", "is required");
    else if (!names.insert(p.name).second) r.error(providers[i], path + ".name", "duplicate name " + p.name);
    read_provider(r, providers[i], path, p);
    out.push_back(std::move(p));
  }
}

void read_route_auth(Reader& r, const YAML::Node& item, const std::string& path, Route& route,
                     const std::vector<AuthProvider>& providers) {
  if (auto a = item["auth"]) {
    r.read_string(item, "auth", path, route.auth);
    const bool known = std::any_of(providers.begin(), providers.end(),
                                   [&](const AuthProvider& p) { return p.name == route.auth; });
    if (!route.auth.empty() && !known) r.error(a, path + ".auth", "no auth provider named " + route.auth);
    // A browser sends cookies with a handshake that another site's page starts, and WebSocket has
    // no CORS: a cookie token with any Origin let a foreign page open sessions as its visitor.
    for (const auto& p : providers) {
      if (p.name != route.auth || !route.allowed_origins.empty()) continue;
      for (const auto& source : p.token_from)
        if (source.kind == http::TokenSource::Kind::cookie) {
          const auto origins = item["allowed_origins"];
          r.error(origins ? origins : a, path + ".allowed_origins",
                  "must list the origins allowed to open sessions: provider " + p.name +
                      " reads tokens from cookie " + source.name +
                      ", which a browser also sends when a page on another site opens the WebSocket "
                      "(cross-site WebSocket hijacking)");
          break;
        }
    }
  }
  if (auto rules = item["require_claims"]; rules && r.expect_seq(rules, path + ".require_claims")) {
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const auto rpath = index_path(path + ".require_claims", i);
      if (!r.expect_map(rules[i], rpath)) continue;
      r.check_keys(rules[i], rpath, Section::claim_rule);
      ClaimRequirement c;
      r.read_string(rules[i], "claim", rpath, c.claim);
      c.contains = static_cast<bool>(rules[i]["contains"]);
      r.read_string(rules[i], c.contains ? "contains" : "equals", rpath, c.value);
      if (c.claim.empty() || (!rules[i]["equals"] == !rules[i]["contains"]))
        r.error(rules[i], rpath, "needs claim and exactly one of equals, contains");
      route.require_claims.push_back(std::move(c));
    }
    if (route.auth.empty()) r.error(rules, path + ".require_claims", "needs auth on the route");
  }
  r.read_bool(item, "close_at_expiry", path, route.close_at_expiry);
}

// A path that means the same to every backend: one spelling, no query, no dot segment, no %2F.
bool is_plain_path(const std::string& p) {
  std::string problem;
  const auto t = http::normalize_target(p, problem);
  return t && t->target == p && t->loose_path == p && p.find('?') == std::string::npos;
}

// Header names and values an operator's rules may use: a field name, a value without CR, LF or
// NUL, and never a field the gateway writes itself (which the rule would otherwise fight).
void read_header_set(Reader& r, const YAML::Node& node, const std::string& path, bool response,
                     const std::vector<AuthProvider>& providers, const std::string& auth,
                     std::vector<std::pair<std::string, std::string>>& out) {
  if (!r.expect_map(node, path)) return;
  for (const auto& kv : node) {
    const auto name = kv.first.as<std::string>();
    const auto value = r.scalar(kv.second, path + "." + name);
    if (!value) continue;
    if (!http::is_token(name)) r.error(kv.first, path + "." + name, "must be a header name");
    else if (!http::is_field_value(*value)) r.error(kv.second, path + "." + name, "must be a header value (no CR, LF, NUL or edge spaces)");
    else out.emplace_back(name, *value);
  }
  for (const auto& [name, value] : out) {
    bool owned = response ? http::is_gateway_owned_response_field(name) : http::is_gateway_owned_request_field(name);
    for (const auto& p : providers)
      if (!response && p.name == auth)
        for (const auto& [claim, header] : p.forward_claims)
          owned = owned || http::folded_name(header) == http::folded_name(name);
    if (owned) r.error(node[name], path + "." + name, "is written by the gateway itself and cannot be set");
  }
}

void read_route_rewrites(Reader& r, const YAML::Node& item, const std::string& path, Route& route,
                         const std::vector<AuthProvider>& providers) {
  if (auto rw = item["rewrite"]; rw && r.expect_map(rw, path + ".rewrite")) {
    r.check_keys(rw, path + ".rewrite", Section::rewrite);
    bool strip = false;
    r.read_bool(rw, "strip_prefix", path + ".rewrite", strip);
    r.read_string(rw, "replace_prefix", path + ".rewrite", route.rewrite_to);
    if (strip && rw["replace_prefix"])
      r.error(rw, path + ".rewrite", "strip_prefix or replace_prefix, not both");
    else if (strip)
      route.rewrite_to = "/";
    else if (rw["replace_prefix"] && !route.rewrite_to.starts_with('/'))
      r.error(rw["replace_prefix"], path + ".rewrite.replace_prefix", "must start with /");
    else if (rw["replace_prefix"] && !is_plain_path(route.rewrite_to))
      r.error(rw["replace_prefix"], path + ".rewrite.replace_prefix", "must be a plain path (no query, dot segments or bad escapes)");
  }
  if (auto h = item["request_headers"]; h && r.expect_map(h, path + ".request_headers")) {
    const auto hpath = path + ".request_headers";
    r.check_keys(h, hpath, Section::request_headers);
    if (h["set"]) read_header_set(r, h["set"], hpath + ".set", false, providers, route.auth, route.request_headers.set);
    r.read_string_list(h, "remove", hpath, route.request_headers.remove);
    for (std::size_t i = 0; i < route.request_headers.remove.size(); ++i) {
      const auto& name = route.request_headers.remove[i];
      if (!http::is_token(name))
        r.error(h["remove"][i], index_path(hpath + ".remove", i), "must be a header name");
      else if (http::is_gateway_owned_request_field(name))
        r.error(h["remove"][i], index_path(hpath + ".remove", i), "is written by the gateway itself and cannot be removed");
    }
  }
  if (auto h = item["response_headers"]; h && r.expect_map(h, path + ".response_headers")) {
    r.check_keys(h, path + ".response_headers", Section::response_headers);
    if (h["set"]) read_header_set(r, h["set"], path + ".response_headers.set", true, providers, route.auth, route.response_headers);
  }
}

std::optional<HashKeySource> parse_hash_key(std::string_view text) {
  if (text == "ip") return HashKeySource{HashKeySource::Kind::ip, ""};
  auto spec = kind_and_name(text);
  if (!spec) return std::nullopt;
  auto& [kind, name] = *spec;
  if (kind == "claim") return HashKeySource{HashKeySource::Kind::claim, name};
  if (kind == "header") return HashKeySource{HashKeySource::Kind::header, name};
  if (kind == "cookie") return HashKeySource{HashKeySource::Kind::cookie, name};
  if (kind == "query") return HashKeySource{HashKeySource::Kind::query, name};
  // The verified client certificate's (client_auth): what the gateway itself checked.
  if (kind == "cert" && (name == "subject" || name == "uri" || name == "dns" || name == "hash"))
    return HashKeySource{HashKeySource::Kind::cert, name};
  return std::nullopt;
}

void read_health_check(Reader& r, const YAML::Node& node, const std::string& path, HealthCheck& h) {
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, Section::health_check);
  r.read_choice(node, "type", path, h.type, {"http", "websocket"});
  r.read_string(node, "path", path, h.path);
  if (!h.path.starts_with('/')) r.error(node["path"], path + ".path", "must start with /");
  r.read_duration(node, "interval", path, h.interval);
  r.read_duration(node, "timeout", path, h.timeout);
  r.read_count(node, "healthy_threshold", path, h.healthy_threshold, 1, 100);
  r.read_count(node, "unhealthy_threshold", path, h.unhealthy_threshold, 1, 100);
  if (h.interval.count() <= 0 || h.timeout.count() <= 0)
    r.error(node, path, "interval and timeout must be above 0");
}

// A list of key sources, first present wins; claim: needs a provider to verify the claim.
void read_key_sources(Reader& r, const YAML::Node& keys, const std::string& path,
                      const std::string& auth, std::vector<HashKeySource>& out) {
  if (!r.expect_seq(keys, path)) return;
  out.clear();
  if (keys.size() == 0) r.error(keys, path, "must not be empty");
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto k = r.scalar(keys[i], index_path(path, i));
    if (!k) continue;
    if (auto source = parse_hash_key(*k)) {
      if (source->kind == HashKeySource::Kind::claim && auth.empty())
        r.error(keys[i], index_path(path, i), "claim: needs auth on the route");
      out.push_back(*source);
    } else {
      r.error(keys[i], index_path(path, i), "must be claim:NAME, header:NAME, cookie:NAME, query:NAME, cert:subject, cert:uri, cert:dns, cert:hash or ip");
    }
  }
}

// Counts (upgrades, messages) up to 1e9 a window; byte rates read as sizes ("1MiB") up to 1 TB.
void read_rate(Reader& r, const YAML::Node& node, const std::string& path, RateSpec& rate,
               std::uint64_t max_rate = 1'000'000'000, bool with_action = false) {
  if (!r.expect_map(node, path)) return;
  if (with_action) r.check_keys(node, path, Section::message_rate);
  else r.check_keys(node, path, Section::rate);
  if (!node["rate"]) r.error(node, path + ".rate", "is required");
  r.read_size(node, "rate", path, rate.rate, 1, max_rate);  // bytes: a size; messages: a plain number
  r.read_duration(node, "per", path, rate.per);
  rate.burst = rate.rate;  // default: a window's worth at once
  r.read_size(node, "burst", path, rate.burst, 1, max_rate);
  if (rate.per.count() <= 0) r.error(node["per"], path + ".per", "must be above 0");
  if (rate.per > 24h) r.error(node["per"], path + ".per", "must be at most 24h");
}

void read_message_limit(Reader& r, const YAML::Node& node, const std::string& path,
                        MessageLimitSpec& limit, bool counts_messages) {
  read_rate(r, node, path, limit.rate, counts_messages ? 1'000'000'000 : 1'000'000'000'000,
            /*with_action=*/true);
  if (!node.IsMap()) return;
  r.read_string(node, "action", path, limit.action);
  if (limit.action != "throttle" && limit.action != "close" && limit.action != "drop")
    r.error(node["action"], path + ".action", "must be throttle, close or drop");
}

void read_redis(Reader& r, const YAML::Node& node, RedisSettings& out) {
  if (!r.expect_map(node, "redis")) return;
  r.check_keys(node, "redis", Section::redis);
  r.read_host_port(node, "address", "redis", out.address, /*required=*/true);
  // hiredis resolves names with a blocking call: only an address keeps the control thread free.
  if (node["address"] && !out.address.host.empty() &&
      (!config::IpNetwork::parse(out.address.host) || out.address.host.find('/') != std::string::npos))
    r.error(node["address"], "redis.address", "must be an IP address and port");
  else if (node["address"] && out.address.port == 0)
    r.error(node["address"], "redis.address", "needs a port");
  r.read_string(node, "password", "redis", out.password);
  r.read_duration(node, "timeout", "redis", out.timeout);
  r.read_duration(node, "session_lease", "redis", out.session_lease);
  r.read_string(node, "key_prefix", "redis", out.key_prefix);
  if (out.timeout.count() <= 0) r.error(node["timeout"], "redis.timeout", "must be above 0");
  if (out.session_lease < 3s) r.error(node["session_lease"], "redis.session_lease", "must be at least 3s");
}

void read_rate_limits(Reader& r, const YAML::Node& node, const std::optional<RedisSettings>& redis,
                      std::vector<RateLimitPolicy>& out) {
  if (!r.expect_seq(node, "rate_limits")) return;
  std::set<std::string> names;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto path = index_path("rate_limits", i);
    if (!r.expect_map(node[i], path)) continue;
    r.check_keys(node[i], path, Section::rate_policy);
    RateLimitPolicy p;
    r.read_string(node[i], "name", path, p.name);
    if (p.name.empty()) r.error(node[i], path + ".name", "is required");
    else if (!names.insert(p.name).second) r.error(node[i], path + ".name", "duplicate name " + p.name);
    // claim: keys are checked against each route that uses the policy.
    if (node[i]["key"]) read_key_sources(r, node[i]["key"], path + ".key", "any", p.key);
    if (node[i]["upgrades"]) read_rate(r, node[i]["upgrades"], path + ".upgrades", p.upgrades.emplace());
    r.read_count(node[i], "max_sessions", path, p.max_sessions, 0, 1'000'000);
    const std::pair<const char*, std::optional<MessageLimitSpec>*> limits[] = {
        {"messages", &p.messages}, {"bytes", &p.bytes},
        {"backend_messages", &p.backend_messages}, {"backend_bytes", &p.backend_bytes}};
    for (const auto& [name, limit] : limits) {
      if (!node[i][name]) continue;
      const bool counts_messages = std::string_view(name).ends_with("messages");
      read_message_limit(r, node[i][name], path + "." + name, limit->emplace(), counts_messages);
    }
    r.read_string(node[i], "store", path, p.store);
    if (p.store != "local" && p.store != "redis")
      r.error(node[i]["store"], path + ".store", "must be local or redis");
    else if (p.store == "redis" && !redis)
      r.error(node[i]["store"], path + ".store", "redis needs the top-level redis settings");
    std::string failure = "fail_open";
    r.read_string(node[i], "on_store_failure", path, failure);
    if (failure != "fail_open" && failure != "fail_closed")
      r.error(node[i]["on_store_failure"], path + ".on_store_failure", "must be fail_open or fail_closed");
    p.fail_open = failure == "fail_open";
    out.push_back(std::move(p));
  }
}

void read_affinity_cookie(Reader& r, const YAML::Node& node, const std::string& path,
                          AffinityCookieSettings& c) {
  if (!r.expect_map(node, path)) return;
  r.check_keys(node, path, Section::affinity_cookie);
  if (!node["name"]) r.error(node, path + ".name", "is required");
  r.read_string(node, "name", path, c.name);
  if (node["name"] && !http::is_token(c.name))
    r.error(node["name"], path + ".name", "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)");
  r.read_duration(node, "ttl", path, c.ttl);
  if (c.ttl.count() < 1000) r.error(node, path + ".ttl", "must be at least 1s");
  r.read_bool(node, "secure", path, c.secure);
  r.read_choice(node, "same_site", path, c.same_site, {"Lax", "Strict", "None"});
  r.read_file_path(node, "secret_file", path, c.secret_file, true);
  if (c.secret_file.empty()) return;
  std::ifstream in(c.secret_file, std::ios::binary);
  c.secret.assign(std::istreambuf_iterator<char>(in), {});
  while (!c.secret.empty() && (c.secret.back() == '\n' || c.secret.back() == '\r')) c.secret.pop_back();
  if (in && c.secret.size() < 32)
    r.error(node["secret_file"], path + ".secret_file",
            c.secret_file + " holds " + std::to_string(c.secret.size()) +
                " bytes; a signing key needs at least 32 (e.g. openssl rand -hex 32)");
}

void read_route_balancing(Reader& r, const YAML::Node& item, const std::string& path, Route& route) {
  r.read_choice(item, "hash_algorithm", path, route.hash_algorithm, {"ring", "maglev"});
  r.read_choice(item, "balance", path, route.balance, {"hash", "least_sessions", "round_robin"});
  if (route.balance != "hash" && item["balance_factor"])
    r.error(item["balance_factor"], path + ".balance_factor", "bounds hashing only (balance: hash)");
  if (item["hash_key"]) read_key_sources(r, item["hash_key"], path + ".hash_key", route.auth, route.hash_key);
  if (auto f = item["balance_factor"]) {
    auto v = r.scalar(f, path + ".balance_factor");
    char* end = nullptr;
    const double factor = v ? std::strtod(v->c_str(), &end) : 0;
    if (v && (end == v->c_str() || *end != '\0' || !(factor == 0 || (factor >= 1 && factor <= 100))))
      r.error(f, path + ".balance_factor", "must be 0 (off) or a number from 1 to 100, e.g. 1.25");
    else route.balance_factor = factor;
  }
  if (auto h = item["health_check"]) read_health_check(r, h, path + ".health_check", route.health_check.emplace());
  r.read_duration(item, "backend_drain_timeout", path, route.backend_drain_timeout);
  r.read_duration(item, "passive_eject_time", path, route.passive_eject_time);
  r.read_duration(item, "affinity_ttl", path, route.affinity_ttl);
  r.read_count(item, "affinity_max_entries", path, route.affinity_max_entries, 16, 100'000'000);
  if (auto c = item["affinity_cookie"]) read_affinity_cookie(r, c, path + ".affinity_cookie", route.affinity_cookie.emplace());
  r.read_bool(item, "shared_loads", path, route.shared_loads);
  if (route.shared_loads && route.balance_factor <= 0)
    r.error(item["shared_loads"], path + ".shared_loads", "shares bounded loads: it needs balance_factor");
  if (auto rb = item["rebalance"]; rb && r.expect_map(rb, path + ".rebalance")) {
    r.check_keys(rb, path + ".rebalance", Section::rebalance);
    if (!rb["max_per_minute"]) r.error(rb, path + ".rebalance.max_per_minute", "is required");
    r.read_count(rb, "max_per_minute", path + ".rebalance", route.rebalance_per_minute, 1, 100'000);
    if (route.balance_factor <= 0)
      r.error(rb, path + ".rebalance", "moves sessions above the bounded-load share: it needs balance_factor");
  }
}

void read_route_rate_limit(Reader& r, const YAML::Node& item, const std::string& path, Route& route,
                           const std::vector<RateLimitPolicy>& policies) {
  auto node = item["rate_limit"];
  if (!node) return;
  r.read_string(item, "rate_limit", path, route.rate_limit);
  const auto it = std::find_if(policies.begin(), policies.end(),
                               [&](const RateLimitPolicy& p) { return p.name == route.rate_limit; });
  if (it == policies.end()) {
    r.error(node, path + ".rate_limit", "no rate_limits policy named " + route.rate_limit);
    return;
  }
  const bool by_claim = std::any_of(it->key.begin(), it->key.end(), [](const HashKeySource& k) {
    return k.kind == HashKeySource::Kind::claim;
  });
  if (by_claim && route.auth.empty())
    r.error(node, path + ".rate_limit", "policy " + route.rate_limit + " keys on a claim: needs auth on the route");
}

void read_routes(Reader& r, const YAML::Node& node, std::vector<Route>& out,
                 const std::vector<AuthProvider>& providers,
                 const std::vector<RateLimitPolicy>& policies) {
  if (!r.expect_seq(node, "routes")) return;
  if (node.size() == 0) r.error(node, "routes", "must not be empty");
  std::set<std::string> names;
  std::set<std::string> matches;  // host, exact or not, path
  for (std::size_t i = 0; i < node.size(); ++i) {
    auto path = index_path("routes", i);
    const auto& item = node[i];
    if (!r.expect_map(item, path)) continue;
    r.check_keys(item, path, Section::route);
    Route route;
    route.name = "route" + std::to_string(i);
    r.read_string(item, "name", path, route.name);
    if (!names.insert(route.name).second)
      r.error(item, path + ".name", "duplicate name " + route.name);

    if (auto match = item["match"]; match && r.expect_map(match, path + ".match")) {
      const auto mpath = path + ".match";
      r.check_keys(match, mpath, Section::match);
      r.read_string(match, "host", mpath, route.host);
      r.read_string(match, "path_prefix", mpath, route.path_prefix);
      r.read_string(match, "path_exact", mpath, route.path_exact);
      std::string prefix_match = "segment";
      r.read_choice(match, "prefix_match", mpath, prefix_match, {"segment", "string"});
      route.string_prefix = prefix_match == "string";
      if (match["path_prefix"] && match["path_exact"])
        r.error(match["path_exact"], mpath + ".path_exact", "a route has path_prefix or path_exact, not both");
      if (match["path_exact"] && match["prefix_match"])
        r.error(match["prefix_match"], mpath + ".prefix_match", "applies to path_prefix only");
      const bool exact = static_cast<bool>(match["path_exact"]);
      const std::string& p = exact ? route.path_exact : route.path_prefix;
      if (!p.starts_with('/'))
        r.error(match[exact ? "path_exact" : "path_prefix"], mpath + (exact ? ".path_exact" : ".path_prefix"),
                "must start with /");
      if (!matches.insert(route.host + (exact ? " =" : " ") + p).second)
        r.error(match, mpath, "same host and path as an earlier route");
    }

    auto backends = item["backends"];
    if (!backends) {
      r.error(item, path + ".backends", "is required");
    } else if (r.expect_seq(backends, path + ".backends")) {
      if (backends.size() == 0) r.error(backends, path + ".backends", "must not be empty");
      std::set<std::string> urls;
      for (std::size_t j = 0; j < backends.size(); ++j) {
        auto bpath = index_path(path + ".backends", j);
        // "URL", or { url: URL, weight: N }
        const bool is_map = backends[j].IsMap();
        std::string url;
        std::uint64_t weight = 1;
        std::string discover = "none";
        std::uint64_t max_backends = 64;
        if (is_map) {
          r.check_keys(backends[j], bpath, Section::backend);
          r.read_string(backends[j], "url", bpath, url);
          r.read_count(backends[j], "weight", bpath, weight, 0, 1000);
          r.read_string(backends[j], "discover", bpath, discover);
          r.read_count(backends[j], "max_backends", bpath, max_backends, 1, 1024);
        } else if (auto u = r.scalar(backends[j], bpath)) {
          url = *u;
        } else {
          continue;
        }
        if (discover != "none" && discover != "dns" && discover != "srv") {
          r.error(backends[j]["discover"], bpath + ".discover", "must be none, dns or srv");
          continue;
        }
        if (discover == "srv") {
          // ws://_SERVICE._tcp.NAME: the port comes from each record.
          auto b = parse_srv_backend(url);
          if (!b) {
            r.error(backends[j], bpath, "discover: srv needs ws://_SERVICE._tcp.NAME or wss://_SERVICE._tcp.NAME (no port)");
            continue;
          }
          if (backends[j]["weight"]) r.error(backends[j]["weight"], bpath + ".weight", "comes from each SRV record with discover: srv");
          if (!urls.insert(b->url).second) r.error(backends[j], bpath, "duplicate backend " + b->url);
          b->max_backends = static_cast<std::uint32_t>(max_backends);
          route.backends.push_back(std::move(*b));
          continue;
        }
        auto b = parse_backend(url);
        if (!b) {
          r.error(backends[j], bpath, "must be ws://HOST:PORT or wss://HOST:PORT");
          continue;
        }
        if (discover == "dns") {
          boost::system::error_code ec;
          boost::asio::ip::make_address(b->host, ec);
          if (!ec) r.error(backends[j], bpath, "discover: dns needs a name to look up, not an address");
          b->discover = Backend::Discover::dns;
          b->max_backends = static_cast<std::uint32_t>(max_backends);
        } else if (is_map && backends[j]["max_backends"]) {
          r.error(backends[j]["max_backends"], bpath + ".max_backends", "is for discover: dns or srv");
        }
        if (!urls.insert(b->url).second) r.error(backends[j], bpath, "duplicate backend " + b->url);
        b->weight = static_cast<std::uint32_t>(weight);
        route.backends.push_back(std::move(*b));
      }
    }
    r.read_file_path(item, "backend_ca_file", path, route.backend_ca_file, false);
    r.read_duration(item, "connect_timeout", path, route.connect_timeout);
    r.read_duration(item, "response_timeout", path, route.response_timeout);
    if (auto limits = item["limits"]) read_route_limits(r, limits, path + ".limits", route.limits);
    r.read_string_list(item, "allowed_origins", path, route.allowed_origins);
    read_networks(r, item, "allow_from", path, route.allow_from);
    read_networks(r, item, "deny_from", path, route.deny_from);
    r.read_bool(item, "require_client_cert", path, route.require_client_cert);
    read_route_auth(r, item, path, route, providers);
    read_route_rewrites(r, item, path, route, providers);
    read_route_balancing(r, item, path, route);
    read_route_rate_limit(r, item, path, route, policies);
    out.push_back(std::move(route));
  }
}

void read_root(Reader& r, const YAML::Node& root, Config& cfg) {
  // An empty file (or one of comments only) is a null document, whose mark is 0:0 (-1:-1 in
  // yaml-cpp's counting): say what it is, at its first line.
  if (root.IsNull()) {
    r.error(YAML::Mark(), "", "the file is empty: it needs at least listeners and routes");
    return;
  }
  if (!r.expect_map(root, "")) return;
  r.check_keys(root, "", Section::root);
  if (auto threads = root["threads"]) {
    std::uint64_t n = 0;
    r.read_count(root, "threads", "", n, 0, 256);
    cfg.threads = static_cast<unsigned>(n);
  }
  if (auto log = root["log"]) read_log(r, log, cfg.log);
  if (auto access = root["access_log"]; access && r.expect_map(access, "access_log")) {
    r.check_keys(access, "access_log", Section::access_log);
    r.read_bool(access, "enabled", "access_log", cfg.access_log.enabled);
    r.read_string(access, "path", "access_log", cfg.access_log.path);
    if (!cfg.access_log.path.empty()) cfg.access_log.path = r.resolve_path(cfg.access_log.path);
  }
  if (auto listeners = root["listeners"]) read_listeners(r, listeners, cfg.listeners);
  else r.error(root, "listeners", "is required");
  if (auto admin = root["admin"]; admin && r.expect_map(admin, "admin")) {
    r.check_keys(admin, "admin", Section::admin);
    r.read_bool(admin, "enabled", "admin", cfg.admin.enabled);
    r.read_host_port(admin, "bind", "admin", cfg.admin.bind, false);
    r.read_file_path(admin, "token_file", "admin", cfg.admin.token_file, false);
    if (!cfg.admin.token_file.empty()) {
      std::ifstream in(cfg.admin.token_file, std::ios::binary);
      cfg.admin.token.assign(std::istreambuf_iterator<char>(in), {});
      while (!cfg.admin.token.empty() && std::isspace(static_cast<unsigned char>(cfg.admin.token.back())))
        cfg.admin.token.pop_back();
      if (in && cfg.admin.token.size() < 16)
        r.error(admin["token_file"], "admin.token_file",
                cfg.admin.token_file + " holds " + std::to_string(cfg.admin.token.size()) +
                    " bytes; a token needs at least 16 (e.g. openssl rand -hex 32)");
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(cfg.admin.bind.host, ec);
    const bool loopback = cfg.admin.bind.host == "localhost" || (!ec && address.is_loopback());
    if (cfg.admin.enabled && !loopback && cfg.admin.token_file.empty())
      r.error(admin["bind"] ? admin["bind"] : admin, "admin.bind",
              "a listener that is not loopback needs admin.token_file (its API can drain backends)");
  }
  if (auto http = root["http"]) read_http(r, http, cfg.http);
  if (auto drain = root["drain"]; drain && r.expect_map(drain, "drain")) {
    r.check_keys(drain, "drain", Section::drain);
    r.read_duration(drain, "delay", "drain", cfg.drain.delay);
    r.read_duration(drain, "timeout", "drain", cfg.drain.timeout);
  }
  if (auto handover = root["handover"]; handover && r.expect_map(handover, "handover")) {
    r.check_keys(handover, "handover", Section::handover);
    r.read_duration(handover, "timeout", "handover", cfg.handover.timeout);
  }
  if (root["drain_timeout"]) {
    r.read_duration(root, "drain_timeout", "", cfg.drain.timeout);
    if (root["drain"] && root["drain"]["timeout"])
      r.error(root["drain_timeout"], "drain_timeout", "is drain.timeout's old name: give only one of them");
    else
      r.warning(root["drain_timeout"], "drain_timeout", "is deprecated: use drain: { timeout: ... }");
  }
  if (auto auth = root["auth"]) read_auth(r, auth, cfg.auth_providers);
  r.read_string_list(root, "trusted_proxies", "", cfg.trusted_proxies);
  for (std::size_t i = 0; i < cfg.trusted_proxies.size(); ++i)
    if (!config::IpNetwork::parse(cfg.trusted_proxies[i]))
      r.error(root["trusted_proxies"][i], index_path("trusted_proxies", i),
              "must be an address or a CIDR block such as 10.0.0.0/8");
  if (auto redis = root["redis"]) read_redis(r, redis, cfg.redis.emplace());
  if (auto dns = root["dns"]) read_dns(r, dns, cfg.dns);
  if (auto limits = root["rate_limits"]) read_rate_limits(r, limits, cfg.redis, cfg.rate_limits);
  if (auto routes = root["routes"]) read_routes(r, routes, cfg.routes, cfg.auth_providers, cfg.rate_limits);
  else r.error(root, "routes", "is required");
  if (!cfg.redis)
    for (std::size_t i = 0; i < cfg.routes.size(); ++i)
      if (cfg.routes[i].shared_loads)
        r.error(root["routes"][i]["shared_loads"], index_path("routes", i) + ".shared_loads",
                "shares loads through Redis: it needs the redis section");
}

}  // namespace

LoadResult load_config_text(const std::string& text, const std::string& name,
                            const std::string& base_dir, const EnvLookup& env) {
  LoadResult result;
  Reader reader(name, base_dir, env);
  Config cfg;
  cfg.source_file = name;
  try {
    read_root(reader, YAML::Load(text), cfg);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on syntax errors and on conversions; both carry a mark.
    reader.error(e.mark, "", e.msg);
  }
  result.errors = reader.take_errors();
  result.warnings = reader.take_warnings();
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

LoadResult load_config_file(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path);
  if (!in) return LoadResult{std::nullopt, {path + ":1:1: cannot read file"}, {}};
  std::stringstream text;
  text << in.rdbuf();
  auto dir = std::filesystem::absolute(path).parent_path().string();
  return load_config_text(text.str(), path, dir, env);
}

}  // namespace wsgate::config
