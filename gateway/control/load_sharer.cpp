#include "gateway/control/load_sharer.hpp"

#include "gateway/log.hpp"
#include "metrics/gateway_series.hpp"

namespace wsgate::gateway {

namespace {

constexpr auto kPeriod = std::chrono::milliseconds(250);
// An instance that stopped publishing stops counting after this: four periods.
constexpr auto kLease = std::chrono::milliseconds(1000);

}  // namespace

LoadSharer::LoadSharer(boost::asio::io_context& control, std::function<std::shared_ptr<const Runtime>()> runtime,
                       std::size_t control_row)
    : runtime_(std::move(runtime)), timer_(control), control_row_(control_row) {}

void LoadSharer::start() {
  timer_.expires_after(kPeriod);
  timer_.async_wait([this, weak = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || weak.expired()) return;
    exchange();
    start();
  });
}

void LoadSharer::stop() {
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  timer_.cancel();
}

void LoadSharer::exchange() {
  if (in_flight_) return;  // Redis is slower than the period: skip a turn
  auto rt = runtime_();
  std::shared_ptr<RedisStore> store;
  RedisStore::Loads mine;
  for (const auto& route : rt->routes) {
    if (!route.config->shared_loads || !route.loads_store) continue;
    store = route.loads_store;
    for (std::size_t b = 0; b < route.picker->size(); ++b)
      mine[route.config->backends[b].url] = std::max<std::int64_t>(0, route.picker->state(b).load());
  }
  if (!store) return;
  in_flight_ = true;
  store->exchange_loads(mine, kLease, [this, rt, weak = std::weak_ptr<bool>(alive_)](std::optional<RedisStore::Loads> others) {
    if (weak.expired()) return;
    in_flight_ = false;
    if (!others) return fall_back(*rt);
    if (!shared_) {
      shared_ = true;
      log::info("shared_loads_available");
    }
    for (const auto& route : rt->routes) {
      if (!route.config->shared_loads) continue;
      for (std::size_t b = 0; b < route.picker->size(); ++b) {
        auto it = others->find(route.config->backends[b].url);
        route.picker->state(b).set_remote_load(it == others->end() ? 0 : it->second);
      }
    }
  });
}

void LoadSharer::fall_back(const Runtime& rt) {
  for (const auto& route : rt.routes) {
    if (!route.config->shared_loads) continue;
    for (std::size_t b = 0; b < route.picker->size(); ++b) route.picker->state(b).set_remote_load(0);
    route.series->row(control_row_).add(metrics::RouteSeries::get().shared_load_fallbacks);
  }
  if (!shared_) return;
  shared_ = false;
  log::warn("shared_loads_unavailable", {{"detail", "bounded loads use this instance's own counts until Redis answers"}});
}

}  // namespace wsgate::gateway
