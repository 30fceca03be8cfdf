#include "gateway/control/dns_resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <algorithm>
#include <mutex>

namespace wsgate::gateway {

namespace asio = boost::asio;

namespace {

discovery::Outcome outcome_of(int status) {
  switch (status) {
    case ARES_SUCCESS: return discovery::Outcome::ok;
    case ARES_ETIMEOUT: return discovery::Outcome::timeout;
    case ARES_ESERVFAIL: return discovery::Outcome::servfail;
    case ARES_ENOTFOUND: return discovery::Outcome::nxdomain;
    case ARES_EREFUSED: return discovery::Outcome::refused;
    default: return discovery::Outcome::other;  // ENODATA among them: the last good set stays
  }
}

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

}  // namespace

// One socket c-ares opened: watched for what c-ares asked, never closed by us (c-ares closes it).
struct DnsResolver::Watch {
  Watch(asio::io_context& io, int socket) : descriptor(io, socket), fd(socket) {}
  asio::posix::stream_descriptor descriptor;
  int fd;
  bool read = false, write = false;
  bool reading = false, writing = false;
};

DnsResolver::DnsResolver(asio::io_context& control, const std::vector<config::HostPort>& nameservers,
                         std::chrono::milliseconds timeout, std::string& error)
    : io_(control), timer_(control) {
  init_library();
  ares_options options{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  options.sock_state_cb = &DnsResolver::on_socket_state;
  options.sock_state_cb_data = this;
  // One try within the whole timeout: a lookup that takes longer counts as failed and is retried
  // with backoff by its watcher, which keeps the last good set meanwhile.
  options.timeout = static_cast<int>(timeout.count());
  options.tries = 1;
  if (int status = ares_init_options(&channel_, &options, mask); status != ARES_SUCCESS) {
    error = std::string("c-ares: ") + ares_strerror(status);
    channel_ = nullptr;
    return;
  }
  if (!nameservers.empty()) {
    std::string csv;
    for (const auto& ns : nameservers) {
      if (!csv.empty()) csv += ",";
      const bool v6 = ns.host.find(':') != std::string::npos;
      csv += (v6 ? "[" + ns.host + "]" : ns.host) + ":" + std::to_string(ns.port);
    }
    if (int status = ares_set_servers_ports_csv(channel_, csv.c_str()); status != ARES_SUCCESS)
      error = std::string("c-ares name servers: ") + ares_strerror(status);
  }
}

DnsResolver::~DnsResolver() {
  *alive_ = false;
  timer_.cancel();
  for (auto& [fd, w] : sockets_) {
    boost::system::error_code ec;
    w->descriptor.cancel(ec);
    w->descriptor.release();  // c-ares owns the descriptor and closes it in ares_destroy
  }
  sockets_.clear();
  // Outstanding lookups end with ARES_EDESTRUCTION; their callbacks see alive_ false.
  if (channel_) ares_destroy(channel_);
}

void DnsResolver::on_socket_state(void* self, int fd, int readable, int writable) {
  static_cast<DnsResolver*>(self)->socket_state(fd, readable != 0, writable != 0);
}

void DnsResolver::socket_state(int fd, bool readable, bool writable) {
  if (!readable && !writable) {
    auto it = sockets_.find(fd);
    if (it == sockets_.end()) return;
    boost::system::error_code ec;
    it->second->descriptor.cancel(ec);
    it->second->descriptor.release();
    sockets_.erase(it);
    return;
  }
  auto& w = sockets_[fd];
  if (!w) w = std::make_shared<Watch>(io_, fd);
  w->read = readable;
  w->write = writable;
  arm(*w);
}

void DnsResolver::arm(Watch& w) {
  if (w.read && !w.reading) wait(w, false);
  if (w.write && !w.writing) wait(w, true);
}

// One readiness wait of a c-ares socket; c-ares then reads or writes it itself.
void DnsResolver::wait(Watch& w, bool write) {
  (write ? w.writing : w.reading) = true;
  const int fd = w.fd;
  w.descriptor.async_wait(
      write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read,
      [this, weak = std::weak_ptr<bool>(alive_), fd, write](boost::system::error_code ec) {
        if (weak.expired() || ec == asio::error::operation_aborted) return;
        auto it = sockets_.find(fd);
        if (it == sockets_.end()) return;
        auto keep = it->second;
        (write ? keep->writing : keep->reading) = false;
        ares_process_fd(channel_, write ? ARES_SOCKET_BAD : fd, write ? fd : ARES_SOCKET_BAD);
        // c-ares may have closed the socket meanwhile, and the number may be another's now.
        if (auto again = sockets_.find(fd); again != sockets_.end() && again->second == keep) arm(*keep);
        schedule_timeout();
      });
}

// c-ares' own deadline for its outstanding queries, as one timer.
void DnsResolver::schedule_timeout() {
  if (!channel_) return;
  timeval tv{};
  if (!ares_timeout(channel_, nullptr, &tv)) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
  timer_.async_wait([this, weak = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || weak.expired()) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    schedule_timeout();
  });
}

void DnsResolver::lookup_addresses(const std::string& name, std::function<void(Addresses)> done) {
  if (!channel_) return done(Addresses{});
  struct Call {
    std::function<void(Addresses)> done;
    std::weak_ptr<bool> alive;
  };
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;  // A and AAAA
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_NOSORT;
  auto* call = new Call{std::move(done), alive_};
  ares_getaddrinfo(
      channel_, name.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* result) {
        std::unique_ptr<Call> owned(static_cast<Call*>(arg));
        Addresses out;
        out.outcome = outcome_of(status);
        if (status == ARES_SUCCESS && result) {
          int ttl = -1;
          for (auto* node = result->nodes; node; node = node->ai_next) {
            char text[INET6_ADDRSTRLEN] = {};
            if (node->ai_family == AF_INET)
              inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(node->ai_addr)->sin_addr, text, sizeof text);
            else if (node->ai_family == AF_INET6)
              inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(node->ai_addr)->sin6_addr, text, sizeof text);
            else
              continue;
            out.addresses.emplace_back(text);
            ttl = ttl < 0 ? node->ai_ttl : std::min(ttl, node->ai_ttl);
          }
          out.ttl = std::chrono::seconds(std::max(ttl, 0));
          if (out.addresses.empty()) out.outcome = discovery::Outcome::other;
        }
        if (result) ares_freeaddrinfo(result);
        if (status == ARES_EDESTRUCTION || owned->alive.expired()) return;
        owned->done(std::move(out));
      },
      call);
  schedule_timeout();
}

