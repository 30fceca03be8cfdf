// wsbench: the WebSocket load generator of wsgate's benchmark, on Boost.Beast, one thread.
// Modes: echo (closed loop), open (fixed total rate), upgrade (connect, upgrade, close, repeat),
// idle (open N sessions, hold them) and storm (open N sessions, hold them, and reconnect each one
// the moment it drops, with no jitter: the worst case; done when all N are back). Prints one JSON line with rates, latency percentiles, errors
// and, given --cpu-pid, the CPU seconds that process used during the measured window.

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string mode = "echo";  // echo | open | upgrade | idle | storm
  std::string url = "ws://127.0.0.1:8080/";
  std::string reconnect_url;  // storm: where dropped sessions reconnect (default: url)
  bool tls_resume = false;    // offer the previous connection's TLS session (upgrade mode)
  std::string tls_version;    // "1.2" or "1.3": the only version offered; empty: both
  int connections = 10;
  std::size_t size = 64;
  bool binary = false;
  double duration = 5;  // measured seconds (idle: how long to hold)
  double warmup = 1;
  double rate = 5000;   // open loop: messages per second over all connections
  int sources = 1;      // idle: spread connections over 127.0.0.1 .. 127.0.0.N
  int cpu_pid = 0;      // report this process's CPU time over the measured window
  int concurrency = 200;  // idle: connects in flight at once
  std::vector<std::pair<std::string, std::string>> headers;  // added to every upgrade request
};

struct Target {
  bool tls = false;
  std::string host, port, path;
};

Target parse_url(const std::string& url) {
  Target t;
  std::string rest;
  if (url.rfind("wss://", 0) == 0) {
    t.tls = true;
    rest = url.substr(6);
  } else if (url.rfind("ws://", 0) == 0) {
    rest = url.substr(5);
  } else {
    throw std::runtime_error("url must start with ws:// or wss://");
  }
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  t.host = authority.substr(0, colon);
  t.port = colon == std::string::npos ? (t.tls ? "443" : "80") : authority.substr(colon + 1);
  return t;
}

double cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  unsigned long utime = 0, stime = 0;
  // Fields after comm start at 3 (state); utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoul(f);
    if (i == 15) stime = std::stoul(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Shared by every connection of the run (one thread: no locks).
struct Run {
  Options opt;
  Target target, reconnect_target;
  asio::io_context io{1};
  ssl::context tls{ssl::context::tls_client};
  tcp::resolver::results_type endpoints, reconnect_endpoints;
  // storm: sessions dropped and back, from the first drop to the last return
  std::uint64_t dropped = 0, reconnected = 0;
  Clock::time_point first_drop, last_return;
  std::function<void()> on_all_back;
  std::vector<SSL_SESSION*> sessions;  // --tls-resume: by connection index
  std::string payload;
  bool measuring = false;
  bool stopping = false;
  Clock::time_point measure_start, measure_end;
  double cpu_start = 0, cpu_end = 0;
  std::uint64_t messages = 0, bytes = 0, errors = 0, established = 0, resumed = 0;
  std::vector<std::uint64_t> latencies_ns;
  std::vector<std::string> error_samples;

  void error(const std::string& what) {
    ++errors;
    if (error_samples.size() < 5) error_samples.push_back(what);
  }
  void record(Clock::time_point sent, std::size_t n) {
    if (!measuring) return;
    ++messages;
    bytes += n;
    latencies_ns.push_back(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - sent).count()));
  }
};

