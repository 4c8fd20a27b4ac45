// The /metrics text: the direct renderer against the families it must equal, those against
// prometheus-cpp's own serializer, escaping, and the always-present series contract.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>

#include "assess/assess.h"
#include "metrics/collector.h"
#include "support/group_fixture.h"
#include "support/metrics_text.h"

namespace redis_ha::metrics {
namespace {

using namespace redis_ha::testing::fixture;
using redis_ha::testing::ParseMetricsText;
using redis_ha::testing::Select;
using redis_ha::testing::Value;

assess::GateOptions Opts() {
  assess::GateOptions o;
  o.max_staleness = 3s;
  o.failover_cooldown = 60s;
  o.max_lag_bytes = 1 << 20;
  return o;
}

// Two groups with every kind of value: a healthy one, and one with a replica down, a
// Sentinel that cannot be reached, fractions, counters, events and poll errors.
model::Snapshot Varied() {
  model::Snapshot s = Fleet(2);
  auto& g = s.groups.at("g001");
  g.nodes[2].up = false;
  g.nodes[1].round_trip = std::chrono::microseconds(1234);
  g.views[2].reachable = false;
  g.history.primary_write_rate_bytes_per_second = 12345.678;
  g.history.failovers = 3;
  g.history.last_failover_at = kNow - 90s;
  g.assessment = assess::Assess(g, assess::AssessOptions{});
  s.stats.cycles = 42;
  s.stats.poll_duration.Observe(0.0042);
  s.stats.poll_duration.Observe(0.7);
  s.stats.poll_errors[{"node", "timeout"}] = 7;
  s.stats.poll_errors[{"sentinel", "refused"}] = 0;
  s.stats.bytes_sent = 123456789012ULL;
  s.event_counts[model::EventKey{"g000", "10.0.1.1:26379", "+sdown"}] = 2;
  s.event_counts[model::EventKey{"", "10.0.1.2:26379", "+tilt"}] = 1;
  s.event_counts[model::EventKey{"unwatched", "10.0.1.1:26379", "+sdown"}] = 5;
  return s;
}

std::string PrometheusCpp(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

TEST(MetricsTest, DirectRendererEqualsTheFamilies) {
  for (const model::Snapshot& s : {Fleet(1), Varied(), Fleet(30)}) {
    const std::string direct = RenderSnapshot(s, Opts(), kNow + 500ms);
    EXPECT_EQ(direct, Render(BuildFamilies(s, Opts(), kNow + 500ms)));
    // The size hint only sizes the buffer.
    EXPECT_EQ(RenderSnapshot(s, Opts(), kNow + 500ms, direct.size() * 2), direct);
    EXPECT_EQ(RenderSnapshot(s, Opts(), kNow + 500ms, 10), direct);
  }
}

TEST(MetricsTest, FamiliesRenderAsPrometheusCppSerializesThem) {
  // Valid UTF-8 everywhere here: the serializer does not repair it, we do (below).
  model::Snapshot s = Varied();
  s.groups.at("g000").nodes[0].version = "7.2 \"rc\" \\ line\nbreak é";
  const auto families = BuildFamilies(s, Opts(), kNow + 500ms);
  EXPECT_EQ(Render(families), PrometheusCpp(families));
  EXPECT_EQ(RenderSnapshot(s, Opts(), kNow + 500ms), PrometheusCpp(families));
}

TEST(MetricsTest, CollectableServesTheSameFamilies) {
  auto shared = std::make_shared<const model::Snapshot>(Varied());
  SnapshotCollector empty([] { return model::SnapshotPtr(); }, Opts());
  EXPECT_TRUE(empty.Collect().empty());
  SnapshotCollector collector([shared] { return shared; }, Opts());
  const auto families = collector.Collect();
  ASSERT_FALSE(families.empty());
  std::set<std::string> names;
  for (const auto& f : families) names.insert(f.name);
  EXPECT_EQ(names.size(), families.size()) << "a family is declared twice";
  EXPECT_TRUE(names.count("redis_ha_split_brain_risk"));
  EXPECT_TRUE(names.count("redis_ha_exporter_poll_duration_seconds"));
}

TEST(MetricsTest, LabelValuesAreEscapedAndRepairedToUtf8) {
  model::Snapshot s = Fleet(1);
  s.groups.at("g000").nodes[0].version = std::string("a\"b\\c\nd\xff") + "e";
  const std::string text = RenderSnapshot(s, Opts(), kNow);
  EXPECT_NE(text.find("version=\"a\\\"b\\\\c\\nd\xEF\xBF\xBD"
                      "e\""),
            std::string::npos);
  // The parser the tests use reads it back.
  const auto samples = ParseMetricsText(text);
  const auto info = Select(samples, "redis_ha_node_info", {{"node", "10.10.0.1:6379"}});
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].labels.at("version"),
            "a\"b\\c\nd\xEF\xBF\xBD"
            "e");
}

TEST(MetricsTest, ADownNodeKeepsEverySeriesAsNaN) {
  const auto samples = ParseMetricsText(RenderSnapshot(Varied(), Opts(), kNow + 500ms));
  auto series_of = [&](const std::string& node) {
    std::set<std::string> names;
    for (const auto& x : samples) {
      auto it = x.labels.find("node");
      // Gate series and the candidate depend on the state by design; the rest must not.
      if (it != x.labels.end() && it->second == node && x.labels.count("action") == 0 &&
          x.name != "redis_ha_failover_candidate_info") {
        names.insert(x.name);
      }
    }
    return names;
  };
  const std::string up = "10.10.1.2:6379", down = "10.10.1.3:6379";
  EXPECT_EQ(series_of(up), series_of(down));
  EXPECT_GE(series_of(down).size(), 20u);
  EXPECT_EQ(Value(samples, "redis_ha_node_up", {{"node", down}}), 0);
  EXPECT_TRUE(std::isnan(*Value(samples, "redis_ha_node_keys", {{"node", down}})));
  EXPECT_TRUE(std::isnan(*Value(samples, "redis_ha_replica_lag_bytes", {{"node", down}})));
  EXPECT_EQ(Value(samples, "redis_ha_node_keys", {{"node", up}}), 1000);
  EXPECT_DOUBLE_EQ(*Value(samples, "redis_ha_node_poll_round_trip_seconds", {{"node", up}}),
                   0.001234);
  // An unreachable Sentinel's view: every series, NaN.
  const std::map<std::string, std::string> view = {{"group", "g001"},
                                                   {"sentinel", "10.0.1.3:26379"}};
  EXPECT_TRUE(std::isnan(*Value(samples, "redis_ha_sentinel_quorum", view)));
  EXPECT_EQ(Select(samples, "redis_ha_sentinel_primary_flag", view).size(),
            model::kPrimaryFlags.size());
}

TEST(MetricsTest, EventCountersCoverTheFixedSetAndSkipUnwatchedGroups) {
  const auto samples = ParseMetricsText(RenderSnapshot(Varied(), Opts(), kNow));
  const auto events = Select(samples, "redis_ha_sentinel_events_total");
  // Per group and Sentinel: the fixed set but the tilts; per Sentinel: the two tilts.
  const size_t per_view = model::kCountedEvents.size() - 2;
  EXPECT_EQ(events.size(), 2 * 3 * per_view + 3 * 2);
  EXPECT_EQ(Value(samples, "redis_ha_sentinel_events_total",
                  {{"group", "g000"}, {"sentinel", "10.0.1.1:26379"}, {"event", "+sdown"}}),
            2);
  EXPECT_EQ(Value(samples, "redis_ha_sentinel_events_total",
                  {{"group", "g000"}, {"sentinel", "10.0.1.2:26379"}, {"event", "+sdown"}}),
            0);
  EXPECT_EQ(Value(samples, "redis_ha_sentinel_events_total",
                  {{"group", ""}, {"sentinel", "10.0.1.2:26379"}, {"event", "+tilt"}}),
            1);
  EXPECT_TRUE(Select(samples, "redis_ha_sentinel_events_total", {{"group", "unwatched"}}).empty());
}

// Counts the fixed set does not cover (a Sentinel the group's views no longer list, an
// event outside the set, TILT of a Sentinel no longer polled) are served beside it, each
// key once, in key order, whatever order the views come in.
TEST(MetricsTest, EventCountersOutsideTheFixedSetAreMergedInOrder) {
  model::Snapshot s = Varied();
  std::swap(s.groups.at("g000").views[0], s.groups.at("g000").views[2]);
  s.groups.at("g001").views.push_back(s.groups.at("g001").views[0]);         // listed twice
  s.event_counts[model::EventKey{"g000x", "10.0.1.1:26379", "+sdown"}] = 5;  // unwatched
  s.event_counts[model::EventKey{"g001", "10.9.9.9:26379", "+odown"}] = 4;
  s.event_counts[model::EventKey{"g001", "10.0.1.1:26379", "+weird"}] = 6;
  s.event_counts[model::EventKey{"", "10.0.1.1:26379", "-tilt"}] = 8;
  s.event_counts[model::EventKey{"", "zz:1", "+tilt"}] = 9;
  s.event_counts[model::EventKey{"g001", "10.0.1.3:26379", "+switch-master"}] = 1;
  const auto samples = ParseMetricsText(RenderSnapshot(s, Opts(), kNow));
  const auto events = Select(samples, "redis_ha_sentinel_events_total");
  const size_t per_view = model::kCountedEvents.size() - 2;
  EXPECT_EQ(events.size(), 2 * 3 * per_view + 3 * 2 + 3);  // + the three outside the set
  using Key = std::tuple<std::string, std::string, std::string>;
  std::vector<Key> keys;
  for (const auto& e : events) {
    keys.emplace_back(e.labels.at("group"), e.labels.at("sentinel"), e.labels.at("event"));
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end());
  auto count = [&](const char* group, const char* sentinel, const char* event) {
    return Value(samples, "redis_ha_sentinel_events_total",
                 {{"group", group}, {"sentinel", sentinel}, {"event", event}});
  };
  EXPECT_EQ(count("g000", "10.0.1.1:26379", "+sdown"), 2);
  EXPECT_EQ(count("g001", "10.9.9.9:26379", "+odown"), 4);
  EXPECT_EQ(count("g001", "10.0.1.1:26379", "+weird"), 6);
  EXPECT_EQ(count("", "10.0.1.1:26379", "-tilt"), 8);
  EXPECT_EQ(count("", "zz:1", "+tilt"), 9);
  EXPECT_EQ(count("g001", "10.0.1.3:26379", "+switch-master"), 1);
  EXPECT_EQ(count("g001", "10.0.1.3:26379", "-sdown"), 0);
  EXPECT_TRUE(Select(samples, "redis_ha_sentinel_events_total", {{"group", "g000x"}}).empty());
}

// What /metrics serves: the renderer's text equals RenderSnapshot's for every render,
// whether its buffers come from a larger or a smaller fleet, while an earlier text is
// still held (by a response being sent), and after the renderer is gone.
TEST(MetricsTest, RendererReusesItsBuffersWithoutMixingTexts) {
  auto renderer = std::make_unique<MetricsRenderer>();
  const model::Snapshot big = Fleet(30), small = Varied();
  const std::string big_text = RenderSnapshot(big, Opts(), kNow);
  const std::string small_text = RenderSnapshot(small, Opts(), kNow);
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(*renderer->Render(big, Opts(), kNow), big_text);
    EXPECT_EQ(*renderer->Render(small, Opts(), kNow), small_text);
  }
  // A text dropped leaves its buffers to the next render.
  const char* first = renderer->Render(big, Opts(), kNow)->data();
  EXPECT_EQ(renderer->Render(big, Opts(), kNow)->data(), first);
  // Texts held at once each have their own buffers, more of them than are kept.
  std::vector<std::shared_ptr<const std::string>> held;
  for (size_t i = 0; i < MetricsRenderer::kKept + 2; ++i) {
    held.push_back(renderer->Render(i % 2 ? small : big, Opts(), kNow));
  }
  for (size_t i = 0; i < held.size(); ++i) EXPECT_EQ(*held[i], i % 2 ? small_text : big_text);
  renderer.reset();
  EXPECT_EQ(*held[0], big_text);
  held.clear();  // the buffers are freed, not returned to a renderer that is gone
}

