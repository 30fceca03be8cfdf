#include "gateway/control/backend_registry.hpp"

namespace wsgate::gateway {

std::shared_ptr<routing::BackendState> BackendRegistry::state(const std::string& url) {
  auto& slot = states_[url];
  if (auto s = slot.lock()) return s;
  auto s = std::make_shared<routing::BackendState>();
  slot = s;
  return s;
}

std::shared_ptr<HealthChecker> BackendRegistry::checker(const config::Backend& backend,
                                                        const config::HealthCheck& check,
                                                        SSL_CTX* tls) {
  const std::string id = backend.url + '\n' + check.type + '\n' + check.path + '\n' +
                         std::to_string(check.interval.count()) + '\n' +
                         std::to_string(check.timeout.count()) + '\n' +
                         std::to_string(check.healthy_threshold) + '\n' +
                         std::to_string(check.unhealthy_threshold);
  auto& slot = checkers_[id];
  if (!slot) {
    SslCtxPtr own;
    if (tls && SSL_CTX_up_ref(tls) == 1) own.reset(tls);
    slot = std::make_shared<HealthChecker>(backend, check, std::move(own), state(backend.url));
  }
  return slot;
}

void BackendRegistry::start_all(boost::asio::io_context& control,
                                const HealthChecker::OnChange& on_change) {
  for (auto it = checkers_.begin(); it != checkers_.end();) {
    if (it->second.use_count() == 1) {
      it = checkers_.erase(it);
      continue;
    }
    it->second->start(control, on_change);
    ++it;
  }
  std::erase_if(states_, [](const auto& kv) { return kv.second.expired(); });
}

}  // namespace wsgate::gateway
