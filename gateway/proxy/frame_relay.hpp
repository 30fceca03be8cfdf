// An upgraded session: frames move both ways with their payload untouched while the relay follows
// frame boundaries to enforce limits, inject pings and closes between frames, and end both sides.
#pragma once

#include "websocket/frame_codec.hpp"
#include "gateway/runtime.hpp"
#include "handover/session_record.hpp"
#include "gateway/proxy/session_registry.hpp"
#include "gateway/proxy/transport.hpp"
#include "metrics/gateway_series.hpp"
#include "ratelimit/session_budget.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::gateway {

class FrameRelay : public Drainable, public std::enable_shared_from_this<FrameRelay> {
 public:
  using Clock = std::chrono::steady_clock;

  struct Params {
    std::shared_ptr<const Runtime> runtime;  // kept for the session's life: reloads don't touch it
    std::size_t route = 0;
    std::size_t backend = 0;
    bool deflate = false;  // permessage-deflate negotiated: RSV1 is legal on data frames
    std::string client_ip;
    std::int64_t expires_at_unix = 0;  // close with 1008 at this time (route's close_at_expiry)
    ratelimit::SessionSlot slot;       // the key's session count and message budget, released at the end
    std::unique_ptr<RedisLease> lease;  // the session's count in Redis (store: redis)
    routing::BackendCharge charge;      // the session's part of its backend's load (bounded loads)
    routing::AffinityHold affinity;     // its use of its key's affinity entry
    std::uint64_t key_hash = 0;         // the client's key, hashed (0: it had none), for the admin API
    std::uint64_t session_number = 0;   // its upgrade's number in the registry: one id from accept to end
    std::size_t listener = 0;           // its client connection counts in this listener's connections_open
    bool counts_connection = true;      // ... unless it is an HTTP/2 stream (its H2Session counts it)
  };

  FrameRelay(Transport client, Transport backend, Params params, SessionRegistry& registry);
  ~FrameRelay() override;

  // early_*: bytes that arrived with the handshake (frames sent right behind it).
  void start(std::string early_from_client, std::string early_from_backend);
  void go_away() override;  // 1001 to the client and the backend
  void backend_left(const std::string& url) override;  // 1012 to the client when it is ours
  bool describe(SessionView& view) const override;
  bool end_by_operator(std::uint16_t code) override;
  bool rebalance() override;
  HandoverStep hand_over(const std::shared_ptr<HandoverSink>& sink) override;
  // A session the previous process handed over (constructed on the sockets it passed, with Params
  // for this process's configuration): relays on from the record's state. Instead of start().
  void resume(const handover::SessionRecord& record);
  std::string session_id() const;  // "THREAD-N", the same as its upgrade's access log line

 private:
  enum class State {
    relaying,
    closing,     // forward up to the next frame boundary, then send close_frame and FIN
    discarding,  // our close is sent: read and drop until the peer's FIN
    done,        // source at EOF (or dead) and nothing left to write
  };

  // A direction's state under a rate limit.
  struct Throttle {
    // Throttled: the bytes from the held-back frame on, kept until resume_at.
    std::vector<std::uint8_t> parked;
    Clock::time_point resume_at{};
    error_code deferred_end;          // the source ended behind the parked bytes
    std::int64_t retry_after_ns = 0;  // from the gate's last wait verdict
    bool limit_was_bytes = false;     // which limit the gate's last refusal came from
  };
  // Only on a route with a rate_limit policy, so that an idle session of any other route is
  // smaller by its size.
  struct Limited {
    explicit Limited(ratelimit::SessionSlot slot) : budget(std::move(slot)) {}
    ratelimit::SessionBudget budget;
    Throttle up, down;
  };

  // One direction: bytes read from src, scanned, written to dst. `pending` holds what dst could
  // not take yet; it exists only while dst is slow, and src is not read meanwhile (backpressure).
  struct Direction {
    Direction(Transport& s, Transport& d, ws::ScanRules rules, bool up)
        : src(&s), dst(&d), scanner(rules), upstream(up) {}
    Transport* src;
    Transport* dst;
    ws::FrameScanner scanner;
    bool upstream;  // client -> backend
    State state = State::relaying;
    std::vector<std::uint8_t> pending;
    std::size_t pending_sent = 0;
    // An incomplete frame header or close frame (ws::max_held_size at most), rescanned with more
    // bytes; empty, without storage, until a read first splits one.
    std::vector<std::uint8_t> held;
    std::string close_frame;  // for State::closing
    bool shutdown_after_flush = false;
    bool read_waiting = false;  // a wait is pending and will resume this direction
    FrameRelay* relay = nullptr;
    bool src_eof = false;
    std::uint64_t frames_seen = 0;
    std::uint64_t bytes = 0;          // relayed so far (the admin API's sessions)
    Throttle* throttle = nullptr;     // in limited_, on a route with a rate_limit policy
    std::uint64_t throttled = 0;      // times the direction was held back

