// The risk engine against real failures: healthy, latent configurations, the empty
// primary that wipes its replicas, a split brain after a paused primary, lost quorum,
// and Sentinel events that trigger an immediate poll.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "lab/lab.h"
#include "support/exporter_process.h"
#include "support/metrics_text.h"
#include "support/test_util.h"

namespace redis_ha {
namespace {

using namespace std::chrono_literals;
using testing::ExporterProcess;
using testing::Sample;
using testing::Select;
using testing::Value;
namespace fs = std::filesystem;

bool Is(const std::optional<double>& v, double want) { return v && *v == want; }

const char* kSplitFactors[] = {"multiple_primaries", "sentinels_disagree", "quorum_unreachable",
                               "partial_partition", "too_few_sentinels", "even_sentinels",
                               "quorum_below_majority", "no_min_replicas_to_write",
                               "down_after_below_rtt"};
const char* kEmptyFactors[] = {"primary_without_persistence", "primary_restarted_with_fewer_keys",
                               "replica_syncing_from_empty_primary", "replica_wiped"};

double Factor(const std::vector<Sample>& m, const std::string& risk, const std::string& factor) {
  auto v = Value(m, "redis_ha_" + risk + "_risk_factor", {{"group", "mymaster"}, {"factor", factor}});
  return v ? *v : -1;
}
double SplitFactor(const std::vector<Sample>& m, const std::string& f) {
  return Factor(m, "split_brain", f);
}
double EmptyFactor(const std::vector<Sample>& m, const std::string& f) {
  return Factor(m, "empty_primary", f);
}

class RiskTest : public ::testing::Test {
 protected:
  void StartLab(lab::LabOptions o) {
    lab_ = std::make_unique<lab::Lab>(o);
    Status s = lab_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  void StartExporter(std::vector<std::string> extra = {}, const std::string& interval = "100ms") {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::path dir = testing::TestDir("risk", name);
    std::vector<std::string> args = {"--sentinel", lab_->sentinels()[0]->address(),
                                     "--poll.interval", interval, "--poll.timeout", "100ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    exporter_ = std::make_unique<ExporterProcess>(EXPORTER_BINARY, args, dir / "exporter.log");
    Status s = exporter_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  void TearDown() override {
    if (HasFailure() && exporter_) std::cerr << "exporter log:\n" << exporter_->Log();
    if (HasFailure() && lab_) lab_->KeepDir();
    exporter_.reset();
    lab_.reset();
  }
  bool AllNodesUp(const std::vector<Sample>& m) {
    for (auto* n : lab_->data_nodes()) {
      if (!Is(Value(m, "redis_ha_node_up", {{"node", n->address()}}), 1)) return false;
    }
    for (auto* s : lab_->sentinels()) {
      if (!Is(Value(m, "redis_ha_sentinel_ckquorum_ok", {{"sentinel", s->address()}}), 1)) {
        return false;
      }
    }
    return true;
  }
  // The replicas' addresses, once the exporter shows each with `keys` keys and all up.
  std::vector<std::string> ReplicasHolding(double keys) {
    std::vector<std::string> replicas;
    for (auto* r : lab_->replicas()) replicas.push_back(r->address());
    const bool shown = exporter_->WaitForMetrics(
        [&](auto& m) {
          for (const auto& r : replicas) {
            if (!Is(Value(m, "redis_ha_node_keys", {{"node", r}}), keys)) return false;
          }
          return AllNodesUp(m);
        },
        15s);
    EXPECT_TRUE(shown) << "replicas with " << keys << " keys, all up";
    return shown ? replicas : std::vector<std::string>{};
  }
  // The first scrape with an imminent empty-primary factor (empty if none within `wait`),
  // checked to come before the loss: no wipe yet, a replica still holding `keys`.
  std::vector<Sample> WarnedBeforeTheWipe(const std::vector<std::string>& replicas, double keys,
                                          std::chrono::seconds wait) {
    std::vector<Sample> warned;
    EXPECT_TRUE(exporter_->WaitForMetrics(
        [&](auto& m) {
          bool imminent = EmptyFactor(m, "primary_restarted_with_fewer_keys") == 1 ||
                          EmptyFactor(m, "replica_syncing_from_empty_primary") == 1;
          if (imminent) warned = m;
          return imminent;
        },
        wait));
    if (warned.empty()) return warned;
    EXPECT_EQ(EmptyFactor(warned, "replica_wiped"), 0) << "warned only after the loss";
    bool replica_still_full = false;
    for (const auto& r : replicas) {
      if (Is(Value(warned, "redis_ha_node_keys", {{"node", r}}), keys)) replica_still_full = true;
    }
    EXPECT_TRUE(replica_still_full) << "the warning must come before the replicas are emptied";
    return warned;
  }
  std::unique_ptr<lab::Lab> lab_;
  std::unique_ptr<ExporterProcess> exporter_;
};

TEST_F(RiskTest, HealthyGroupHasNoRiskAndEveryFactorIsPresent) {
  StartLab({});  // quorum 2 of 3, min-replicas-to-write 1, persistence on
  StartExporter();
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        // Wait for a full RTT window sample set, so down_after_below_rtt is really judged.
        auto p99 = Value(m, "redis_ha_primary_round_trip_p99_seconds", {{"group", "mymaster"}});
        return AllNodesUp(m) && p99 && !std::isnan(*p99);
      },
      15s));
  auto m = exporter_->Scrape();
  EXPECT_TRUE(Is(Value(m, "redis_ha_split_brain_risk", {{"group", "mymaster"}}), 0));
  EXPECT_TRUE(Is(Value(m, "redis_ha_empty_primary_risk", {{"group", "mymaster"}}), 0));
  for (const char* f : kSplitFactors) EXPECT_EQ(SplitFactor(m, f), 0) << f;
  for (const char* f : kEmptyFactors) EXPECT_EQ(EmptyFactor(m, f), 0) << f;
  EXPECT_TRUE(Is(Value(m, "redis_ha_group_primaries", {{"group", "mymaster"}}), 1));
  EXPECT_TRUE(Is(Value(m, "redis_ha_group_primary_views", {{"group", "mymaster"}}), 1));
  EXPECT_TRUE(Is(Value(m, "redis_ha_group_healthy_replicas", {{"group", "mymaster"}}), 2));
  EXPECT_TRUE(Is(Value(m, "redis_ha_check_unavailable", {{"check", "persistence"}}), 0));
  EXPECT_TRUE(Is(Value(m, "redis_ha_failovers_total", {{"group", "mymaster"}}), 0));
  auto headroom = Value(m, "redis_ha_replication_backlog_headroom_seconds", {{"group", "mymaster"}});
  ASSERT_TRUE(headroom.has_value());
  EXPECT_GT(*headroom, 0);
  EXPECT_EQ(Select(m, "redis_ha_sentinel_events_total", {{"group", "mymaster"}}).size(), 30u);
}

TEST_F(RiskTest, TwoSentinelsAreTooFewAndEven) {
  lab::LabOptions o;
  o.sentinels = 2;
  o.quorum = 2;
  StartLab(o);
  StartExporter();
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return AllNodesUp(m) && SplitFactor(m, "too_few_sentinels") == 1; }, 15s));
  auto m = exporter_->Scrape();
  EXPECT_EQ(SplitFactor(m, "even_sentinels"), 1);
  EXPECT_EQ(SplitFactor(m, "quorum_below_majority"), 0);
  EXPECT_EQ(SplitFactor(m, "no_min_replicas_to_write"), 0);
  EXPECT_EQ(EmptyFactor(m, "primary_without_persistence"), 0);
  EXPECT_TRUE(Is(Value(m, "redis_ha_split_brain_risk", {{"group", "mymaster"}}), 1));
}

