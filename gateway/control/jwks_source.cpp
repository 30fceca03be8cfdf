#include "gateway/control/jwks_source.hpp"

#include "gateway/control/http_get.hpp"
#include "gateway/log.hpp"

#include <boost/asio/post.hpp>

namespace wsgate::gateway {
namespace asio = boost::asio;

namespace {
// A provider publishes a handful of keys; anything this large is not a JWKS.
constexpr std::size_t kMaxDocument = 1 << 20;
// Requests waiting on one fetch; more are answered at once (with the keys we have).
constexpr std::size_t kMaxWaiters = 4096;
}  // namespace

std::shared_ptr<JwksSource> JwksSource::create(const config::JwksUrl& settings, std::string& error) {
  auto ctx = make_client_tls_context(settings.ca_file, error);
  if (!ctx) return nullptr;
  return std::make_shared<JwksSource>(settings, std::move(ctx));
}

JwksSource::JwksSource(const config::JwksUrl& settings, SslCtxPtr ctx)
    : settings_(settings),
      ctx_(std::move(ctx)),
      schedule_(settings.refresh_interval, settings.min_refresh_interval) {}

void JwksSource::adopt_keys(const JwksSource& other) {
  const auto snapshot = other.keys_->snapshot();
  if (snapshot->generation > 0) keys_->replace(snapshot->keys, snapshot->document);
}

void JwksSource::start(asio::io_context& control) {
  if (control_) return;
  control_ = &control;
  timer_.emplace(control);
  fetch();
}

void JwksSource::refresh_soon(asio::any_io_executor executor, std::function<void()> done) {
  asio::post(*control_, [self = shared_from_this(), executor = std::move(executor),
                         done = std::move(done)]() mutable {
    const bool allowed = self->in_flight_ ||
                         self->schedule_.on_demand_allowed(auth::RefreshSchedule::clock::now());
    if (!allowed || self->waiters_.size() >= kMaxWaiters)
      return asio::post(executor, std::move(done));
    self->waiters_.emplace_back(std::move(executor), std::move(done));
    if (!self->in_flight_) {
      log::info("jwks_refresh_requested", {{"url", self->settings_.url}, {"reason", "unknown kid"}});
      self->fetch();
    }
  });
}

void JwksSource::refresh_now() {
  if (!control_ || in_flight_) return;  // not started (its start fetches), or a fetch under way
  log::info("jwks_refresh_requested", {{"url", settings_.url}, {"reason", "reload"}});
  fetch();
}

void JwksSource::schedule_next() {
  timer_->expires_at(schedule_.next_due());
  // Weak: the registry decides when a source is no longer wanted, not a pending timer.
  timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->in_flight_) return;
    self->fetch();
  });
}

void JwksSource::fetch() {
  in_flight_ = true;
  schedule_.started(auth::RefreshSchedule::clock::now());
  HttpRequest request;
  request.tls = ctx_.get();
  request.headers = "Accept: application/json, application/jwk-set+json\r\nConnection: close\r\n";
  request.host = settings_.host;
  request.port = settings_.port;
  request.target = settings_.target;
  request.timeout = settings_.fetch_timeout;
  request.max_body = kMaxDocument;
  http_get(*control_, std::move(request), [self = shared_from_this()](HttpResponse r) {
    self->on_fetched(std::move(r.error), r.status, std::move(r.body));
  });
}

void JwksSource::on_fetched(std::string error, unsigned status, std::string body) {
  in_flight_ = false;
  const auto now = auth::RefreshSchedule::clock::now();
  std::vector<std::string> problems;
  std::vector<auth::VerificationKey> keys;
  if (error.empty() && status != 200) error = "HTTP status " + std::to_string(status);
  if (error.empty()) {
    keys = auth::parse_jwks(body, problems);
    if (keys.empty()) error = problems.empty() ? "no signing keys in the document" : problems.front();
  }
  if (!error.empty()) {
    ++refreshes_failed_;
    schedule_.failed(now);
    log::warn("jwks_refresh_failed",
              {{"url", settings_.url}, {"error", error},
               {"keys_kept", keys_->snapshot()->keys.size()},
               {"failures", schedule_.failures()}});
  } else {
    ++refreshes_ok_;
    schedule_.succeeded(now);
    for (const auto& p : problems) log::warn("jwks_key_skipped", {{"url", settings_.url}, {"error", p}});
    const auto count = keys.size();
    const bool changed = keys_->replace(std::move(keys), std::move(body));
    if (changed)
      log::info("jwks_updated", {{"url", settings_.url}, {"keys", count},
                                 {"generation", keys_->generation()}});
  }
  for (auto& [executor, done] : waiters_) asio::post(executor, std::move(done));
  waiters_.clear();
  schedule_next();
}

}  // namespace wsgate::gateway
