#include "metrics/gateway_series.hpp"
#include "metrics/series_collector.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace wsgate::metrics {
namespace {

std::string expose(const SeriesCollector& c) { return prometheus::TextSerializer().Serialize(c.Collect()); }

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(ThreadCounters, TwoThreadsSumExactly) {
  ThreadCounters counters(3, 2);
  auto work = [&](std::size_t row, std::uint64_t n) {
    auto& shard = counters.shard(row);
    for (std::uint64_t i = 0; i < n; ++i) {
      shard.add(0);
      shard.add(2, 10);
    }
  };
  std::thread a(work, 0, 1'000'000), b(work, 1, 500'000);
  a.join();
  b.join();
  EXPECT_EQ(counters.sum(0), 1'500'000u);
  EXPECT_EQ(counters.sum(1), 0u);
  EXPECT_EQ(counters.sum(2), 15'000'000u);
}

TEST(ThreadCounters, GaugeGoesDownAcrossRows) {
  ThreadCounters counters(1, 2);
  counters.shard(0).add(0, 5);
  counters.shard(1).subtract(0, 7);  // rows may go below zero; only the sum means something
  EXPECT_EQ(static_cast<std::int64_t>(counters.sum(0)), -2);
}

TEST(SeriesCollector, OneFamilyPerNameWhateverTheSets) {
  const Family hits{"test_hits_total", "Hits.", Type::counter};
  const Family live{"test_live", "Live.", Type::gauge};
  Layout layout;
  const std::array<std::string_view, 2> results{"ok", "bad"};
  const auto hits_at = layout.counters(hits, "result", results);
  const auto live_at = layout.gauge(live);
  SeriesCollector collector(2);
  auto chat = collector.set(layout, {{"route", "chat"}});
  auto feed = collector.set(layout, {{"route", "feed"}});
  EXPECT_EQ(collector.set(layout, {{"route", "chat"}}), chat) << "the same labels give the same set";
  chat->row(0).add(hits_at + 1, 3);
  chat->row(1).add(hits_at + 1, 4);
  feed->row(1).add(hits_at + 0);
  chat->row(0).add(live_at, 2);
  chat->row(1).subtract(live_at);

  const auto families = collector.Collect();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].metric.size(), 4u) << "2 routes x 2 results, no series beyond them";
  const auto text = expose(collector);
  EXPECT_TRUE(has_line(text, R"(test_hits_total{route="chat",result="bad"} 7)")) << text;
  EXPECT_TRUE(has_line(text, R"(test_hits_total{route="feed",result="ok"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(test_hits_total{route="chat",result="ok"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(test_live{route="chat"} 1)")) << text;
  EXPECT_EQ(text.find("# TYPE test_hits_total counter"), text.rfind("# TYPE test_hits_total counter"))
      << "one TYPE line per family";
}

