#include "gateway/proxy/frame_relay.hpp"

#include "gateway/log.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace wsgate::gateway {
namespace {

// After a close starts, how long the peers get to answer with their close and FIN.
constexpr auto kCloseLinger = std::chrono::seconds(3);

// Reads land in one buffer per thread, so a session waiting for input holds no payload memory.
std::uint8_t* thread_buffer(std::size_t size) {
  thread_local std::vector<std::uint8_t> buffer;
  if (buffer.size() < size) buffer.resize(size);
  return buffer.data();
}

std::int64_t to_ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::int64_t to_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

FrameRelay::FrameRelay(Transport client, Transport backend, Params params,
                       SessionRegistry& registry)
    : params_(std::move(params)),
      limited_(params_.slot.limiter() ? std::make_unique<Limited>(std::move(params_.slot)) : nullptr),
      limits_(params_.runtime->routes[params_.route].config->limits),
      route_row_(params_.runtime->routes[params_.route].series->row(registry.thread())),
      backend_row_(params_.runtime->routes[params_.route].backend_series[params_.backend]->row(
          registry.thread())),
      registry_(registry),
      client_(std::move(client)),
      backend_(std::move(backend)),
      up_(client_, backend_, {true, params_.deflate, limits_.max_message}, true),
      // Backend messages are not capped: max_message protects the backend from its clients.
      down_(backend_, client_, {false, params_.deflate, UINT64_MAX}, false),
      timer_(client_.socket().get_executor()) {
  up_.relay = down_.relay = this;
  up_.scanner.set_observer(&FrameRelay::on_message, &up_);
  down_.scanner.set_observer(&FrameRelay::on_message, &down_);
  if (limited_) {
    up_.throttle = &limited_->up;
    down_.throttle = &limited_->down;
    up_.scanner.set_gate(&FrameRelay::gate, &up_);
    down_.scanner.set_gate(&FrameRelay::gate, &down_);
  }
}

FrameRelay::~FrameRelay() {
  registry_.remove(this);
}

void FrameRelay::start(std::string early_from_client, std::string early_from_backend) {
  started_ = last_data_ = last_client_byte_ = Clock::now();
  if (params_.expires_at_unix > 0) {
    const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
    token_expiry_ = started_ + std::chrono::seconds(params_.expires_at_unix - now_unix);
  }
  if (log::enabled(log::Level::info)) {
    const auto& route = *params_.runtime->routes[params_.route].config;
    log::info("session_open", {{"route", route.name},
                               {"backend", route.backends[params_.backend].url},
                               {"client", params_.client_ip},
                               {"deflate", params_.deflate ? "yes" : "no"}, {"session", session_id()},
                               {"protocol", client_.is_stream() ? "h2" : "http/1.1"}});
  }
  registry_.add(shared_from_this(), params_.session_number);
  backend_row_.add(metrics::BackendSeries::get().sessions_active);
  if (!early_from_client.empty())
    process(up_, reinterpret_cast<std::uint8_t*>(early_from_client.data()), early_from_client.size(),
            started_);
  if (!early_from_backend.empty())
    process(down_, reinterpret_cast<std::uint8_t*>(early_from_backend.data()),
            early_from_backend.size(), started_);
  if (finished_) return;
  pump(up_);
  pump(down_);
  arm_timer();
}

void FrameRelay::go_away() {
  close_both(metrics::SessionEnd::drain, ws::close_code::going_away, "server shutting down", ws::close_code::going_away,
             "gateway shutting down");
}

void FrameRelay::backend_left(const std::string& url) {
  const auto& route = *params_.runtime->routes[params_.route].config;
  if (route.backends[params_.backend].url != url) return;
  log::info("session_moved", {{"route", route.name}, {"backend", url}, {"client", params_.client_ip}, {"session", session_id()}});
  close_both(metrics::SessionEnd::backend_removed, ws::close_code::service_restart, "backend unavailable, reconnect",
             ws::close_code::going_away, "backend taken out of service");
}

std::string FrameRelay::session_id() const {
  return std::to_string(registry_.thread()) + "-" + std::to_string(params_.session_number);
}

bool FrameRelay::describe(SessionView& view) const {
  const auto& route = *params_.runtime->routes[params_.route].config;
  view.route = route.name;
  view.backend = route.backends[params_.backend].url;
  view.client = params_.client_ip;
  view.key_hash = params_.key_hash;
  view.age_seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  view.messages_in = up_.scanner.messages();
  view.messages_out = down_.scanner.messages();
  view.bytes_in = up_.bytes;
  view.bytes_out = down_.bytes;
  return true;
}

bool FrameRelay::end_by_operator(std::uint16_t code) {
  const auto& route = *params_.runtime->routes[params_.route].config;
  log::info("session_ended_by_operator",
            {{"route", route.name}, {"client", params_.client_ip}, {"code", code}, {"session", session_id()}});
  close_both(metrics::SessionEnd::operator_request, code, "closed by the operator", ws::close_code::going_away, "closed by the operator");
  return true;
}

bool FrameRelay::rebalance() {
  // Ending anyway (a close under way from either side): not one to count or move.
  if (closing_started_ || up_.scanner.close_seen() || down_.scanner.close_seen()) return false;
  log::info("session_rebalanced", {{"route", params_.runtime->routes[params_.route].config->name},
                                   {"client", params_.client_ip}, {"session", session_id()}});
  route_row_.add(metrics::RouteSeries::get().rebalance_closes);
  close_both(metrics::SessionEnd::rebalance, ws::close_code::service_restart, "rebalance", ws::close_code::going_away,
             "rebalance");
  return true;
}

HandoverStep FrameRelay::hand_over(const std::shared_ptr<HandoverSink>& sink) {
  if (finished_ || closing_started_ || linger_until_ != Clock::time_point{}) return HandoverStep::ending;
  // TLS record state lives in this process's OpenSSL (no kernel TLS here), and a stream is one of
  // an HTTP/2 connection's: neither can move. They go away as for a drain.
  if (client_.is_tls() || backend_.is_tls()) {
    go_away();
    return HandoverStep::draining;
  }
  handover_sink_ = sink;
  try_hand_over();
  return HandoverStep::moving;
}

// Tried after every read of a session being handed over: once both directions are at a frame
// boundary (a frame header split by the read stays unrelayed), the session leaves, with nothing
// sent to either peer and without a word in this process's session metrics but the gauges it held.
// Reading goes on meanwhile: a direction that stopped at its boundary could hold up a peer (a
// backend writing to many sessions) that the other direction waits for to finish its frame.
void FrameRelay::try_hand_over() {
  if (!handover_sink_ || finished_ || closing_started_) return;
  for (const Direction* d : {&up_, &down_}) {
    if (d->state != State::relaying || !d->scanner.at_boundary() || d->scanner.close_seen()) return;
    if (d->throttle && d->throttle->deferred_end) return;  // its source ended: it closes here
  }
  const auto now = Clock::now();
  HandedSession handed{session_id(), handover::encode(record(now)), -1, -1};
  finished_ = true;  // every wait still queued now ends without acting
  ++timer_generation_;
  timer_.cancel();
  handed.client_fd = client_.release();
  handed.backend_fd = backend_.release();
  if (params_.lease) params_.lease->hand_over();
  backend_row_.subtract(metrics::BackendSeries::get().sessions_active);
  if (params_.counts_connection)
    params_.runtime->listener_series[params_.listener]->row(registry_.thread())
        .subtract(metrics::ListenerSeries::get().connections_open);
  log::debug("session_handed_over", {{"session", handed.id}});
  registry_.remove(this);
  const auto sink = std::move(handover_sink_);
  (*sink)(std::move(handed));
}

handover::SessionRecord FrameRelay::record(Clock::time_point now) const {
  const auto ns = [](Clock::duration d) {
    return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  };
  const auto& route = *params_.runtime->routes[params_.route].config;
  handover::SessionRecord r;
  r.id = session_id();
  r.route = route.name;
  r.backend_url = route.backends[params_.backend].url;
  if (params_.counts_connection) r.listener = params_.runtime->config.listeners[params_.listener].name;
  r.client_ip = params_.client_ip;
  r.deflate = params_.deflate;
  r.key_hash = params_.key_hash;
  if (limited_) {
    const auto& slot = limited_->budget.slot();
    r.has_limit_key = true;
    r.limit_key = slot.key();
    if (const auto* f = slot.schedules()) {
      const std::int64_t t = to_ns(now);
      r.client_messages_ahead_ns = f->client_messages.load() - t;
      r.client_bytes_ahead_ns = f->client_bytes.load() - t;
      r.backend_messages_ahead_ns = f->backend_messages.load() - t;
      r.backend_bytes_ahead_ns = f->backend_bytes.load() - t;
    }
  }
  if (params_.lease) {
    r.lease_key = params_.lease->key();
    r.lease_member = params_.lease->member();
  }
  r.expires_at_unix = params_.expires_at_unix;
  r.age_ns = ns(now - started_);
  r.idle_ns = ns(now - last_data_);
  r.client_quiet_ns = ns(now - last_client_byte_);
  r.ping_age_ns = ping_sent_ == Clock::time_point{} ? -1 : ns(now - ping_sent_);
  r.ping_answered = ping_answered_;
  r.ping_retry_in_ns = ping_retry_at_ > now ? ns(ping_retry_at_ - now) : 0;
  r.limit_logged = limit_logged_;
  for (const Direction* d : {&up_, &down_}) {
    auto& out = d->upstream ? r.up : r.down;
    out.unsent.assign(d->pending.begin() + static_cast<std::ptrdiff_t>(d->pending_sent), d->pending.end());
    out.unread.assign(d->held.begin(), d->held.end());
    if (d->throttle) {
      out.parked.assign(d->throttle->parked.begin(), d->throttle->parked.end());
      if (d->held_back()) out.resume_in_ns = ns(d->throttle->resume_at - now);
    }
    out.bytes = d->bytes;
    out.throttled = d->throttled;
    const auto st = d->scanner.state();
    out.message_bytes = st.message_bytes;
    out.in_message = st.in_message;
    out.messages = st.messages;
    out.data_frames = st.data_frames;
    out.dropped = st.dropped;
    out.pongs = st.pongs;
  }
  return r;
}

void FrameRelay::resume(const handover::SessionRecord& r) {
  const auto now = Clock::now();
  const auto ns = [](std::int64_t v) { return std::chrono::nanoseconds(v); };
  started_ = now - ns(r.age_ns);
  last_data_ = now - ns(r.idle_ns);
  last_client_byte_ = now - ns(r.client_quiet_ns);
  if (r.ping_age_ns >= 0) ping_sent_ = now - ns(r.ping_age_ns);
  ping_answered_ = r.ping_answered;
  if (r.ping_retry_in_ns > 0) ping_retry_at_ = now + ns(r.ping_retry_in_ns);
  limit_logged_ = r.limit_logged;
  previous_id_ = r.id;
  if (params_.expires_at_unix > 0) {
    const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
    token_expiry_ = now + std::chrono::seconds(params_.expires_at_unix - now_unix);
  }
  if (limited_) {
    // The key's budget as the previous process left it: credit already spent stays spent.
    if (auto* f = limited_->budget.slot().schedules()) {
      const std::int64_t t = to_ns(now);
      const auto keep = [t](std::atomic<std::int64_t>& tat, std::int64_t ahead) {
        if (ahead <= 0) return;
        std::int64_t cur = tat.load();
        while (cur < t + ahead && !tat.compare_exchange_weak(cur, t + ahead)) {}
      };
      keep(f->client_messages, r.client_messages_ahead_ns);
      keep(f->client_bytes, r.client_bytes_ahead_ns);
      keep(f->backend_messages, r.backend_messages_ahead_ns);
      keep(f->backend_bytes, r.backend_bytes_ahead_ns);
    }
  }
  for (Direction* d : {&up_, &down_}) {
    const auto& in = d->upstream ? r.up : r.down;
    d->scanner.restore({in.message_bytes, in.in_message, in.messages, in.data_frames, in.dropped, in.pongs});
    d->frames_seen = in.data_frames;
    d->bytes = in.bytes;
    d->throttled = in.throttled;
    d->pending.assign(in.unsent.begin(), in.unsent.end());
    if (d->throttle && in.resume_in_ns >= 0) {
      d->throttle->parked.assign(in.parked.begin(), in.parked.end());
      d->throttle->resume_at = now + std::chrono::nanoseconds(std::max<std::int64_t>(in.resume_in_ns, 1));
      d->held.assign(in.unread.begin(), in.unread.end());
    } else {
      // This route has no limit (any more): the held-back frame is simply the next one to scan.
      d->held.assign(in.parked.begin(), in.parked.end());
      d->held.insert(d->held.end(), in.unread.begin(), in.unread.end());
    }
  }
  pongs_seen_ = up_.scanner.pongs();
  registry_.add(shared_from_this());
  params_.session_number = registry_id();
  backend_row_.add(metrics::BackendSeries::get().sessions_active);
  if (params_.counts_connection)
    params_.runtime->listener_series[params_.listener]->row(registry_.thread())
        .add(metrics::ListenerSeries::get().connections_open);
  if (log::enabled(log::Level::info)) {
    const auto& route = *params_.runtime->routes[params_.route].config;
    log::info("session_adopted", {{"route", route.name}, {"backend", route.backends[params_.backend].url},
                                  {"client", params_.client_ip}, {"session", session_id()}, {"previous", previous_id_}});
  }
  for (Direction* d : {&up_, &down_})
    if (!d->pending.empty()) wait_writable(*d);
  pump(up_);
  if (finished_) return;
  pump(down_);
  arm_timer();
}

// Resumes a direction whose state is unknown (after a flush, a TLS wait, or a yielded turn).
void FrameRelay::pump(Direction& d) {
  if (d.read_waiting) return;  // the pending wait resumes it
  continue_with(d, read_step(d));
}

// One turn of a direction: read into the thread's buffer until the socket is empty (or the buffer
// is full), scan, write on. A short read proves the socket empty only when epoll has not shown
// a FIN (Transport::read_left_socket_empty): an EOF queued behind the data would never be
// reported again by edge-triggered readiness. Otherwise only would_block proves it.
FrameRelay::Next FrameRelay::read_step(Direction& d) {
  if (finished_ || d.state == State::done || !d.pending.empty() || d.held_back()) return Next::stop;
  // Bytes carried over from another process may exceed this configuration's buffer: never cut them.
  const std::size_t capacity = std::max<std::size_t>(limits_.max_frame_buffer, d.held.size());
  std::uint8_t* buf = thread_buffer(capacity);
  std::size_t total = 0;
  Throttle* t = d.throttle;
  if (t && !t->parked.empty()) {
    // Throttled bytes go first: they were read before anything still in the socket.
    total = t->parked.size();
    std::memcpy(buf, t->parked.data(), total);
    std::vector<std::uint8_t>().swap(t->parked);
  } else {
    total = d.held.size();
    if (total > 0) std::memcpy(buf, d.held.data(), total);  // data() may be null when empty
    d.held.clear();
  }
  bool drained = false;
  error_code end;
  if (t) {
    end = t->deferred_end;  // the source ended behind parked bytes: nothing more to read
    t->deferred_end = {};
  }
  while (!end && !drained && total < capacity) {
    error_code ec;
    const std::size_t want = capacity - total;
    const std::size_t n = d.src->read_some(buf + total, want, ec);
    if (ec == asio::error::would_block) {
      drained = true;
    } else if (ec) {
      end = ec;
      break;
    } else {
      total += n;
      drained = d.src->read_left_socket_empty(n, want);
    }
  }
  const auto now = Clock::now();
  if (d.upstream && total > 0) last_client_byte_ = now;
  const bool go_on = process(d, buf, total, now);
  if (!end && d.upstream && over(d)) maybe_finish();  // the client's close frame may end it all
  if (!end && handover_sink_) try_hand_over();
  if (finished_) return Next::stop;
  if (end) {
    if (t && !t->parked.empty()) {
      t->deferred_end = end;  // the end comes after the parked frames
      return Next::stop;
    }
    on_source_end(d, end);
    return Next::stop;
  }
  if (!go_on) return Next::stop;  // a write is pending (its flush resumes) or the direction ended
  if (!drained) return Next::yield;
  return d.src->read_wants_write() ? Next::tls_wait : Next::read;
}

void FrameRelay::continue_with(Direction& d, Next next) {
  switch (next) {
    case Next::stop: return;
    case Next::read: return start_read(d);
    case Next::tls_wait: return wait_for_tls(d);
    case Next::yield:
      // More may be waiting: let the thread's other sessions have a turn first.
      asio::post(client_.socket().get_executor(), [self = shared_from_this(), &d] { self->pump(d); });
      return;
  }
}

void FrameRelay::start_read(Direction& d) {
  d.read_waiting = true;
  // No buffer while waiting: the reads that follow go to the thread's buffer.
  d.src->wait_readable(shared_from_this(), &FrameRelay::on_readable, &d);
}

void FrameRelay::on_readable(void* direction, const error_code& ec) {
  auto& d = *static_cast<Direction*>(direction);
  FrameRelay& self = *d.relay;
  d.read_waiting = false;
  if (self.finished_ || ec == asio::error::operation_aborted) return;
  if (ec) return self.on_source_end(d, ec);
  self.pump(d);
}

// Only for a TLS read that must write first: wait for what OpenSSL asked for.
void FrameRelay::wait_for_tls(Direction& d) {
  d.read_waiting = true;
  d.src->async_wait_read([self = shared_from_this(), &d](error_code ec) {
    d.read_waiting = false;
    if (self->finished_ || ec == asio::error::operation_aborted) return;
    if (ec) return self->on_source_end(d, ec);
    self->pump(d);
  });
}

// Returns false when the direction must not read on now (a write is pending, it is held back by a
// rate limit, or it has ended).
bool FrameRelay::process(Direction& d, std::uint8_t* data, std::size_t size,
                         Clock::time_point now) {
  if (d.state == State::discarding) return true;
  if (d.state == State::done) return false;
  gate_now_ns_ = to_ns(now);
  for (;;) {
    const auto r = d.scanner.scan(data, size, d.state == State::closing);
    if (r.held > 0) d.held.assign(data + r.forward, data + r.forward + r.held);
    if (d.scanner.data_frames() != d.frames_seen) {
      d.frames_seen = d.scanner.data_frames();
      last_data_ = now;
    }
    // The first close frame, from either side, names who ended the session.
    if (d.scanner.close_seen() && !end_cause_) {
      end_reason_ = d.upstream ? "client closed" : "backend closed";
      end_cause_ = d.upstream ? metrics::SessionEnd::client_close : metrics::SessionEnd::backend_close;
      // The closing handshake is under way: it gets the linger, and the idle, pong and token
      // deadlines, which would put a close of the gateway's own behind a peer's, no longer apply.
      start_linger();
    }
    if (d.upstream && d.scanner.pongs() != pongs_seen_) note_pong(now);
    route_row_.add(metrics::RouteSeries::get().bytes + (d.upstream ? 0 : 1), r.forward);
    backend_row_.add(metrics::BackendSeries::get().bytes + (d.upstream ? 0 : 1), r.forward);
    d.bytes += r.forward;
    const bool sent = send(d, data, r.forward);
    if (!sent && d.state == State::done) return false;  // the destination died
    if (r.violation != ws::Violation::none) {
      on_protocol_violation(d, r.violation);
      // The offending frame was not forwarded, so the close went out at a frame boundary and d now
      // discards: it must go on reading, or the peer's close reply and FIN go unseen and the
      // session is held for the whole linger. A pending write resumes it when flushed.
      return d.state == State::discarding && d.pending.empty();
    }
    if (r.stopped) {
      finish_closing(d);
      return d.pending.empty();
    }
    if (r.held_back) {
      hold_back(d, data + r.forward, size - r.forward, now);
      return false;
    }
    const std::size_t consumed = r.forward + r.discard;
    if (r.discard == 0 || consumed == size) break;
    data += consumed;  // a dropped frame: scan on behind it
    size -= consumed;
  }
  return d.pending.empty();
}

void FrameRelay::on_protocol_violation(Direction& d, ws::Violation v) {
  const auto& route = params_.runtime->routes[params_.route].config->name;
  const auto what = std::string(ws::to_string(v));
  if (v == ws::Violation::rate_limited) {
    note_limited(d, "close");
    count_limit(metrics::LimitAction::close);
    if (d.upstream)
      close_both(metrics::SessionEnd::rate_limited, ws::close_code::policy_violation, what, ws::close_code::going_away,
                 "client rate limit exceeded");
    else
      close_both(metrics::SessionEnd::rate_limited, ws::close_code::policy_violation, what,
                 ws::close_code::policy_violation, what);
  } else if (d.upstream) {
    log::info("client_protocol_error", {{"route", route}, {"client", params_.client_ip},
                                        {"violation", what}, {"session", session_id()}});
    close_both(metrics::SessionEnd::client_protocol_error, ws::close_code_for(v), what, ws::close_code::going_away, "client error: " + what);
  } else {
    log::warn("backend_protocol_error", {{"route", route}, {"violation", what}, {"session", session_id()}});
    close_both(metrics::SessionEnd::backend_protocol_error, ws::close_code::bad_gateway, "backend protocol error",
               ws::close_code::protocol_error, what);
  }
}

// Asked by the scanner for every data frame of a session with a limit policy.
ws::FrameVerdict FrameRelay::gate(void* direction, const ws::FrameHeader& h, bool starts_message) {
  auto& d = *static_cast<Direction*>(direction);
  FrameRelay& self = *d.relay;
  const auto flow = d.upstream ? ratelimit::Flow::from_client : ratelimit::Flow::from_backend;
  const auto decision =
      self.limited_->budget.frame(flow, starts_message, h.fin, h.payload_length, self.gate_now_ns_);
  d.throttle->limit_was_bytes = decision.bytes;
  switch (decision.verdict) {
    case ratelimit::Verdict::pass: return ws::FrameVerdict::pass;
    case ratelimit::Verdict::wait:
      d.throttle->retry_after_ns = decision.retry_after_ns;
      return ws::FrameVerdict::hold;
    case ratelimit::Verdict::drop:
      self.note_limited(d, "drop");
      self.count_limit(metrics::LimitAction::drop);
      return ws::FrameVerdict::drop;
    case ratelimit::Verdict::close: return ws::FrameVerdict::refuse;
  }
  return ws::FrameVerdict::pass;
}

// Throttle: keep what was read from the held-back frame on and read no more of this source until
// the limit has credit again. The sender meets TCP backpressure; nothing is lost or reordered.
void FrameRelay::hold_back(Direction& d, const std::uint8_t* data, std::size_t size,
                           Clock::time_point now) {
  Throttle& t = *d.throttle;
  t.parked.assign(data, data + size);
  t.resume_at = now + std::chrono::nanoseconds(std::max<std::int64_t>(t.retry_after_ns, 1));
  ++d.throttled;
  note_limited(d, "throttle");
  count_limit(metrics::LimitAction::throttle);
  arm_timer();
}

void FrameRelay::resume_held(Clock::time_point now) {
  for (Direction* d : {&up_, &down_}) {
    if (!d->held_back() || now < d->throttle->resume_at) continue;
    d->throttle->resume_at = {};
    pump(*d);
    if (finished_) return;
  }
}

void FrameRelay::note_limited(const Direction& d, std::string_view action) {
  if (limit_logged_ || !log::enabled(log::Level::info)) return;
  limit_logged_ = true;
  const auto& route = *params_.runtime->routes[params_.route].config;
  log::info("rate_limited", {{"route", route.name},
                             {"policy", route.rate_limit},
                             {"client", params_.client_ip},
                             {"direction", d.upstream ? "from_client" : "from_backend"},
                             {"limit", d.throttle->limit_was_bytes ? "bytes" : "messages"},
                             {"action", std::string(action)}, {"session", session_id()}});
}

bool FrameRelay::send(Direction& d, const std::uint8_t* data, std::size_t size) {
  if (size == 0) return true;
  if (!d.pending.empty()) {
    d.pending.insert(d.pending.end(), data, data + size);
    return false;
  }
  std::size_t sent = 0;
  while (sent < size) {
    error_code ec;
    const std::size_t n = d.dst->write_some(data + sent, size - sent, ec);
    if (ec == asio::error::would_block) break;
    if (ec) {
      on_sink_error(d, ec);
      return false;
    }
    sent += n;
  }
  if (sent == size) return true;
  // The peer is slow: keep the rest and stop reading this direction until it is written.
  d.pending.assign(data + sent, data + size);
  d.pending_sent = 0;
  wait_writable(d);
  return false;
}

void FrameRelay::wait_writable(Direction& d) {
  d.dst->async_wait_write([self = shared_from_this(), &d](error_code ec) {
    if (self->finished_ || ec == asio::error::operation_aborted) return;
    if (ec) return self->on_sink_error(d, ec);
    self->flush(d);
  });
}

void FrameRelay::flush(Direction& d) {
  while (d.pending_sent < d.pending.size()) {
    error_code ec;
    const std::size_t n =
        d.dst->write_some(d.pending.data() + d.pending_sent, d.pending.size() - d.pending_sent, ec);
    if (ec == asio::error::would_block) return wait_writable(d);
    if (ec) return on_sink_error(d, ec);
    d.pending_sent += n;
  }
  std::vector<std::uint8_t>().swap(d.pending);  // give the memory back: idle holds no buffer
  d.pending_sent = 0;
  if (d.shutdown_after_flush) {
    d.shutdown_after_flush = false;
    d.dst->shutdown_send();
  }
  if (over(d)) maybe_finish();
  if (d.state == State::done || finished_) return;
  pump(d);
}

void FrameRelay::on_source_end(Direction& d, error_code ec) {
  d.src_eof = true;
  switch (d.state) {
    case State::discarding:
    case State::done:
      d.state = State::done;
      return maybe_finish();
    case State::closing:
      // The source ended mid-frame: no boundary will come to put a close frame at.
      d.state = State::done;
      end_output(d);
      return maybe_finish();
    case State::relaying:
      break;
  }
  if (d.scanner.close_seen()) {
    // Clean end: the peer sent its close frame, then FIN. Pass the FIN on after the last byte.
    d.state = State::done;
    end_output(d);
    start_linger();
    return maybe_finish();
  }
  peer_lost(/*backend=*/!d.upstream,
            ec == asio::error::eof ? "closed without a close frame" : ec.message());
}

// A peer vanished without a close frame: the other side gets a close (1012 for the client when
// the backend is gone: reconnecting lands on the key's next backend; 1001 for the backend when the
// client is).
void FrameRelay::peer_lost(bool backend, const std::string& why) {
  const auto& route = params_.runtime->routes[params_.route].config->name;
  if (backend) {
    log::warn("backend_gone", {{"route", route}, {"client", params_.client_ip}, {"error", why}, {"session", session_id()}});
    close_both(metrics::SessionEnd::backend_gone, ws::close_code::service_restart, "backend went away", ws::close_code::going_away,
               "backend went away");
  } else {
    log::info("client_gone", {{"route", route}, {"client", params_.client_ip}, {"error", why}, {"session", session_id()}});
    client_gone_ = true;
    close_both(metrics::SessionEnd::client_gone, ws::close_code::going_away, "client went away", ws::close_code::going_away,
               "client went away");
  }
}

// Ends d's output after its last byte: TLS close_notify and FIN. When the session closes right
// after (the other direction is over too), close() sends the FIN itself and shutdown() is skipped.
void FrameRelay::end_output(Direction& d) {
  if (!d.pending.empty()) {
    d.shutdown_after_flush = true;
    return;
  }
  const Direction& other = d.upstream ? down_ : up_;
  const bool closing_now = d.state == State::done && over(other);
  if (!closing_now || d.dst->is_tls()) d.dst->shutdown_send();
}

void FrameRelay::on_sink_error(Direction& d, error_code ec) {
  // d's destination is dead: nothing more can go that way, and its source is read no longer.
  std::vector<std::uint8_t>().swap(d.pending);
  d.pending_sent = 0;
  d.shutdown_after_flush = false;
  d.state = State::done;
  Direction& other = d.upstream ? down_ : up_;
  other.src_eof = true;  // the dead peer is the other direction's source
  peer_lost(/*backend=*/d.upstream, ec.message());  // d's destination is the peer that died
  if (other.state == State::discarding) other.state = State::done;
  maybe_finish();
}

void FrameRelay::begin_close(Direction& d, std::string frame) {
  if (d.state != State::relaying) return;
  if (d.scanner.close_seen()) {
    // d's destination already has its peer's close (RFC 6455 5.5.1: nothing may follow it, a
    // second close included); what d's source still sends is discarded by the scanner anyway.
    d.state = d.src_eof ? State::done : State::discarding;
    return;
  }
  d.close_frame = std::move(frame);
  // Held-back frames are not sent once the session closes; an end seen behind them is the source's.
  if (Throttle* t = d.throttle) {
    std::vector<std::uint8_t>().swap(t->parked);
    t->resume_at = {};
    if (t->deferred_end) d.src_eof = true;
  }
  if (d.scanner.at_boundary()) return finish_closing(d);
  if (d.src_eof) {
    // Mid-frame with no more bytes coming: end the stream without a close frame.
    d.state = State::done;
    end_output(d);
    return;
  }
  d.state = State::closing;  // process() stops at the next boundary and calls finish_closing
}

void FrameRelay::finish_closing(Direction& d) {
  const std::string frame = std::move(d.close_frame);
  d.state = d.src_eof ? State::done : State::discarding;
  const bool written = send(d, reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size());
  if (d.state == State::done && d.pending.empty() && !written) return;  // sink died in send()
  end_output(d);
}

void FrameRelay::close_both(metrics::SessionEnd cause, std::uint16_t client_code, std::string_view client_reason,
                            std::uint16_t backend_code, std::string_view backend_reason) {
  if (closing_started_) return;
  closing_started_ = true;
  if (end_reason_.empty()) end_reason_ = std::string(client_reason);
  if (!end_cause_) end_cause_ = cause;
  if (!client_gone_ && down_.state == State::relaying && !down_.scanner.close_seen())
    gateway_close_code_ = client_code;
  start_linger();
  begin_close(down_, ws::encode_close_frame(client_code, client_reason));
  begin_close(up_, backend_close_frame(backend_code, backend_reason));
  maybe_finish();
}

std::string FrameRelay::backend_close_frame(std::uint16_t code, std::string_view reason) {
  // RFC 6455 5.3: as the backend's client we mask, with a key from a strong source.
  std::array<std::uint8_t, 4> mask{};
  RAND_bytes(mask.data(), static_cast<int>(mask.size()));
  return ws::encode_close_frame(code, reason, mask);
}

// A direction is over at its source's end. The client's is over as soon as its close frame has
// gone to the backend: a client may send nothing after it (RFC 6455 5.5.1) and the server closes
// the TCP connection first (7.1.1), so waiting for the client's FIN would only cost a shutdown, a
// wait and a read per session. The backend's FIN is awaited: closing first would leave TIME_WAIT,
// and its ephemeral port, on the gateway's side of every backend connection.
bool FrameRelay::over(const Direction& d) const {
  if (!d.pending.empty()) return false;
  return d.state == State::done || (d.upstream && d.state != State::closing && d.scanner.close_seen());
}

void FrameRelay::maybe_finish() {
  if (over(up_) && over(down_)) finish();
}

void FrameRelay::finish() {
  if (finished_) return;
  finished_ = true;
  ++timer_generation_;
  timer_.cancel();
  client_.close();
  backend_.close();
  count_end();
  if (log::enabled(log::Level::info)) {
    log::info("session_closed",
              {{"route", params_.runtime->routes[params_.route].config->name},
               {"client", params_.client_ip},
               {"duration_ms", to_ms(Clock::now() - started_)},
               {"messages_in", up_.scanner.messages()},
               {"messages_out", down_.scanner.messages()},
               {"dropped", up_.scanner.dropped() + down_.scanner.dropped()},
               {"discarded_after_close", up_.scanner.discarded_after_close() + down_.scanner.discarded_after_close()},
               {"throttled", up_.throttled + down_.throttled},
               {"reason", end_reason_.empty() ? "closed" : end_reason_}, {"session", session_id()}});
  }
  registry_.remove(this);
}

void FrameRelay::on_message(void* direction, std::uint64_t payload_size) {
  auto& d = *static_cast<Direction*>(direction);
  const auto& series = metrics::RouteSeries::get();
  const std::size_t dir = d.upstream ? 0 : 1;
  d.relay->route_row_.add(series.messages + dir);
  d.relay->backend_row_.add(metrics::BackendSeries::get().messages + dir);
  metrics::observe(d.relay->route_row_, series.message_size[dir], payload_size);
}

void FrameRelay::count_limit(metrics::LimitAction action) {
  params_.runtime->routes[params_.route].limit_series->row(registry_.thread())
      .add(metrics::LimitSeries::get().decisions + static_cast<std::size_t>(action));
}

void FrameRelay::count_end() {
  const auto& series = metrics::RouteSeries::get();
  backend_row_.subtract(metrics::BackendSeries::get().sessions_active);
  metrics::observe(route_row_, series.session_duration,
                   static_cast<std::uint64_t>((Clock::now() - started_).count()));
  const auto count_close = [&](metrics::CloseSide side, std::uint16_t code) {
    if (code == 0) return;
    route_row_.add(series.closes + static_cast<std::size_t>(side) * metrics::close_codes.size() +
                   metrics::close_code_index(code));
  };
  count_close(metrics::CloseSide::client, up_.scanner.close_code());
  count_close(metrics::CloseSide::backend, down_.scanner.close_code());
  count_close(metrics::CloseSide::gateway, gateway_close_code_);
  route_row_.add(series.discarded_bytes, up_.scanner.discarded_after_close());
  route_row_.add(series.discarded_bytes + 1, down_.scanner.discarded_after_close());
  route_row_.add(series.session_ends +
                 static_cast<std::size_t>(end_cause_.value_or(metrics::SessionEnd::client_gone)));
  if (params_.counts_connection)
    params_.runtime->listener_series[params_.listener]->row(registry_.thread())
        .subtract(metrics::ListenerSeries::get().connections_open);
}

// The client's pong answers the gateway's outstanding ping (a client may also send pongs unasked:
// those, and a second pong for one ping, are not round trips).
void FrameRelay::note_pong(Clock::time_point now) {
  pongs_seen_ = up_.scanner.pongs();
  if (ping_sent_ == Clock::time_point{} || ping_answered_) return;
  ping_answered_ = true;
  metrics::observe(route_row_, metrics::RouteSeries::get().ping_rtt,
                   static_cast<std::uint64_t>((now - ping_sent_).count()));
}

void FrameRelay::start_linger() {
  if (linger_until_ != Clock::time_point{}) return;
  linger_until_ = Clock::now() + kCloseLinger;
  arm_timer();
}

void FrameRelay::arm_timer() {
  if (finished_) return;
  Clock::time_point next;
  if (linger_until_ != Clock::time_point{}) {
    next = linger_until_;
  } else {
    next = std::min(last_data_ + limits_.idle_timeout, token_expiry_);
    if (limits_.ping_interval.count() > 0) {
      if (ping_sent_ > last_client_byte_)
        next = std::min(next, ping_sent_ + limits_.pong_timeout);
      else
        next = std::min(next, std::max(last_client_byte_ + limits_.ping_interval, ping_retry_at_));
    }
    for (const Direction* d : {&up_, &down_})
      if (d->held_back()) next = std::min(next, d->throttle->resume_at);
  }
  timer_.expires_at(next);
  timer_.async_wait([self = shared_from_this(), gen = ++timer_generation_](error_code ec) {
    if (!ec && gen == self->timer_generation_) self->on_timer();
  });
}

void FrameRelay::on_timer() {
  const auto now = Clock::now();
  if (linger_until_ != Clock::time_point{}) {
    if (now >= linger_until_) {
      if (end_reason_.empty()) end_reason_ = "close timeout";
      return finish();
    }
    return arm_timer();
  }
  // A held-back sender is active: its data waits in our buffer. Counting it so keeps the idle and
  // pong deadlines ahead of now, rather than due every turn until it resumes.
  if (up_.held_back() || down_.held_back()) last_data_ = now;
  if (up_.held_back()) last_client_byte_ = now;
  resume_held(now);
  if (finished_ || linger_until_ != Clock::time_point{}) return arm_timer();
  if (now >= token_expiry_) {
    return close_both(metrics::SessionEnd::token_expired, ws::close_code::policy_violation, "token expired", ws::close_code::going_away,
                      "token expired");
  }
  if (now - last_data_ >= limits_.idle_timeout) {
    return close_both(metrics::SessionEnd::idle_timeout, ws::close_code::going_away, "idle timeout", ws::close_code::going_away,
                      "idle timeout");
  }
  if (limits_.ping_interval.count() > 0) {
    const bool outstanding = ping_sent_ > last_client_byte_;
    if (outstanding && now - ping_sent_ >= limits_.pong_timeout) {
      log::info("client_unresponsive", {{"client", params_.client_ip}, {"session", session_id()}});
      return close_both(metrics::SessionEnd::pong_timeout, ws::close_code::going_away, "pong timeout", ws::close_code::going_away,
                        "client not responding");
    }
    if (!outstanding && now - last_client_byte_ >= limits_.ping_interval && now >= ping_retry_at_)
      send_ping(now);
  }
  arm_timer();
}

void FrameRelay::send_ping(Clock::time_point now) {
  // A ping goes between two frames of the backend's stream, never inside one.
  if (down_.state != State::relaying || !down_.scanner.at_boundary() || !down_.pending.empty()) {
    ping_retry_at_ = now + limits_.ping_interval;
    return;
  }
  const std::string ping = ws::encode_control_frame(ws::opcode::ping, "");
  ping_sent_ = now;
  ping_answered_ = false;
  send(down_, reinterpret_cast<const std::uint8_t*>(ping.data()), ping.size());
}

}  // namespace wsgate::gateway