template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(Run& run, int index, Clock::time_point dropped_at = {})
      : run_(run), index_(index), ws_(make_stream(run)), dropped_at_(dropped_at) {}

  void start() {
    started_ = Clock::now();
    auto& socket = beast::get_lowest_layer(ws_).socket();
    beast::error_code ec;
    if (run_.opt.sources > 1) {
      // Several loopback sources widen the 4-tuple space past one address's ephemeral ports.
      const auto source = asio::ip::make_address_v4(0x7F000001u + static_cast<unsigned>(index_ % run_.opt.sources));
      socket.open(tcp::v4(), ec);
      socket.bind({source, 0}, ec);
    }
    beast::get_lowest_layer(ws_).async_connect(
        reconnecting() ? run_.reconnect_endpoints : run_.endpoints, [self = this->shared_from_this()](beast::error_code cec, const tcp::endpoint&) {
          if (cec) return self->fail("connect", cec);
          beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true));
          self->tls_handshake();
        });
  }

 private:
  static Stream make_stream(Run& run) {
    if constexpr (std::is_same_v<Stream, websocket::stream<beast::tcp_stream>>) return Stream(run.io);
    else return Stream(run.io, run.tls);
  }

  // --tls-resume: each connection offers the session (ticket) its predecessor got.
  void save_session() {
    if constexpr (!std::is_same_v<Stream, websocket::stream<beast::tcp_stream>>) {
      if (!run_.opt.tls_resume) return;
      SSL_SESSION* session = SSL_get1_session(ws_.next_layer().native_handle());
      auto& slot = run_.sessions[static_cast<std::size_t>(index_)];
      if (slot) SSL_SESSION_free(slot);
      slot = session;
    }
  }

  void tls_handshake() {
    if constexpr (std::is_same_v<Stream, websocket::stream<beast::tcp_stream>>) {
      ws_handshake();
    } else {
      if (run_.opt.tls_resume && run_.sessions[static_cast<std::size_t>(index_)])
        SSL_set_session(ws_.next_layer().native_handle(), run_.sessions[static_cast<std::size_t>(index_)]);
      SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), target().host.c_str());
      ws_.next_layer().async_handshake(ssl::stream_base::client,
                                       [self = this->shared_from_this()](beast::error_code ec) {
                                         if (ec) return self->fail("tls", ec);
                                         if (SSL_session_reused(self->ws_.next_layer().native_handle()))
                                           ++self->run_.resumed;
                                         self->ws_handshake();
                                       });
    }
  }

  void ws_handshake() {
    ws_.read_message_max(64u << 20);
    ws_.auto_fragment(false);
    ws_.binary(run_.opt.binary);
    if (!run_.opt.headers.empty()) {
      ws_.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
        for (const auto& [name, value] : run_.opt.headers) req.set(name, value);
      }));
    }
    ws_.async_handshake(target().host + ":" + target().port, target().path,
                        [self = this->shared_from_this()](beast::error_code ec) {
                          if (ec) return self->fail("handshake", ec);
                          self->on_open();
                        });
  }

  void on_open() {
    ++run_.established;
    const auto& mode = run_.opt.mode;
    if (mode == "echo") return send_echo();
    if (mode == "open") {
      read_open();
      const auto interval = std::chrono::duration<double>(run_.opt.connections / run_.opt.rate);
      interval_ = std::chrono::duration_cast<Clock::duration>(interval);
      next_send_ = Clock::now() + interval_ * index_ / run_.opt.connections;
      return schedule_send();
    }
    if (mode == "upgrade") return close_for_upgrade();
    if (reconnecting()) {  // storm: this session is back
      run_.latencies_ns.push_back(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - dropped_at_).count()));
      run_.last_return = Clock::now();
      if (++run_.reconnected == static_cast<std::uint64_t>(run_.opt.connections) && run_.on_all_back)
        run_.on_all_back();
    }
    hold();  // idle: a pending read answers pings and notices a close
  }

  // Closed loop: the next message leaves when the echo of the last one is back.
  void send_echo() {
    if (run_.stopping) return;
    sent_at_ = Clock::now();
    ws_.async_write(asio::buffer(run_.payload), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail("write", ec);
      self->ws_.async_read(self->buffer_, [self](beast::error_code rec, std::size_t n) {
        if (rec) return self->fail("read", rec);
        self->run_.record(self->sent_at_, n);
        self->buffer_.clear();
        self->send_echo();
      });
    });
  }

  // Open loop: messages leave on a schedule whatever the echoes do; latency counts from the
  // scheduled time, so a stall is charged to every message it delays.
  void schedule_send() {
    if (run_.stopping) return;
    timer_.expires_at(next_send_);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->scheduled_.push_back(self->next_send_);
      ++self->unsent_;
      self->next_send_ += self->interval_;
      self->write_open();
      self->schedule_send();
    });
  }

  void write_open() {
    if (writing_ || unsent_ == 0 || run_.stopping) return;
    writing_ = true;
    --unsent_;
    ws_.async_write(asio::buffer(run_.payload), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->fail("write", ec);
      self->write_open();
    });
  }

  void read_open() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->fail("read", ec);
      if (!self->scheduled_.empty()) {
        self->run_.record(self->scheduled_.front(), n);
        self->scheduled_.pop_front();
      }
      self->buffer_.clear();
      self->read_open();
    });
  }

  void close_for_upgrade() {
    ws_.async_close(websocket::close_code::normal, [self = this->shared_from_this()](beast::error_code ec) {
      // Over TLS, a server that closed the connection once the close frames were exchanged makes
      // the client's close_notify fail: the WebSocket close itself completed.
      if (ec && !(self->run_.target.tls && self->ws_.reason().code != websocket::close_code::none))
        return self->fail("close", ec);
      self->save_session();
      self->run_.record(self->started_, 0);
      if (self->run_.stopping) return;
      std::make_shared<Connection>(self->run_, self->index_)->start();
    });
  }

  void hold() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec && self->run_.opt.mode == "storm" && !self->run_.stopping) return self->dropped();
      if (ec) return self->fail("held session ended", ec);
      self->buffer_.clear();
      self->hold();
    });
  }

  // storm: the session dropped; a new one starts at once, counted from now until it is open.
  void dropped() {
    const auto now = Clock::now();
    if (run_.dropped++ == 0) {
      run_.first_drop = now;
      run_.cpu_start = cpu_seconds(run_.opt.cpu_pid);
    }
    std::make_shared<Connection>(run_, index_, now)->start();
  }

  bool reconnecting() const { return dropped_at_ != Clock::time_point{}; }
  const Target& target() const { return reconnecting() ? run_.reconnect_target : run_.target; }

  void fail(const char* what, beast::error_code ec) {
    if (run_.stopping) return;
    run_.error(std::string(what) + ": " + ec.message());
    if (reconnecting()) {  // storm: a failed reconnect is counted and tried again shortly
      auto next = std::make_shared<Connection>(run_, index_, dropped_at_);
      auto pause = std::make_shared<asio::steady_timer>(run_.io, std::chrono::milliseconds(10));
      pause->async_wait([next, pause](beast::error_code) { next->start(); });
      return;
    }
    // Keep the load up: a failed connection is replaced after a pause (so a dead target is not
    // hammered in a tight loop); idle mode counts it and moves on.
    if (run_.opt.mode != "idle") {
      auto next = std::make_shared<Connection>(run_, index_);
      auto pause = std::make_shared<asio::steady_timer>(run_.io, std::chrono::milliseconds(10));
      pause->async_wait([next, pause](beast::error_code) { next->start(); });
    }
  }

  Run& run_;
  int index_;
  Stream ws_;
  beast::flat_buffer buffer_;
  asio::steady_timer timer_{run_.io};
  Clock::time_point dropped_at_;  // storm: when the session this one replaces dropped
  Clock::time_point started_, sent_at_, next_send_;
  Clock::duration interval_{};
  std::deque<Clock::time_point> scheduled_;
  std::size_t unsent_ = 0;
  bool writing_ = false;
};

