#include "gateway/status_metrics.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <iterator>
#include <set>

namespace wsgate::gateway {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

}  // namespace

std::string config_file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 8; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::vector<MetricFamily> status_families(const Runtime& rt, const ReloadHistory& reloads) {
  std::vector<MetricFamily> out;

  auto build = family("wsgate_build_info", "Always 1; the version wsgate was built as.", MetricType::Gauge);
  add(build, {{"version", WSGATE_VERSION}}, 1);
  out.push_back(std::move(build));

  auto info = family("wsgate_config_info", "Always 1; the hash of the configuration file in use.",
                     MetricType::Gauge);
  add(info, {{"hash", reloads.config_hash}}, 1);
  out.push_back(std::move(info));

  auto loads = family("wsgate_config_reloads_total",
                      "Configuration reloads (SIGHUP): applied, or rejected with the old one kept.",
                      MetricType::Counter);
  add(loads, {{"result", "ok"}}, static_cast<double>(reloads.succeeded));
  add(loads, {{"result", "error"}}, static_cast<double>(reloads.failed));
  out.push_back(std::move(loads));

  auto last = family("wsgate_config_last_reload_success_timestamp_seconds",
                     "When the configuration in use was loaded (Unix time).", MetricType::Gauge);
  add(last, {}, reloads.last_success_unix);
  out.push_back(std::move(last));

  auto up = family("wsgate_backend_up", "1 while active health checks find the backend healthy.",
                   MetricType::Gauge);
  auto ejections = family("wsgate_backend_ejections_total",
                          "Times a backend was taken out: by health checks (cause=health_check) or "
                          "for passive_eject_time (or until its checks pass) after a failed connect (cause=connect_failure).",
                          MetricType::Counter);
  auto jwks = family("wsgate_jwks_refreshes_total",
                     "JWKS fetches: result=ok brought a key set, error kept the last good one.",
                     MetricType::Counter);
  std::set<std::string> backends_seen, urls_seen;
  for (const auto& route : rt.routes) {
    const auto& backends = route.config->backends;
    for (std::size_t b = 0; b < backends.size(); ++b) {
      const auto& state = route.picker->state(b);
      add(up, {{"route", route.config->name}, {"backend", backends[b].url}}, state.healthy() ? 1 : 0);
      if (!backends_seen.insert(backends[b].url).second) continue;  // states are shared by URL
      add(ejections, {{"backend", backends[b].url}, {"cause", "health_check"}},
          static_cast<double>(state.check_ejections()));
      add(ejections, {{"backend", backends[b].url}, {"cause", "connect_failure"}},
          static_cast<double>(state.passive_ejections()));
    }
    for (const auto& source : route.jwks) {
      if (!urls_seen.insert(source->settings().url).second) continue;
      add(jwks, {{"url", source->settings().url}, {"result", "ok"}},
          static_cast<double>(source->refreshes_ok()));
      add(jwks, {{"url", source->settings().url}, {"result", "error"}},
          static_cast<double>(source->refreshes_failed()));
    }
  }
  out.push_back(std::move(up));
  out.push_back(std::move(ejections));
  out.push_back(std::move(jwks));
  return out;
}

}  // namespace wsgate::gateway
