#include "gateway/server.hpp"

#include "gateway/access_log.hpp"
#include "gateway/log.hpp"
#include "gateway/control/discovery.hpp"
#include "gateway/control/load_sharer.hpp"
#include "gateway/control/rebalancer.hpp"
#include "gateway/handover/binary_upgrade.hpp"
#include "gateway/handover/takeover.hpp"
#include "gateway/service_notify.hpp"
#include "gateway/proxy/connection_start.hpp"
#include "metrics/gateway_series.hpp"
#include "routing/stable_hash.hpp"

#include <boost/asio/post.hpp>

#include <prometheus/text_serializer.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <set>

namespace wsgate::gateway {
namespace asio = boost::asio;

namespace {

asio::ip::tcp::endpoint to_endpoint(const config::HostPort& hp) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(hp.host == "localhost" ? "127.0.0.1" : hp.host, ec);
  if (ec) return {};
  return {address, hp.port};
}

std::string to_string(const asio::ip::tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

// Reload may change anything but the sockets the process listens on.
bool same_listeners(const config::Config& a, const config::Config& b) {
  if (a.listeners.size() != b.listeners.size()) return false;
  for (std::size_t i = 0; i < a.listeners.size(); ++i) {
    const auto &x = a.listeners[i], &y = b.listeners[i];
    if (x.name != y.name || x.bind.host != y.bind.host || x.bind.port != y.bind.port ||
        x.tls.has_value() != y.tls.has_value())
      return false;
  }
  return a.admin.enabled == b.admin.enabled && a.admin.bind.host == b.admin.bind.host &&
         a.admin.bind.port == b.admin.bind.port;
}

}  // namespace

Server::Server(std::string config_path, ProcessImage image, int handover_fd, std::uint64_t generation)
    : config_path_(std::move(config_path)),
      signals_(control_, SIGTERM, SIGINT, SIGHUP),
      drain_timer_(control_),
      admin_(control_, [this](AdminRequest r, std::function<void(AdminResponse)> respond) {
        api_->handle(std::move(r), std::move(respond));
      }) {
  shared_.control = &control_;
  discovery_ = std::make_unique<Discovery>(control_, [this] { rediscover(); });
  shared_.discovery = discovery_.get();
  signals_.add(SIGUSR1);
  signals_.add(SIGUSR2);
  image_ = std::move(image);
  handovers_.generation = generation;
  if (handover_fd >= 0) takeover_ = std::make_unique<Takeover>(control_, handover_fd);
}

Server::~Server() {
  if (rebalancer_) rebalancer_->stop();
  if (load_sharer_) load_sharer_->stop();
  stop_workers();
  discovery_->stop();
  shared_.stop_redis();
}

bool Server::load(config::Config config, std::vector<std::string>& errors) {
  auto runtime = Runtime::build(config, errors, shared_);
  if (!runtime) return false;
  config_ = std::move(config);
  runtime->apply_limits();
  runtime_.store(std::move(runtime));
  note_loaded();
  return true;
}

void Server::note_loaded() {
  reloads_.config_hash = config_file_hash(config_path_);
  reloads_.last_success_unix = std::chrono::duration<double>(
      std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Server::render_metrics() const {
  // Families with no series yet (no JWKS URL configured) still say what they are: a dashboard's
  // query of them is valid before the first sample.
  auto families = shared_.series->Collect();
  for (auto& f : status_families(*runtime_.load(), reloads_, handovers_)) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

bool Server::open_listeners() {
  const auto rt = runtime_.load();
  const auto& cfg = rt->config;
  const unsigned threads = io_threads(cfg);
  for (unsigned t = 0; t < threads; ++t) workers_.push_back(std::make_unique<Worker>(t));

  for (std::size_t li = 0; li < cfg.listeners.size(); ++li) {
    const auto& lc = cfg.listeners[li];
    auto endpoint = to_endpoint(lc.bind);
    if (endpoint.address().is_unspecified() && lc.bind.host != "0.0.0.0" && lc.bind.host != "::") {
      log::error("listen_failed", {{"listener", lc.name}, {"error", "bind must be an IP address"}});
      return false;
    }
    // A binary upgrade: the old process's sockets of a listener of the same name and address,
    // with their queues; those of a listener whose address changed are not taken.
    std::vector<int> inherited = takeover_ ? takeover_->take_listener(lc.name) : std::vector<int>{};
    if (!inherited.empty()) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      ::getsockname(inherited.front(), reinterpret_cast<sockaddr*>(&addr), &len);
      asio::ip::tcp::endpoint was;
      std::memcpy(was.data(), &addr, std::min<std::size_t>(len, was.capacity()));
      was.resize(addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
      if (was.address() != endpoint.address() || (lc.bind.port != 0 && was.port() != lc.bind.port)) {
        for (int fd : inherited) ::close(fd);
        inherited.clear();
      } else {
        endpoint = was;
      }
    }
    if (inherited.empty() && !lc.reuse_port_with_others && Listener::held_by_another(endpoint)) {
      log::error("listen_failed", {{"listener", lc.name}, {"address", to_string(endpoint)},
                                   {"error", "address in use by another process (set "
                                             "reuse_port_with_others: true to share it on purpose)"}});
      for (int fd : inherited) ::close(fd);
      return false;
    }
    // One socket per io thread; inherited ones first, spread over the threads when there are more.
    const std::size_t sockets = std::max(workers_.size(), inherited.size());
    for (std::size_t i = 0; i < sockets; ++i) {
      Worker* worker = workers_[i % workers_.size()].get();
      auto listener = std::make_unique<Listener>(
          worker->io, [this, worker, li](asio::ip::tcp::socket s, const asio::ip::tcp::endpoint& peer) {
            start_connection(std::move(s), peer.address().to_string(), runtime_.load(), li, worker->registry);
          });
      auto ec = i < inherited.size() ? listener->adopt(inherited[i]) : listener->open(endpoint);
      if (ec) {
        log::error("listen_failed", {{"listener", lc.name}, {"address", to_string(endpoint)},
                                     {"error", ec.message()}});
        for (std::size_t j = i + 1; j < inherited.size(); ++j) ::close(inherited[j]);
        return false;
      }
      // Port 0: the first socket gets a free port, every other thread joins it there.
      endpoint = listener->local_endpoint();
      worker->listeners.push_back(std::move(listener));
      worker->listener_names.push_back(lc.name);
    }
    log::info("listening", {{"listener", lc.name}, {"address", to_string(endpoint)},
                            {"tls", lc.tls ? "yes" : "no"},
                            {"threads", workers_.size()}, {"inherited", inherited.size()}});
  }
  AdminApi::Context api;
  api.control = &control_;
  api.runtime = [this] { return runtime_.load(); };
  api.ready = &ready_;
  api.metrics = [this] { return render_metrics(); };
  for (auto& w : workers_) api.workers.push_back({&w->io, &w->registry});
  std::vector<Rebalancer::Worker> rebalanced;
  for (auto& w : workers_) rebalanced.push_back({&w->io, &w->registry});
  rebalancer_ = std::make_unique<Rebalancer>(control_, std::move(rebalanced), [this] { return runtime_.load(); },
                                             [this] { return draining_; });
  api.end_backend_sessions = [this](const std::string& url) { close_backend_sessions(url, std::chrono::milliseconds(0)); };
  api.generation = handovers_.generation;
  api_ = std::make_unique<AdminApi>(std::move(api));
  BinaryUpgrade::Context up;
  up.control = &control_;
  for (auto& w : workers_) {
    BinaryUpgrade::Worker bw{&w->io, &w->registry, {}};
    for (std::size_t i = 0; i < w->listeners.size(); ++i) bw.listeners.emplace_back(w->listener_names[i], w->listeners[i].get());
    up.workers.push_back(std::move(bw));
  }
  up.admin = cfg.admin.enabled ? &admin_ : nullptr;
  up.runtime = [this] { return runtime_.load(); };
  up.history = &handovers_;
  up.exit = [this] { control_.stop(); };
  upgrade_ = std::make_unique<BinaryUpgrade>(std::move(up), image_);
  return open_admin();
}

bool Server::open_admin() {
  const auto& cfg = runtime_.load()->config;
  if (!cfg.admin.enabled) return true;
  const int inherited = takeover_ ? takeover_->take_admin() : -1;
  if (inherited >= 0) {
    if (auto ec = admin_.adopt(inherited)) {
      log::error("listen_failed", {{"listener", "admin"}, {"error", ec.message()}});
      return false;
    }
    const auto want = to_endpoint(cfg.admin.bind);
    const auto have = admin_.local_endpoint();
    if (have.address() == want.address() && (want.port() == 0 || have.port() == want.port())) {
      log::info("listening", {{"listener", "admin"}, {"address", to_string(admin_.local_endpoint())}, {"inherited", 1}});
      return true;
    }
    admin_.stop();  // admin.bind changed: a socket of its own
  }
  if (auto ec = admin_.open(to_endpoint(cfg.admin.bind))) {
    log::error("listen_failed", {{"listener", "admin"}, {"address", to_string(to_endpoint(cfg.admin.bind))},
                                 {"error", ec.message()}});
    return false;
  }
  log::info("listening", {{"listener", "admin"}, {"address", to_string(admin_.local_endpoint())}});
  return true;
}

namespace {

void keep_deadline_near(asio::steady_timer& anchor) {
  anchor.expires_after(std::chrono::seconds(1));
  anchor.async_wait([&anchor](boost::system::error_code ec) {
    if (!ec) keep_deadline_near(anchor);
  });
}

}  // namespace

int Server::run() {
  if (takeover_) {
    std::string error;
    if (!takeover_->receive_listeners(error)) {
      log::error("handover_failed", {{"error", error}});
      return 1;
    }
  }
  if (!open_listeners()) return 1;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    for (auto& l : worker->listeners) l->start();
    keep_deadline_near(worker->anchor);
    worker->thread = std::thread([worker] {
      auto guard = asio::make_work_guard(worker->io);
      worker->io.run();
    });
  }
  if (runtime_.load()->config.admin.enabled) {
    api_->start();
    admin_.start();
  }
  start_background();  // first fetches and checks now; a request that needs a key waits for it
  discovery_->watch(config_, *shared_.series);  // first lookups; each answer fills its route in
  rebalancer_->start();
  load_sharer_ = std::make_unique<LoadSharer>(control_, [this] { return runtime_.load(); }, shared_.series->rows() - 1);
  load_sharer_->start();
  ready_ = true;
  if (takeover_) {
    std::vector<Takeover::Worker> adopting;
    for (auto& w : workers_) adopting.push_back({&w->io, &w->registry});
    takeover_->start(std::move(adopting), [this] { return runtime_.load(); }, &handovers_);
  } else {
    notify_service_manager("READY=1");
  }
  wait_for_signal();
  log::info("started", {{"version", WSGATE_VERSION}, {"config", config_path_}});
  control_.run();
  stop_workers();
  log::info("stopped");
  return 0;
}

void Server::wait_for_signal() {
  signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      reload();
    } else if (signal == SIGUSR1) {
      // logrotate moved the access log: write on in a new file under its name.
      if (auto e = access_log::reopen(); !e.empty()) log::error("access_log_reopen_failed", {{"error", e}});
      else log::info("access_log_reopened");
    } else if (signal == SIGUSR2) {
      if (draining_) log::warn("handover_refused", {{"reason", "draining"}});
      else upgrade_->start();
    } else if (!draining_) {
      begin_drain();
    }
    wait_for_signal();
  });
}

