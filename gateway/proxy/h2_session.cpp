#include "gateway/proxy/h2_session.hpp"

#include "gateway/proxy/h2_stream.hpp"
#include "gateway/log.hpp"
#include "gateway/proxy/upgrade_session.hpp"

#include <boost/asio/post.hpp>

namespace wsgate::gateway {

namespace {

// Bytes read from the client per turn, and written to it per write: a 16 KiB TLS record's worth
// and four of them.
constexpr std::size_t kReadSize = 16384;
constexpr std::size_t kWriteBatch = 65536;

http2::ConnectionLimits limits_for(const Runtime& rt) {
  http2::ConnectionLimits limits;
  // The same bound as an HTTP/1.1 head's.
  limits.max_header_list_size = static_cast<std::uint32_t>(rt.config.http.max_header_bytes);
  return limits;
}

}  // namespace

H2Session::H2Session(Transport client, std::string client_ip, std::shared_ptr<const Runtime> runtime,
                     std::size_t listener, SessionRegistry& registry)
    : rt_(std::move(runtime)),
      listener_(listener),
      registry_(registry),
      client_(std::move(client)),
      client_ip_(std::move(client_ip)),
      connection_(limits_for(*rt_), *this),
      idle_timer_(client_.socket().get_executor()) {}

H2Session::~H2Session() {
  finish();
  registry_.remove(this);
}

void H2Session::start() {
  registry_.add(shared_from_this());
  rt_->listener_tls_series[listener_]->row(registry_.thread()).add(metrics::TlsListenerSeries::get().h2_connections);
  flush();  // the server preface
  read();
  arm_idle_timer();
}

void H2Session::arm_idle_timer() {
  idle_timer_.expires_after(rt_->config.http.keepalive_timeout);
  idle_timer_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->finished_) return;
    if (self->streams_.empty() && !self->active_) {
      log::debug("http2_idle", {{"client", self->client_ip_}});
      self->connection_.go_away();
      self->ending_ = true;
      self->flush();
      return;
    }
    self->active_ = false;
    self->arm_idle_timer();
  });
}

void H2Session::go_away() {
  if (finished_) return;
  connection_.go_away();
  flush();
}

H2Stream* H2Session::stream(std::int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2Session::read() {
  if (reading_ || finished_ || ending_) return;
  reading_ = true;
  in_.resize(kReadSize);
  client_.async_read_some(in_.data(), in_.size(), [self = shared_from_this()](error_code ec, std::size_t n) {
    self->reading_ = false;
    self->on_read(ec, n);
  });
}

void H2Session::on_read(error_code ec, std::size_t n) {
  if (finished_) return;
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted)
      log::debug("http2_connection_lost", {{"client", client_ip_}, {"error", ec.message()}});
    return finish();
  }
  const bool go_on = connection_.receive(in_.data(), n, std::chrono::steady_clock::now());
  wake_streams();
  if (!go_on) ending_ = true;
  flush();
  // A client that does not read what it is sent is not read either: its output goes first.
  if (!writing_) read();
}

void H2Session::wake_streams() {
  std::vector<std::shared_ptr<H2Stream>> woken;
  woken.swap(woken_);
  for (auto& s : woken) s->wake_reader();
}

