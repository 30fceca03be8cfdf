// libFuzzer: what a client sends on an HTTP/2 connection (after the preface), fed in reads of
// fuzzer-chosen sizes to the server connection, with a gateway that answers WebSocket streams,
// echoes their data, passes it on (opening windows) and ends streams as the client ends them.
#include "http2/server_connection.hpp"

#include <cstdlib>
#include <set>
#include <string>

using namespace wsgate::http2;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct EchoGateway : StreamEvents {
  ServerConnection* connection = nullptr;
  std::set<std::int32_t> open;
  std::uint8_t choice = 0;

  void on_head(std::int32_t stream, RequestHead head) override {
    check(head.list_size <= 16384);
    const HeadProblem p = check_head(head);
    open.insert(stream);
    if (p != HeadProblem::none) return connection->respond(stream, status_for(p), {}, true);
    if (choice & 1) return connection->reset_stream(stream, 7);
    connection->respond(stream, 200, {{"Sec-WebSocket-Protocol", "chat"}}, false);
  }
  void on_data(std::int32_t stream, const std::uint8_t* data, std::size_t size) override {
    check(open.count(stream) == 1);
    connection->send_data(stream, data, size);
    if (choice & 2) connection->consumed(stream, size);
  }
  void on_client_end(std::int32_t stream) override { connection->end_stream(stream); }
  void on_stream_closed(std::int32_t stream, std::uint32_t) override { check(open.erase(stream) == 1); }
  void on_send_room(std::int32_t) override {}
};

const std::string kPreface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24) + std::string("\0\0\0\x04\0\0\0\0\0", 9);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  EchoGateway gateway;
  gateway.choice = data[0];
  const std::size_t read_size = 1 + data[1] * 8u;
  data += 2;
  size -= 2;
  ConnectionLimits limits;
  limits.max_concurrent_streams = 8;
  ServerConnection connection(limits, gateway);
  gateway.connection = &connection;
  auto now = ServerConnection::Clock::time_point{} + std::chrono::hours(1);
  std::string out;
  bool alive = connection.receive(reinterpret_cast<const std::uint8_t*>(kPreface.data()), kPreface.size(), now);
  while (alive && size > 0) {
    const std::size_t n = std::min(read_size, size);
    alive = connection.receive(data, n, now);
    data += n;
    size -= n;
    now += std::chrono::milliseconds(1);
    out.clear();
    connection.take_output(out, 1 << 16);
    check(connection.open_streams() <= limits.max_concurrent_streams + 1);
  }
  out.clear();
  connection.take_output(out, 1 << 20);
  return 0;
}
