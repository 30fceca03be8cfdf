#include "http2/server_connection.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace wsgate::http2 {

std::string_view to_string(Attack a) {
  switch (a) {
    case Attack::none: return "none";
    case Attack::rapid_reset: return "rapid_reset";
    case Attack::continuation_flood: return "continuation_flood";
    case Attack::hpack_bomb: return "hpack_bomb";
    case Attack::control_flood: return "control_flood";
    case Attack::protocol_error: return "protocol_error";
  }
  return "?";
}

bool ServerConnection::Bucket::take(double burst, double per_second, Clock::time_point now) {
  if (at == Clock::time_point{}) {
    tokens = burst;
  } else {
    const double seconds = std::chrono::duration<double>(now - at).count();
    tokens = std::min(burst, tokens + std::max(0.0, seconds) * per_second);
  }
  at = now;
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

namespace {

// Fields no HTTP/2 message carries (RFC 9113 8.2.2); a backend's HTTP/1.1 answer may.
bool connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

// nghttp2 calls these with the ServerConnection as user_data; they may call the StreamEvents,
// which may call back into the connection (respond, send_data, consumed).
struct ServerConnection::Callbacks {
  static ServerConnection& self(void* user) { return *static_cast<ServerConnection*>(user); }

  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
    ServerConnection& c = self(user);
    bool control = false;
    switch (hd->type) {
      case NGHTTP2_PING:
      case NGHTTP2_SETTINGS: control = (hd->flags & NGHTTP2_FLAG_ACK) == 0; break;
      case NGHTTP2_PRIORITY: control = true; break;
      case NGHTTP2_DATA: control = hd->length == 0 && (hd->flags & NGHTTP2_FLAG_END_STREAM) == 0; break;
      default: break;
    }
    if (control && !c.control_.take(c.limits_.control_burst, c.limits_.control_per_second, c.now_))
      c.end_for(Attack::control_flood, NGHTTP2_ENHANCE_YOUR_CALM);
    return 0;
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
      self(user).streams_[frame->hd.stream_id] = Stream{};
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
    ServerConnection& c = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers
    Stream* s = c.find(frame->hd.stream_id);
    if (!s) return 0;
    RequestHead& head = s->head;
    head.list_size += namelen + valuelen + 32;
    if (head.list_size > 4ull * c.limits_.max_header_list_size) {
      c.end_for(Attack::hpack_bomb, NGHTTP2_ENHANCE_YOUR_CALM);
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    if (head.list_size > c.limits_.max_header_list_size) {
      if (!s->too_large) {
        s->too_large = true;
        head.fields.clear();
        head.fields.shrink_to_fit();
      }
      return 0;
    }
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") head.method = std::move(v);
    else if (n == ":scheme") head.scheme = std::move(v);
    else if (n == ":authority") head.authority = std::move(v);
    else if (n == ":path") head.path = std::move(v);
    else if (n == ":protocol") head.protocol = std::move(v);
    else head.fields.emplace_back(std::string(n), std::move(v));
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    ServerConnection& c = self(user);
    const std::int32_t id = frame->hd.stream_id;
    const bool ends = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        Stream* s = c.find(id);
        if (!s) return 0;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          if (s->too_large) {
            ++c.stats_.heads_too_large;
            c.respond(id, 431, {}, true);
            return 0;
          }
          s->delivered = true;
          RequestHead head = std::move(s->head);
          s->head = RequestHead{};
          head.ends_stream = ends;
          c.events_.on_head(id, std::move(head));
        }
        // The stream may be gone now (the gateway reset it); find it again.
        if (ends && (s = c.find(id)) && s->delivered) c.events_.on_client_end(id);
        return 0;
      }
      case NGHTTP2_DATA: {
        Stream* s = c.find(id);
        if (ends && s && s->delivered) c.events_.on_client_end(id);
        return 0;
      }
      case NGHTTP2_RST_STREAM:
        ++c.stats_.client_resets;
        if (!c.resets_.take(c.limits_.reset_burst, c.limits_.resets_per_second, c.now_))
          c.end_for(Attack::rapid_reset, NGHTTP2_ENHANCE_YOUR_CALM);
        return 0;
      default:
        return 0;
    }
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    ServerConnection& c = self(user);
    // nghttp2 ends a session itself on a connection error in what the client sent.
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
        c.stats_.attack == Attack::none)
      c.stats_.attack = Attack::protocol_error;
    // A stream refused (over the concurrent limit) costs the reset budget as a client's reset does:
    // opening streams past the limit is the same flood.
    if (frame->hd.type == NGHTTP2_RST_STREAM && frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM) {
      ++c.stats_.streams_refused;
      if (!c.resets_.take(c.limits_.reset_burst, c.limits_.resets_per_second, c.now_))
        c.end_for(Attack::rapid_reset, NGHTTP2_ENHANCE_YOUR_CALM);
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                           std::size_t len, void* user) {
    ServerConnection& c = self(user);
    Stream* s = c.find(id);
    if (!s || !s->delivered) {
      c.consume_owed_.emplace_back(0, len);  // nobody will pass these on: the connection's window only
      return 0;
    }
    s->unconsumed += len;
    c.events_.on_data(id, data, len);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* user) {
    ServerConnection& c = self(user);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    const bool delivered = it->second.delivered;
    // What the gateway never passed on still holds the connection's window.
    if (it->second.unconsumed > 0) c.consume_owed_.emplace_back(0, it->second.unconsumed);
    c.streams_.erase(it);
    if (delivered) c.events_.on_stream_closed(id, error_code);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user) {
    ServerConnection& c = self(user);
    Stream* s = c.find(id);
    if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::size_t available = s->out.size() - s->out_sent;
    if (available == 0) {
      if (s->end_queued) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
      }
      s->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    const std::size_t n = std::min(length, available);
    std::memcpy(buf, s->out.data() + s->out_sent, n);
    s->out_sent += n;
    if (s->out_sent == s->out.size()) {
      // An idle stream keeps no buffer.
      if (s->out.capacity() > 4096) std::string().swap(s->out);
      else s->out.clear();
      s->out_sent = 0;
      if (s->end_queued) *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    if (s->full && s->out.size() - s->out_sent <= c.limits_.stream_send_buffer / 2) {
      s->full = false;
      c.room_owed_.push_back(id);
    }
    return static_cast<ssize_t>(n);
  }
};

