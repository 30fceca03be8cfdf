// Backends by URL across routes and reloads: one shared state each (health, passive failures, live
// sessions) and one health checker per URL and check settings, so a reload keeps what is known.
#pragma once

#include "gateway/control/health_checker.hpp"

#include <map>
#include <memory>
#include <string>

namespace wsgate::gateway {

class BackendRegistry {
 public:
  std::shared_ptr<routing::BackendState> state(const std::string& url);

  // The checker of `backend` with `check`, shared when one with the same settings exists. `tls`
  // (wss:// backends; may be null) gains a reference the checker holds.
  std::shared_ptr<HealthChecker> checker(const config::Backend& backend, const config::HealthCheck& check,
                                         SSL_CTX* tls);

  // Starts every checker not yet started and drops those only the registry still holds (so a
  // checker always dies on the control thread). Control thread only.
  void start_all(boost::asio::io_context& control, const HealthChecker::OnChange& on_change);

 private:
  std::map<std::string, std::weak_ptr<routing::BackendState>> states_;
  std::map<std::string, std::shared_ptr<HealthChecker>> checkers_;
};

}  // namespace wsgate::gateway
