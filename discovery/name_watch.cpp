#include "discovery/name_watch.hpp"

#include <algorithm>

namespace wsgate::discovery {

namespace {

// After a failure: 1 s, 2 s, 4 s ... but never longer than six refresh periods (nor 30 s), so a
// name that appears later (a Service created after the gateway) is found soon.
Clock::duration backoff(unsigned failures, Clock::duration refresh) {
  const Clock::duration cap = std::min<Clock::duration>(std::chrono::seconds(30),
                                                        std::max<Clock::duration>(refresh * 6, std::chrono::seconds(1)));
  Clock::duration wait = std::chrono::seconds(1);
  for (unsigned i = 1; i < failures && wait < cap; ++i) wait *= 2;
  return std::min(wait, cap);
}

}  // namespace

std::string endpoint_url(std::string_view scheme, const Endpoint& e) {
  const bool v6 = e.address.find(':') != std::string::npos;
  std::string out(scheme);
  out += "://";
  out += v6 ? "[" + e.address + "]" : e.address;
  out += ":" + std::to_string(e.port);
  return out;
}

void normalize_srv_weights(std::vector<Endpoint>& endpoints) {
  std::uint32_t top = 0;
  for (const auto& e : endpoints) top = std::max(top, e.weight);
  for (auto& e : endpoints) {
    if (top > 1000) e.weight = static_cast<std::uint32_t>((std::uint64_t{e.weight} * 1000 + top / 2) / top);
    e.weight = std::max<std::uint32_t>(e.weight, 1);
  }
}

bool NameWatch::on_answer(std::vector<Endpoint> endpoints, std::chrono::seconds ttl, Clock::time_point now) {
  std::sort(endpoints.begin(), endpoints.end());
  // One address and port is one backend, whichever records named it: keep its largest weight.
  std::vector<Endpoint> unique;
  for (auto& e : endpoints) {
    if (!unique.empty() && unique.back().address == e.address && unique.back().port == e.port) {
      unique.back().weight = std::max(unique.back().weight, e.weight);
      continue;
    }
    unique.push_back(std::move(e));
  }
  left_out_ = unique.size() > settings_.max_backends ? unique.size() - settings_.max_backends : 0;
  unique.resize(std::min(unique.size(), settings_.max_backends));
  const bool changed = !answered_ || unique != endpoints_;
  endpoints_ = std::move(unique);
  answered_ = true;
  failures_ = 0;
  Clock::duration wait = settings_.refresh;
  if (settings_.respect_ttl) wait = std::max<Clock::duration>(wait, ttl);
  next_ = now + wait;
  return changed;
}

bool NameWatch::on_failure(Outcome outcome, Clock::time_point now) {
  (void)outcome;
  ++failures_;
  next_ = now + backoff(failures_, settings_.refresh);
  return failures_ == 1;
}

}  // namespace wsgate::discovery
