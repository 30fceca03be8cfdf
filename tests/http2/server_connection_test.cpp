#include "http2/server_connection.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wsgate::http2 {
namespace {

using Clock = ServerConnection::Clock;

// What the connection told the gateway.
struct Recorder : StreamEvents {
  std::map<std::int32_t, RequestHead> heads;
  std::map<std::int32_t, std::string> data;
  std::vector<std::int32_t> ended, room;
  std::map<std::int32_t, std::uint32_t> closed;
  ServerConnection* connection = nullptr;
  bool answer_websockets = false;  // respond 200 from inside on_head, as the gateway may

  void on_head(std::int32_t stream, RequestHead head) override {
    heads[stream] = std::move(head);
    if (answer_websockets) connection->respond(stream, 200, {}, false);
  }
  void on_data(std::int32_t stream, const std::uint8_t* d, std::size_t n) override {
    data[stream].append(reinterpret_cast<const char*>(d), n);
  }
  void on_client_end(std::int32_t stream) override { ended.push_back(stream); }
  void on_stream_closed(std::int32_t stream, std::uint32_t code) override { closed[stream] = code; }
  void on_send_room(std::int32_t stream) override { room.push_back(stream); }
};

// A real HTTP/2 client (nghttp2's client session) talking to the connection in memory.
struct Client {
  nghttp2_session* session = nullptr;
  std::map<std::int32_t, std::map<std::string, std::string>> response;
  std::map<std::int32_t, std::string> body;
  std::map<std::int32_t, std::uint32_t> reset;  // RST_STREAM received, by stream
  std::vector<std::int32_t> ended;
  std::uint32_t goaway_code = ~0u;
  std::int32_t goaway_last = -1;
  std::map<std::int32_t, std::string> to_send;  // request bodies, sent as the window allows
  std::map<std::int32_t, bool> end_after;

  Client() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n, std::size_t nl, const std::uint8_t* v,
               std::size_t vl, std::uint8_t, void* u) {
          static_cast<Client*>(u)->response[f->hd.stream_id][std::string(reinterpret_cast<const char*>(n), nl)] =
              std::string(reinterpret_cast<const char*>(v), vl);
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* d, std::size_t n, void* u) {
          static_cast<Client*>(u)->body[id].append(reinterpret_cast<const char*>(d), n);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
      auto* c = static_cast<Client*>(u);
      if (f->hd.type == NGHTTP2_GOAWAY) {
        c->goaway_code = f->goaway.error_code;
        c->goaway_last = f->goaway.last_stream_id;
      }
      if (f->hd.type == NGHTTP2_RST_STREAM) c->reset[f->hd.stream_id] = f->rst_stream.error_code;
      if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        c->ended.push_back(f->hd.stream_id);
      return 0;
    });
    nghttp2_session_client_new(&session, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Client() { nghttp2_session_del(session); }

  std::string output() {
    std::string out;
    const std::uint8_t* p = nullptr;
    for (ssize_t n; (n = nghttp2_session_mem_send(session, &p)) > 0;) out.append(reinterpret_cast<const char*>(p), n);
    return out;
  }
  void input(const std::string& bytes) {
    nghttp2_session_mem_recv(session, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t len, std::uint32_t* flags,
                           nghttp2_data_source*, void* u) {
    auto* c = static_cast<Client*>(u);
    std::string& rest = c->to_send[id];
    if (rest.empty()) {
      if (c->end_after[id]) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
      }
      return NGHTTP2_ERR_DEFERRED;
    }
    const std::size_t n = std::min(len, rest.size());
    std::memcpy(buf, rest.data(), n);
    rest.erase(0, n);
    if (rest.empty() && c->end_after[id]) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  std::int32_t open(std::vector<std::pair<std::string, std::string>> fields, bool with_body = true) {
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : fields)
      nva.push_back({reinterpret_cast<std::uint8_t*>(n.data()), reinterpret_cast<std::uint8_t*>(v.data()), n.size(),
                     v.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider provider{};
    provider.read_callback = &Client::read_body;
    return nghttp2_submit_request(session, nullptr, nva.data(), nva.size(), with_body ? &provider : nullptr, this);
  }
  std::int32_t open_websocket(const std::string& path = "/chat") {
    return open({{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"},
                 {":authority", "example.com"}, {":path", path}, {"sec-websocket-version", "13"}});
  }
  void send(std::int32_t id, const std::string& bytes, bool end = false) {
    to_send[id] += bytes;
    end_after[id] = end;
    nghttp2_session_resume_data(session, id);
  }
};

class ServerConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override { make({}); }
  void make(const ConnectionLimits& limits) {
    server.reset();
    server = std::make_unique<ServerConnection>(limits, events);
    events.connection = server.get();
  }
  // Moves bytes both ways until neither side has anything to say.
  void pump() {
    for (int i = 0; i < 1000; ++i) {
      const std::string up = client.output();
      if (!up.empty()) alive = server->receive(reinterpret_cast<const std::uint8_t*>(up.data()), up.size(), now) && alive;
      std::string down;
      server->take_output(down, 1 << 20);
      if (!down.empty()) client.input(down);
      if (up.empty() && down.empty()) return;
    }
    FAIL() << "the two sides never went quiet";
  }
  // Raw bytes, for what no well-behaved client sends.
  bool raw(const std::string& bytes) {
    return server->receive(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), now);
  }
  std::string server_output() {
    std::string out;
    server->take_output(out, 1 << 20);
    return out;
  }

  Recorder events;
  std::unique_ptr<ServerConnection> server;
  Client client;
  Clock::time_point now = Clock::now();
  bool alive = true;
};

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const std::string& payload) {
  std::string f;
  f += static_cast<char>(payload.size() >> 16);
  f += static_cast<char>(payload.size() >> 8);
  f += static_cast<char>(payload.size());
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  for (int shift : {24, 16, 8, 0}) f += static_cast<char>(stream >> shift);
  return f + payload;
}