TEST_F(RiskTest, LowQuorumNoMinReplicasAndNoPersistenceAreLatent) {
  lab::LabOptions o;
  o.quorum = 1;
  o.min_replicas_to_write = 0;
  o.persistence = false;
  StartLab(o);
  StartExporter();
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        return AllNodesUp(m) && SplitFactor(m, "quorum_below_majority") == 1 &&
               SplitFactor(m, "no_min_replicas_to_write") == 1 &&
               EmptyFactor(m, "primary_without_persistence") == 1;
      },
      15s));
  auto m = exporter_->Scrape();
  EXPECT_EQ(SplitFactor(m, "too_few_sentinels"), 0);
  EXPECT_EQ(SplitFactor(m, "even_sentinels"), 0);
  EXPECT_TRUE(Is(Value(m, "redis_ha_split_brain_risk", {{"group", "mymaster"}}), 1));
  EXPECT_TRUE(Is(Value(m, "redis_ha_empty_primary_risk", {{"group", "mymaster"}}), 1));
}

TEST_F(RiskTest, EmptyPrimaryIsCaughtBeforeTheReplicasAreWipedAndTheWipeAfter) {
  lab::LabOptions o;
  o.persistence = false;
  o.diskless_sync = true;  // the default 5 s delay is the window to warn in
  StartLab(o);
  ASSERT_TRUE(lab_->WriteKeys("mymaster", 2000).ok());
  ASSERT_TRUE(lab_->WaitForReplicasInSync("mymaster").ok());
  StartExporter();
  const std::string p = lab_->primary().address();
  const std::vector<std::string> replicas = ReplicasHolding(2000);
  ASSERT_FALSE(replicas.empty());

  // Crash the primary and bring it back empty, well within down-after (5 s): Sentinel
  // does not fail over.
  lab_->primary().Kill();
  ASSERT_TRUE(lab_->primary().Start().ok());

  // The imminent factors while the replicas still hold their data.
  const std::vector<Sample> warned = WarnedBeforeTheWipe(replicas, 2000, 10s);
  ASSERT_FALSE(warned.empty());
  EXPECT_GE(*Value(warned, "redis_ha_empty_primary_risk", {{"group", "mymaster"}}), 2);
  EXPECT_TRUE(Is(Value(warned, "redis_ha_node_restarts_total", {{"node", p}}), 1));

  // Then the replicas full-sync from the empty primary and the loss is reported.
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        for (const auto& r : replicas) {
          if (!Is(Value(m, "redis_ha_dataset_wipes_total", {{"node", r}}), 1)) return false;
        }
        return EmptyFactor(m, "replica_wiped") == 1;
      },
      20s));
  auto m = exporter_->Scrape();
  EXPECT_TRUE(Is(Value(m, "redis_ha_empty_primary_risk", {{"group", "mymaster"}}), 3));
  for (const auto& r : replicas) EXPECT_TRUE(Is(Value(m, "redis_ha_node_keys", {{"node", r}}), 0));
  auto api = exporter_->Get("/api/v1/groups");
  EXPECT_NE(api.body.find("dataset wiped on"), std::string::npos);
}

