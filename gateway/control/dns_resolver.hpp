// DNS lookups on the control thread with c-ares: A and AAAA records (with their TTLs) and SRV
// records, against the configured name servers or /etc/resolv.conf. Nothing blocks: c-ares'
// sockets are watched by the control thread's io_context, its timeouts by a timer.
#pragma once

#include "config/config_values.hpp"
#include "discovery/name_watch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct ares_channeldata;

namespace wsgate::gateway {

class DnsResolver {
 public:
  struct Addresses {
    discovery::Outcome outcome = discovery::Outcome::other;
    std::vector<std::string> addresses;  // IP literals, A and AAAA together
    std::chrono::seconds ttl{0};          // the smallest of the records'
  };
  struct SrvRecord {
    std::string target;
    std::uint16_t port = 0;
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
  };
  struct Services {
    discovery::Outcome outcome = discovery::Outcome::other;
    std::vector<SrvRecord> records;
  };

  // `error` is set, and every lookup fails, when c-ares cannot start (no resolv.conf and no servers).
  DnsResolver(boost::asio::io_context& control, const std::vector<config::HostPort>& nameservers,
              std::chrono::milliseconds timeout, std::string& error);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  void lookup_addresses(const std::string& name, std::function<void(Addresses)> done);
  void lookup_services(const std::string& name, std::function<void(Services)> done);

 private:
  struct Watch;
  static void on_socket_state(void* self, int fd, int readable, int writable);
  void socket_state(int fd, bool readable, bool writable);
  void arm(Watch& w);
  void wait(Watch& w, bool write);
  void schedule_timeout();

  boost::asio::io_context& io_;
  ares_channeldata* channel_ = nullptr;
  boost::asio::steady_timer timer_;
  std::map<int, std::shared_ptr<Watch>> sockets_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wsgate::gateway