const std::string kPreface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + frame(NGHTTP2_SETTINGS, 0, 0, "");

// HPACK (RFC 7541) by hand: an integer with an N-bit prefix, and a literal field.
std::string hpack_int(std::uint8_t first, int prefix_bits, std::size_t value) {
  const std::size_t max = (1u << prefix_bits) - 1;
  std::string out;
  if (value < max) return out + static_cast<char>(first | value);
  out += static_cast<char>(first | max);
  value -= max;
  for (; value >= 128; value /= 128) out += static_cast<char>(0x80 | (value % 128));
  return out + static_cast<char>(value);
}
std::string literal(std::uint8_t kind, const std::string& name, const std::string& value) {
  return hpack_int(kind, kind == 0x40 ? 6 : 4, 0) + hpack_int(0, 7, name.size()) + name + hpack_int(0, 7, value.size()) +
         value;
}
std::string websocket_head_block(const std::string& path = "/chat") {
  return literal(0, ":method", "CONNECT") + literal(0, ":protocol", "websocket") + literal(0, ":scheme", "https") +
         literal(0, ":authority", "example.com") + literal(0, ":path", path) + literal(0, "sec-websocket-version", "13");
}

TEST_F(ServerConnectionTest, WebsocketStreamCarriesDataBothWaysAndEnds) {
  pump();  // SETTINGS both ways: the client now knows it may send :protocol
  const auto id = client.open_websocket("/chat?room=1");
  ASSERT_GT(id, 0);
  pump();
  ASSERT_EQ(events.heads.count(id), 1u);
  const RequestHead& head = events.heads[id];
  EXPECT_TRUE(head.websocket());
  EXPECT_EQ(head.path, "/chat?room=1");
  EXPECT_EQ(head.authority, "example.com");
  EXPECT_FALSE(head.ends_stream);
  EXPECT_EQ(check_head(head), HeadProblem::none);

  // The backend's 101 becomes a 200; its hop-by-hop fields do not cross.
  server->respond(id, 200, {{"Sec-WebSocket-Protocol", "chat"}, {"Connection", "Upgrade"}, {"Upgrade", "websocket"}},
                  false);
  client.send(id, "\x81\x85mask!hello");
  pump();
  EXPECT_EQ(client.response[id][":status"], "200");
  EXPECT_EQ(client.response[id]["sec-websocket-protocol"], "chat");
  EXPECT_EQ(client.response[id].count("connection"), 0u);
  EXPECT_EQ(events.data[id], "\x81\x85mask!hello");

  EXPECT_TRUE(server->send_data(id, reinterpret_cast<const std::uint8_t*>("\x81\x02hi"), 4));
  pump();
  EXPECT_EQ(client.body[id], "\x81\x02hi");

  client.send(id, "", true);  // the client's END_STREAM: its side is done, as a TCP FIN
  pump();
  EXPECT_EQ(events.ended, std::vector<std::int32_t>{id});
  server->end_stream(id);
  pump();
  EXPECT_EQ(events.closed.count(id), 1u);
  EXPECT_EQ(events.closed[id], NGHTTP2_NO_ERROR);
  EXPECT_EQ(server->open_streams(), 0u);
  EXPECT_TRUE(alive);
}

TEST_F(ServerConnectionTest, AClientCannotSendMoreThanTheWindowUntilItsDataWentOn) {
  pump();
  events.answer_websockets = true;
  const auto id = client.open_websocket();
  client.send(id, std::string(200000, 'x'));
  pump();
  // Nothing consumed: the stream's window (64 KiB) is all the gateway holds for it.
  EXPECT_EQ(events.data[id].size(), 65536u);
  server->consumed(id, 65536);
  pump();
  EXPECT_EQ(events.data[id].size(), 131072u);
  server->consumed(id, 131072);
  pump();
  EXPECT_EQ(events.data[id].size(), 196608u);
}

