#include "gateway/control/discovery.hpp"

#include "gateway/control/dns_resolver.hpp"

#include "gateway/log.hpp"
#include "metrics/gateway_series.hpp"

#include <set>

namespace wsgate::gateway {

namespace asio = boost::asio;

struct Discovery::Name {
  Name(asio::io_context& io, config::Backend e, discovery::WatchSettings s)
      : entry(std::move(e)), watch(s), timer(io) {}
  config::Backend entry;  // as the configuration wrote it
  discovery::NameWatch watch;
  asio::steady_timer timer;
  bool in_flight = false;
  bool dropped = false;  // the configuration no longer names it
  std::shared_ptr<metrics::SeriesSet> series;
  std::size_t row = 0;
  std::uint64_t counted_backends = 0;  // what the backends gauge holds
};

Discovery::Discovery(asio::io_context& control, std::function<void()> on_change)
    : io_(control), on_change_(std::move(on_change)) {}

Discovery::~Discovery() { stop(); }

void Discovery::stop() {
  stopped_ = true;
  for (auto& [url, name] : names_) name->timer.cancel();
  names_.clear();
  resolver_.reset();
}

void Discovery::watch(const config::Config& config, metrics::SeriesCollector& series) {
  if (stopped_) return;
  const auto& dns = config.dns;
  const bool same = settings_set_ && dns.nameservers.size() == settings_.nameservers.size() &&
                    dns.timeout == settings_.timeout &&
                    std::equal(dns.nameservers.begin(), dns.nameservers.end(), settings_.nameservers.begin(),
                               [](const auto& a, const auto& b) { return a.host == b.host && a.port == b.port; });
  std::map<std::string, config::Backend> wanted;
  for (const auto& route : config.routes)
    for (const auto& b : route.backends)
      if (b.discover != config::Backend::Discover::none) wanted.emplace(b.url, b);
  if (!same || !resolver_) {
    std::string error;
    resolver_.reset();  // its lookups in flight end unanswered; their names ask again below
    if (!wanted.empty()) {
      resolver_ = std::make_unique<DnsResolver>(io_, dns.nameservers,
                                                std::chrono::duration_cast<std::chrono::milliseconds>(dns.timeout), error);
      if (!error.empty()) log::error("dns_resolver_failed", {{"error", error}});
    }
    for (auto& [url, name] : names_) name->in_flight = false;
  }
  settings_ = dns;
  settings_set_ = true;
  for (auto it = names_.begin(); it != names_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    it->second->dropped = true;
    it->second->timer.cancel();
    it->second->series->row(it->second->row).subtract(metrics::DiscoverySeries::get().backends,
                                                      it->second->counted_backends);
    it = names_.erase(it);
  }
  const discovery::WatchSettings base{settings_.refresh, settings_.respect_ttl, 64};
  for (auto& [url, entry] : wanted) {
    auto settings = base;
    settings.max_backends = entry.max_backends;
    auto& name = names_[url];
    if (name) {
      // Known: its set stays in use; the settings apply from its next answer.
      name->entry = entry;
      name->watch.set_settings(settings);
      if (!name->in_flight) look_up(name);
      continue;
    }
    name = std::make_shared<Name>(io_, entry, settings);
    name->series = series.set(metrics::DiscoverySeries::get().layout, {{"name", url}});
    name->row = series.rows() - 1;  // the control thread's row
    look_up(name);
  }
}

std::vector<config::Backend> Discovery::backends_of(const config::Backend& entry) const {
  std::vector<config::Backend> out;
  auto it = names_.find(entry.url);
  if (it == names_.end()) return out;
  for (const auto& e : it->second->watch.endpoints()) {
    config::Backend b = entry;
    b.url = discovery::endpoint_url(entry.tls ? "wss" : "ws", e);
    b.address = e.address;
    b.port = e.port;
    if (entry.discover == config::Backend::Discover::srv) b.weight = e.weight;
    b.discover = config::Backend::Discover::none;
    b.discovered_from = entry.url;
    // host stays the entry's name: the TLS server name and the health check's Host.
    if (entry.discover == config::Backend::Discover::srv) b.host = e.name;
    out.push_back(std::move(b));
  }
  return out;
}

void Discovery::look_up(const std::shared_ptr<Name>& name) {
  if (stopped_ || !resolver_ || name->in_flight) return;
  name->in_flight = true;
  std::weak_ptr<Name> weak = name;
  if (name->entry.discover == config::Backend::Discover::dns) {
    resolver_->lookup_addresses(name->entry.host, [this, weak](DnsResolver::Addresses a) {
      auto n = weak.lock();
      if (!n || n->dropped) return;
      std::vector<discovery::Endpoint> endpoints;
      for (auto& address : a.addresses) endpoints.push_back({std::move(address), n->entry.port, 1, n->entry.host});
      answered(n, a.outcome, std::move(endpoints), a.ttl);
    });
    return;
  }
  // SRV: the records of the lowest priority present, then each target's addresses.
  resolver_->lookup_services(name->entry.host, [this, weak](DnsResolver::Services s) {
    auto n = weak.lock();
    if (!n || n->dropped) return;
    if (s.outcome != discovery::Outcome::ok) return answered(n, s.outcome, {}, std::chrono::seconds(0));
    std::uint16_t lowest = UINT16_MAX;
    for (const auto& r : s.records) lowest = std::min(lowest, r.priority);
    std::vector<DnsResolver::SrvRecord> records;
    for (const auto& r : s.records)
      if (r.priority == lowest && r.target != ".") records.push_back(r);
    if (records.empty() || !resolver_) return answered(n, discovery::Outcome::other, {}, std::chrono::seconds(0));
    struct Gather {
      std::vector<discovery::Endpoint> endpoints;
      std::size_t left = 0;
      std::chrono::seconds ttl{INT32_MAX};
      discovery::Outcome failure = discovery::Outcome::ok;
    };
    auto gather = std::make_shared<Gather>();
    gather->left = records.size();
    for (const auto& r : records) {
      resolver_->lookup_addresses(r.target, [this, weak, gather, r](DnsResolver::Addresses a) {
        auto n2 = weak.lock();
        if (!n2 || n2->dropped) return;
        if (a.outcome == discovery::Outcome::ok) {
          for (auto& address : a.addresses)
            gather->endpoints.push_back({std::move(address), r.port, r.weight, r.target});
          gather->ttl = std::min(gather->ttl, a.ttl);
        } else {
          gather->failure = a.outcome;
        }
        if (--gather->left > 0) return;
        // A target that did not resolve makes the whole answer a failure: a partial set would
        // move the keys of backends that are still there.
        if (gather->failure != discovery::Outcome::ok)
          return answered(n2, gather->failure, {}, std::chrono::seconds(0));
        discovery::normalize_srv_weights(gather->endpoints);
        answered(n2, discovery::Outcome::ok, std::move(gather->endpoints), gather->ttl);
      });
    }
  });
}

void Discovery::answered(const std::shared_ptr<Name>& name, discovery::Outcome outcome,
                         std::vector<discovery::Endpoint> endpoints, std::chrono::seconds ttl) {
  name->in_flight = false;
  const auto now = discovery::Clock::now();
  const auto& series = metrics::DiscoverySeries::get();
  auto& row = name->series->row(name->row);
  row.add(series.lookups + static_cast<std::size_t>(outcome));
  if (outcome == discovery::Outcome::ok) {
    const bool was_out = name->watch.in_outage();
    const auto before = name->watch.endpoints();
    const bool changed = name->watch.on_answer(std::move(endpoints), ttl, now);
    if (was_out) log::info("discovery_recovered", {{"name", name->entry.url}});
    if (name->watch.left_out() > 0)
      log::warn("discovery_capped", {{"name", name->entry.url}, {"max_backends", name->entry.max_backends},
                                     {"left_out", name->watch.left_out()}});
    if (changed) {
      const auto& after = name->watch.endpoints();
      std::size_t added = 0, removed = 0;
      for (const auto& e : after) added += std::find(before.begin(), before.end(), e) == before.end();
      for (const auto& e : before) removed += std::find(after.begin(), after.end(), e) == after.end();
      log::info("discovery_changed", {{"name", name->entry.url}, {"backends", after.size()},
                                      {"added", added}, {"removed", removed}});
      row.add(series.changes);
      row.add(series.backends, after.size());
      row.subtract(series.backends, name->counted_backends);
      name->counted_backends = after.size();
    }
    schedule(name);
    if (changed) on_change_();
    return;
  }
  if (name->watch.on_failure(outcome, now))
    log::warn("discovery_failed", {{"name", name->entry.url}, {"result", std::string(discovery::to_string(outcome))},
                                   {"kept_backends", name->watch.endpoints().size()}});
  schedule(name);
}

void Discovery::schedule(const std::shared_ptr<Name>& name) {
  name->timer.expires_at(name->watch.next_lookup());
  name->timer.async_wait([this, weak = std::weak_ptr<Name>(name)](boost::system::error_code ec) {
    auto n = weak.lock();
    if (ec || !n || n->dropped || stopped_) return;
    look_up(n);
  });
}

}  // namespace wsgate::gateway
