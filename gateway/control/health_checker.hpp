// Active health checks of one backend from the control thread: every interval a GET on the check
// path (2xx passes) or a WebSocket upgrade (101 passes), under a timeout; rise/fall thresholds turn
// results into state changes, which are logged and reported so the backend's clients can move.
#pragma once

#include "config/config.hpp"
#include "gateway/tls_context.hpp"
#include "metrics/series_collector.hpp"
#include "routing/backend_state.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace wsgate::gateway {

class HealthChecker : public std::enable_shared_from_this<HealthChecker> {
 public:
  using OnChange = std::function<void(const std::string& url, bool healthy)>;

  // `tls` (for wss:// backends) must outlive the checker; `state` is the backend's shared state.
  HealthChecker(config::Backend backend, config::HealthCheck check, SslCtxPtr tls,
                std::shared_ptr<routing::BackendState> state);

  // First check at once, then every interval while the checker lives. Control thread only.
  void start(boost::asio::io_context& control, OnChange on_change);

  // Where results and durations are counted (backend="URL"), in the control thread's `row`. A
  // reload hands the same set again. Control thread only.
  void count_in(std::shared_ptr<metrics::SeriesSet> series, std::size_t row);

 private:
  void probe();
  void on_result(bool ok, const std::string& detail, routing::BackendState::Clock::time_point sent);

  config::Backend backend_;
  config::HealthCheck check_;
  SslCtxPtr tls_;
  std::shared_ptr<routing::BackendState> state_;
  boost::asio::io_context* control_ = nullptr;
  std::optional<boost::asio::steady_timer> timer_;
  OnChange on_change_;
  std::shared_ptr<metrics::SeriesSet> series_;
  std::size_t row_ = 0;
};

}  // namespace wsgate::gateway