using PlainConnection = Connection<websocket::stream<beast::tcp_stream>>;
using TlsConnection = Connection<websocket::stream<beast::ssl_stream<beast::tcp_stream>>>;

void start_connection(Run& run, int index) {
  if (run.target.tls) std::make_shared<TlsConnection>(run, index)->start();
  else std::make_shared<PlainConnection>(run, index)->start();
}

double percentile_us(std::vector<std::uint64_t>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  }
  return out;
}

void print_result(Run& run) {
  const double secs = std::chrono::duration<double>(run.measure_end - run.measure_start).count();
  const double cpu = run.cpu_end - run.cpu_start;
  auto& lat = run.latencies_ns;
  std::printf(
      "{\"mode\":\"%s\",\"url\":\"%s\",\"connections\":%d,\"size\":%zu,\"seconds\":%.3f,"
      "\"messages\":%llu,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"p50_us\":%.1f,\"p90_us\":%.1f,"
      "\"p99_us\":%.1f,\"p999_us\":%.1f,\"errors\":%llu,\"established\":%llu,"
      "\"cpu_pid\":%d,\"cpu_s\":%.3f,\"cpu_us_per_msg\":%.3f,\"tls_resumed\":%llu,\"error_samples\":[",
      run.opt.mode.c_str(), json_escape(run.opt.url).c_str(), run.opt.connections, run.opt.size,
      secs, static_cast<unsigned long long>(run.messages),
      secs > 0 ? static_cast<double>(run.messages) / secs : 0.0,
      secs > 0 ? static_cast<double>(run.bytes) / secs / 1e6 : 0.0, percentile_us(lat, 0.5),
      percentile_us(lat, 0.9), percentile_us(lat, 0.99), percentile_us(lat, 0.999),
      static_cast<unsigned long long>(run.errors), static_cast<unsigned long long>(run.established),
      run.opt.cpu_pid, cpu,
      run.messages ? cpu * 1e6 / static_cast<double>(run.messages) : 0.0,
      static_cast<unsigned long long>(run.resumed));
  for (std::size_t i = 0; i < run.error_samples.size(); ++i)
    std::printf("%s\"%s\"", i ? "," : "", json_escape(run.error_samples[i]).c_str());
  std::printf("]}\n");
  std::fflush(stdout);
}

