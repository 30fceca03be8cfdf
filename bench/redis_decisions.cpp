// Redis-mode upgrade decisions (issue 6): how many RedisStore decisions a second one connection
// carries with N in flight (hiredis pipelines them), and their latency, against a real redis-server.
//   redis_decisions --port P [--inflight N] [--duration S] [--keys K] [--max-sessions M]
// Prints one JSON line. With --max-sessions each admitted decision also holds a lease that is
// dropped at once (ZREM), as an upgrade followed by a short session would.
#include "gateway/control/redis_store.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace wsgate;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int port = 6379, inflight = 1, keys = 1000;
  double duration = 5;
  std::int64_t max_sessions = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--port") port = std::stoi(v);
    else if (a == "--inflight") inflight = std::stoi(v);
    else if (a == "--duration") duration = std::stod(v);
    else if (a == "--keys") keys = std::stoi(v);
    else if (a == "--max-sessions") max_sessions = std::stoll(v);
  }
  boost::asio::io_context io;
  config::RedisSettings settings;
  settings.address = {"127.0.0.1", static_cast<std::uint16_t>(port)};
  settings.timeout = std::chrono::seconds(2);
  settings.key_prefix = "wsgate-bench:";
  auto store = std::make_shared<gateway::RedisStore>(io, settings);
  store->start();
  io.run_for(std::chrono::milliseconds(300));  // connected

  // High enough never to refuse: the decision itself is measured.
  const auto rate = ratelimit::Rate::per(1'000'000'000, 1'000'000'000, 1'000'000);
  std::vector<double> latencies_us;
  std::uint64_t issued = 0, answered = 0, unavailable = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
  std::function<void()> issue = [&] {
    const auto t0 = Clock::now();
    gateway::RedisStore::Query q{"bench", issued++ % static_cast<std::uint64_t>(keys), rate, max_sessions};
    store->decide(std::move(q), [&, t0](gateway::RedisStore::Answer a) {
      const auto now = Clock::now();
      ++answered;
      if (a.outcome != gateway::RedisStore::Outcome::allowed) ++unavailable;
      latencies_us.push_back(std::chrono::duration<double, std::micro>(now - t0).count());
      if (now < end) issue();
    });
  };
  for (int i = 0; i < inflight; ++i) issue();
  while (answered < issued) io.run_one();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty() ? 0.0 : latencies_us[static_cast<std::size_t>(p * static_cast<double>(latencies_us.size() - 1))];
  };
  std::printf("{\"inflight\":%d,\"max_sessions\":%lld,\"decisions\":%llu,\"decisions_per_s\":%.0f,"
              "\"p50_us\":%.1f,\"p99_us\":%.1f,\"not_allowed\":%llu}\n",
              inflight, static_cast<long long>(max_sessions), static_cast<unsigned long long>(answered),
              static_cast<double>(answered) / seconds, pct(0.5), pct(0.99),
              static_cast<unsigned long long>(unavailable));
  store->stop();
  return unavailable == 0 ? 0 : 1;
}