TEST(MetricsTest, HistogramAndCountersAreExact) {
  const auto samples = ParseMetricsText(RenderSnapshot(Varied(), Opts(), kNow));
  EXPECT_EQ(Value(samples, "redis_ha_exporter_poll_duration_seconds_count"), 2);
  EXPECT_DOUBLE_EQ(*Value(samples, "redis_ha_exporter_poll_duration_seconds_sum"), 0.7042);
  EXPECT_EQ(Value(samples, "redis_ha_exporter_poll_duration_seconds_bucket", {{"le", "0.005"}}), 1);
  EXPECT_EQ(Value(samples, "redis_ha_exporter_poll_duration_seconds_bucket", {{"le", "+Inf"}}), 2);
  EXPECT_EQ(Value(samples, "redis_ha_exporter_sent_bytes_total"), 123456789012.0);
  EXPECT_EQ(Value(samples, "redis_ha_exporter_poll_errors_total",
                  {{"kind", "node"}, {"reason", "timeout"}}),
            7);
  EXPECT_EQ(Value(samples, "redis_ha_failovers_total", {{"group", "g001"}}), 3);
  EXPECT_DOUBLE_EQ(
      *Value(samples, "redis_ha_primary_write_rate_bytes_per_second", {{"group", "g001"}}),
      12345.678);
}

TEST(MetricsTest, SeriesCountGrowsLinearlyWithGroups) {
  auto count = [](int groups) {
    return ParseMetricsText(RenderSnapshot(Fleet(groups), Opts(), kNow)).size();
  };
  const size_t one = count(1), two = count(2), ten = count(10);
  EXPECT_EQ(ten - one, 9 * (two - one));
}

}  // namespace
}  // namespace redis_ha::metrics