ServerConnection::ServerConnection(const ConnectionLimits& limits, StreamEvents& events)
    : limits_(limits), events_(events) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, &Callbacks::on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, &Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &Callbacks::on_frame_send);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Callbacks::on_stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Windows open only as the gateway passes data on (consumed()): that is the backpressure.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_continuations(opt, limits_.max_continuations);
  // nghttp2's own reset limit (1,000, then 33 a second) stays behind ours as a backstop.
  nghttp2_session_server_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);

  const std::array<nghttp2_settings_entry, 4> settings{{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_size},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
  }};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(limits_.connection_window));
}

ServerConnection::~ServerConnection() { nghttp2_session_del(session_); }

ServerConnection::Stream* ServerConnection::find(std::int32_t stream) {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : &it->second;
}

bool ServerConnection::receive(const std::uint8_t* data, std::size_t size, Clock::time_point now) {
  if (fatal_) return false;
  now_ = now;
  in_receive_ = true;
  const ssize_t r = nghttp2_session_mem_recv(session_, data, size);
  in_receive_ = false;
  if (r < 0) {
    fail_fatally(r == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ? Attack::continuation_flood
                 : r == NGHTTP2_ERR_FLOODED             ? Attack::control_flood
                                                        : Attack::protocol_error);
    return false;
  }
  apply_consumed();
  if (stats_.attack != Attack::none) return false;
  if (!nghttp2_session_want_read(session_)) {
    // nghttp2 ended the session itself: a connection error in what the client sent.
    if (!going_away_) stats_.attack = Attack::protocol_error;
    return false;
  }
  return true;
}

void ServerConnection::take_output(std::string& out, std::size_t max) {
  if (fatal_) {
    out += fatal_goaway_;
    fatal_goaway_.clear();
    return;
  }
  apply_consumed();
  const std::size_t start = out.size();
  while (out.size() - start < max) {
    const std::uint8_t* p = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &p);
    if (n <= 0) {
      if (n < 0) fail_fatally(Attack::protocol_error);
      break;
    }
    out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
  }
  std::vector<std::int32_t> owed;
  owed.swap(room_owed_);
  for (std::int32_t id : owed)
    if (find(id)) events_.on_send_room(id);
}