void Server::reload() {
  auto loaded = config::load_config_file(config_path_);
  std::vector<std::string> errors = std::move(loaded.errors);
  for (const auto& w : loaded.warnings) log::warn("config_deprecated", {{"detail", w}});
  std::shared_ptr<const Runtime> next;
  if (errors.empty()) {
    if (!same_listeners(runtime_.load()->config, *loaded.config))
      errors.push_back(config_path_ + ": listeners and admin.bind change only with a restart");
    else
      next = Runtime::build(*loaded.config, errors, shared_);
  }
  if (!next) {
    for (const auto& e : errors) log::error("reload_failed", {{"error", e}});
    log::error("reload_rejected", {{"config", config_path_},
                                   {"errors", errors.size()}});
    ++reloads_.failed;
    return;
  }
  log::configure(next->config.log.level, next->config.log.format);
  if (auto e = access_log::configure(next->config.access_log.enabled, next->config.access_log.path); !e.empty())
    log::error("access_log_failed", {{"error", e}});  // the previous sink is kept
  config_ = std::move(*loaded.config);
  start_background();  // a source new to this file is started before it is asked to refresh
  shared_.jwks.refresh_all();  // a reload re-reads every key: files above, JWKS URLs here
  swap_in(next, "reload");
  ++reloads_.succeeded;
  note_loaded();
  discovery_->watch(config_, *shared_.series);  // names new to the file are looked up now
  log::info("config_reloaded", {{"config", config_path_},
                                {"routes", next->config.routes.size()}});
}