TEST_F(ServerConnectionTest, AFullSendBufferSaysSoAndReportsRoomOnceDrained) {
  pump();
  events.answer_websockets = true;
  const auto id = client.open_websocket();
  pump();
  const std::string chunk(40000, 'y');
  const auto* p = reinterpret_cast<const std::uint8_t*>(chunk.data());
  EXPECT_TRUE(server->send_data(id, p, chunk.size()));
  EXPECT_FALSE(server->send_data(id, p, chunk.size()));  // 80,000 >= 65,536: stop reading the backend
  EXPECT_TRUE(events.room.empty());
  pump();  // the client's window (65,535) takes most, and its WINDOW_UPDATEs the rest
  EXPECT_EQ(client.body[id].size(), 80000u);
  EXPECT_EQ(events.room, std::vector<std::int32_t>{id});
}

TEST_F(ServerConnectionTest, AHeadOverTheListLimitGets431AndIsNotPassedOn) {
  ConnectionLimits limits;
  limits.max_header_list_size = 4096;
  make(limits);
  pump();
  const auto big = client.open({{":method", "GET"}, {":scheme", "https"}, {":authority", "example.com"},
                                {":path", "/"}, {"x-big", std::string(5000, 'a')}},
                               false);
  const auto fine = client.open({{":method", "GET"}, {":scheme", "https"}, {":authority", "example.com"},
                                 {":path", "/ok"}},
                                false);
  pump();
  EXPECT_EQ(client.response[big][":status"], "431");
  EXPECT_EQ(events.heads.count(big), 0u);
  EXPECT_EQ(events.heads.count(fine), 1u);
  EXPECT_EQ(server->stats().heads_too_large, 1u);
  EXPECT_EQ(server->stats().attack, Attack::none);
  EXPECT_TRUE(alive);
}

TEST_F(ServerConnectionTest, HpackBombEndsTheConnection) {
  ConnectionLimits limits;
  limits.max_header_list_size = 16384;
  make(limits);
  // One 4,000-byte field into the dynamic table, then 100 one-byte references to it: 105 bytes
  // that decode to 400 KB.
  std::string block = websocket_head_block() + literal(0x40, "x-bomb", std::string(4000, 'b'));
  for (int i = 0; i < 100; ++i) block += static_cast<char>(0x80 | 62);
  EXPECT_FALSE(raw(kPreface + frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, block)));
  EXPECT_EQ(server->stats().attack, Attack::hpack_bomb);
  client.input(server_output().substr(0));
  EXPECT_TRUE(events.heads.empty());
}

TEST_F(ServerConnectionTest, ContinuationFloodEndsTheConnection) {
  const std::string block = websocket_head_block();
  std::string bytes = kPreface + frame(NGHTTP2_HEADERS, 0, 1, block.substr(0, 10));
  for (int i = 0; i < 20; ++i) bytes += frame(NGHTTP2_CONTINUATION, 0, 1, "");
  EXPECT_FALSE(raw(bytes));
  EXPECT_EQ(server->stats().attack, Attack::continuation_flood);
  const std::string out = server_output();
  // Our own GOAWAY: ENHANCE_YOUR_CALM (0xb) in its last four bytes.
  ASSERT_GE(out.size(), 17u);
  EXPECT_EQ(out[out.size() - 17 + 3], static_cast<char>(NGHTTP2_GOAWAY));
  EXPECT_EQ(out.back(), '\x0b');
  EXPECT_TRUE(server->finished());
}

TEST_F(ServerConnectionTest, RapidResetEndsTheConnectionWithGoaway) {
  std::string bytes = kPreface;
  std::uint32_t id = 1;
  for (int i = 0; i < 150; ++i, id += 2)
    bytes += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, id, websocket_head_block()) +
             frame(NGHTTP2_RST_STREAM, 0, id, std::string("\0\0\0\x08", 4));  // CANCEL
  EXPECT_FALSE(raw(bytes));
  EXPECT_EQ(server->stats().attack, Attack::rapid_reset);
  client.input(server_output());
  EXPECT_EQ(client.goaway_code, NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_LE(events.heads.size(), 101u);  // the burst, and nothing after it
}

