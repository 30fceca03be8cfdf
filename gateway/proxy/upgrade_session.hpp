// One client connection from accept until it becomes a frame relay (or closes): TLS handshake,
// bounded and timed request read, route, checks, backend connect, forwarded upgrade or HTTP proxy.
#pragma once

#include "gateway/runtime.hpp"
#include "gateway/proxy/session_registry.hpp"
#include "http/client_certificate.hpp"
#include "http/message_memory.hpp"
#include "memory/recycled_memory.hpp"
#include "http/token_extraction.hpp"
#include "gateway/proxy/transport.hpp"
#include "metrics/gateway_series.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::gateway {

class UpgradeSession : public Drainable, public std::enable_shared_from_this<UpgradeSession> {
 public:
  // `client` is a connection whose TLS handshake, if any, is done (ConnectionStart), and which
  // counts in connections_open until this session or its relay ends; or one request on an HTTP/2
  // stream (Transport::for_stream), whose connection its H2Session counts. The request head is due
  // by `head_deadline`; `session_number` keeps the id the connection had in the registry (0: new).
  UpgradeSession(Transport client, std::string client_ip, std::shared_ptr<const Runtime> runtime,
                 std::size_t listener, SessionRegistry& registry,
                 std::chrono::steady_clock::time_point head_deadline, std::uint64_t session_number = 0);
  ~UpgradeSession() override;

  // What the PROXY header of a trusted balancer said besides the address (its TLVs), for the access
  // log; before start().
  struct BalancerInfo {
    std::string authority;     // TLV 0x02: the server name the client asked the balancer for
    std::string vpc_endpoint;  // TLV 0xEA/0x01: the AWS VPC endpoint the client came through
  };
  void set_balancer(BalancerInfo info) { balancer_ = std::move(info); }
  // The client certificate the connection's handshake verified (empty: none); before start().
  void set_client_certificate(std::shared_ptr<const http::ClientIdentity> id) { certificate_ = std::move(id); }

  void start();
  void go_away() override;

 private:
  enum class Phase { start, read_request, key_refresh, rate_limit, connect, backend_response, respond, linger, done };

  void read_request();
  void read_more_request();
  void on_request_bytes(error_code ec, std::size_t n);
  bool ready_to_parse();
  void parse_request();
  void handle_request();
  void reject(unsigned status, std::string_view reason, std::string_view detail,
              std::string_view extra_header = {}, const std::string& extra_value = {});
  void forward_request();
  bool authenticate(http::RequestHeader& req);
  void wait_for_keys();
  void identify(const http::RequestHeader& req, const boost::json::object* claims);
  bool admit();
  void ask_store();
  void on_store_answer(RedisStore::Answer answer);
  void connect_upstream();
  // `detail` replaces the error's own text in error_description and the log.
  bool reject_token(auth::error e, std::string_view detail = {});

  void find_affinity(const http::RequestHeader& req);
  void keep_affinity(std::size_t backend);
  void connect_next_backend();
  void on_connected(std::size_t backend, error_code ec);
  void on_backend_ready(std::size_t backend, error_code ec);
  void on_request_forwarded(error_code ec);
  void read_backend_response();
  void read_more_response();
  void new_response_parser();
  void parse_backend_response();  // what backend_buf_ holds; reads more when that is not a response
  void on_backend_bytes(error_code ec, std::size_t n);
  bool retryable() const;
  void on_backend_response();
  void on_response_sent(error_code ec);
  void start_relay();
  void linger();

  // One access log line for the answer just written to the client.
  void log_access(unsigned status, std::size_t bytes, bool with_backend);
  std::string logged_target() const;  // the target, without any token the route's provider reads

  void arm_timer(std::chrono::milliseconds after);
  void on_timeout();
  void finish();
  std::string_view route_name() const;
  // Metrics, in this thread's row: the route's (route="" before one matched), a backend's, the
  // listener's.
  metrics::ThreadCounters::Shard& route_row() const;
  metrics::ThreadCounters::Shard& backend_row(std::size_t backend) const;
  metrics::ThreadCounters::Shard& listener_row() const;
  metrics::ConnectFailure connect_failure_cause(error_code ec) const;
  void try_next_backend(std::size_t b, const char* event, const std::string& error, metrics::ConnectFailure cause);
  void release_connection();  // out of wsgate_connections_open, once
  void count_result(metrics::RequestResult result);
  void count_limit(metrics::LimitAction action);