// storm: how long until every dropped session was back, what the proxy spent on it, how long each
// reconnect took (from its drop to its open, failed attempts included) and how many attempts failed.
void print_storm(Run& run) {
  const double recovery = run.reconnected ? std::chrono::duration<double>(run.last_return - run.first_drop).count() : 0;
  auto& lat = run.latencies_ns;
  std::printf(
      "{\"mode\":\"storm\",\"connections\":%d,\"dropped\":%llu,\"reconnected\":%llu,\"recovered\":%s,"
      "\"recovery_s\":%.3f,\"cpu_s\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"errors\":%llu,"
      "\"error_samples\":[",
      run.opt.connections, static_cast<unsigned long long>(run.dropped),
      static_cast<unsigned long long>(run.reconnected),
      run.reconnected == static_cast<std::uint64_t>(run.opt.connections) ? "true" : "false", recovery,
      run.cpu_end - run.cpu_start, percentile_us(lat, 0.5), percentile_us(lat, 0.99), percentile_us(lat, 1.0),
      static_cast<unsigned long long>(run.errors));
  for (std::size_t i = 0; i < run.error_samples.size(); ++i)
    std::printf("%s\"%s\"", i ? "," : "", json_escape(run.error_samples[i]).c_str());
  std::printf("]}\n");
  std::fflush(stdout);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
      return argv[++i];
    };
    if (a == "--mode") o.mode = value();
    else if (a == "--url") o.url = value();
    else if (a == "--reconnect-url") o.reconnect_url = value();
    else if (a == "--tls-resume") o.tls_resume = true;
    else if (a == "--tls-version") o.tls_version = value();
    else if (a == "--connections") o.connections = std::stoi(value());
    else if (a == "--size") o.size = std::stoul(value());
    else if (a == "--binary") o.binary = true;
    else if (a == "--duration") o.duration = std::stod(value());
    else if (a == "--warmup") o.warmup = std::stod(value());
    else if (a == "--rate") o.rate = std::stod(value());
    else if (a == "--sources") o.sources = std::stoi(value());
    else if (a == "--cpu-pid") o.cpu_pid = std::stoi(value());
    else if (a == "--concurrency") o.concurrency = std::stoi(value());
    else if (a == "--header") {
      const std::string h = value();
      const auto colon = h.find(':');
      if (colon == std::string::npos) throw std::runtime_error("--header takes NAME: VALUE");
      o.headers.emplace_back(h.substr(0, colon), h.substr(h.find_first_not_of(' ', colon + 1)));
    }
    else throw std::runtime_error("unknown option " + a);
  }
  if (o.mode != "echo" && o.mode != "open" && o.mode != "upgrade" && o.mode != "idle" && o.mode != "storm")
    throw std::runtime_error("--mode must be echo, open, upgrade, idle or storm");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  try {
    run.opt = parse_options(argc, argv);
    run.target = parse_url(run.opt.url);
    run.reconnect_target = parse_url(run.opt.reconnect_url.empty() ? run.opt.url : run.opt.reconnect_url);
  } catch (const std::exception& e) {
    std::cerr << "wsbench: " << e.what() << "\n"
              << "usage: wsbench --url ws[s]://HOST:PORT/PATH [--mode echo|open|upgrade|idle|storm]\n"
                 "         [--connections N] [--size BYTES] [--binary] [--duration S] [--warmup S]\n"
                 "         [--rate MSGS_PER_S] [--sources N] [--cpu-pid PID] [--concurrency N]\n"
                 "         [--reconnect-url URL] [--tls-resume] [--tls-version 1.2|1.3]\n"
                 "         [--header 'NAME: VALUE']...\n";
    return 2;
  }
  run.tls.set_verify_mode(ssl::verify_none);  // a benchmark of the relay, not of PKI
  run.sessions.assign(static_cast<std::size_t>(run.opt.connections), nullptr);
  if (run.opt.tls_resume)  // a client cache, so that OpenSSL keeps the tickets it is given
    SSL_CTX_set_session_cache_mode(run.tls.native_handle(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  if (run.opt.tls_version == "1.2") SSL_CTX_set_max_proto_version(run.tls.native_handle(), TLS1_2_VERSION);
  if (run.opt.tls_version == "1.3") SSL_CTX_set_min_proto_version(run.tls.native_handle(), TLS1_3_VERSION);
  tcp::resolver resolver(run.io);
  run.endpoints = resolver.resolve(run.target.host, run.target.port);
  run.reconnect_endpoints = resolver.resolve(run.reconnect_target.host, run.reconnect_target.port);
  run.payload.assign(run.opt.size, 'x');

  if (run.opt.mode == "idle" || run.opt.mode == "storm") {
    // Open sessions a window at a time, report when all are up, hold, then report again.
    int next = 0;
    std::function<void()> ramp = [&] {
      while (next < run.opt.connections &&
             static_cast<std::uint64_t>(next) < run.established + run.errors + static_cast<std::uint64_t>(run.opt.concurrency))
        start_connection(run, next++);
    };
    asio::steady_timer poll(run.io);
    std::function<void(beast::error_code)> tick = [&](beast::error_code) {
      ramp();
      if (run.established + run.errors >= static_cast<std::uint64_t>(run.opt.connections)) {
        std::printf("{\"ready\":true,\"established\":%llu,\"errors\":%llu}\n",
                    static_cast<unsigned long long>(run.established),
                    static_cast<unsigned long long>(run.errors));
        std::fflush(stdout);
        run.measure_start = Clock::now();
        const auto end = [&] {
          run.measure_end = Clock::now();
          run.stopping = true;
          if (run.opt.mode == "storm") print_storm(run);
          else print_result(run);
          run.io.stop();
        };
        run.on_all_back = [&, end] {
          run.cpu_end = cpu_seconds(run.opt.cpu_pid);
          poll.cancel();
          end();
        };
        poll.expires_after(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(run.opt.duration)));
        poll.async_wait([&, end](beast::error_code ec) {
          if (ec) return;  // all back: already reported
          run.cpu_end = cpu_seconds(run.opt.cpu_pid);
          end();
        });
        return;
      }
      poll.expires_after(std::chrono::milliseconds(10));
      poll.async_wait(tick);
    };
    tick({});
    run.io.run();
    return 0;
  }

  for (int i = 0; i < run.opt.connections; ++i) start_connection(run, i);
  asio::steady_timer phase(run.io);
  phase.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(run.opt.warmup)));
  phase.async_wait([&](beast::error_code) {
    run.measuring = true;
    run.latencies_ns.reserve(1 << 20);
    run.measure_start = Clock::now();
    run.cpu_start = cpu_seconds(run.opt.cpu_pid);
    phase.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(run.opt.duration)));
    phase.async_wait([&](beast::error_code) {
      run.measuring = false;
      run.measure_end = Clock::now();
      run.cpu_end = cpu_seconds(run.opt.cpu_pid);
      run.stopping = true;
      print_result(run);
      run.io.stop();
    });
  });
  run.io.run();
  return 0;
}
