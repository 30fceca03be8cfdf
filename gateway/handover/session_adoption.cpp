#include "gateway/handover/session_adoption.hpp"

#include "gateway/log.hpp"
#include "gateway/proxy/listener.hpp"
#include "gateway/proxy/frame_relay.hpp"
#include "memory/recycled_memory.hpp"
#include "handover/session_record.hpp"
#include "websocket/frame_codec.hpp"

#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

namespace wsgate::gateway {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

bool wrap(asio::io_context& io, int fd, tcp::socket& out, std::string& error) {
  const auto protocol = Listener::protocol_of(fd);
  if (!protocol) {
    error = "a handed-over descriptor is not a TCP socket";
    return false;
  }
  int type = 0;
  socklen_t type_len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM) {
    error = "a handed-over descriptor is not a stream socket";
    return false;
  }
  out = tcp::socket(io);
  boost::system::error_code ec;
  // Assigned, not marked fresh: the previous process still holds the socket, so closing it here
  // must take it out of epoll explicitly.
  out.assign(*protocol, fd, ec);
  if (!ec) out.non_blocking(true, ec);
  if (ec) {
    error = ec.message();
    return false;
  }
  return true;
}

// The route or the backend is gone: the session ends the way a reload ends it, 1012 to the client
// so it reconnects to its new home, 1001 to the backend; then FIN to both. Whatever was still
// unsent goes first, so the close lands at a frame boundary.
void close_orphan(tcp::socket client, tcp::socket backend, const handover::SessionRecord& r) {
  std::array<std::uint8_t, 4> mask{};
  RAND_bytes(mask.data(), static_cast<int>(mask.size()));
  const std::string to_client = r.down.unsent + ws::encode_close_frame(ws::close_code::service_restart,
                                                                        "route or backend removed, reconnect");
  const std::string to_backend = r.up.unsent + ws::encode_close_frame(ws::close_code::going_away, "gateway upgraded", mask);
  boost::system::error_code ec;
  client.non_blocking(false, ec);  // a few bytes; small socket buffers take them at once
  backend.non_blocking(false, ec);
  ::send(client.native_handle(), to_client.data(), to_client.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::send(backend.native_handle(), to_backend.data(), to_backend.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  client.shutdown(tcp::socket::shutdown_send, ec);
  backend.shutdown(tcp::socket::shutdown_send, ec);
  client.close(ec);
  backend.close(ec);
}

}  // namespace

Adoption adopt_session(std::string_view bytes, int client_fd, int backend_fd,
                       const std::shared_ptr<const Runtime>& runtime, SessionRegistry& registry,
                       asio::io_context& io) {
  Adoption a;
  auto record = handover::decode(bytes, a.error);
  tcp::socket client(io), backend(io);
  if (record) a.id = record->id;
  if (!record || !wrap(io, client_fd, client, a.error) || !wrap(io, backend_fd, backend, a.error)) {
    if (!client.is_open() && client_fd >= 0) ::close(client_fd);
    if (!backend.is_open() && backend_fd >= 0) ::close(backend_fd);
    boost::system::error_code ec;
    client.close(ec);
    backend.close(ec);
    if (a.error.empty()) a.error = "bad record";
    return a;
  }
  const auto& routes = runtime->routes;
  std::size_t route = routes.size(), backend_index = 0;
  for (std::size_t i = 0; i < routes.size(); ++i)
    if (routes[i].config->name == record->route) route = i;
  bool found = false;
  if (route < routes.size()) {
    const auto& backends = routes[route].config->backends;
    for (std::size_t b = 0; b < backends.size() && !found; ++b)
      if (backends[b].url == record->backend_url) {
        backend_index = b;
        found = true;
      }
  }
  if (!found) {
    a.closed = true;
    auto state = std::make_shared<handover::SessionRecord>(std::move(*record));
    auto c = std::make_shared<tcp::socket>(std::move(client));
    auto b = std::make_shared<tcp::socket>(std::move(backend));
    a.go = [state, c, b] {
      log::info("session_adopted_closed", {{"route", state->route}, {"backend", state->backend_url},
                                           {"client", state->client_ip}, {"previous", state->id}});
      close_orphan(std::move(*c), std::move(*b), *state);
    };
    return a;
  }
  const RouteRuntime& rr = routes[route];
  FrameRelay::Params p;
  p.runtime = runtime;
  p.route = route;
  p.backend = backend_index;
  p.deflate = record->deflate;
  p.client_ip = record->client_ip;
  if (rr.config->close_at_expiry) p.expires_at_unix = record->expires_at_unix;
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
  // Counted under its key as before; a cap is not applied to a session that exists already.
  if (rr.limiter && record->has_limit_key)
    if (auto slot = rr.limiter->open_session(record->limit_key, 0, now_ns)) p.slot = std::move(*slot);
  if (!record->lease_key.empty()) {
    if (rr.redis) p.lease = std::make_unique<RedisLease>(rr.redis->adopt_lease(record->lease_key, record->lease_member));
  }
  p.charge = rr.picker->charged(backend_index).charge;
  p.key_hash = record->key_hash;
  // The key stays bound to its backend here too (the table is this process's, empty at its start):
  // the key's next upgrade follows the session even when bounded loads would now pick another.
  if (rr.affinity && record->key_hash != 0) {
    rr.affinity->bind(record->key_hash, rr.backend_ids[backend_index], std::chrono::steady_clock::now());
    p.affinity = routing::AffinityHold(rr.affinity, record->key_hash);
  }
  p.counts_connection = false;
  for (std::size_t l = 0; l < runtime->config.listeners.size(); ++l)
    if (!record->listener.empty() && runtime->config.listeners[l].name == record->listener) {
      p.listener = l;
      p.counts_connection = true;
    }
  auto relay = std::allocate_shared<FrameRelay>(memory::recycling_allocator<FrameRelay>(), Transport(std::move(client)),
                                                Transport(std::move(backend)), std::move(p), registry);
  auto state = std::make_shared<handover::SessionRecord>(std::move(*record));
  a.go = [relay, state] { relay->resume(*state); };
  return a;
}

}  // namespace wsgate::gateway