void Server::rediscover() {
  std::vector<std::string> errors;
  const auto previous = runtime_.load();
  auto next = Runtime::build(config_, errors, shared_, previous.get());
  if (!next) {
    // Only what a reload would also refuse (a key file gone since): the old set stays.
    for (const auto& e : errors) log::error("discovery_rebuild_failed", {{"error", e}});
    return;
  }
  count_moved_keys(*previous, *next);
  swap_in(std::move(next), "discovery");
}

// What a change of discovered backends moved: a fixed sample of keys looked up in the route's
// picker before and after (each key's home, every backend healthy and unloaded).
void Server::count_moved_keys(const Runtime& before, const Runtime& after) {
  constexpr std::size_t kSample = 10'000;
  const std::size_t control_row = shared_.series->rows() - 1;  // the control thread's row
  for (const auto& route : after.routes) {
    const auto old = std::find_if(before.routes.begin(), before.routes.end(),
                                  [&](const RouteRuntime& r) { return r.config->name == route.config->name; });
    if (old == before.routes.end() || old->picker->size() == 0 || route.picker->size() == 0) continue;
    const auto& was = old->config->backends;
    const auto& now = route.config->backends;
    const bool same = was.size() == now.size() &&
                      std::equal(was.begin(), was.end(), now.begin(), [](const auto& a, const auto& b) { return a.url == b.url; });
    if (same) continue;
    std::size_t moved = 0;
    for (std::size_t i = 0; i < kSample; ++i) {
      const std::uint64_t key = routing::stable_hash("sample:" + std::to_string(i));
      moved += was[old->picker->home(key)].url != now[route.picker->home(key)].url;
    }
    auto& row = route.series->row(control_row);
    row.add(metrics::RouteSeries::get().keys_sampled, kSample);
    row.add(metrics::RouteSeries::get().keys_moved, moved);
    log::info("discovery_keys_moved", {{"route", route.config->name}, {"sampled", kSample}, {"moved", moved}});
  }
}

