#include "gateway/proxy/upgrade_session.hpp"

#include "auth/verified_token_cache.hpp"
#include "gateway/access_log.hpp"
#include "gateway/proxy/frame_relay.hpp"
#include "gateway/proxy/hash_key.hpp"
#include "gateway/log.hpp"
#include "gateway/proxy/socket_connect.hpp"
#include "http/field_rules.hpp"
#include "http/forwarded_request.hpp"
#include "http/handshake_check.hpp"
#include "http/request_fields.hpp"
#include "http/request_target.hpp"
#include "http/token_extraction.hpp"
#include "routing/stable_hash.hpp"

#include <boost/json/serialize.hpp>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>

#include <sstream>

namespace wsgate::gateway {
namespace beast = boost::beast;
namespace bh = beast::http;

namespace {

constexpr std::size_t kReadChunk = 8192;
// A longer field is 431 or 502, not an abort (see http::kMaxParseBuffer).
constexpr std::size_t kMaxBuffered = http::kMaxParseBuffer;
constexpr auto kLingerTime = std::chrono::seconds(2);

template <class Message>
std::string serialize(const Message& m) {
  std::ostringstream out;
  out << m;
  return out.str();
}

bool has_no_body(unsigned status) {
  return status / 100 == 1 || status == 204 || status == 304;
}

// The metric result of a status the gateway answers with; a 502 while connecting means no backend
// could be reached, later it means the one reached broke the exchange.
template <class Phase>
metrics::RequestResult result_of(unsigned status, Phase phase) {
  using R = metrics::RequestResult;
  switch (status) {
    case 400:
    case 417:  // an expectation the gateway does not meet
    case 501: return R::bad_request;  // a transfer coding the gateway does not take
    case 401: return R::unauthorized;
    case 403: return R::forbidden;
    case 404: return R::no_route;
    case 408: return R::timeout;
    case 413:
    case 431: return R::too_large;
    case 429: return R::rate_limited;
    case 503: return R::unavailable;
    case 504: return R::backend_timeout;
    default: return phase == Phase::connect ? R::no_backend : R::backend_error;
  }
}

}  // namespace

UpgradeSession::UpgradeSession(Transport client, std::string client_ip, std::shared_ptr<const Runtime> runtime,
                               std::size_t listener, SessionRegistry& registry,
                               std::chrono::steady_clock::time_point head_deadline, std::uint64_t session_number)
    : rt_(std::move(runtime)),
      listener_(listener),
      registry_(registry),
      client_(std::move(client)),
      timer_(client_.socket().get_executor()),
      head_deadline_(head_deadline),
      session_number_(session_number),
      client_ip_(std::move(client_ip)) {}

UpgradeSession::~UpgradeSession() {
  release_connection();  // any path that ended without finish()
  registry_.remove(this);
}

void UpgradeSession::release_connection() {
  if (!connection_open_) return;
  connection_open_ = false;
  listener_row().subtract(metrics::ListenerSeries::get().connections_open);
}

metrics::ThreadCounters::Shard& UpgradeSession::route_row() const {
  return (route_ ? *route_->series : *rt_->unrouted_series).row(registry_.thread());
}

metrics::ThreadCounters::Shard& UpgradeSession::listener_row() const {
  return rt_->listener_series[listener_]->row(registry_.thread());
}

metrics::ThreadCounters::Shard& UpgradeSession::backend_row(std::size_t backend) const {
  return route_->backend_series[backend]->row(registry_.thread());
}

// Once per request: an upgrade (or a request whose head could not be read, most likely one) counts
// in wsgate_upgrades_total, a plain request in wsgate_http_requests_total.
void UpgradeSession::count_result(metrics::RequestResult result) {
  if (result_counted_) return;
  result_counted_ = true;
  const bool as_upgrade = upgrade_ || !request_ || !request_->is_header_done();
  const auto slot = [&](const auto& series) {
    return (as_upgrade ? series.upgrades : series.http_requests) + static_cast<std::size_t>(result);
  };
  route_row().add(route_ ? slot(metrics::RouteSeries::get()) : slot(metrics::UnroutedSeries::get()));
}

metrics::ConnectFailure UpgradeSession::connect_failure_cause(error_code ec) const {
  using metrics::ConnectFailure;
  return last_connect_timed_out_                  ? ConnectFailure::timeout
      : backend_                               ? ConnectFailure::tls  // connected: the handshake failed
      : ec == asio::error::connection_refused  ? ConnectFailure::refused
      : ec == asio::error::network_unreachable || ec == asio::error::host_unreachable
          ? ConnectFailure::unreachable
      : ec == asio::error::connection_reset    ? ConnectFailure::reset
                                               : ConnectFailure::other;
}

// Backend b could not take this request: one log line, its failure reported and counted, and the
// route's next backend tried (or the client answered 502/504 when none is left).
void UpgradeSession::try_next_backend(std::size_t b, const char* event, const std::string& error,
                                      metrics::ConnectFailure cause) {
  log::warn(event, {{"route", std::string(route_name())}, {"backend", route_->config->backends[b].url},
                    {"error", error}});
  route_->picker->report_failure(b, std::chrono::steady_clock::now());
  backend_row(b).add(metrics::BackendSeries::get().connect_failures + static_cast<std::size_t>(cause));
  connect_next_backend();
}

void UpgradeSession::count_limit(metrics::LimitAction action) {
  route_->limit_series->row(registry_.thread())
      .add(metrics::LimitSeries::get().decisions + static_cast<std::size_t>(action));
}

std::string_view UpgradeSession::route_name() const {
  return route_ ? std::string_view(route_->config->name) : std::string_view("-");
}

void UpgradeSession::start() {
  // A connection's count in connections_open comes with it; a stream's stays with its H2Session.
  connection_open_ = !client_.is_stream();
  registry_.add(shared_from_this(), session_number_);
  if (phase_ == Phase::done) return;  // the thread is draining
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(head_deadline_ -
                                                                          std::chrono::steady_clock::now());
  arm_timer(std::max(left, std::chrono::milliseconds(0)));
  read_request();
}

void UpgradeSession::go_away() {
  if (phase_ == Phase::start ||
      (phase_ == Phase::read_request && client_buf_.size() == 0 && !request_->got_some()))
    return finish();
  close_after_response_ = true;
}

void UpgradeSession::read_request() {
  phase_ = Phase::read_request;
  const auto& limits = rt_->config.http;
  response_.reset();
  response_memory_.reset();
  request_.reset();
  request_memory_.reset();
  request_.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(request_memory_.allocator()));
  request_->header_limit(limits.max_header_bytes);
  request_->body_limit(limits.max_body);
  // Not eager: put() stops once the head is parsed, so its fields are counted before a chunked
  // body's trailers are appended to them.
  request_->eager(false);
  head_fields_ = 0;
  head_scanned_ = 0;
  continue_sent_ = false;
  route_ = nullptr;
  upgrade_ = false;
  result_counted_ = false;
  if (requests_ > 0) arm_timer(limits.keepalive_timeout);
  if (client_buf_.size() > 0) return parse_request();  // pipelined
  read_more_request();
}