void H2Session::schedule_flush() {
  if (flush_posted_ || writing_ || finished_) return;
  flush_posted_ = true;
  asio::post(client_.socket().get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void H2Session::flush() {
  if (writing_ || finished_) return;
  out_.clear();
  connection_.take_output(out_, kWriteBatch);
  const auto attack = connection_.stats().attack;
  if (attack != http2::Attack::none && !attack_counted_) {
    attack_counted_ = true;
    ending_ = true;
    rt_->listener_tls_series[listener_]->row(registry_.thread())
        .add(metrics::TlsListenerSeries::get().h2_goaways + static_cast<std::size_t>(attack) - 1);
    log::warn("http2_goaway", {{"client", client_ip_}, {"cause", std::string(http2::to_string(attack))},
                               {"listener", rt_->config.listeners[listener_].name}});
  }
  if (out_.empty()) {
    if (ending_ || connection_.finished()) finish();
    return;
  }
  writing_ = true;
  client_.async_write_all(out_.data(), out_.size(), [self = shared_from_this()](error_code ec) {
    self->writing_ = false;
    if (ec) return self->finish();
    self->flush();
    self->read();
  });
}

void H2Session::finish() {
  if (finished_) return;
  finished_ = true;
  idle_timer_.cancel();
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams) s->detach();
  client_.close();
  rt_->listener_series[listener_]->row(registry_.thread()).subtract(metrics::ListenerSeries::get().connections_open);
}

void H2Session::on_head(std::int32_t id, http2::RequestHead head) {
  auto& row = rt_->listener_tls_series[listener_]->row(registry_.thread());
  const auto& series = metrics::TlsListenerSeries::get();
  active_ = true;
  if (const auto problem = http2::check_head(head); problem != http2::HeadProblem::none)
    return refuse(id, problem, head);
  row.add(series.h2_streams + static_cast<std::size_t>(head.websocket() ? metrics::H2StreamKind::websocket
                                                                        : metrics::H2StreamKind::request));
  auto s = std::make_shared<H2Stream>(*this, id, head, client_.socket().get_executor());
  streams_.emplace(id, s);
  auto session = std::allocate_shared<UpgradeSession>(
      memory::recycling_allocator<UpgradeSession>(), Transport::for_stream(client_.socket().get_executor(), s),
      client_ip_, rt_, listener_, registry_, std::chrono::steady_clock::now() + rt_->config.http.header_timeout);
  session->set_client_certificate(certificate_);
  session->start();
}

void H2Session::refuse(std::int32_t id, http2::HeadProblem problem, const http2::RequestHead& head) {
  rt_->listener_tls_series[listener_]->row(registry_.thread())
      .add(metrics::TlsListenerSeries::get().h2_streams + static_cast<std::size_t>(metrics::H2StreamKind::refused));
  const int status = http2::status_for(problem);
  log::info("request_rejected", {{"status", status}, {"route", "-"}, {"client", client_ip_},
                                 {"reason", std::string(http2::to_string(problem))}, {"protocol", "h2"},
                                 {"method", head.method}});
  const std::string body = std::string(http2::to_string(problem)) + "\n";
  connection_.respond(id, status, {{"content-type", "text/plain"}}, false);
  connection_.send_data(id, reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  connection_.end_stream(id);
}

void H2Session::on_data(std::int32_t id, const std::uint8_t* data, std::size_t size) {
  auto it = streams_.find(id);
  if (it != streams_.end() && it->second->on_data(data, size)) woken_.push_back(it->second);
}

void H2Session::on_client_end(std::int32_t id) {
  auto it = streams_.find(id);
  if (it != streams_.end() && it->second->on_client_end()) woken_.push_back(it->second);
}

void H2Session::on_stream_closed(std::int32_t id, std::uint32_t code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  // Already queued: woken_ holds it past its erasure here.
  if (it->second->on_closed(code)) woken_.push_back(std::move(it->second));
  streams_.erase(it);
}

void H2Session::on_send_room(std::int32_t id) {
  if (H2Stream* s = stream(id)) s->on_send_room();
}

void H2Session::consumed(std::int32_t id, std::size_t size) {
  connection_.consumed(id, size);
  schedule_flush();
}

bool H2Session::send_data(std::int32_t id, const std::uint8_t* data, std::size_t size) {
  const bool room = connection_.send_data(id, data, size);
  schedule_flush();
  return room;
}

void H2Session::respond(std::int32_t id, int status, const http2::ServerConnection::Fields& fields, bool end) {
  connection_.respond(id, status, fields, end);
  schedule_flush();
}

void H2Session::end_stream(std::int32_t id) {
  connection_.end_stream(id);
  schedule_flush();
}

void H2Session::reset_stream(std::int32_t id, std::uint32_t code) {
  connection_.reset_stream(id, code);
  schedule_flush();
}

}  // namespace wsgate::gateway