  std::shared_ptr<const Runtime> rt_;
  std::size_t listener_;
  SessionRegistry& registry_;
  Transport client_;
  std::optional<tcp::socket> connecting_;  // backend socket until connected
  std::optional<Transport> backend_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;  // a fired-and-queued wait must not act after a re-arm
  std::size_t requests_ = 0;           // requests served on this connection (keep-alive)
  Phase phase_ = Phase::start;
  std::chrono::steady_clock::time_point head_deadline_;
  std::uint64_t session_number_ = 0;
  bool close_after_response_ = false;
  bool timed_out_ = false;
  std::string client_ip_;
  BalancerInfo balancer_;
  std::shared_ptr<const http::ClientIdentity> certificate_;  // shared by the connection's requests
  std::string certificate_field_;                            // its X-Forwarded-Client-Cert value

  // Read buffers from the thread's recycled memory, like the arenas' blocks.
  using Buffer = boost::beast::basic_flat_buffer<memory::ResourceAllocator<char>>;
  Buffer client_buf_{memory::recycling_allocator<char>()};
  Buffer backend_buf_{memory::recycling_allocator<char>()};
  // The heads' memory: the request's for one request, the response's for one response (an interim
  // answer's is gone when the next begins). Declared before the parsers, which they outlive.
  http::RequestArena request_memory_{memory::recycled_memory()};
  http::RequestArena response_memory_{memory::recycled_memory()};
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body, http::Allocator>> request_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::string_body, http::Allocator>> response_;
  std::string out_;  // serialized request or response being written

  const RouteRuntime* route_ = nullptr;
  std::size_t route_index_ = 0;
  bool upgrade_ = false;
  bool keys_refreshed_ = false;         // this request already waited for a JWKS refresh
  std::optional<http::FoundToken> token_;  // this request's token, once found
  std::vector<std::pair<std::string, std::string>> claim_fields_;  // verified claims, as header: value
  std::string client_address_;  // the client, through trusted proxies' X-Forwarded-For
  std::size_t head_fields_ = 0;  // fields in the request's head; a chunked body's trailers follow
  std::size_t head_scanned_ = 0;  // bytes of client_buf_ already searched for the head's end
  bool continue_sent_ = false;   // this request's Expect: 100-continue is answered
  std::size_t keys_pending_ = 0;        // JWKS sources yet to answer
  bool protocol_token_ = false;        // the token came as Sec-WebSocket-Protocol: bearer, TOKEN
  std::int64_t token_expires_at_ = 0;  // Unix seconds; 0: no token or no exp
  bool head_request_ = false;
  std::uint64_t hash_ = 0;  // the request's key, hashed: where on the route's ring it belongs
  std::uint64_t limit_key_ = 0;  // the client's key under the route's rate-limit policy, hashed
  std::optional<ratelimit::SessionSlot> slot_;  // counted against max_sessions until the relay takes it
  std::optional<RedisLease> lease_;             // the same, in Redis (store: redis)
  bool keyed_ = false;   // hash_ came from a configured key, not a counter: affinity may apply
  std::optional<std::size_t> preferred_;  // the backend the client's affinity names, if available
  std::string set_cookie_;                // the affinity cookie to send with the response, if any
  std::vector<bool> tried_;               // by backend: tried for this request
  routing::BackendCharge charge_;         // the picked backend's load, counting this request
  routing::AffinityHold affinity_hold_;   // this request's (then session's) use of its key's entry
  bool last_connect_timed_out_ = false;
  std::size_t backend_index_ = 0;
  unsigned response_status_ = 0;       // the answer being written: for the access log
  std::size_t response_bytes_ = 0;     // its body
  bool response_from_backend_ = false;
  bool backend_spoke_ = false;  // a byte of the backend's answer to this request has arrived
  bool result_counted_ = true;  // this request's result is in the metrics (none yet: true)
  std::chrono::steady_clock::time_point request_read_at_{};
  std::chrono::steady_clock::time_point connect_started_{};
  std::chrono::steady_clock::time_point forwarded_at_{};  // the upgrade request written to the backend
  bool connection_open_ = false;  // counted in wsgate_connections_open until finish() or the relay
};

}  // namespace wsgate::gateway