void UpgradeSession::read_more_request() {
  const std::size_t limit = std::min<std::size_t>(rt_->config.http.max_header_bytes + kReadChunk, kMaxBuffered);
  if (client_buf_.size() >= limit)
    return reject(431, "Request Header Fields Too Large", "request head over max_header_bytes");
  auto space = client_buf_.prepare(std::min(kReadChunk, limit - client_buf_.size()));
  client_.async_read_some(space.data(), space.size(),
                          [self = shared_from_this()](error_code ec, std::size_t n) {
                            self->on_request_bytes(ec, n);
                          });
}

void UpgradeSession::on_request_bytes(error_code ec, std::size_t n) {
  if (phase_ != Phase::read_request) return;
  if (ec) {
    if (request_->got_some() || client_buf_.size() > 0)
      log::info("request_incomplete", {{"client", client_ip_}, {"error", ec.message()}});
    return finish();
  }
  if (requests_ > 0 && client_buf_.size() == 0) arm_timer(rt_->config.http.header_timeout);
  client_buf_.commit(n);
  parse_request();
}

// Whether the parser should see client_buf_ now: the head's end has arrived, or a bare LF that
// the parser refuses at once (400, as before), or a read chunk's worth: a longer head is parsed
// as it comes, as it always was, so that the parser takes its request line out of the buffer and
// judges the fields against its limit. Scans only what arrived since the last look.
bool UpgradeSession::ready_to_parse() {
  const std::string_view buffered(static_cast<const char*>(client_buf_.data().data()), client_buf_.size());
  if (buffered.size() >= std::min<std::size_t>(rt_->config.http.max_header_bytes, kReadChunk)) return true;
  for (std::size_t i = buffered.find('\n', head_scanned_); i != std::string_view::npos;
       i = buffered.find('\n', i + 1)) {
    if (i == 0 || buffered[i - 1] != '\r') return true;
    if (i >= 3 && buffered.compare(i - 3, 4, "\r\n\r\n") == 0) return true;
  }
  head_scanned_ = buffered.size();
  return false;
}

void UpgradeSession::parse_request() {
  // The parser gets the head once all of it has arrived: a client that sends part of one, slowly
  // or never the rest, holds no parsed fields and no arena block, only its read buffer.
  if (!request_->got_some() && !ready_to_parse()) return read_more_request();
  error_code ec;
  while (client_buf_.size() > 0 && !request_->is_done()) {
    const std::size_t used = request_->put(client_buf_.data(), ec);
    client_buf_.consume(used);
    if (request_->is_header_done() && head_fields_ == 0) {
      const auto& fields = request_->get();
      head_fields_ = static_cast<std::size_t>(std::distance(fields.begin(), fields.end()));
    }
    if (ec) break;
  }
  if (request_->is_done()) return handle_request();
  if (!ec || ec == bh::error::need_more) {
    if (!request_->is_header_done() && client_buf_.size() >= rt_->config.http.max_header_bytes)
      return reject(431, "Request Header Fields Too Large", "request head over max_header_bytes");
    if (request_->is_header_done() && !continue_sent_ && request_->get().version() >= 11 &&
        beast::iequals(request_->get()[bh::field::expect], "100-continue")) {
      // RFC 9110 10.1.1: the client waits for this before it sends the body; the gateway reads
      // the whole body before it forwards, so it answers the expectation itself.
      continue_sent_ = true;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      client_.async_write_all(kContinue.data(), kContinue.size(), [self = shared_from_this()](error_code wec) {
        if (self->phase_ != Phase::read_request) return;
        if (wec) return self->finish();
        self->read_more_request();
      });
      return;
    }
    return read_more_request();
  }
  if (ec == bh::error::header_limit)
    return reject(431, "Request Header Fields Too Large", "request head over max_header_bytes");
  if (ec == bh::error::body_limit)
    return reject(413, "Content Too Large", "request body over max_body");
  reject(400, "Bad Request", ec.message());
}

