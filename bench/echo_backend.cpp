// The benchmark's backend: a one-thread Beast WebSocket echo server, so that the backend is never
// the bottleneck being measured. Prints {"port":N} on stdout when it listens.
//   echo_backend [--port N] [--host 127.0.0.1]

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

class EchoSession : public std::enable_shared_from_this<EchoSession> {
 public:
  explicit EchoSession(tcp::socket socket) : ws_(std::move(socket)) {}

  void start() {
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
    ws_.read_message_max(64u << 20);
    ws_.auto_fragment(false);
    ws_.async_accept([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->read();
    });
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->ws_.text(self->ws_.got_text());
      self->ws_.async_write(self->buffer_.data(),
                            [self](beast::error_code wec, std::size_t) {
                              if (wec) return;
                              self->buffer_.clear();
                              self->read();
                            });
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
};

class Acceptor {
 public:
  Acceptor(asio::io_context& io, const tcp::endpoint& ep) : acceptor_(io, ep) {}
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (!ec) std::make_shared<EchoSession>(std::move(s))->start();
      accept();
    });
  }

 private:
  tcp::acceptor acceptor_;
};

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--port")) port = static_cast<unsigned short>(std::stoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--host")) host = argv[i + 1];
  }
  asio::io_context io{1};
  Acceptor acceptor(io, {asio::ip::make_address(host), port});
  acceptor.accept();
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](beast::error_code, int) { io.stop(); });
  std::printf("{\"port\":%u}\n", acceptor.port());
  std::fflush(stdout);
  io.run();
}
