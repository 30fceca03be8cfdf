#include "gateway/admin/status_metrics.hpp"

#include "gateway/access_log.hpp"
#include "metrics/process_stats.hpp"

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

std::vector<MetricFamily> status_families(const Runtime& rt, const ReloadHistory& reloads,
                                          const HandoverHistory& handovers) {
  std::vector<MetricFamily> out;

  auto generation = family("wsgate_process_generation",
                           "1 for a process started by hand; one more than its predecessor's for a process "
                           "a binary upgrade (SIGUSR2) started.",
                           MetricType::Gauge);
  add(generation, {}, static_cast<double>(handovers.generation));
  out.push_back(std::move(generation));

  auto moved = family("wsgate_handover_sessions_total",
                      "Sessions in binary upgrades: handed_over, drained (1001), kept (the new process failed) "
                      "by the old process; adopted, closed (route or backend gone: 1012), refused by the new one.",
                      MetricType::Counter);
  add(moved, {{"result", "handed_over"}}, static_cast<double>(handovers.handed_over));
  add(moved, {{"result", "drained"}}, static_cast<double>(handovers.drained));
  add(moved, {{"result", "kept"}}, static_cast<double>(handovers.kept));
  add(moved, {{"result", "adopted"}}, static_cast<double>(handovers.adopted));
  add(moved, {{"result", "closed"}}, static_cast<double>(handovers.closed));
  add(moved, {{"result", "refused"}}, static_cast<double>(handovers.refused));
  out.push_back(std::move(moved));

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

  // TLS listeners only: a plain one has no certificate to expire.
  auto not_after = family("wsgate_tls_certificate_not_after_timestamp_seconds",
                          "When a listener's certificate expires (Unix time): alert on it minus time().",
                          MetricType::Gauge);
  for (std::size_t l = 0; l < rt.listener_tls.size(); ++l) {
    if (!rt.listener_tls[l]) continue;
    for (const auto& cert : rt.listener_tls[l]->certificates())
      add(not_after, {{"listener", rt.config.listeners[l].name}, {"cn", cert.subject_cn},
                      {"serial", cert.serial}, {"file", cert.file}},
          static_cast<double>(cert.not_after_unix));
  }
  if (!not_after.metric.empty()) out.push_back(std::move(not_after));

  auto dropped = family("wsgate_access_log_dropped_lines_total",
                        "Access log lines lost because writing them failed (a full disk).",
                        MetricType::Counter);
  add(dropped, {}, static_cast<double>(access_log::dropped_lines()));
  out.push_back(std::move(dropped));

  if (const auto p = metrics::read_process_stats()) {
    const auto one = [&](const char* name, const char* help, MetricType type, double value) {
      auto f = family(name, help, type);
      add(f, {}, value);
      out.push_back(std::move(f));
    };
    one("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", MetricType::Counter,
        p->cpu_seconds);
    one("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
        static_cast<double>(p->resident_bytes));
    one("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
        static_cast<double>(p->virtual_bytes));
    one("process_open_fds", "Open file descriptors.", MetricType::Gauge, static_cast<double>(p->open_fds));
    one("process_max_fds", "The most file descriptors the process may open.", MetricType::Gauge,
        static_cast<double>(p->max_fds));
    one("process_start_time_seconds", "When the process started (Unix time).", MetricType::Gauge,
        p->start_time_unix);
  }
  return out;
}

}  // namespace wsgate::gateway