// The same crash and empty restart with a poll interval far longer than the test: the
// primary hanging up on the exporter's idle connection is what gets its group polled, so
// the warning comes while the replicas still hold their keys, not a cycle later. (Without
// diskless sync the replicas' full sync follows within about a second, before a 1 s cycle
// can come; bench/ measures that case.)
TEST_F(RiskTest, APrimaryThatHangsUpIsPolledAgainAtOnceAndCaughtRestartedEmpty) {
  lab::LabOptions o;
  o.persistence = false;
  o.diskless_sync = true;  // a window of about 5 s, which no 60 s cycle falls into
  StartLab(o);
  ASSERT_TRUE(lab_->WriteKeys("mymaster", 2000).ok());
  ASSERT_TRUE(lab_->WaitForReplicasInSync("mymaster").ok());
  StartExporter({}, "60s");
  const std::string p = lab_->primary().address();
  const std::vector<std::string> replicas = ReplicasHolding(2000);
  ASSERT_FALSE(replicas.empty());
  EXPECT_TRUE(Is(Value(exporter_->Scrape(), "redis_ha_exporter_connections_lost_total"), 0));

  lab_->primary().Kill();
  ASSERT_TRUE(lab_->primary().Start().ok());

  const std::vector<Sample> warned = WarnedBeforeTheWipe(replicas, 2000, 20s);
  ASSERT_FALSE(warned.empty());
  EXPECT_GE(*Value(warned, "redis_ha_exporter_connections_lost_total"), 1);
  EXPECT_GE(*Value(warned, "redis_ha_exporter_event_polls_total"), 1);
  EXPECT_TRUE(Is(Value(warned, "redis_ha_node_restarts_total", {{"node", p}}), 1));
  EXPECT_TRUE(Is(Value(warned, "redis_ha_node_keys", {{"node", p}}), 0));
  auto gate = exporter_->Get("/gate?group=mymaster&action=failover");
  EXPECT_EQ(gate.status, 503);
  EXPECT_NE(gate.body.find("empty_primary_risk"), std::string::npos) << gate.body;
}

