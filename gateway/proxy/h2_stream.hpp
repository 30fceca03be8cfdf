// One HTTP/2 stream as the byte pipe the HTTP/1.1 path works on: UpgradeSession reads the request
// head http2::to_http1 made (then the stream's DATA), what it writes back (an HTTP/1.1 response)
// becomes the stream's HEADERS and DATA, and the FrameRelay then moves frames through it.
#pragma once

#include "http2/request_head.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace wsgate::gateway {

class H2Session;

class H2Stream {
 public:
  using error_code = boost::system::error_code;
  using Waiter = std::function<void(error_code)>;

  // `head` must have passed http2::check_head.
  H2Stream(H2Session& session, std::int32_t id, const http2::RequestHead& head, boost::asio::any_io_executor executor);

  // What Transport does with a stream (its read_some, write_some and waits).
  std::size_t read(void* data, std::size_t size, error_code& ec);
  std::size_t write(const void* data, std::size_t size, error_code& ec);
  bool drained() const { return in_.size() == in_off_; }
  void wait_readable(Waiter w);
  void wait_writable(Waiter w);
  void end_output();  // Transport::shutdown_send: END_STREAM once a WebSocket's frames are out
  void cancel();      // pending waits end with operation_aborted
  void close();       // the reader is done: RST_STREAM if the stream is still open

  // What the session tells it. True when this is the first news since its reader last woke: the
  // session then queues it for wake_reader (once, however many DATA frames one read brought).
  bool on_data(const std::uint8_t* data, std::size_t size);
  bool on_client_end();
  bool on_closed(std::uint32_t error_code);
  void on_send_room();
  void detach();  // the connection is gone
  // Runs a waiter owed since the last on_data/on_client_end/on_closed (outside nghttp2's calls).
  void wake_reader();

  std::int32_t id() const { return id_; }
  bool websocket() const { return websocket_; }

 private:
  enum class Output { head, body, websocket, done };
  void take_head(std::string_view head);
  void fire(Waiter& w, error_code ec);

  H2Session* session_;
  std::int32_t id_;
  boost::asio::any_io_executor executor_;
  bool websocket_;
  bool head_request_;
  bool chunked_in_;               // a request body, sent on as chunks
  std::string in_;                // request head, then DATA (or its chunks) not yet read
  std::size_t in_off_ = 0;
  std::size_t unconsumed_ = 0;    // DATA bytes in in_ the client's window waits for
  bool client_ended_ = false;
  bool closed_ = false;
  bool reset_ = false;            // closed with an error code
  bool full_ = false;             // the stream's send buffer is full
  bool reader_owed_ = false;      // queued for wake_reader
  Output output_ = Output::head;
  std::string out_head_;          // the response head, until its blank line
  std::uint64_t body_left_ = 0;
  Waiter reader_, writer_;
};

}  // namespace wsgate::gateway