void UpgradeSession::handle_request() {
  ++requests_;
  request_read_at_ = std::chrono::steady_clock::now();
  auto& req = request_->get();
  upgrade_ = http::wants_websocket(req);
  const auto& limits = rt_->config.http;
  if (static_cast<std::size_t>(std::distance(req.begin(), req.end())) > limits.max_headers)
    return reject(431, "Request Header Fields Too Large", "more than max_headers fields");
  head_request_ = req.method() == bh::verb::head;
  using http::RequestProblem;
  if (auto p = http::check_request(req); p != RequestProblem::none) {
    if (p == RequestProblem::transfer_coding) return reject(501, "Not Implemented", http::to_string(p));
    if (p == RequestProblem::expectation) return reject(417, "Expectation Failed", http::to_string(p));
    return reject(400, "Bad Request", http::to_string(p));
  }
  std::string problem;
  auto target = http::normalize_target(req.target(), problem);
  if (!target) return reject(400, "Bad Request", problem);
  if (!target->host.empty()) {
    // RFC 9112 3.2.2: an absolute-form authority replaces Host, under the same grammar.
    if (!http::is_host(target->host))
      return reject(400, "Bad Request", http::to_string(RequestProblem::bad_host));
    req.set(bh::field::host, target->host);
  }
  if (target->target != req.target()) req.target(target->target);

  const auto match = rt_->table.match(req[bh::field::host], req.target());
  if (!match) return reject(404, "Not Found", "no route");
  // A backend that decodes %2F or takes '\' for '/' before it resolves "..", must not land on a
  // path another route (or none) owns.
  if (rt_->table.match(req[bh::field::host], target->loose_path) != match)
    return reject(400, "Bad Request", "path means another route once %2F or \\ is decoded");
  route_index_ = *match;
  route_ = &rt_->routes[route_index_];
  if (route_->config->require_client_cert && (!certificate_ || certificate_->empty()))
    return reject(403, "Forbidden", "a verified client certificate is required");
  // Address rules test the client as the ip key sees it: the PROXY header's, else the peer,
  // through trusted_proxies' X-Forwarded-For (docs/security.md).
  if (!route_->allow_from.empty() || !route_->deny_from.empty()) {
    const std::string who = client_address(client_ip_, req, rt_->trusted_proxies);
    if (is_trusted(who, route_->deny_from) || (!route_->allow_from.empty() && !is_trusted(who, route_->allow_from))) {
      route_row().add(metrics::RouteSeries::get().address_denials);
      return reject(403, "Forbidden", "client address not allowed on this route");
    }
  }

  if (upgrade_) {
    if (auto p = http::check_websocket_handshake(req); p != http::HandshakeProblem::none) {
      // RFC 6455 4.4: tell the client which version we speak.
      if (p == http::HandshakeProblem::bad_version)
        return reject(400, "Bad Request", http::to_string(p), "Sec-WebSocket-Version", "13");
      return reject(400, "Bad Request", http::to_string(p));
    }
  }
  if (!http::origin_allowed(route_->config->allowed_origins, req[bh::field::origin]))
    return reject(403, "Forbidden", "origin not allowed");
  keys_refreshed_ = false;
  token_.reset();
  claim_fields_.clear();
  slot_.reset();
  lease_.reset();
  forward_request();
}

void UpgradeSession::forward_request() {
  auto& req = request_->get();
  if (route_->verifier) {
    if (!authenticate(req)) return;  // it identifies the client itself, with the verified claims
  } else {
    identify(req, nullptr);
  }
  if (upgrade_ && route_->limit) {
    if (route_->redis) return ask_store();
    if (!admit()) return;
  }
  connect_upstream();
}

void UpgradeSession::connect_upstream() {
  auto& req = request_->get();
  if (!req.keep_alive()) close_after_response_ = true;
  http::ForwardContext context;
  context.peer_address = client_ip_;
  context.client_address = client_address_;
  context.peer_is_trusted_proxy = is_trusted(client_ip_, rt_->trusted_proxies);
  context.tls = client_.is_tls();
  context.upgrade = upgrade_;
  // The affinity cookie is the gateway's: the backend gets it no more than a token cookie.
  context.token_sources = route_->stripped_tokens;
  context.claim_fields = std::move(claim_fields_);
  context.rewrite = {route_->config->match_path(), route_->config->rewrite_to};
  context.request_headers = &route_->config->request_headers;
  if (certificate_ && !certificate_->empty()) {
    if (certificate_field_.empty()) certificate_field_ = http::xfcc_value(*certificate_);
    context.client_certificate = certificate_field_;
  }
  auto forwarded = http::build_forwarded_request({req, head_fields_}, context);
  if (forwarded.problem != http::BuildProblem::none) {
    reject_token(auth::error::malformed, http::to_string(forwarded.problem));
    return;
  }
  out_ = std::move(forwarded.bytes);
  protocol_token_ = forwarded.offered_bearer;

  // A route whose backends are all discovered has none until DNS first answers for them (a
  // Service created after the gateway): try again shortly, as for any unavailable service.
  if (route_->picker->size() == 0)
    return reject(503, "Service Unavailable", "no backend discovered yet", "Retry-After", "1");
  find_affinity(req);
  tried_.assign(route_->picker->size(), false);
  connect_next_backend();
}

// The backend this client was sent to before, if it is still one of the route's: a valid affinity
// cookie names it, else the route's affinity table for the client's key. pick() still checks that
// it is available (affinity never overrides health).
void UpgradeSession::find_affinity(const http::RequestHeader& req) {
  preferred_.reset();
  set_cookie_.clear();
  const auto now = std::chrono::steady_clock::now();
  if (route_->cookie) {
    const auto value = http::find_cookie(req, route_->config->affinity_cookie->name);
    const auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
    if (const auto id = value ? route_->cookie->decode(*value, unix_now) : std::nullopt) {
      const auto& ids = route_->cookie_ids;
      if (auto it = std::find(ids.begin(), ids.end(), *id); it != ids.end())
        preferred_ = static_cast<std::size_t>(it - ids.begin());
    }
  }
  if (!preferred_ && route_->affinity && keyed_) {
    if (const auto id = route_->affinity->lookup(hash_, now)) {
      const auto& ids = route_->backend_ids;
      if (auto it = std::find(ids.begin(), ids.end(), *id); it != ids.end())
        preferred_ = static_cast<std::size_t>(it - ids.begin());
    }
  }
}

