#include "gateway/control/http_get.hpp"

#include "gateway/proxy/transport.hpp"
#include "http/field_rules.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <optional>

namespace wsgate::gateway {
namespace http = boost::beast::http;

namespace {

constexpr std::size_t kMaxBuffered = wsgate::http::kMaxParseBuffer;

class HttpGet : public std::enable_shared_from_this<HttpGet> {
 public:
  HttpGet(asio::io_context& io, HttpRequest request, std::function<void(HttpResponse)> done)
      : request_(std::move(request)), done_(std::move(done)), resolver_(io),
        socket_(io), timer_(io) {
    parser_.body_limit(request_.max_body);
    parser_.header_limit(16 * 1024);
  }

  void start() {
    timer_.expires_after(request_.timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->fail("timed out");
    });
    resolver_.async_resolve(request_.address.empty() ? request_.host : request_.address, std::to_string(request_.port),
                            [self = shared_from_this()](error_code ec, tcp::resolver::results_type r) {
                              if (ec) return self->fail("resolve: " + ec.message());
                              self->connect(r);
                            });
  }

 private:
  void connect(const tcp::resolver::results_type& endpoints) {
    asio::async_connect(socket_, endpoints,
                        [self = shared_from_this()](error_code ec, const tcp::endpoint&) {
                          if (ec) return self->fail("connect: " + ec.message());
                          self->handshake();
                        });
  }

  void handshake() {
    if (finished_) return;
    transport_.emplace(std::move(socket_));
    if (!request_.tls) return send();
    if (!transport_->start_tls_client(request_.tls, request_.host)) return fail("TLS: out of memory");
    transport_->async_handshake([self = shared_from_this()](error_code ec) {
      if (ec) return self->fail("TLS: " + ec.message());
      self->send();
    });
  }

  void send() {
    if (finished_) return;
    const bool default_port = request_.port == (request_.tls ? 443 : 80);
    const bool v6 = request_.host.find(':') != std::string::npos;
    const std::string host = (v6 ? "[" + request_.host + "]" : request_.host) +
                             (default_port ? "" : ":" + std::to_string(request_.port));
    out_ = "GET " + request_.target + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: wsgate/" +
           WSGATE_VERSION + "\r\n" + request_.headers + "\r\n";
    transport_->async_write_all(out_.data(), out_.size(), [self = shared_from_this()](error_code ec) {
      if (ec) return self->fail("write: " + ec.message());
      self->read();
    });
  }

  void read() {
    if (finished_) return;
    // The unparsed bytes stay under what Beast can hold in one field (http::kMaxParseBuffer), so
    // a server sending a longer one fails this request only.
    if (buffer_.size() >= kMaxBuffered) return fail("response: a head or trailer field too large");
    auto space = buffer_.prepare(std::min<std::size_t>(16 * 1024, kMaxBuffered - buffer_.size()));
    transport_->async_read_some(space.data(), space.size(),
                                [self = shared_from_this()](error_code ec, std::size_t n) {
                                  self->on_read(ec, n);
                                });
  }

  void on_read(error_code ec, std::size_t n) {
    if (finished_) return;
    buffer_.commit(n);
    error_code pec;
    while (buffer_.size() > 0 && !parser_.is_done()) {
      const std::size_t used = parser_.put(buffer_.data(), pec);
      buffer_.consume(used);
      if (pec) break;
    }
    if (pec == http::error::need_more) pec = {};
    if (!pec && ec == asio::error::eof && !parser_.is_done()) parser_.put_eof(pec);
    if (pec) return fail("response: " + pec.message());
    if (parser_.is_done()) {
      HttpResponse r;
      r.status = parser_.get().result_int();
      r.body = std::move(parser_.get().body());
      return complete(std::move(r));
    }
    if (ec) return fail("read: " + ec.message());
    read();
  }

  void fail(std::string error) {
    HttpResponse r;
    r.error = std::move(error);
    complete(std::move(r));
  }

  void complete(HttpResponse r) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    if (transport_) transport_->close();
    else socket_.close();
    done_(std::move(r));
  }

  HttpRequest request_;
  std::function<void(HttpResponse)> done_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  std::optional<Transport> transport_;
  asio::steady_timer timer_;
  http::response_parser<http::string_body> parser_;
  boost::beast::flat_buffer buffer_;
  std::string out_;
  bool finished_ = false;
};

}  // namespace

void http_get(asio::io_context& io, HttpRequest request, std::function<void(HttpResponse)> done) {
  std::make_shared<HttpGet>(io, std::move(request), std::move(done))->start();
}

}  // namespace wsgate::gateway
