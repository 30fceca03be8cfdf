// One discovered backend name's state between DNS answers: the last good set of endpoints, when
// to ask again (refresh, the records' TTL, backoff after a failure) and whether an outage is news.
// Socket-free: the resolver on the control thread feeds it answers and failures with the time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::discovery {

using Clock = std::chrono::steady_clock;

// One backend a name stands for: an address (an IP literal, never a name) and port, with the
// SRV record's weight (1 for an A or AAAA record).
struct Endpoint {
  std::string address;
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
  std::string name;  // the name whose record gave the address: TLS server name, health check Host
  bool operator==(const Endpoint&) const = default;
  auto operator<=>(const Endpoint&) const = default;
};

// How a lookup went. Only `ok` replaces the set; every other outcome keeps the last good one.
enum class Outcome : std::uint8_t { ok, timeout, servfail, nxdomain, refused, other };
inline constexpr std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::timeout: return "timeout";
    case Outcome::servfail: return "servfail";
    case Outcome::nxdomain: return "nxdomain";
    case Outcome::refused: return "refused";
    case Outcome::other: return "other";
  }
  return "other";
}

struct WatchSettings {
  Clock::duration refresh = std::chrono::seconds(5);
  bool respect_ttl = false;  // ask again at the records' TTL, never sooner than `refresh`
  std::size_t max_backends = 64;  // endpoints kept per name, the first in address order
};

// The identity of a discovered backend: "ws://10.1.2.3:9000", "wss://[fd00::1]:443". What hashing,
// cookies, affinity, health, admin modes and metric labels know it by, so every instance agrees
// whatever order DNS returns the records in.
std::string endpoint_url(std::string_view scheme, const Endpoint& e);

// SRV weights (0-65535, RFC 2782) as backend weights: 0 becomes 1 (a very small share, not none),
// and a set whose largest weight is over 1000 is scaled down to 1000 at most, since a backend's
// place on the ring grows with its weight and a hostile answer must not make it huge.
void normalize_srv_weights(std::vector<Endpoint>& endpoints);

class NameWatch {
 public:
  explicit NameWatch(WatchSettings settings) : settings_(settings) {}
  // New settings (a reload) apply from the next answer; the set in hand stays until then.
  void set_settings(WatchSettings settings) { settings_ = settings; }

  // A successful answer (it may be empty: the name has no records now). `ttl`: the smallest TTL of
  // the records. True when the set of endpoints changed.
  bool on_answer(std::vector<Endpoint> endpoints, std::chrono::seconds ttl, Clock::time_point now);
  // A failed lookup: the last good set stays. True when it begins an outage (log it once).
  bool on_failure(Outcome outcome, Clock::time_point now);

  // Endpoints in address order, at most max_backends; and how many the cap left out.
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  std::size_t left_out() const { return left_out_; }
  bool answered() const { return answered_; }  // a first good answer has come
  bool in_outage() const { return failures_ > 0; }
  Clock::time_point next_lookup() const { return next_; }

 private:
  WatchSettings settings_;
  std::vector<Endpoint> endpoints_;
  std::size_t left_out_ = 0;
  bool answered_ = false;
  unsigned failures_ = 0;  // in a row, since the last good answer
  Clock::time_point next_{};
};

}  // namespace wsgate::discovery