void DnsResolver::lookup_services(const std::string& name, std::function<void(Services)> done) {
  if (!channel_) return done(Services{});
  struct Call {
    std::function<void(Services)> done;
    std::weak_ptr<bool> alive;
  };
  auto* call = new Call{std::move(done), alive_};
  ares_query(
      channel_, name.c_str(), ns_c_in, ns_t_srv,
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        std::unique_ptr<Call> owned(static_cast<Call*>(arg));
        Services out;
        out.outcome = outcome_of(status);
        if (status == ARES_SUCCESS) {
          ares_srv_reply* reply = nullptr;
          // c-ares parses the answer; wsgate never reads DNS wire bytes itself.
          const int parsed = ares_parse_srv_reply(abuf, alen, &reply);
          out.outcome = outcome_of(parsed);
          for (auto* r = reply; r; r = r->next)
            if (r->host && r->port != 0) out.records.push_back({r->host, r->port, r->priority, r->weight});
          if (reply) ares_free_data(reply);
          if (out.outcome == discovery::Outcome::ok && out.records.empty()) out.outcome = discovery::Outcome::other;
        }
        if (status == ARES_EDESTRUCTION || owned->alive.expired()) return;
        owned->done(std::move(out));
      },
      call);
  schedule_timeout();
}

}  // namespace wsgate::gateway
