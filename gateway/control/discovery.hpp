// The backend names the configuration in use discovers (discover: dns or srv), looked up on the
// control thread with c-ares and refreshed; the last good set of each is what the runtime expands
// the entry into. A changed set asks the server for a new runtime (on_change); lookups never
// happen on the data path.
#pragma once

#include "config/config.hpp"
#include "discovery/name_watch.hpp"
#include "metrics/series_collector.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wsgate::gateway {

class DnsResolver;

class Discovery {
 public:
  Discovery(boost::asio::io_context& control, std::function<void()> on_change);
  ~Discovery();

  // The entries `config` discovers, by url: new ones are looked up at once, ones it no longer
  // names are dropped; the DNS settings take effect for the lookups that follow.
  void watch(const config::Config& config, metrics::SeriesCollector& series);
  // What the entry stands for now, as backends (empty until a first good answer).
  std::vector<config::Backend> backends_of(const config::Backend& entry) const;
  void stop();

 private:
  struct Name;
  void look_up(const std::shared_ptr<Name>& name);
  void answered(const std::shared_ptr<Name>& name, discovery::Outcome outcome,
                std::vector<discovery::Endpoint> endpoints, std::chrono::seconds ttl);
  void schedule(const std::shared_ptr<Name>& name);

  boost::asio::io_context& io_;
  std::function<void()> on_change_;
  config::DnsSettings settings_;
  bool settings_set_ = false;
  std::unique_ptr<DnsResolver> resolver_;
  std::map<std::string, std::shared_ptr<Name>> names_;  // by entry url
  bool stopped_ = false;
};

}  // namespace wsgate::gateway