TEST_F(ServerConnectionTest, ResetsAtABrowsersPaceAreFine) {
  pump();
  for (int i = 0; i < 300; ++i) {
    now += std::chrono::milliseconds(200);  // 5 a second, under the 10 a second refill
    const auto id = client.open_websocket();
    pump();
    nghttp2_submit_rst_stream(client.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    pump();
    ASSERT_EQ(events.closed[id], NGHTTP2_CANCEL) << i;
  }
  EXPECT_TRUE(alive);
  EXPECT_EQ(server->stats().attack, Attack::none);
  EXPECT_EQ(server->stats().client_resets, 300u);
}

TEST_F(ServerConnectionTest, PingAndSettingsFloodsEndTheConnection) {
  for (std::uint8_t type : {NGHTTP2_PING, NGHTTP2_SETTINGS}) {
    make({});
    std::string bytes = kPreface;
    for (int i = 0; i < 200; ++i)
      bytes += frame(type, 0, 0, type == NGHTTP2_PING ? std::string(8, 'p') : std::string());
    EXPECT_FALSE(raw(bytes));
    EXPECT_EQ(server->stats().attack, Attack::control_flood) << int(type);
  }
  // An empty DATA frame flood on an open stream is the same.
  make({});
  events.answer_websockets = true;
  std::string bytes = kPreface + frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, websocket_head_block());
  for (int i = 0; i < 200; ++i) bytes += frame(NGHTTP2_DATA, 0, 1, "");
  EXPECT_FALSE(raw(bytes));
  EXPECT_EQ(server->stats().attack, Attack::control_flood);
}

TEST_F(ServerConnectionTest, PingsAtAKeepalivePaceAreFine) {
  pump();
  for (int i = 0; i < 500; ++i) {
    now += std::chrono::milliseconds(100);  // 10 a second, under the 20 a second refill
    nghttp2_submit_ping(client.session, NGHTTP2_FLAG_NONE, nullptr);
    pump();
  }
  EXPECT_TRUE(alive);
  EXPECT_EQ(server->stats().attack, Attack::none);
}

TEST_F(ServerConnectionTest, AStreamOverTheAcknowledgedConcurrentLimitEndsTheConnection) {
  ConnectionLimits limits;
  limits.max_concurrent_streams = 2;
  make(limits);
  pump();  // the client has acknowledged the limit
  events.answer_websockets = true;
  const auto a = client.open_websocket(), b = client.open_websocket();
  pump();
  EXPECT_EQ(events.heads.count(a) + events.heads.count(b), 2u);
  // The client's own session holds a third back while two are open; raw bytes do not.
  raw(frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 5, websocket_head_block()));
  client.input(server_output());
  EXPECT_TRUE(server->finished());
  EXPECT_EQ(events.heads.count(5), 0u);
  EXPECT_EQ(client.goaway_code, NGHTTP2_PROTOCOL_ERROR);
  EXPECT_EQ(server->stats().attack, Attack::protocol_error);
}

TEST_F(ServerConnectionTest, GoawayLetsOpenStreamsFinishAndTakesNoNewOnes) {
  pump();
  events.answer_websockets = true;
  const auto id = client.open_websocket();
  pump();
  server->go_away();
  pump();
  EXPECT_EQ(client.goaway_code, NGHTTP2_NO_ERROR);
  EXPECT_EQ(client.goaway_last, id);
  EXPECT_FALSE(server->finished());
  // The open stream still works.
  client.send(id, "after goaway");
  pump();
  EXPECT_EQ(events.data[id], "after goaway");
  // A stream the client opens past the GOAWAY's last id is not taken.
  raw(frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 7, websocket_head_block()));
  EXPECT_EQ(events.heads.count(7), 0u);
  server->end_stream(id);
  client.send(id, "", true);
  pump();
  EXPECT_TRUE(server->finished());
  EXPECT_EQ(server->stats().attack, Attack::none);
}

TEST_F(ServerConnectionTest, AClientResetClosesTheStreamAndGivesItsWindowBack) {
  pump();
  events.answer_websockets = true;
  const auto id = client.open_websocket();
  client.send(id, std::string(65536, 'z'));  // the whole stream window, never consumed
  pump();
  nghttp2_submit_rst_stream(client.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  pump();
  EXPECT_EQ(events.closed[id], NGHTTP2_CANCEL);
  EXPECT_EQ(server->open_streams(), 0u);
  // The connection's window came back: 16 more streams of 64 KiB (more than the 1 MiB window) go.
  for (int i = 0; i < 16; ++i) {
    const auto next = client.open_websocket();
    client.send(next, std::string(65536, 'w'));
    pump();
    ASSERT_EQ(events.data[next].size(), 65536u) << i;
    nghttp2_submit_rst_stream(client.session, NGHTTP2_FLAG_NONE, next, NGHTTP2_CANCEL);
    pump();
  }
}

TEST_F(ServerConnectionTest, GarbageInsteadOfAPrefaceIsAProtocolError) {
  EXPECT_FALSE(raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(server->stats().attack, Attack::protocol_error);
  EXPECT_FALSE(server_output().empty());
  EXPECT_TRUE(server->finished());
}

}  // namespace
}  // namespace wsgate::http2
