// One client's HTTP/2 connection (ALPN h2 on a TLS listener): reads and writes the socket for an
// http2::ServerConnection, and runs each stream's request through its own UpgradeSession.
#pragma once

#include "gateway/runtime.hpp"
#include "gateway/proxy/session_registry.hpp"
#include "gateway/proxy/transport.hpp"
#include "http/client_certificate.hpp"
#include "http2/server_connection.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace wsgate::gateway {

class H2Stream;

class H2Session : public Drainable, public http2::StreamEvents, public std::enable_shared_from_this<H2Session> {
 public:
  // `client` has completed its TLS handshake; the connection already counts in connections_open,
  // and this session takes that count over.
  H2Session(Transport client, std::string client_ip, std::shared_ptr<const Runtime> runtime, std::size_t listener,
            SessionRegistry& registry);
  ~H2Session() override;

  // The client certificate the handshake verified: every stream's request carries it.
  void set_client_certificate(std::shared_ptr<const http::ClientIdentity> id) { certificate_ = std::move(id); }
  void start();
  void go_away() override;  // GOAWAY: streams open go on (each relay gets its own 1001), no new one

  // For its streams.
  void consumed(std::int32_t stream, std::size_t size);
  bool send_data(std::int32_t stream, const std::uint8_t* data, std::size_t size);
  void respond(std::int32_t stream, int status, const http2::ServerConnection::Fields& fields, bool end_stream);
  void end_stream(std::int32_t stream);
  void reset_stream(std::int32_t stream, std::uint32_t code);

 private:
  void on_head(std::int32_t stream, http2::RequestHead head) override;
  void on_data(std::int32_t stream, const std::uint8_t* data, std::size_t size) override;
  void on_client_end(std::int32_t stream) override;
  void on_stream_closed(std::int32_t stream, std::uint32_t code) override;
  void on_send_room(std::int32_t stream) override;

  void refuse(std::int32_t stream, http2::HeadProblem problem, const http2::RequestHead& head);
  void arm_idle_timer();
  void read();
  void on_read(error_code ec, std::size_t n);
  void wake_streams();
  void schedule_flush();
  void flush();
  void finish();
  H2Stream* stream(std::int32_t id);

  std::shared_ptr<const Runtime> rt_;
  std::size_t listener_;
  SessionRegistry& registry_;
  Transport client_;
  std::string client_ip_;
  std::shared_ptr<const http::ClientIdentity> certificate_;
  http2::ServerConnection connection_;
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  std::vector<std::shared_ptr<H2Stream>> woken_;  // streams with news since the last read
  std::vector<std::uint8_t> in_;
  std::string out_;
  // A connection with no stream for a whole keepalive_timeout ends (GOAWAY), as an idle HTTP/1.1
  // keep-alive connection does; so does one that never opens a stream.
  asio::steady_timer idle_timer_;
  bool active_ = false;  // a stream was opened since the timer last looked
  bool reading_ = false;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool ending_ = false;   // the connection is to end once its output is out
  bool finished_ = false;
  bool attack_counted_ = false;
};

}  // namespace wsgate::gateway
