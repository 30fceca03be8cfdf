#include "gateway/control/rebalancer.hpp"

#include "gateway/log.hpp"
#include "routing/rebalance_plan.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace wsgate::gateway {

namespace asio = boost::asio;

Rebalancer::Rebalancer(asio::io_context& control, std::vector<Worker> workers,
                       std::function<std::shared_ptr<const Runtime>()> runtime, std::function<bool()> draining)
    : control_(control),
      workers_(std::move(workers)),
      runtime_(std::move(runtime)),
      draining_(std::move(draining)),
      timer_(control) {}

void Rebalancer::start() {
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([this, weak = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || weak.expired()) return;
    tick();
    start();
  });
}

void Rebalancer::stop() {
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  timer_.cancel();
}

void Rebalancer::tick() {
  if (draining_()) return;  // the drain ends every session anyway
  const auto rt = runtime_();
  const auto now = routing::BackendState::Clock::now();
  for (const auto& route : rt->routes) {
    const auto per_minute = route.config->rebalance_per_minute;
    if (per_minute == 0) continue;
    // Credit by the second, kept no larger than one second's worth (or one close), so a quiet
    // minute never turns into a burst of closes.
    const double rate = static_cast<double>(per_minute) / 60.0;
    auto& allowance = allowance_[route.config->name];
    allowance = std::min(allowance + rate, std::max(1.0, rate));
    if (allowance < 1 || in_flight_.contains(route.config->name)) continue;
    const auto over = route.picker->over_share(now);
    if (std::all_of(over.begin(), over.end(), [](std::int64_t x) { return x <= 0; })) continue;
    rebalance(route, static_cast<std::size_t>(allowance), rt);
  }
}

// Gathers the route's sessions from every io thread, then closes the ones the plan names, each
// on its own thread.
void Rebalancer::rebalance(const RouteRuntime& route, std::size_t budget, std::shared_ptr<const Runtime> keep) {
  struct Gather {
    std::vector<routing::LiveSession> sessions;
    std::size_t waiting = 0;
  };
  const std::string name = route.config->name;
  in_flight_.insert(name);
  auto gather = std::make_shared<Gather>();
  gather->waiting = workers_.size();
  auto weak = std::weak_ptr<bool>(alive_);
  for (const auto& w : workers_) {
    asio::post(*w.io, [this, w, name, gather, keep, &route, budget, weak] {
      auto views = w.registry->describe(name, "", SIZE_MAX);
      asio::post(control_, [this, views = std::move(views), name, gather, keep, &route, budget, weak] {
        if (weak.expired()) return;
        const auto& backends = route.config->backends;
        for (const auto& v : views) {
          // Sessions of a backend the route no longer has are moved by their removal, not here.
          auto it = std::find_if(backends.begin(), backends.end(), [&](const auto& b) { return b.url == v.backend; });
          if (it != backends.end())
            gather->sessions.push_back({static_cast<std::size_t>(it - backends.begin()), v.age_seconds, v.id});
        }
        if (--gather->waiting > 0) return;
        in_flight_.erase(name);
        // The share is read again now: sessions that ended meanwhile count.
        const auto over = route.picker->over_share(routing::BackendState::Clock::now());
        const auto plan = routing::plan_rebalance(std::move(gather->sessions), over, budget);
        if (plan.empty()) return;
        allowance_[name] -= static_cast<double>(plan.size());
        log::info("rebalancing", {{"route", name}, {"sessions", plan.size()}});
        for (const auto& id : plan) {
          const auto dash = id.find('-');
          const auto thread = static_cast<std::size_t>(std::stoull(id.substr(0, dash)));
          const auto number = std::stoull(id.substr(dash + 1));
          if (thread >= workers_.size()) continue;
          auto target = workers_[thread];
          asio::post(*target.io, [target, number] { target.registry->rebalance_session(number); });
        }
      });
    });
  }
}

}  // namespace wsgate::gateway