TEST(SeriesCollector, HistogramBucketsAreCumulativeAndScaled) {
  const Family took{"test_took_seconds", "Took.", Type::histogram};
  Layout layout;
  const auto h = layout.histogram(took, {}, {1'000'000, 10'000'000}, 1e9);  // 1 ms, 10 ms
  SeriesCollector collector(2);
  auto set = collector.set(layout, {});
  observe(set->row(0), h, 500'000);      // 0.5 ms
  observe(set->row(1), h, 1'000'000);    // exactly 1 ms: le="0.001"
  observe(set->row(1), h, 5'000'000);
  observe(set->row(0), h, 2'000'000'000);  // 2 s: only +Inf
  const auto text = expose(collector);
  EXPECT_TRUE(has_line(text, R"(test_took_seconds_bucket{le="0.001"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(test_took_seconds_bucket{le="0.01"} 3)")) << text;
  EXPECT_TRUE(has_line(text, R"(test_took_seconds_bucket{le="+Inf"} 4)")) << text;
  EXPECT_TRUE(has_line(text, R"(test_took_seconds_count 4)")) << text;
  EXPECT_TRUE(has_line(text, R"(test_took_seconds_sum 2.0065)")) << text;
}

// The bounds a query names must be the labels exposed: le="60", never le="60.00000000000001"
// (what 60e9 ns x 1e-9 gave), or {le="60"} matches nothing.
TEST(GatewaySeries, DurationBucketsAreExactDecimals) {
  SeriesCollector collector(1);
  collector.set(RouteSeries::get().layout, {{"route", "chat"}});
  std::map<std::string, std::vector<std::string>> bounds;
  for (const auto& f : collector.Collect())
    if (f.type == prometheus::MetricType::Histogram)
      for (const auto& b : f.metric.at(0).histogram.bucket) {
        std::ostringstream text;
        text << b.upper_bound;
        bounds[f.name].push_back(text.str());
      }
  const auto text = expose(collector);
  EXPECT_EQ(bounds["wsgate_session_duration_seconds"],
            (std::vector<std::string>{"0.01", "0.05", "0.1", "0.5", "1", "10", "60", "300", "900",
                                      "3600", "14400", "86400", "inf"}));
  EXPECT_TRUE(has_line(text, R"(wsgate_session_duration_seconds_bucket{route="chat",le="60"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(wsgate_upgrade_duration_seconds_bucket{route="chat",le="0.00025"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(wsgate_upgrade_duration_seconds_bucket{route="chat",le="2.5"} 0)")) << text;
  EXPECT_EQ(text.find("0000000"), std::string::npos) << "no rounding residue in any label: " << text;
}

TEST(GatewaySeries, CloseCodesMapToTheirOwnLabelOrOther) {
  for (int code : {1000, 1001, 1002, 1003, 1005, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015})
    EXPECT_EQ(close_codes[close_code_index(static_cast<std::uint16_t>(code))], std::to_string(code));
  for (int code : {0, 999, 1004, 1006, 1016, 3000, 4999, 65535})
    EXPECT_EQ(close_codes[close_code_index(static_cast<std::uint16_t>(code))], "other") << code;
}

TEST(GatewaySeries, RouteSeriesExposeEveryFixedLabelOnce) {
  SeriesCollector collector(1);
  collector.set(RouteSeries::get().layout, {{"route", "chat"}});
  std::size_t upgrades = 0, closes = 0;
  for (const auto& f : collector.Collect()) {
    if (f.name == "wsgate_upgrades_total") upgrades = f.metric.size();
    if (f.name == "wsgate_close_codes_total") closes = f.metric.size();
  }
  EXPECT_EQ(upgrades, request_results.size());
  EXPECT_EQ(closes, close_sides.size() * close_codes.size());
}

// A request no route took can only be an upgrade or a plain request refused early: route="" carries
// those two families and none of the session, message or close ones, which would stay 0 forever.
TEST(GatewaySeries, UnroutedRequestsExposeOnlyRequestResults) {
  SeriesCollector collector(1);
  collector.set(UnroutedSeries::get().layout, {{"route", ""}});
  std::set<std::string> names;
  for (const auto& f : collector.Collect()) names.insert(f.name);
  EXPECT_EQ(names, (std::set<std::string>{"wsgate_upgrades_total", "wsgate_http_requests_total"}));
}

// TLS series are a layout of their own, given to TLS listeners only.
TEST(GatewaySeries, PlainListenersCarryNoTlsSeries) {
  SeriesCollector collector(1);
  collector.set(ListenerSeries::get().layout, {{"listener", "public"}});
  const auto text = expose(collector);
  EXPECT_EQ(text.find("tls"), std::string::npos) << text;
  EXPECT_TRUE(has_line(text, R"(wsgate_connections_open{listener="public"} 0)")) << text;
}

TEST(GatewaySeries, SessionEndsAndConnectFailuresHaveOneSeriesPerCause) {
  SeriesCollector collector(2);
  auto route = collector.set(RouteSeries::get().layout, {{"route", "chat"}});
  auto backend = collector.set(BackendSeries::get().layout, {{"route", "chat"}, {"backend", "ws://b:1"}});
  route->row(0).add(RouteSeries::get().session_ends + static_cast<std::size_t>(SessionEnd::idle_timeout));
  route->row(1).add(RouteSeries::get().session_ends + static_cast<std::size_t>(SessionEnd::idle_timeout));
  route->row(1).add(RouteSeries::get().session_ends + static_cast<std::size_t>(SessionEnd::operator_request));
  backend->row(0).add(BackendSeries::get().connect_failures + static_cast<std::size_t>(ConnectFailure::tls));
  const auto text = expose(collector);
  EXPECT_TRUE(has_line(text, R"(wsgate_session_ends_total{route="chat",cause="idle_timeout"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(wsgate_session_ends_total{route="chat",cause="operator"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(wsgate_session_ends_total{route="chat",cause="drain"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(wsgate_backend_connect_failures_total{route="chat",backend="ws://b:1",cause="tls"} 1)"))
      << text;
  EXPECT_EQ(session_end_causes.size(), static_cast<std::size_t>(SessionEnd::rebalance) + 1);
  EXPECT_EQ(connect_failure_causes.size(), static_cast<std::size_t>(ConnectFailure::other) + 1);
}

}  // namespace
}  // namespace wsgate::metrics