// A node that keeps dropping the exporter's connection (here CLIENT KILL; in life a
// `timeout` shorter than the poll interval, or maxclients) gets its group polled at most
// once a poll interval for it.
TEST_F(RiskTest, ANodeDroppingConnectionsAgainGetsNoSecondPollWithinTheInterval) {
  StartLab({});
  StartExporter({"--log.level", "debug"}, "60s");
  ASSERT_TRUE(exporter_->WaitForMetrics([&](auto& m) { return AllNodesUp(m); }, 15s));
  lab::Server& replica = *lab_->replicas()[0];
  auto kill_clients = [&] {
    auto r = replica.Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_GE(r->integer, 1);
  };
  auto count = [&](const std::string& text) {
    const std::string log = exporter_->Log();
    int n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  };
  const std::string polled = "data node closed the connection; polling its group";
  const std::string left = "data node closed the connection again within a poll interval";
  kill_clients();
  // Its event poll (published: the counters move) connects again.
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        return Is(Value(m, "redis_ha_exporter_connections_lost_total"), 1) &&
               Value(m, "redis_ha_exporter_event_polls_total").value_or(0) >= 1;
      },
      15s));
  EXPECT_EQ(count(polled), 1);
  // Now that connection is dropped too: noticed, and left to the cycles.
  kill_clients();
  ASSERT_TRUE(exporter_->WaitForMetrics([&](auto&) { return count(left) == 1; }, 15s))
      << exporter_->Log();
  EXPECT_EQ(count(polled), 1);
}

TEST_F(RiskTest, PausedPrimaryLeadsToASplitBrainThatHeals) {
  lab::LabOptions o;
  o.down_after = 1000ms;
  o.failover_timeout = 10000ms;
  StartLab(o);
  StartExporter();
  ASSERT_TRUE(exporter_->WaitForMetrics([&](auto& m) { return AllNodesUp(m); }, 15s));
  const std::string old_primary = lab_->primary().address();
  ASSERT_TRUE(lab_->primary().Pause());
  ASSERT_TRUE(lab_->WaitForFailover("mymaster", old_primary, 30s).ok());
  const std::string new_primary = lab_->CurrentPrimary("mymaster");
  ASSERT_TRUE(lab_->primary().Resume());

  // The old primary is back and still a primary until Sentinel reconfigures it.
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        return SplitFactor(m, "multiple_primaries") == 1 ||
               SplitFactor(m, "sentinels_disagree") == 1;
      },
      20s));
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        double switches = 0;
        for (auto& s : Select(m, "redis_ha_sentinel_events_total", {{"event", "+switch-master"}})) {
          switches += s.value;
        }
        return *Value(m, "redis_ha_failovers_total", {{"group", "mymaster"}}) >= 1 && switches >= 1;
      },
      10s));
  auto m = exporter_->Scrape();
  double switches = 0, sdowns = 0;
  for (auto& s : Select(m, "redis_ha_sentinel_events_total", {{"event", "+switch-master"}})) {
    switches += s.value;
  }
  for (auto& s : Select(m, "redis_ha_sentinel_events_total", {{"event", "+sdown"}})) {
    sdowns += s.value;
  }
  EXPECT_GE(switches, 1);
  EXPECT_GE(sdowns, 1);
  EXPECT_GT(*Value(m, "redis_ha_group_last_failover_timestamp_seconds", {{"group", "mymaster"}}), 1e9);

  // Sentinel turns the old primary into a replica: everything goes back to 0.
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        return Is(Value(m, "redis_ha_split_brain_risk", {{"group", "mymaster"}}), 0) &&
               Is(Value(m, "redis_ha_node_is_primary", {{"node", old_primary}}), 0) &&
               Is(Value(m, "redis_ha_node_is_primary", {{"node", new_primary}}), 1);
      },
      40s));
}