// The backend answered the connect: the client's later requests and sessions follow it there.
void UpgradeSession::keep_affinity(std::size_t b) {
  if (route_->affinity && keyed_) {
    route_->affinity->bind(hash_, route_->backend_ids[b], std::chrono::steady_clock::now());
    affinity_hold_ = routing::AffinityHold(route_->affinity, hash_);
  }
  if (route_->cookie && preferred_ != b) {
    // No valid cookie, or one naming a backend the client could not be sent to: a new one.
    const auto& settings = *route_->config->affinity_cookie;
    const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(settings.ttl).count();
    const auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
    set_cookie_ = settings.name + "=" + route_->cookie->encode(route_->cookie_ids[b], unix_now + ttl) +
                  "; Path=" + route_->config->match_path() + "; Max-Age=" + std::to_string(ttl) +
                  "; HttpOnly; SameSite=" + settings.same_site;
    if (settings.secure || client_.is_tls() || settings.same_site == "None") set_cookie_ += "; Secure";
  }
}

// Verifies the route's token; on success the verified claims are kept to become request headers
// for the backend (the forwarded-request builder removes a client's own under every spelling).
bool UpgradeSession::authenticate(http::RequestHeader& req) {
  const auto& provider = *route_->auth;
  if (!token_) token_ = http::find_token(req, provider.token_from);
  const auto& taken = token_;
  if (!taken) return reject_token(auth::error::missing_token);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  // Per thread: a session never leaves its thread, so the cache needs no lock.
  thread_local auth::VerifiedTokenCache cache;
  const auto& verifier = *route_->verifier;
  auth::Verified verified;
  // Read before verifying: keys that change meanwhile must not be credited with this verdict.
  const auto generation = verifier.key_generation();
  const boost::json::object* claims = cache.find(verifier.id(), generation, taken->token, now);
  if (!claims) {
    verified = verifier.verify(taken->token, now);
    if (verified.result == auth::error::unknown_key && !route_->jwks.empty() && !keys_refreshed_) {
      wait_for_keys();  // the provider may have published the key since we last asked
      return false;
    }
    if (verified.result != auth::error::none) return reject_token(verified.result);
    claims = &verified.claims;
    if (const auto* exp = claims->if_contains("exp"); exp && exp->is_number())
      cache.insert(verifier.id(), generation, taken->token,
                   static_cast<std::int64_t>(exp->to_number<double>()) + verifier.config().leeway_seconds,
                   *claims);
  }
  for (const auto& [claim, header] : provider.forward_claims) {
    req.erase(header);  // so that identify() reads header:NAME as the verified value
    const auto* value = claims->if_contains(claim);
    if (!value) continue;
    std::string text = value->is_string() ? std::string(value->get_string()) : boost::json::serialize(*value);
    // A signed claim is still the client's text: one with CR, LF or NUL would become header lines.
    if (!http::is_field_value(text))
      return reject_token(auth::error::malformed, http::to_string(http::BuildProblem::claim_not_a_field_value));
    req.set(header, text);
    claim_fields_.emplace_back(header, std::move(text));
  }
  identify(req, claims);
  if (const auto* exp = claims->if_contains("exp"); exp && exp->is_number())
    token_expires_at_ = static_cast<std::int64_t>(exp->to_number<double>());
  return true;
}

// Who the client is, for pinning (the route's hash_key) and for its rate limits (the policy's
// key); read after the verified claims became headers, so header:X-User-Id is the verified value.
void UpgradeSession::identify(const http::RequestHeader& req, const boost::json::object* claims) {
  client_address_ = client_address(client_ip_, req, rt_->trusted_proxies);
  const auto& address = client_address_;
  keyed_ = false;
  if (auto key = hash_key_of(req, route_->config->hash_key, claims, address, certificate_.get())) {
    hash_ = routing::stable_hash(*key);
    keyed_ = true;
  } else {
    // No key: such clients are spread, not pinned.
    thread_local std::uint64_t unpinned = 0;
    hash_ = routing::stable_hash(std::to_string(++unpinned));
  }
  if (route_->limit && upgrade_) {  // limits count upgrades and sessions, not plain requests
    // No key at all: the address stands in, so nobody escapes a limit by sending none.
    const auto key = hash_key_of(req, route_->limit->key, claims, address, certificate_.get());
    limit_key_ = routing::stable_hash(key ? *key : "ip:" + address);
  }
}

// The route's upgrade rate and concurrent-session cap for this client: 429 when over either.
bool UpgradeSession::admit() {
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now().time_since_epoch()).count();
  auto admission = route_->limiter->admit(limit_key_, route_->upgrade_rate, route_->limit->max_sessions, now);
  if (admission.capped) {
    count_limit(metrics::LimitAction::reject);
    reject(429, "Too Many Requests", "concurrent session limit");
    return false;
  }
  if (!admission.rate.allowed) {
    // Whole seconds, rounded up (RFC 9110 10.2.3): a client that waits that long gets through.
    const auto seconds = (admission.rate.retry_after_ns + 999'999'999) / 1'000'000'000;
    count_limit(metrics::LimitAction::reject);
    reject(429, "Too Many Requests", "upgrade rate limit", "Retry-After", std::to_string(seconds));
    return false;
  }
  slot_ = std::move(admission.slot);
  count_limit(metrics::LimitAction::allow);
  return true;
}

