// One client's HTTP/2 connection, server side, as bytes in and bytes out: nghttp2 frames it and
// decodes HPACK under the gateway's limits, and streams come out as request heads and their data.
#pragma once

#include "http2/request_head.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace wsgate::http2 {

// Every limit a client's connection is held to. A limit that is hit ends the connection with
// GOAWAY, and Stats::attack says which, unless its comment says otherwise.
struct ConnectionLimits {
  // SETTINGS_MAX_CONCURRENT_STREAMS. A stream past it before the client acknowledged the
  // SETTINGS is refused (RST_STREAM REFUSED_STREAM) and counts as a reset below; after, it breaks
  // the protocol (GOAWAY PROTOCOL_ERROR, as nghttp2 answers it).
  std::uint32_t max_concurrent_streams = 100;
  // SETTINGS_MAX_HEADER_LIST_SIZE: a head decoding to more (RFC 9113 6.5.2's measure) gets 431 and
  // is not passed on. One decoding to more than four times this, however it was compressed, is
  // an HPACK bomb.
  std::uint32_t max_header_list_size = 16384;
  // The window each stream's client may fill before the gateway passes data on (consumed()): what a
  // stream holds at most for a backend that does not read. SETTINGS_INITIAL_WINDOW_SIZE.
  std::uint32_t stream_window = 65536;
  // The connection's window, over all its streams.
  std::uint32_t connection_window = 1u << 20;
  // Bytes queued toward the client per stream; send_data() says "full" from here on, and the
  // caller stops reading that stream's source until on_send_room.
  std::size_t stream_send_buffer = 65536;
  // CONTINUATION frames one head may take (the CONTINUATION flood, CVE-2024-27316).
  std::size_t max_continuations = 8;
  // Streams the client resets (or that the gateway must refuse) in a burst, and per second after
  // it: rapid reset, CVE-2023-44487.
  double reset_burst = 100;
  double resets_per_second = 10;
  // PING, SETTINGS, PRIORITY and empty DATA frames in a burst and per second after it: frames that
  // cost the gateway work and carry nothing (ping and settings floods).
  double control_burst = 100;
  double control_per_second = 20;
};

enum class Attack {
  none,
  rapid_reset,         // resets past the reset budget
  continuation_flood,  // a head in more CONTINUATION frames than allowed
  hpack_bomb,          // a head decoding to more than four times the header list limit
  control_flood,       // PING / SETTINGS / PRIORITY / empty DATA past the control budget
  protocol_error,      // input nghttp2 refused (a connection error: bad preface, bad frame)
};
std::string_view to_string(Attack a);

struct ConnectionStats {
  Attack attack = Attack::none;      // why the connection is being ended, if a limit did it
  std::uint64_t heads_too_large = 0; // answered 431
  std::uint64_t streams_refused = 0; // over max_concurrent_streams
  std::uint64_t client_resets = 0;   // RST_STREAM from the client
};

// What the connection reports back; the gateway implements it, tests record it.
class StreamEvents {
 public:
  virtual ~StreamEvents() = default;
  // A stream's whole head arrived (within the list limit); check it with check_head().
  virtual void on_head(std::int32_t stream, RequestHead head) = 0;
  // DATA for a stream; it counts against the stream's window until consumed() says it went on.
  virtual void on_data(std::int32_t stream, const std::uint8_t* data, std::size_t size) = 0;
  // END_STREAM: the client sends nothing more on it.
  virtual void on_client_end(std::int32_t stream) = 0;
  // The stream is gone both ways (ended, or reset by either side: `error_code` is HTTP/2's).
  virtual void on_stream_closed(std::int32_t stream, std::uint32_t error_code) = 0;
  // A stream whose send buffer was full has room again.
  virtual void on_send_room(std::int32_t stream) = 0;
};

class ServerConnection {
 public:
  using Clock = std::chrono::steady_clock;
  using Fields = std::vector<std::pair<std::string, std::string>>;

  // Queues the server preface: SETTINGS with the limits and SETTINGS_ENABLE_CONNECT_PROTOCOL.
  ServerConnection(const ConnectionLimits& limits, StreamEvents& events);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // Bytes from the client. Events run from inside. False when the connection is to end: send
  // what take_output() has (a GOAWAY) and close. A connection error nghttp2 finds itself shows
  // only as finished() once its GOAWAY has been taken.
  bool receive(const std::uint8_t* data, std::size_t size, Clock::time_point now);
  // Appends to `out` what is ready to go to the client, up to about `max` bytes. Streams whose
  // buffer drains get on_send_room after it returns.
  void take_output(std::string& out, std::size_t max);
  // Nothing more will be read or written: once the output is sent, close.
  bool finished() const;

  // A stream's response head; `end_stream` when no body follows.
  void respond(std::int32_t stream, int status, const Fields& fields, bool end_stream);
  // Queues body bytes (a WebSocket's frames); false once the stream's buffer is full: stop reading
  // what feeds it until on_send_room. Bytes are taken either way.
  bool send_data(std::int32_t stream, const std::uint8_t* data, std::size_t size);
  // END_STREAM after what is queued.
  void end_stream(std::int32_t stream);
  void reset_stream(std::int32_t stream, std::uint32_t error_code);
  // `size` bytes of the stream's DATA went on: its window (and the connection's) opens by that.
  void consumed(std::int32_t stream, std::size_t size);
  // Graceful end: GOAWAY(NO_ERROR) naming the last stream taken; those streams go on, no new one.
  void go_away();

  const ConnectionStats& stats() const { return stats_; }
  std::size_t open_streams() const { return streams_.size(); }

  struct Callbacks;  // nghttp2's callbacks, in the .cpp

 private:
  struct Stream {
    RequestHead head;              // until delivered
    bool delivered = false;        // on_head ran: the gateway knows the stream
    bool too_large = false;        // the head passed the list limit: 431, not delivered
    bool responded = false;
    std::size_t unconsumed = 0;    // DATA delivered and not yet consumed()
    std::string out;               // body bytes queued toward the client
    std::size_t out_sent = 0;
    bool end_queued = false;       // end_stream() was called
    bool deferred = false;         // nghttp2 is waiting for resume_data
    bool full = false;             // send_data() said full; on_send_room is owed once it drains
  };
  struct Bucket {
    double tokens = 0;
    Clock::time_point at{};
    bool take(double burst, double per_second, Clock::time_point now);
  };

  Stream* find(std::int32_t stream);
  void resume(std::int32_t stream, Stream& s);
  void apply_consumed();
  void end_for(Attack attack, std::uint32_t error_code);
  void fail_fatally(Attack attack);

  ConnectionLimits limits_;
  StreamEvents& events_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, Stream> streams_;
  std::vector<std::int32_t> room_owed_;  // on_send_room to call after take_output
  // Window to open (stream 0: the connection's alone), applied outside nghttp2's callbacks.
  std::vector<std::pair<std::int32_t, std::size_t>> consume_owed_;
  bool in_receive_ = false;
  bool going_away_ = false;
  std::string fatal_goaway_;            // our own GOAWAY when nghttp2's session is beyond use
  bool fatal_ = false;
  Bucket resets_, control_;
  Clock::time_point now_{};
  ConnectionStats stats_;
};

}  // namespace wsgate::http2