void Server::swap_in(std::shared_ptr<const Runtime> next, const char* why) {
  const auto previous = runtime_.load();
  start_background();  // before the store: a session must never meet a JWKS source not started
  next->apply_limits();
  runtime_.store(next);  // new sessions take it; live sessions keep the one they started with
  // Backends no route uses any more: their sessions move (1012) once the route's drain is over.
  std::set<std::string> kept;
  for (const auto& route : next->config.routes)
    for (const auto& b : route.backends) kept.insert(b.url);
  std::set<std::string> gone;
  for (const auto& route : previous->config.routes)
    for (const auto& b : route.backends)
      if (!kept.contains(b.url) && gone.insert(b.url).second) {
        log::info("backend_removed", {{"backend", b.url}, {"why", why},
                                      {"drain_ms", route.backend_drain_timeout.count()}});
        close_backend_sessions(b.url, route.backend_drain_timeout);
      }
}

void Server::start_background() {
  shared_.jwks.start_all(control_);
  shared_.start_redis();
  shared_.backends.start_all(control_, [this](const std::string& url, bool healthy) {
    if (!healthy) close_backend_sessions(url, std::chrono::milliseconds(0));
  });
}

void Server::close_backend_sessions(const std::string& url, std::chrono::milliseconds delay) {
  auto close_now = [this, url] {
    // Still gone, or still unhealthy: a reload or a passing check in the meantime cancels it.
    const auto rt = runtime_.load();
    for (const auto& route : rt->routes)
      for (std::size_t b = 0; b < route.config->backends.size(); ++b)
        if (route.config->backends[b].url == url && route.picker->state(b).healthy() &&
            route.picker->state(b).mode() != routing::BackendState::Mode::disabled)
          return;
    for (auto& w : workers_) {
      Worker* worker = w.get();
      asio::post(worker->io, [worker, url] { worker->registry.close_backend(url); });
    }
  };
  if (delay.count() <= 0) return close_now();
  auto timer = std::make_shared<asio::steady_timer>(control_, delay);
  timer->async_wait([timer, close_now](boost::system::error_code ec) {
    if (!ec) close_now();
  });
}

// SIGTERM. Readiness goes first, while everything still works, so that load balancers stop sending
// new clients before anything is refused; then the listeners close and the sessions are told.
void Server::begin_drain() {
  draining_ = true;
  ready_ = false;
  const auto drain = runtime_.load()->config.drain;
  log::info("draining", {{"sessions", SessionRegistry::total()},
                         {"delay_ms", drain.delay.count()},
                         {"timeout_ms", drain.timeout.count()}});
  drain_timer_.expires_after(drain.delay);
  drain_timer_.async_wait([this, drain](boost::system::error_code ec) {
    if (ec) return;
    log::info("drain_closing", {{"sessions", SessionRegistry::total()}});
    for (auto& w : workers_) {
      Worker* worker = w.get();
      asio::post(worker->io, [worker] {
        for (auto& l : worker->listeners) l->stop();
        worker->registry.drain();
      });
    }
    drain_deadline_ = std::chrono::steady_clock::now() + drain.timeout;
    check_drained();
  });
}

void Server::check_drained() {
  const auto left = SessionRegistry::total();
  if (left == 0 || std::chrono::steady_clock::now() >= drain_deadline_) {
    if (left > 0) log::warn("drain_timeout", {{"sessions_left", left}});
    control_.stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(50));
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) check_drained();
  });
}

void Server::stop_workers() {
  for (auto& w : workers_) w->io.stop();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

}  // namespace wsgate::gateway