// store: redis. The upgrade rate and the session cap are decided in Redis for every instance; the
// local limiter still holds the key's message schedules.
void UpgradeSession::ask_store() {
  phase_ = Phase::rate_limit;
  arm_timer(route_->redis->settings().timeout + std::chrono::seconds(1));
  RedisStore::Query query{route_->limit->name, limit_key_, route_->upgrade_rate, route_->limit->max_sessions};
  route_->redis->decide(std::move(query), [self = shared_from_this(),
                                           ex = client_.socket().get_executor()](RedisStore::Answer a) {
    asio::post(ex, [self, a = std::move(a)]() mutable { self->on_store_answer(std::move(a)); });
  });
}

void UpgradeSession::on_store_answer(RedisStore::Answer answer) {
  if (phase_ != Phase::rate_limit) return;  // timed out or gone; a lease releases itself
  switch (answer.outcome) {
    case RedisStore::Outcome::allowed:
      if (answer.lease) lease_.emplace(std::move(*answer.lease));
      count_limit(metrics::LimitAction::allow);
      break;
    case RedisStore::Outcome::rate_limited: {
      count_limit(metrics::LimitAction::reject);
      const auto seconds = (answer.retry_after_ns + 999'999'999) / 1'000'000'000;
      return reject(429, "Too Many Requests", "upgrade rate limit", "Retry-After", std::to_string(seconds));
    }
    case RedisStore::Outcome::session_cap:
      count_limit(metrics::LimitAction::reject);
      return reject(429, "Too Many Requests", "concurrent session limit");
    case RedisStore::Outcome::unavailable:
      // The store logs the outage once; each refusal is one request_rejected line.
      count_limit(route_->limit->fail_open ? metrics::LimitAction::fail_open
                                           : metrics::LimitAction::fail_closed);
      if (!route_->limit->fail_open)
        return reject(503, "Service Unavailable", "rate limit store unavailable", "Retry-After", "1");
      // Counted in Redis once it is back (the store renews the lease).
      if (answer.lease) lease_.emplace(std::move(*answer.lease));
      break;
  }
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now().time_since_epoch()).count();
  slot_ = route_->limiter->open_session(limit_key_, 0, now);
  connect_upstream();
}

// Asks every JWKS source of the route for a refresh (each rate-limits itself) and verifies again
// once all have answered; fetch_timeout bounds the wait.
void UpgradeSession::wait_for_keys() {
  phase_ = Phase::key_refresh;
  keys_refreshed_ = true;
  keys_pending_ = route_->jwks.size();
  auto longest = std::chrono::milliseconds(0);
  for (const auto& source : route_->jwks) {
    longest = std::max(longest, source->settings().fetch_timeout);
    source->refresh_soon(client_.socket().get_executor(), [self = shared_from_this()] {
      if (self->phase_ != Phase::key_refresh || --self->keys_pending_ > 0) return;
      self->phase_ = Phase::read_request;
      self->forward_request();
    });
  }
  arm_timer(longest + std::chrono::seconds(1));
}

// RFC 6750 3: 401 with error="invalid_token" for a missing or bad token, 403 with
// error="insufficient_scope" when a required claim fails. Returns false for authenticate().
bool UpgradeSession::reject_token(auth::error e, std::string_view detail) {
  static_assert(static_cast<std::size_t>(auth::error::claim_mismatch) == metrics::auth_reasons.size());
  route_row().add(metrics::RouteSeries::get().auth_failures + static_cast<std::size_t>(e) - 1);
  const std::string description(detail.empty() ? auth::to_string(e) : detail);
  const bool forbidden = auth::is_forbidden(e);
  reject(forbidden ? 403 : 401, forbidden ? "Forbidden" : "Unauthorized", description,
         "WWW-Authenticate",
         std::string(R"(Bearer realm="wsgate", error=")") +
             (forbidden ? "insufficient_scope" : "invalid_token") +
             R"(", error_description=")" + description + "\"");
  return false;
}

void UpgradeSession::connect_next_backend() {
  phase_ = Phase::connect;  // a 502 from here on means no backend could be reached
  charge_.release();  // a failed backend's load no longer counts this request
  auto pick = route_->picker->size() == route_->endpoints.size()
                  ? route_->picker->pick(hash_, tried_, std::chrono::steady_clock::now(), preferred_)
                  : std::nullopt;
  if (!pick) {
    return last_connect_timed_out_
               ? reject(504, "Gateway Timeout", "no backend answered in time")
               : reject(502, "Bad Gateway", "no backend accepted the connection");
  }
  const std::size_t b = pick->backend;
  tried_[b] = true;
  charge_ = std::move(pick->charge);
  connect_started_ = std::chrono::steady_clock::now();
  last_connect_timed_out_ = false;
  backend_.reset();
  connecting_.emplace(client_.socket().get_executor());
  error_code ec;
  const ConnectStart started = start_connect(*connecting_, route_->endpoints[b], ec);
  // Connected on the spot to a plain backend, the connect phase ends before any wait: the timer
  // keeps the header deadline until the response deadline replaces it.
  if (started != ConnectStart::established || route_->config->backends[b].tls)
    arm_timer(route_->config->connect_timeout);
  if (started != ConnectStart::in_progress) return on_connected(b, ec);
  connecting_->async_wait(tcp::socket::wait_write, [self = shared_from_this(), b](error_code wec) {
    if (!wec && self->connecting_ && self->connecting_->is_open()) wec = connect_result(*self->connecting_);
    self->on_connected(b, wec);
  });
}

