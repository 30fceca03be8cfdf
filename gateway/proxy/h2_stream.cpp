#include "gateway/proxy/h2_stream.hpp"

#include "gateway/proxy/h2_session.hpp"
#include "http2/http1_request.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <sstream>
#include <utility>

namespace wsgate::gateway {

namespace asio = boost::asio;

namespace {

// Sec-WebSocket-Key for the backend: 16 random bytes in base64 (RFC 6455 4.1). The gateway makes
// it, so the backend's Sec-WebSocket-Accept is checked against a key no client chose.
std::string new_websocket_key() {
  unsigned char raw[16];
  RAND_bytes(raw, sizeof raw);
  unsigned char out[25];
  EVP_EncodeBlock(out, raw, sizeof raw);
  return std::string(reinterpret_cast<char*>(out), 24);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

H2Stream::H2Stream(H2Session& session, std::int32_t id, const http2::RequestHead& head,
                   asio::any_io_executor executor)
    : session_(&session),
      id_(id),
      executor_(std::move(executor)),
      websocket_(head.websocket()),
      head_request_(head.method == "HEAD"),
      chunked_in_(!head.websocket() && !head.ends_stream) {
  std::ostringstream os;
  os << http2::to_http1(head, websocket_ ? new_websocket_key() : std::string());
  in_ = std::move(os).str();
}

std::size_t H2Stream::read(void* data, std::size_t size, error_code& ec) {
  const std::size_t available = in_.size() - in_off_;
  if (available > 0) {
    const std::size_t n = std::min(size, available);
    std::memcpy(data, in_.data() + in_off_, n);
    in_off_ += n;
    if (in_off_ == in_.size()) {
      if (in_.capacity() > 16384) std::string().swap(in_);
      else in_.clear();
      in_off_ = 0;
    }
    // The DATA went on to whoever reads here: the client may send as much again.
    const std::size_t opened = std::min(n, unconsumed_);
    if (opened > 0 && session_) {
      unconsumed_ -= opened;
      session_->consumed(id_, opened);
    }
    ec = {};
    return n;
  }
  if (reset_ || (!session_ && !client_ended_ && !closed_)) ec = asio::error::connection_reset;
  else if (client_ended_ || closed_) ec = asio::error::eof;
  else ec = asio::error::would_block;
  return 0;
}

std::size_t H2Stream::write(const void* data, std::size_t size, error_code& ec) {
  if (!session_ || closed_) {
    ec = asio::error::broken_pipe;
    return 0;
  }
  if (full_) {
    ec = asio::error::would_block;
    return 0;
  }
  ec = {};
  std::string_view bytes(static_cast<const char*>(data), size);
  while (!bytes.empty()) {
    switch (output_) {
      case Output::head: {
        const std::size_t had = out_head_.size();
        out_head_.append(bytes);
        const auto end = out_head_.find("\r\n\r\n");
        if (end == std::string::npos) return size;
        const std::size_t used = end + 4 - had;
        bytes.remove_prefix(used);
        std::string head = out_head_.substr(0, end + 2);
        out_head_.clear();
        take_head(head);
        continue;
      }
      case Output::body: {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), body_left_));
        session_->send_data(id_, reinterpret_cast<const std::uint8_t*>(bytes.data()), n);
        body_left_ -= n;
        bytes.remove_prefix(n);
        if (body_left_ == 0) {
          session_->end_stream(id_);
          output_ = Output::done;
        }
        continue;
      }
      case Output::websocket:
        full_ = !session_->send_data(id_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        return size;
      case Output::done:
        return size;  // nothing follows a complete response on its stream
    }
  }
  return size;
}

// The head UpgradeSession wrote: a 101 opens the WebSocket (RFC 8441: 200 on the stream), an
// interim answer is dropped (the gateway answers 100-continue itself), a final one goes as it is.
void H2Stream::take_head(std::string_view head) {
  const auto line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  int status = 0;
  if (status_line.size() >= 12) std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
  if (status / 100 == 1 && status != 101) return;  // interim
  http2::ServerConnection::Fields fields;
  std::uint64_t length = 0;
  for (std::size_t pos = line_end + 2; pos < head.size();) {
    const auto eol = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
    // HTTP/1.1's handshake proof means nothing to an HTTP/2 client (the gateway checked it).
    if (iequals(name, "sec-websocket-accept")) continue;
    if (iequals(name, "content-length")) std::from_chars(value.data(), value.data() + value.size(), length);
    fields.emplace_back(std::string(name), std::string(value));
  }
  if (status == 101) {
    session_->respond(id_, 200, fields, false);
    output_ = Output::websocket;
    return;
  }
  body_left_ = head_request_ || status == 204 || status == 304 ? 0 : length;
  session_->respond(id_, status, fields, body_left_ == 0);
  output_ = body_left_ == 0 ? Output::done : Output::body;
}

void H2Stream::wait_readable(Waiter w) {
  reader_ = std::move(w);
  if (!drained() || client_ended_ || closed_ || !session_) fire(reader_, {});
}

void H2Stream::wait_writable(Waiter w) {
  writer_ = std::move(w);
  if (!full_ || closed_ || !session_) fire(writer_, closed_ || !session_ ? asio::error::broken_pipe : error_code{});
}

void H2Stream::fire(Waiter& w, error_code ec) {
  if (!w) return;
  asio::post(executor_, [w = std::move(w), ec] { w(ec); });
  w = nullptr;
}

void H2Stream::wake_reader() {
  reader_owed_ = false;
  if (!reader_) return;
  Waiter w = std::move(reader_);
  reader_ = nullptr;
  w(error_code{});
}

void H2Stream::end_output() {
  if (!session_ || closed_) return;
  if (output_ == Output::websocket) {
    session_->end_stream(id_);
    output_ = Output::done;
  }
}

void H2Stream::cancel() {
  fire(reader_, asio::error::operation_aborted);
  fire(writer_, asio::error::operation_aborted);
}

// A stream whose answer is complete is left for the client to end (a reset now would drop the
// answer's queued frames); any other is reset. A client that never ends its side holds the
// stream within max_concurrent_streams.
void H2Stream::close() {
  cancel();
  // RST_STREAM INTERNAL_ERROR when no answer began (the request failed in the gateway), CANCEL
  // when one was cut short.
  if (session_ && !closed_ && output_ != Output::done) session_->reset_stream(id_, output_ == Output::head ? 2 : 8);
  session_ = nullptr;
}

bool H2Stream::on_data(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (chunked_in_) in_ += http2::chunk(bytes);
  else in_.append(bytes);
  unconsumed_ += size;
  return !std::exchange(reader_owed_, true);
}

bool H2Stream::on_client_end() {
  if (chunked_in_) in_ += http2::chunk({});
  client_ended_ = true;
  return !std::exchange(reader_owed_, true);
}

bool H2Stream::on_closed(std::uint32_t code) {
  closed_ = true;
  reset_ = code != 0;
  session_ = nullptr;  // the stream may outlive the connection now: nothing more goes to it
  fire(writer_, asio::error::broken_pipe);
  return !std::exchange(reader_owed_, true);
}

void H2Stream::on_send_room() {
  full_ = false;
  fire(writer_, {});
}

void H2Stream::detach() {
  session_ = nullptr;
  closed_ = true;
  reset_ = reset_ || !client_ended_;
  fire(reader_, asio::error::connection_reset);
  fire(writer_, asio::error::broken_pipe);
}

}  // namespace wsgate::gateway
