// wsgate's command line: run the gateway, check a configuration file, list the keys it accepts,
// print the version.
// Exit status: 0 success, 1 invalid configuration or failure to start, 2 usage.

#include "auth/token_minter.hpp"
#include "gateway/access_log.hpp"
#include "config/config.hpp"
#include "config/config_keys.hpp"
#include "gateway/log.hpp"
#include "gateway/runtime.hpp"
#include "gateway/handover/successor_start.hpp"
#include "gateway/server.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

#include <sys/resource.h>

namespace {

void usage(std::ostream& out) {
  out << "usage: wsgate [--config FILE]     run the gateway (default FILE: gateway.yaml)\n"
         "       wsgate --check-config FILE validate FILE, print every error as FILE:LINE:COL\n"
         "       wsgate token --secret-file F --sub SUBJECT [--ttl 1h] [--iss ISSUER] [--aud AUDIENCE]\n"
         "                    [--kid KID] [--claim NAME=VALUE]...   mint a development HS256 token\n"
         "                    (F: the provider's secret_file, at least 32 bytes)\n"
         "       wsgate --list-config-keys  print every key the configuration file accepts\n"
         "       wsgate --version\n"
         "\n"
         "signals:\n"
         "  SIGHUP   reload FILE (routes, keys, certificates, limits); a bad file is refused, the old kept\n"
         "  SIGTERM  drain: /readyz 503, accept for drain.delay, then 1001 to every session, exit by\n"
         "           drain.timeout (SIGINT too)\n"
         "  SIGUSR1  reopen the access log file (after logrotate moved it)\n"
         "  SIGUSR2  upgrade: start the binary now at this one's path, hand it the listening sockets and\n"
         "           every plain WebSocket session between frames, then exit (TLS and HTTP/2: 1001)\n"
         "\n"
         "admin listener (admin.bind; with admin.token_file, every path but /healthz and /readyz\n"
         "needs Authorization: Bearer TOKEN):\n"
         "  GET  /healthz, /readyz          liveness; readiness (503 while draining)\n"
         "  GET  /metrics                   Prometheus text format\n"
         "  GET  /                          status page\n"
         "  GET  /api/routes, /api/backends, /api/config, /api/history\n"
         "  GET  /api/sessions?route=&backend=&limit=     DELETE /api/sessions/ID?code=N\n"
         "  POST /api/backends/ID/drain|disable|enable    PUT /api/log-level (debug|info|warn|error)\n";
}

// `wsgate token`: a development HS256 token signed with a secret file, printed on stdout.
int mint_token(int argc, char** argv) {
  std::string secret_file, kid;
  auto ttl = std::chrono::milliseconds(std::chrono::hours(1));
  boost::json::object claims;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      usage(std::cerr);
      return 2;
    }
    const std::string value = argv[++i];
    if (arg == "--secret-file") secret_file = value;
    else if (arg == "--sub") claims["sub"] = value;
    else if (arg == "--iss") claims["iss"] = value;
    else if (arg == "--aud") claims["aud"] = value;
    else if (arg == "--kid") kid = value;
    else if (arg == "--ttl") {
      auto d = wsgate::config::parse_duration(value);
      if (!d) {
        std::cerr << "wsgate token: --ttl must be a duration such as 30s, 15m or 1h\n";
        return 2;
      }
      ttl = *d;
    } else if (arg == "--claim" && value.find('=') != std::string::npos) {
      // A value that reads as JSON (number, true, array) is kept as such, anything else a string.
      const auto eq = value.find('=');
      boost::system::error_code ec;
      auto v = boost::json::parse(value.substr(eq + 1), ec);
      claims[value.substr(0, eq)] = ec ? boost::json::value(value.substr(eq + 1)) : v;
    } else {
      usage(std::cerr);
      return 2;
    }
  }
  if (const auto* sub = claims.if_contains("sub"); !sub || (sub->is_string() && sub->as_string().empty())) {
    std::cerr << "wsgate token: --sub SUBJECT is required (the token's subject, e.g. a user id)\n";
    return 2;
  }
  std::ifstream in(secret_file, std::ios::binary);
  if (secret_file.empty() || !in) {
    std::cerr << "wsgate token: cannot read --secret-file " << secret_file << "\n";
    return 1;
  }
  std::stringstream s;
  s << in.rdbuf();
  std::string secret = s.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.size() < 32) {  // the gateway refuses such a secret: a token signed with it never verifies
    std::cerr << "wsgate token: " << secret_file << " holds " << secret.size()
              << " bytes; an HMAC secret needs at least 32 (e.g. openssl rand -hex 32)\n";
    return 1;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  claims["iat"] = now;
  claims["exp"] = now + std::chrono::duration_cast<std::chrono::seconds>(ttl).count();
  std::cout << wsgate::auth::mint_hs256(claims, secret, kid) << '\n';
  return 0;
}