TEST_F(RiskTest, TwoOfThreeSentinelsStoppedLoseTheQuorum) {
  lab::LabOptions o;
  o.down_after = 1000ms;
  StartLab(o);
  StartExporter({"--sentinel", lab_->sentinels()[2]->address()});
  ASSERT_TRUE(exporter_->WaitForMetrics([&](auto& m) { return AllNodesUp(m); }, 15s));
  lab_->sentinels()[0]->Kill();
  lab_->sentinels()[1]->Kill();
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return SplitFactor(m, "quorum_unreachable") == 1; }, 15s));
  auto m = exporter_->Scrape();
  EXPECT_GE(*Value(m, "redis_ha_split_brain_risk", {{"group", "mymaster"}}), 2);
  EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_ckquorum_ok",
                       {{"sentinel", lab_->sentinels()[2]->address()}}),
                 0));
  EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_usable_sentinels",
                       {{"sentinel", lab_->sentinels()[2]->address()}}),
                 1));
}

TEST_F(RiskTest, ASwitchMasterEventTriggersAPollAtOnce) {
  StartLab({});
  // A 60 s interval: only the event can make the exporter see the failover in time.
  const std::string name = "event-trigger";
  fs::path dir = testing::TestDir("risk", name);
  exporter_ = std::make_unique<ExporterProcess>(
      EXPORTER_BINARY,
      std::vector<std::string>{"--sentinel", lab_->sentinels()[0]->address(), "--poll.interval",
                               "60s"},
      dir / "exporter.log");
  ASSERT_TRUE(exporter_->Start().ok());
  const std::string old_primary = lab_->primary().address();
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return Is(Value(m, "redis_ha_node_is_primary", {{"node", old_primary}}), 1); },
      10s));
  // The subscriptions are up when every Sentinel lists a client with a pattern
  // subscription (Sentinel has no PUBSUB command).
  ASSERT_TRUE(lab::WaitFor(
      [&] {
        for (auto* s : lab_->sentinels()) {
          auto r = s->Command({"CLIENT", "LIST"});
          if (!r.ok() || r->str.find("psub=1") == std::string::npos) return false;
        }
        return true;
      },
      10s));
  auto r = lab_->SentinelCommand({"SENTINEL", "FAILOVER", "mymaster"});
  ASSERT_TRUE(r.ok() && !r->is_error());
  ASSERT_TRUE(lab_->WaitForFailover("mymaster", old_primary, 30s).ok());
  const std::string new_primary = lab_->CurrentPrimary("mymaster");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        auto info = Select(m, "redis_ha_sentinel_primary_info",
                           {{"sentinel", lab_->sentinels()[0]->address()}});
        return info.size() == 1 && info[0].labels["address"] == new_primary;
      },
      20s))
      << "the exporter did not re-poll on +switch-master";
}

}  // namespace
}  // namespace redis_ha