    bool held_back() const { return throttle && throttle->resume_at != Clock::time_point{}; }
  };

  enum class Next { stop, read, tls_wait, yield };
  void pump(Direction& d);
  Next read_step(Direction& d);
  void continue_with(Direction& d, Next next);
  void start_read(Direction& d);
  static void on_readable(void* direction, const error_code& ec);
  void wait_for_tls(Direction& d);
  bool process(Direction& d, std::uint8_t* data, std::size_t size, Clock::time_point now);
  static ws::FrameVerdict gate(void* direction, const ws::FrameHeader& h, bool starts_message);
  static void on_message(void* direction, std::uint64_t payload_size);
  void count_limit(metrics::LimitAction action);
  void count_end();
  void hold_back(Direction& d, const std::uint8_t* data, std::size_t size, Clock::time_point now);
  void resume_held(Clock::time_point now);
  void on_protocol_violation(Direction& d, ws::Violation v);
  void note_limited(const Direction& d, std::string_view action);
  bool send(Direction& d, const std::uint8_t* data, std::size_t size);
  void wait_writable(Direction& d);
  void flush(Direction& d);
  void on_source_end(Direction& d, error_code ec);
  void on_sink_error(Direction& d, error_code ec);
  void peer_lost(bool backend, const std::string& why);
  void end_output(Direction& d);
  void begin_close(Direction& d, std::string frame);
  void finish_closing(Direction& d);
  void note_pong(Clock::time_point now);
  void close_both(metrics::SessionEnd cause, std::uint16_t client_code, std::string_view client_reason,
                  std::uint16_t backend_code, std::string_view backend_reason);
  bool over(const Direction& d) const;
  void maybe_finish();
  void finish();

  void try_hand_over();
  handover::SessionRecord record(Clock::time_point now) const;

  void start_linger();
  void arm_timer();
  void on_timer();
  void send_ping(Clock::time_point now);
  std::string backend_close_frame(std::uint16_t code, std::string_view reason);

  Params params_;
  std::unique_ptr<Limited> limited_;
  std::int64_t gate_now_ns_ = 0;  // the clock read once per processed read, for the gate
  bool limit_logged_ = false;     // one log line per session for its first limited frame
  const config::RouteLimits& limits_;
  // This thread's rows of the route's and the backend's series.
  metrics::ThreadCounters::Shard& route_row_;
  metrics::ThreadCounters::Shard& backend_row_;
  std::uint16_t gateway_close_code_ = 0;  // the close the gateway itself sent the client, if any
  bool client_gone_ = false;              // the client vanished: a close to it reaches nobody
  SessionRegistry& registry_;
  Transport client_;
  Transport backend_;
  Direction up_;    // client -> backend
  Direction down_;  // backend -> client
  asio::steady_timer timer_;
  Clock::time_point started_;
  Clock::time_point last_data_;         // last data frame either way (idle timeout)
  Clock::time_point last_client_byte_;  // liveness of the client (ping / pong timeout)
  Clock::time_point ping_sent_{};       // the latest gateway ping; 0 = none outstanding
  Clock::time_point ping_retry_at_{};   // a ping that found no frame boundary waits until then
  Clock::time_point linger_until_{};    // set once a close is under way
  Clock::time_point token_expiry_ = Clock::time_point::max();
  std::uint64_t timer_generation_ = 0;
  std::string end_reason_;
  // What started the end; every path to finish() sets it (a close frame seen, close_both, peer_lost).
  std::optional<metrics::SessionEnd> end_cause_;
  std::uint64_t pongs_seen_ = 0;  // the client's pongs counted so far (ping round-trip times)
  bool ping_answered_ = false;    // a pong came after ping_sent_
  bool closing_started_ = false;
  bool finished_ = false;
  // Set by a binary upgrade: each direction stops at its next frame boundary, then the session goes.
  std::shared_ptr<HandoverSink> handover_sink_;
  std::string previous_id_;  // adopted: its id in the process that handed it over
};

}  // namespace wsgate::gateway