int check_config(const std::string& path) {
  auto loaded = wsgate::config::load_config_file(path);
  auto errors = std::move(loaded.errors);
  wsgate::gateway::Registries shared;  // never started: checking fetches and probes nothing
  if (errors.empty()) wsgate::gateway::Runtime::build(std::move(*loaded.config), errors, shared);
  for (const auto& w : loaded.warnings) std::cerr << w << " (warning)\n";
  for (const auto& e : errors) std::cerr << e << '\n';
  if (!errors.empty()) return 1;
  std::cout << path << ": ok\n";
  return 0;
}

// Every session holds two descriptors; the soft limit (1024 on most systems) would cap the gateway
// near 500 sessions, so it takes the hard limit, as HAProxy does. Logged: it bounds the sessions.
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    const rlim_t soft = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = soft;
  }
  wsgate::log::info("open_files", {{"limit", limit.rlim_cur}});
}

// Set by the old process of a binary upgrade for the new one; taken out of the environment so
// that nothing this process starts sees them.
std::pair<int, std::uint64_t> handover_from_environment() {
  int fd = -1;
  std::uint64_t generation = 1;
  if (const char* v = std::getenv(wsgate::gateway::kHandoverFdVariable)) fd = std::atoi(v);
  if (const char* v = std::getenv(wsgate::gateway::kGenerationVariable)) generation = std::max<std::uint64_t>(1, std::strtoull(v, nullptr, 10));
  ::unsetenv(wsgate::gateway::kHandoverFdVariable);
  ::unsetenv(wsgate::gateway::kGenerationVariable);
  return {fd, generation};
}

int run(const std::string& path, const wsgate::gateway::ProcessImage& image) {
  const auto [handover_fd, generation] = handover_from_environment();
  auto loaded = wsgate::config::load_config_file(path);
  auto errors = std::move(loaded.errors);
  wsgate::gateway::Server server(path, image, handover_fd, generation);
  if (errors.empty()) {
    wsgate::log::configure(loaded.config->log.level, loaded.config->log.format);
    if (auto e = wsgate::gateway::access_log::configure(loaded.config->access_log.enabled, loaded.config->access_log.path);
        !e.empty())
      errors.push_back(path + ": access_log: " + e);
    for (const auto& w : loaded.warnings) wsgate::log::warn("config_deprecated", {{"detail", w}});
    server.load(std::move(*loaded.config), errors);
  }
  if (!errors.empty()) {
    for (const auto& e : errors) std::cerr << e << '\n';
    return 1;
  }
  // Writes to a peer that has gone must come back as EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();
  return server.run();
}

}  // namespace

int main(int argc, char** argv) {
  std::string config = "gateway.yaml";
  if (argc > 1 && std::string_view(argv[1]) == "token") return mint_token(argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--version") {
      std::cout << "wsgate " << WSGATE_VERSION << '\n';
      return 0;
    }
    if (arg == "--list-config-keys") {
      for (const auto& key : wsgate::config::all_config_keys()) std::cout << key << '\n';
      return 0;
    }
    if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      return 0;
    }
    if ((arg == "--config" || arg == "--check-config") && i + 1 < argc) {
      if (arg == "--check-config") return check_config(argv[i + 1]);
      config = argv[++i];
      continue;
    }
    usage(std::cerr);
    return 2;
  }
  return run(config, wsgate::gateway::ProcessImage::of_this_process(argc, argv));
}