void UpgradeSession::on_connected(std::size_t b, error_code ec) {
  if (phase_ != Phase::connect) return;
  const auto& backend = route_->config->backends[b];
  if (ec) {
    connecting_.reset();
    return try_next_backend(b, "backend_connect_failed", last_connect_timed_out_ ? "timed out" : ec.message(),
                            connect_failure_cause(ec));
  }
  backend_.emplace(std::move(*connecting_));
  connecting_.reset();
  if (!backend.tls) return on_backend_ready(b, {});
  if (!backend_->start_tls_client(route_->backend_tls.get(), backend.host))
    return on_backend_ready(b, asio::error::no_memory);
  backend_->async_handshake(
      [self = shared_from_this(), b](error_code hec) { self->on_backend_ready(b, hec); });
}

void UpgradeSession::on_backend_ready(std::size_t b, error_code ec) {
  if (phase_ != Phase::connect) return;
  if (ec) return try_next_backend(b, "backend_tls_failed", ec.message(), connect_failure_cause(ec));
  route_->picker->report_success(b);
  keep_affinity(b);
  const auto now = std::chrono::steady_clock::now();
  metrics::observe(backend_row(b), metrics::BackendSeries::get().connect_duration,
                   static_cast<std::uint64_t>((now - connect_started_).count()));
  backend_index_ = b;
  phase_ = Phase::backend_response;
  arm_timer(route_->config->response_timeout);
  forwarded_at_ = now;
  backend_->async_write_all(out_.data(), out_.size(), [self = shared_from_this()](error_code wec) {
    self->on_request_forwarded(wec);
  });
}

void UpgradeSession::on_request_forwarded(error_code ec) {
  if (phase_ != Phase::backend_response) return;
  if (ec) return reject(502, "Bad Gateway", "writing to backend: " + ec.message());
  read_backend_response();
}

// An upgrade, or a GET or HEAD without a body, that the backend took and then dropped without a
// byte of answer may go to the next backend, as NGINX's proxy_next_upstream error does: nothing
// was done that repeating could do twice. The common case is a backend dying (a reconnect storm's
// first moments), whose listening socket still completes connects while it exits.
bool UpgradeSession::retryable() const {
  const auto& req = request_->get();
  return upgrade_ || ((req.method() == bh::verb::get || req.method() == bh::verb::head) && req.body().empty());
}


void UpgradeSession::read_backend_response() {
  backend_spoke_ = false;
  new_response_parser();
  backend_buf_.clear();
  // The backend has only just been sent the request: a read now would come back empty (a recv
  // for nothing), so the first one waits for epoll to report the answer. Over TLS, OpenSSL may
  // hold bytes epoll cannot see, so that read is tried first.
  if (backend_->is_tls()) return read_more_response();
  backend_->async_wait_read([self = shared_from_this()](error_code ec) {
    if (ec) return self->on_backend_bytes(ec, 0);
    self->read_more_response();
  });
}

void UpgradeSession::new_response_parser() {
  response_.reset();
  response_memory_.reset();
  response_.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(response_memory_.allocator()));
  response_->header_limit(rt_->config.http.max_header_bytes);
  response_->body_limit(rt_->config.http.max_body);
  response_->eager(true);
  if (head_request_) response_->skip(true);
}

void UpgradeSession::read_more_response() {
  const std::size_t limit = std::min<std::size_t>(rt_->config.http.max_header_bytes + kReadChunk, kMaxBuffered);
  if (backend_buf_.size() >= limit)
    return reject(502, "Bad Gateway", "backend response head too large");
  auto space = backend_buf_.prepare(std::min(kReadChunk, limit - backend_buf_.size()));
  backend_->async_read_some(space.data(), space.size(),
                            [self = shared_from_this()](error_code ec, std::size_t n) {
                              self->on_backend_bytes(ec, n);
                            });
}

void UpgradeSession::on_backend_bytes(error_code ec, std::size_t n) {
  if (phase_ != Phase::backend_response) return;
  error_code pec;
  if (ec == asio::error::eof && response_->is_header_done()) {
    response_->put_eof(pec);  // a body delimited by the end of the connection
    if (!pec) return on_backend_response();
  }
  if (ec && !backend_spoke_ && retryable())
    return try_next_backend(backend_index_, "backend_connect_failed", "closed before answering: " + ec.message(),
                            metrics::ConnectFailure::reset);
  if (ec) return reject(502, "Bad Gateway", "backend closed before a full response");
  backend_spoke_ = true;
  backend_buf_.commit(n);
  parse_backend_response();
}

void UpgradeSession::parse_backend_response() {
  error_code pec;
  while (backend_buf_.size() > 0 && !response_->is_done()) {
    const std::size_t used = response_->put(backend_buf_.data(), pec);
    backend_buf_.consume(used);
    if (pec) break;
  }
  if (response_->is_done()) return on_backend_response();
  if (!pec || pec == bh::error::need_more) return read_more_response();
  if (pec == bh::error::body_limit)
    return reject(502, "Bad Gateway", "backend response body over max_body");
  reject(502, "Bad Gateway", "malformed backend response: " + pec.message());
}

