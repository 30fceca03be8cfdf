#include "gateway/control/jwks_registry.hpp"

namespace wsgate::gateway {

namespace {

// Every setting is part of the identity: a reload that changes one gets a source that uses it.
std::string identity(const config::JwksUrl& s) {
  return s.url + '\n' + s.ca_file + '\n' + std::to_string(s.refresh_interval.count()) + '\n' +
         std::to_string(s.min_refresh_interval.count()) + '\n' +
         std::to_string(s.fetch_timeout.count());
}

}  // namespace

std::shared_ptr<JwksSource> JwksRegistry::get(const config::JwksUrl& settings, std::string& error) {
  const auto id = identity(settings);
  if (auto it = sources_.find(id); it != sources_.end()) return it->second;
  auto source = JwksSource::create(settings, error);
  if (!source) return nullptr;
  // Same URL, other settings: start from the keys already fetched rather than from none.
  for (const auto& [other_id, other] : sources_)
    if (other->settings().url == settings.url) source->adopt_keys(*other);
  sources_.emplace(id, source);
  return source;
}

void JwksRegistry::start_all(boost::asio::io_context& control) {
  for (auto it = sources_.begin(); it != sources_.end();) {
    if (it->second.use_count() == 1) {
      it = sources_.erase(it);
      continue;
    }
    it->second->start(control);
    ++it;
  }
}

void JwksRegistry::refresh_all() {
  for (const auto& [url, source] : sources_) source->refresh_now();
}

}  // namespace wsgate::gateway