bool ServerConnection::finished() const {
  if (fatal_) return fatal_goaway_.empty();
  return !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
}

void ServerConnection::respond(std::int32_t stream, int status, const Fields& fields, bool end_stream) {
  Stream* s = find(stream);
  if (!s || s->responded || fatal_) return;
  s->responded = true;
  std::vector<std::string> names;  // the nv entries point into these
  names.reserve(fields.size());
  const std::string status_name = ":status", status_value = std::to_string(status);
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size() + 1);
  nva.push_back(make_nv(status_name, status_value));
  for (const auto& [name, value] : fields) {
    names.push_back(lower(name));
    if (connection_specific(names.back())) continue;
    nva.push_back(make_nv(names.back(), value));
  }
  nghttp2_data_provider body{};
  body.read_callback = &Callbacks::read_body;
  nghttp2_submit_response(session_, stream, nva.data(), nva.size(), end_stream ? nullptr : &body);
}

bool ServerConnection::send_data(std::int32_t stream, const std::uint8_t* data, std::size_t size) {
  Stream* s = find(stream);
  if (!s || s->end_queued) return true;  // gone: the bytes have nowhere to go
  s->out.append(reinterpret_cast<const char*>(data), size);
  resume(stream, *s);
  if (s->out.size() - s->out_sent < limits_.stream_send_buffer) return true;
  s->full = true;
  return false;
}

void ServerConnection::end_stream(std::int32_t stream) {
  Stream* s = find(stream);
  if (!s || s->end_queued) return;
  s->end_queued = true;
  resume(stream, *s);
}

void ServerConnection::reset_stream(std::int32_t stream, std::uint32_t error_code) {
  if (!find(stream) || fatal_) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, error_code);
}

void ServerConnection::consumed(std::int32_t stream, std::size_t size) {
  Stream* s = find(stream);
  if (!s) return;
  size = std::min(size, s->unconsumed);
  s->unconsumed -= size;
  consume_owed_.emplace_back(stream, size);
  if (!in_receive_) apply_consumed();
}

// Window updates wait until nghttp2 is not inside mem_recv, whose callbacks reach here.
void ServerConnection::apply_consumed() {
  if (fatal_) return consume_owed_.clear();
  for (const auto& [stream, size] : consume_owed_) {
    if (size == 0) continue;
    // nghttp2_session_consume opens the connection's window alone when the stream has closed.
    if (stream == 0) nghttp2_session_consume_connection(session_, size);
    else nghttp2_session_consume(session_, stream, size);
  }
  consume_owed_.clear();
}

void ServerConnection::go_away() {
  if (going_away_ || fatal_) return;
  going_away_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

void ServerConnection::resume(std::int32_t stream, Stream& s) {
  if (!s.deferred) return;
  s.deferred = false;
  nghttp2_session_resume_data(session_, stream);
}

void ServerConnection::end_for(Attack attack, std::uint32_t error_code) {
  if (stats_.attack != Attack::none) return;
  stats_.attack = attack;
  nghttp2_session_terminate_session(session_, error_code);
}

// nghttp2 returned a fatal error: its session takes no more calls, so the GOAWAY is written here
// (RFC 9113 6.8: last stream id, error code).
void ServerConnection::fail_fatally(Attack attack) {
  if (stats_.attack == Attack::none) stats_.attack = attack;
  fatal_ = true;
  const std::uint32_t last = static_cast<std::uint32_t>(nghttp2_session_get_last_proc_stream_id(session_));
  const std::uint32_t code = attack == Attack::protocol_error ? NGHTTP2_PROTOCOL_ERROR : NGHTTP2_ENHANCE_YOUR_CALM;
  const std::uint8_t frame[17] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0,
                                  static_cast<std::uint8_t>((last >> 24) & 0x7f), static_cast<std::uint8_t>(last >> 16),
                                  static_cast<std::uint8_t>(last >> 8), static_cast<std::uint8_t>(last),
                                  static_cast<std::uint8_t>(code >> 24), static_cast<std::uint8_t>(code >> 16),
                                  static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
  fatal_goaway_.assign(reinterpret_cast<const char*>(frame), sizeof frame);
}

}  // namespace wsgate::http2