void UpgradeSession::on_backend_response() {
  auto& res = response_->get();
  if (const unsigned status = res.result_int(); status / 100 == 1 && !(upgrade_ && status == 101)) {
    if (status == 101)
      return reject(502, "Bad Gateway", "backend switched protocols on a request that asked for none");
    // RFC 9110 15.2: an interim answer; the final one follows on the same connection. None is
    // relayed: the gateway answered 100-continue itself, and 103's hints are optional.
    new_response_parser();
    return parse_backend_response();
  }
  if (upgrade_)
    metrics::observe(backend_row(backend_index_), metrics::BackendSeries::get().upgrade_duration,
                     static_cast<std::uint64_t>((std::chrono::steady_clock::now() - forwarded_at_).count()));
  if (upgrade_ && res.result() == bh::status::switching_protocols) {
    if (!beast::iequals(res[bh::field::upgrade], "websocket"))
      return reject(502, "Bad Gateway", "backend switched to something other than websocket");
    // The backend must prove it read this handshake (RFC 6455 4.2.2); over HTTP/2 the key is the
    // gateway's own and no client would check the answer.
    http::AcceptText accept;
    const std::string_view expected = http::websocket_accept(request_->get()[bh::field::sec_websocket_key], accept);
    if (expected.empty() || res[bh::field::sec_websocket_accept] != expected)  // "": no digest, no proof
      return reject(502, "Bad Gateway", "backend's Sec-WebSocket-Accept does not answer the key");
    http::rewrite_response(res, true);
    for (const auto& [name, value] : route_->config->response_headers) res.set(name, value);
    if (!set_cookie_.empty()) http::set_gateway_cookie(res, route_->config->affinity_cookie->name, set_cookie_);
    // The client offered "bearer" only to carry its token: it must see one of its offers chosen.
    if (protocol_token_ && res.count(bh::field::sec_websocket_protocol) == 0)
      res.set(bh::field::sec_websocket_protocol, "bearer");
    out_.clear();  // the forwarded request's capacity, reused
    http::append_response_head(res, out_);
    phase_ = Phase::respond;
    client_.async_write_all(out_.data(), out_.size(), [self = shared_from_this()](error_code ec) {
      if (self->phase_ != Phase::respond) return;
      if (ec) return self->finish();
      self->log_access(101, 0, true);
      self->count_result(metrics::RequestResult::ok);
      metrics::observe(self->route_row(), metrics::RouteSeries::get().upgrade_duration,
                       static_cast<std::uint64_t>(
                           (std::chrono::steady_clock::now() - self->request_read_at_).count()));
      self->start_relay();
    });
    return;
  }
  if (upgrade_) {
    // The backend refused the upgrade: its answer goes back as it is, then the connection ends.
    log::info("upgrade_refused_by_backend",
              {{"route", std::string(route_name())},
               {"backend", route_->config->backends[backend_index_].url},
               {"status", res.result_int()}, {"client", client_ip_}});
    close_after_response_ = true;
    count_result(metrics::RequestResult::backend_refused);
  }
  count_result(metrics::RequestResult::ok);
  http::rewrite_response(res, false);
  for (const auto& [name, value] : route_->config->response_headers) res.set(name, value);
  if (!set_cookie_.empty() && !upgrade_)
    http::set_gateway_cookie(res, route_->config->affinity_cookie->name, set_cookie_);
  if (close_after_response_) res.set(bh::field::connection, "close");
  if (!head_request_ && !has_no_body(res.result_int())) res.prepare_payload();
  out_ = serialize(res);
  response_status_ = res.result_int();
  response_bytes_ = head_request_ ? 0 : res.body().size();
  response_from_backend_ = true;
  backend_->close();
  backend_.reset();
  // The request is over on the backend: its load, and its key's affinity ttl starts (if no other
  // request or session of the key is there).
  charge_.release();
  affinity_hold_.release();
  phase_ = Phase::respond;
  arm_timer(route_->config->response_timeout);
  client_.async_write_all(out_.data(), out_.size(),
                          [self = shared_from_this()](error_code ec) { self->on_response_sent(ec); });
}

void UpgradeSession::on_response_sent(error_code ec) {
  if (phase_ != Phase::respond) return;
  if (!ec) log_access(response_status_, response_bytes_, response_from_backend_);
  if (ec) return finish();
  if (close_after_response_) return linger();
  read_request();
}

void UpgradeSession::reject(unsigned status, std::string_view reason, std::string_view detail,
                            std::string_view extra_header, const std::string& extra_value) {
  count_result(result_of(status, phase_));
  log::info("request_rejected", {{"status", status},
                                 {"route", std::string(route_name())},
                                 {"client", client_ip_},
                                 {"reason", std::string(detail)},
                                 {"protocol", client_.is_stream() ? "h2" : "http/1.1"}});
  client_.cancel();  // a pending request read must not write into client_buf_ later
  if (connecting_) connecting_->close();
  connecting_.reset();
  backend_.reset();  // closes the backend socket; its pending waits end as aborted
  charge_.release();
  affinity_hold_.release();
  bh::response<bh::string_body> res{static_cast<bh::status>(status), 11};
  res.set(bh::field::content_type, "text/plain");
  res.set(bh::field::connection, "close");
  if (!extra_header.empty()) res.set(extra_header, extra_value);
  res.body() = std::string(reason) + "\n";
  res.prepare_payload();
  out_ = serialize(res);
  response_status_ = status;
  response_bytes_ = res.body().size();
  response_from_backend_ = false;
  close_after_response_ = true;
  phase_ = Phase::respond;
  arm_timer(std::chrono::seconds(5));
  client_.async_write_all(out_.data(), out_.size(),
                          [self = shared_from_this()](error_code ec) { self->on_response_sent(ec); });
}

// After a final response: send FIN, then read until the client closes (or a short timeout), so
// that the kernel does not answer unread input with a reset that could destroy the response.
void UpgradeSession::linger() {
  if (phase_ != Phase::linger) {
    phase_ = Phase::linger;
    client_.shutdown_send();
    arm_timer(kLingerTime);
  }
  client_buf_.clear();
  auto space = client_buf_.prepare(kReadChunk);
  client_.async_read_some(space.data(), space.size(),
                          [self = shared_from_this()](error_code ec, std::size_t) {
                            if (self->phase_ != Phase::linger) return;
                            if (ec) return self->finish();
                            self->linger();
                          });
}

