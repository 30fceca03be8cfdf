#include "gateway/control/health_checker.hpp"

#include "gateway/control/http_get.hpp"
#include "gateway/log.hpp"
#include "metrics/gateway_series.hpp"

namespace wsgate::gateway {

HealthChecker::HealthChecker(config::Backend backend, config::HealthCheck check, SslCtxPtr tls,
                             std::shared_ptr<routing::BackendState> state)
    : backend_(std::move(backend)), check_(std::move(check)), tls_(std::move(tls)),
      state_(std::move(state)) {}

void HealthChecker::start(boost::asio::io_context& control, OnChange on_change) {
  if (control_) return;
  control_ = &control;
  on_change_ = std::move(on_change);
  timer_.emplace(control);
  probe();
}

void HealthChecker::count_in(std::shared_ptr<metrics::SeriesSet> series, std::size_t row) {
  series_ = std::move(series);
  row_ = row;
}

void HealthChecker::probe() {
  HttpRequest request;
  request.tls = backend_.tls ? tls_.get() : nullptr;
  request.host = backend_.host;
  request.address = backend_.address;  // a discovered backend: its own address, not the name's
  request.port = backend_.port;
  request.target = check_.path;
  request.timeout = check_.timeout;
  request.max_body = 64 * 1024;
  const bool websocket = check_.type == "websocket";
  if (websocket)
    request.headers = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";  // 16 bytes, as RFC 6455 4.1 requires
  const auto sent = routing::BackendState::Clock::now();
  http_get(*control_, std::move(request), [weak = weak_from_this(), websocket, sent](HttpResponse r) {
    auto self = weak.lock();
    if (!self) return;
    if (!r.error.empty()) return self->on_result(false, r.error, sent);
    const bool ok = websocket ? r.status == 101 : r.status >= 200 && r.status < 300;
    self->on_result(ok, "HTTP status " + std::to_string(r.status), sent);
  });
}

void HealthChecker::on_result(bool ok, const std::string& detail,
                              routing::BackendState::Clock::time_point sent) {
  using Change = routing::BackendState::Change;
  if (series_) {
    const auto& s = metrics::HealthCheckSeries::get();
    auto& row = series_->row(row_);
    row.add(s.checks + static_cast<std::size_t>(ok ? metrics::CheckResult::ok : metrics::CheckResult::failed));
    metrics::observe(row, s.duration,
                     static_cast<std::uint64_t>((routing::BackendState::Clock::now() - sent).count()));
  }
  const auto change = state_->record_check(ok, check_.healthy_threshold, check_.unhealthy_threshold, sent);
  const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  state_->last_check = {ok, detail, now_unix};
  if (change != Change::none || state_->health_since_unix == 0) state_->health_since_unix = now_unix;
  if (change == Change::became_unhealthy) {
    log::warn("backend_unhealthy", {{"backend", backend_.url}, {"check", check_.type + " " + check_.path},
                                    {"error", detail}});
    on_change_(backend_.url, false);
  } else if (change == Change::became_healthy) {
    log::info("backend_healthy", {{"backend", backend_.url}});
    on_change_(backend_.url, true);
  }
  timer_->expires_after(check_.interval);
  timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->probe();
  });
}

}  // namespace wsgate::gateway