void UpgradeSession::start_relay() {
  timer_.cancel();
  phase_ = Phase::done;
  auto& res = response_->get();
  FrameRelay::Params params;
  params.runtime = rt_;
  params.route = route_index_;
  params.backend = backend_index_;
  // RFC 9110 5.3: the extensions may come in several field lines; each counts.
  auto [ext_first, ext_last] = res.equal_range(bh::field::sec_websocket_extensions);
  for (auto it = ext_first; it != ext_last; ++it)
    params.deflate = params.deflate || bh::ext_list(it->value()).exists("permessage-deflate");
  params.client_ip = client_ip_;
  if (route_->config->close_at_expiry) params.expires_at_unix = token_expires_at_;
  if (slot_) params.slot = std::move(*slot_);
  if (lease_) params.lease = std::make_unique<RedisLease>(std::move(*lease_));
  params.charge = std::move(charge_);
  params.key_hash = keyed_ ? hash_ : 0;
  params.session_number = registry_id();
  params.affinity = std::move(affinity_hold_);
  params.listener = listener_;
  params.counts_connection = !client_.is_stream();  // an HTTP/2 stream's connection is its H2Session's
  connection_open_ = false;  // the relay counts the connection from here on
  auto relay = std::allocate_shared<FrameRelay>(memory::recycling_allocator<FrameRelay>(), std::move(client_),
                                                std::move(*backend_), std::move(params), registry_);
  relay->start(beast::buffers_to_string(client_buf_.data()),
               beast::buffers_to_string(backend_buf_.data()));
}

std::string UpgradeSession::logged_target() const {
  const std::string_view target = request_->get().target();
  // No route: no query at all. A route with a provider: every source it reads is cut, as for
  // the backend.
  if (!route_) return std::string(target.substr(0, target.find('?')));
  if (route_->auth) return http::target_without_tokens(target, route_->auth->token_from);
  // A route without authentication reads no token, but a client may still send one it uses
  // elsewhere: every name any provider (or the default) reads is cut as well.
  std::vector<http::TokenSource> sources = config::AuthProvider{}.token_from;
  for (const auto& p : rt_->config.auth_providers)
    sources.insert(sources.end(), p.token_from.begin(), p.token_from.end());
  return http::target_without_tokens(target, sources);
}

// Never a token, a cookie or an Authorization field, at any log level: the target is cut as the
// backend's is, and no header but Host is read.
void UpgradeSession::log_access(unsigned status, std::size_t bytes, bool with_backend) {
  if (!access_log::enabled()) return;
  const bool parsed = request_ && request_->is_header_done();
  const auto took = parsed ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - request_read_at_).count()
                           : 0;
  // What the balancer's PROXY header said of the connection, when it said anything, at the end.
  const log::Field fields[] = {{"client", client_address_.empty() ? client_ip_ : client_address_},
                     {"method", parsed ? std::string(request_->get().method_string()) : "-"},
                     {"host", parsed ? std::string(request_->get()[bh::field::host]) : "-"},
                     {"path", parsed ? logged_target() : "-"},
                     {"status", status},
                     {"duration_ms", took},
                     {"bytes", bytes},
                     {"route", route_ ? route_->config->name : "-"},
                     {"backend", with_backend ? route_->config->backends[backend_index_].url : "-"},
                     {"session", upgrade_ && status == 101 ? registry_.id_of(*this) : "-"},
                     {"protocol", client_.is_stream() ? "h2" : "http/1.1"},
                     {"proxy_authority", balancer_.authority.empty() ? "-" : balancer_.authority},
                     {"proxy_vpce", balancer_.vpc_endpoint.empty() ? "-" : balancer_.vpc_endpoint}};
  const bool said = !balancer_.authority.empty() || !balancer_.vpc_endpoint.empty();
  access_log::write(std::span<const log::Field>(fields, std::size(fields) - (said ? 0 : 2)));
}

void UpgradeSession::arm_timer(std::chrono::milliseconds after) {
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this(), gen = ++timer_generation_](error_code ec) {
    if (!ec && gen == self->timer_generation_) self->on_timeout();
  });
}

void UpgradeSession::on_timeout() {
  switch (phase_) {
    case Phase::start:
      return finish();
    case Phase::read_request:
      if (requests_ > 0 && client_buf_.size() == 0 && !request_->got_some())
        return finish();  // an idle keep-alive connection simply ends
      return reject(408, "Request Timeout", "request head not received within header_timeout");
    case Phase::connect:
      last_connect_timed_out_ = true;
      if (connecting_) connecting_->close();
      if (backend_) backend_->close();
      return;
    case Phase::backend_response:
      return reject(504, "Gateway Timeout", "backend did not answer within response_timeout");
    case Phase::key_refresh:
      reject_token(auth::error::unknown_key);
      return;
    case Phase::rate_limit:
      return on_store_answer(RedisStore::Answer{});  // as if Redis were down
    case Phase::respond:
    case Phase::linger:
    case Phase::done:
      return finish();
  }
}

void UpgradeSession::finish() {
  // A request read and not answered: the client left, or the thread drains.
  if (request_ && request_->is_header_done()) count_result(metrics::RequestResult::aborted);
  release_connection();
  phase_ = Phase::done;
  ++timer_generation_;
  timer_.cancel();
  client_.close();
  if (connecting_) connecting_->close();
  if (backend_) backend_->close();
}

}  // namespace wsgate::gateway
