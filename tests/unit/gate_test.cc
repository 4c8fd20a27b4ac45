// The gate on hand-built snapshots: every blocker, Sentinel's promotion rule, the
// candidate's eligibility, staleness, and the JSON contract.
#include "assess/gate.h"

#include <gtest/gtest.h>

#include "assess/assess.h"
#include "support/group_fixture.h"

namespace redis_ha::assess {
namespace {

using namespace redis_ha::testing::fixture;
using B = Blocker;

GateOptions Opts() {
  GateOptions o;
  o.max_staleness = 3s;
  o.failover_cooldown = 60s;
  o.max_lag_bytes = 1 << 20;
  return o;
}

// Evaluates `action` on `g` after assessing it, as the exporter does.
GateResult Gate(GroupSnapshot g, Action action, const std::string& node = "",
                model::SysTime now = kNow + 500ms, GateRequest extra = {}) {
  g.assessment = Assess(g, AssessOptions{});
  model::Snapshot s = SnapshotOf(g);
  extra.action = action;
  extra.node = node;
  GateResult r = EvaluateGate(s, s.FindGroup(g.name), extra, Opts(), now);
  // Every scenario of this file checks that the gate raises only blockers that apply to
  // the action (the metrics publish only those).
  for (const auto& [b, msg] : r.blockers) {
    EXPECT_TRUE(BlockerApplies(action, b))
        << BlockerName(b) << " raised for " << ActionName(action) << ": " << msg;
  }
  return r;
}

std::vector<B> Codes(const GateResult& r) {
  std::vector<B> out;
  for (const auto& [b, msg] : r.blockers) out.push_back(b);
  return out;
}

TEST(GateTest, HealthyGroupIsReadyForEveryAction) {
  auto r = Gate(Healthy(), Action::kFailover);
  EXPECT_TRUE(r.ready) << GateJson(r);
  ASSERT_TRUE(r.candidate.has_value());
  // Equal priority and offset: the lowest run id.
  EXPECT_EQ(r.candidate->node, kR1);
  EXPECT_TRUE(r.candidate->eligible);
  EXPECT_EQ(r.candidate->lag_bytes, 0);
  EXPECT_TRUE(Gate(Healthy(), Action::kRestartReplica, kR2).ready);
  EXPECT_TRUE(Gate(Healthy(), Action::kRestartSentinel, "10.0.1.2:26379").ready);
}

TEST(GateTest, BlockerNamesAreTheDocumentedSet) {
  EXPECT_STREQ(BlockerName(B::kStaleObservation), "stale_observation");
  EXPECT_STREQ(BlockerName(B::kNoEligibleReplica), "no_eligible_replica");
  EXPECT_STREQ(BlockerName(B::kReplicaSyncing), "replica_syncing");
  EXPECT_EQ(ParseAction("restart-sentinel"), Action::kRestartSentinel);
  EXPECT_FALSE(ParseAction("reboot").has_value());
}

TEST(GateTest, ApplicableBlockersFollowTheDocumentedActions) {
  auto count = [](Action a) {
    int n = 0;
    for (size_t i = 0; i < kBlockerCount; ++i) n += BlockerApplies(a, static_cast<B>(i));
    return n;
  };
  EXPECT_EQ(count(Action::kFailover), 14);
  EXPECT_EQ(count(Action::kRestartReplica), 14);
  EXPECT_EQ(count(Action::kRestartSentinel), 9);
  EXPECT_TRUE(BlockerApplies(Action::kFailover, B::kNoEligibleReplica));
  EXPECT_FALSE(BlockerApplies(Action::kRestartReplica, B::kNoEligibleReplica));
  EXPECT_TRUE(BlockerApplies(Action::kRestartSentinel, B::kQuorumWouldBreak));
  EXPECT_FALSE(BlockerApplies(Action::kFailover, B::kQuorumWouldBreak));
  EXPECT_TRUE(BlockerApplies(Action::kRestartReplica, B::kLastHealthyReplica));
  EXPECT_FALSE(BlockerApplies(Action::kRestartSentinel, B::kPrimaryDown));
}

TEST(GateTest, SentinelsRuleLowestPriorityThenHighestOffsetThenRunId) {
  auto g = Healthy();
  ForEachSentinelEntry(g, kR2, [](auto& e) { e.offset = 6000; });
  EXPECT_EQ(Gate(g, Action::kFailover).candidate->node, kR2);
  ForEachSentinelEntry(g, kR1, [](auto& e) { e.priority = 50; });
  EXPECT_EQ(Gate(g, Action::kFailover).candidate->node, kR1);
}

TEST(GateTest, SentinelSkipsWhatItWouldNotPromote) {
  for (int variant = 0; variant < 5; ++variant) {
    auto g = Healthy();
    ForEachSentinelEntry(g, kR1, [&](auto& e) {
      switch (variant) {
        case 0: e.priority = 0; break;
        case 1: e.s_down = true; break;
        case 2: e.disconnected = true; break;
        case 3: e.info_refresh_ms = 40000; break;        // INFO older than 3 x 10 s
        case 4: e.link_down_ms = 10 * 5000 + 1; break;   // link down longer than 10 x down-after
      }
    });
    auto r = Gate(g, Action::kFailover);
    ASSERT_TRUE(r.candidate.has_value()) << variant;
    EXPECT_EQ(r.candidate->node, kR2) << variant;
  }
}

TEST(GateTest, NoGoodSlaveWhenSentinelWouldFindNone) {
  auto g = Healthy();
  for (const char* r : {kR1, kR2}) ForEachSentinelEntry(g, r, [](auto& e) { e.priority = 0; });
  auto r = Gate(g, Action::kFailover);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(Codes(r), std::vector<B>{B::kNoEligibleReplica});
  EXPECT_NE(r.blockers[0].second.find("NOGOODSLAVE"), std::string::npos);
  EXPECT_FALSE(r.candidate.has_value());
}

TEST(GateTest, SentinelsChoiceLaggingIsNoEvenWhenAnotherWouldDo) {
  auto g = Healthy();
  // R2 has the lower priority value, so Sentinel picks it, but it lags in our poll.
  ForEachSentinelEntry(g, kR2, [](auto& e) { e.priority = 10; });
  Node(g, kR2)->priority = 10;
  Node(g, kR2)->slave_repl_offset = 5000 - (4 << 20);
  Node(g, kP)->master_repl_offset = 5000;
  auto r = Gate(g, Action::kFailover);
  EXPECT_FALSE(r.ready);
  ASSERT_TRUE(r.candidate.has_value());
  EXPECT_EQ(r.candidate->node, kR2);
  EXPECT_FALSE(r.candidate->eligible);
  ASSERT_TRUE(r.best_eligible.has_value());
  EXPECT_EQ(r.best_eligible->node, kR1);
  ASSERT_TRUE(r.Has(B::kNoEligibleReplica));
  const std::string& msg = r.blockers.back().second;
  EXPECT_NE(msg.find("Sentinel would promote 10.0.0.3:6379"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Best eligible replica: 10.0.0.2:6379"), std::string::npos) << msg;
  // A looser bound from the request makes it eligible.
  GateRequest loose;
  loose.max_lag_bytes = 8 << 20;
  EXPECT_TRUE(Gate(g, Action::kFailover, "", kNow + 500ms, loose).ready);
}

TEST(GateTest, CandidateMustRunTheRequiredVersion) {
  auto g = Healthy();
  for (auto& n : g.nodes) n.version = "7.0.15";
  GateRequest v;
  v.require_version = "7.2";
  auto r = Gate(g, Action::kFailover, "", kNow + 500ms, v);
  EXPECT_FALSE(r.ready);
  EXPECT_NE(r.candidate->why_not.find("runs 7.0.15, not 7.2"), std::string::npos);
  v.require_version = "7.0";  // a prefix at a dot boundary matches
  EXPECT_TRUE(Gate(g, Action::kFailover, "", kNow + 500ms, v).ready);
  v.require_version = "7.0.1";
  EXPECT_FALSE(Gate(g, Action::kFailover, "", kNow + 500ms, v).ready);
}

TEST(GateTest, StaleOrNeverObservedIsNeverReady) {
  auto r = Gate(Healthy(), Action::kFailover, "", kNow + 4s);
  EXPECT_FALSE(r.ready);
  EXPECT_TRUE(r.Has(B::kStaleObservation));
  EXPECT_DOUBLE_EQ(r.age_seconds, 4.0);
  model::Snapshot empty;
  auto never = EvaluateGate(empty, nullptr, GateRequest{}, Opts(), kNow);
  EXPECT_FALSE(never.ready);
  EXPECT_TRUE(never.Has(B::kStaleObservation));
  auto g = Healthy();
  g.last_success_at = {};
  EXPECT_TRUE(Gate(g, Action::kRestartReplica, kR1).Has(B::kStaleObservation));
}

TEST(GateTest, UnknownNodes) {
  EXPECT_TRUE(Gate(Healthy(), Action::kRestartReplica, "10.9.9.9:6379").Has(B::kUnknownNode));
  EXPECT_TRUE(Gate(Healthy(), Action::kRestartReplica, kP).Has(B::kUnknownNode));
  EXPECT_TRUE(Gate(Healthy(), Action::kRestartSentinel, kR1).Has(B::kUnknownNode));
  EXPECT_TRUE(Gate(Healthy(), Action::kFailover, kR1).Has(B::kUnknownNode));
  EXPECT_TRUE(Gate(Healthy(), Action::kFailover, kP).ready);
}

TEST(GateTest, SplitBrainConditionsBlockEverything) {
  auto g = Healthy();
  g.views[0].ckquorum_ok = false;
  g.views[0].ckquorum_message = "NOQUORUM 1 usable Sentinels.";
  for (Action a : kActions) {
    std::string node = a == Action::kRestartReplica ? kR1 : a == Action::kRestartSentinel ? "10.0.1.2:26379" : "";
    EXPECT_TRUE(Gate(g, a, node).Has(B::kQuorumUnreachable)) << ActionName(a);
  }
  g = Healthy();
  g.views[2].primary = kR1;
  EXPECT_TRUE(Gate(g, Action::kFailover).Has(B::kSentinelsDisagree));
  g = Healthy();
  Node(g, kR2)->role = Role::kPrimary;
  auto r = Gate(g, Action::kRestartReplica, kR1);
  EXPECT_TRUE(r.Has(B::kMultiplePrimaries));
}

TEST(GateTest, FailoverInProgressAndRecentFailover) {
  auto g = Healthy();
  g.views[1].flags[static_cast<size_t>(model::PrimaryFlag::kFailoverInProgress)] = true;
  g.views[1].failover_state = "wait_promotion";
  auto r = Gate(g, Action::kFailover);
  EXPECT_TRUE(r.Has(B::kFailoverInProgress));
  g = Healthy();
  Node(g, kP)->failover_state = "waiting-for-sync";
  EXPECT_TRUE(Gate(g, Action::kRestartReplica, kR1).Has(B::kFailoverInProgress));

  g = Healthy();
  g.history.last_failover_at = kNow - 10s;
  r = Gate(g, Action::kFailover);
  EXPECT_TRUE(r.Has(B::kRecentFailover));
  g.history.last_failover_at = kNow - 61s;
  EXPECT_TRUE(Gate(g, Action::kFailover).ready);
  // Without history: Sentinel switched primaries 20 s ago (role reported, epoch > 0).
  g = Healthy();
  for (auto& v : g.views) {
    v.config_epoch = 3;
    v.role_reported_time_ms = 20000;
  }
  EXPECT_TRUE(Gate(g, Action::kFailover).Has(B::kRecentFailover));
  // An exporter that has watched the group for longer than the cooldown trusts its own
  // history: a restarted Sentinel also resets that clock, and no failover happened.
  g.history.first_observed_at = kNow - 10min;
  EXPECT_TRUE(Gate(g, Action::kFailover).ready);
  g.history.first_observed_at = kNow - 30s;
  EXPECT_TRUE(Gate(g, Action::kFailover).Has(B::kRecentFailover));
  g.history.first_observed_at.reset();
  for (auto& v : g.views) v.config_epoch = 0;  // never failed over: a fresh start
  EXPECT_TRUE(Gate(g, Action::kFailover).ready);
}

TEST(GateTest, TiltDownAndLoadingPrimary) {
  auto g = Healthy();
  g.assessment = Assess(g, AssessOptions{});
  model::Snapshot s = SnapshotOf(g);
  s.sentinels[1].tilt = true;
  GateRequest req;
  auto r = EvaluateGate(s, s.FindGroup("g"), req, Opts(), kNow);
  EXPECT_TRUE(r.Has(B::kSentinelTilt));
  req.action = Action::kRestartReplica;
  req.node = kR1;
  EXPECT_FALSE(EvaluateGate(s, s.FindGroup("g"), req, Opts(), kNow).Has(B::kSentinelTilt));

  g = Healthy();
  g.views[0].flags[static_cast<size_t>(model::PrimaryFlag::kSDown)] = true;
  EXPECT_TRUE(Gate(g, Action::kFailover).Has(B::kPrimaryDown));
  g = Healthy();
  Node(g, kP)->loading = true;
  EXPECT_TRUE(Gate(g, Action::kFailover).Has(B::kPrimaryLoading));
}

TEST(GateTest, EmptyPrimaryRiskBlocksFailoverAndReplicaRestarts) {
  auto g = Healthy();
  Node(g, kP)->keys = 0;
  g.history.primary_restarted_at = kNow - 2s;
  EXPECT_TRUE(Gate(g, Action::kFailover).Has(B::kEmptyPrimaryRisk));
  auto r = Gate(g, Action::kRestartReplica, kR1);
  EXPECT_TRUE(r.Has(B::kEmptyPrimaryRisk));
  EXPECT_NE(GateJson(r).find("primary_restarted_with_fewer_keys"), std::string::npos);
  // A latent empty-primary risk (no persistence) alone does not block.
  g = Healthy();
  Node(g, kP)->config_save = "";
  Node(g, kP)->config_appendonly = false;
  EXPECT_TRUE(Gate(g, Action::kFailover).ready);
}

TEST(GateTest, ReplicaRedundancy) {
  auto g = Healthy();
  Node(g, kR2)->up = false;
  auto r = Gate(g, Action::kRestartReplica, kR1);
  EXPECT_TRUE(r.Has(B::kLastHealthyReplica));
  EXPECT_TRUE(r.Has(B::kMinReplicasWouldBreak));  // min-replicas-to-write 1, none left

  g = Healthy();
  Node(g, kP)->config_min_replicas_to_write = 2;
  EXPECT_TRUE(Gate(g, Action::kRestartReplica, kR1).Has(B::kMinReplicasWouldBreak));
  EXPECT_TRUE(Gate(g, Action::kFailover).Has(B::kMinReplicasWouldBreak));
  Node(g, kP)->config_min_replicas_to_write = 1;
  EXPECT_TRUE(Gate(g, Action::kFailover).ready);
  // A priority-0 replica cannot be promoted but still acknowledges writes.
  g = Healthy();
  Node(g, kR1)->priority = 0;
  ForEachSentinelEntry(g, kR1, [](auto& e) { e.priority = 0; });
  auto f = Gate(g, Action::kFailover);
  EXPECT_TRUE(f.ready) << GateJson(f);
  EXPECT_EQ(f.candidate->node, kR2);
  EXPECT_TRUE(Gate(g, Action::kRestartReplica, kR1).ready);
  EXPECT_TRUE(Gate(g, Action::kRestartReplica, kR2).Has(B::kLastHealthyReplica));
}

TEST(GateTest, LoadingAndSyncingReplicas) {
  auto g = Healthy();
  Node(g, kR1)->loading = true;
  auto r = Gate(g, Action::kRestartReplica, kR1);
  EXPECT_TRUE(r.Has(B::kNodeLoading));
  r = Gate(g, Action::kRestartReplica, kR2);
  EXPECT_TRUE(r.Has(B::kReplicaSyncing)) << "the other replica is loading";
  EXPECT_FALSE(r.Has(B::kNodeLoading));
  g = Healthy();
  Node(g, kR2)->sync_in_progress = true;
  EXPECT_TRUE(Gate(g, Action::kFailover).Has(B::kReplicaSyncing));
  EXPECT_TRUE(Gate(g, Action::kRestartReplica, kR2).Has(B::kReplicaSyncing));
}

TEST(GateTest, RestartSentinelKeepsQuorumAndMajority) {
  auto g = Healthy();
  EXPECT_TRUE(Gate(g, Action::kRestartSentinel, "10.0.1.1:26379").ready);
  // One Sentinel already down: the two left cannot lose another.
  g.views[2].reachable = false;
  for (auto& v : g.views) v.usable_sentinels = 2;
  auto r = Gate(g, Action::kRestartSentinel, "10.0.1.1:26379");
  EXPECT_FALSE(r.ready);
  ASSERT_TRUE(r.Has(B::kQuorumWouldBreak));
  EXPECT_NE(GateJson(r).find("1 usable Sentinel(s); quorum needs 2"), std::string::npos);
  // Restarting the one that is already down costs nothing.
  EXPECT_FALSE(Gate(g, Action::kRestartSentinel, "10.0.1.3:26379").Has(B::kQuorumWouldBreak));
  // Quorum 3 of 3: no Sentinel may be restarted.
  g = Healthy();
  for (auto& v : g.views) v.quorum = 3;
  EXPECT_TRUE(Gate(g, Action::kRestartSentinel, "10.0.1.1:26379").Has(B::kQuorumWouldBreak));
}

TEST(GateTest, EveryNoListsEveryBlocker) {
  auto g = Healthy();
  g.views[0].flags[static_cast<size_t>(model::PrimaryFlag::kSDown)] = true;
  Node(g, kP)->loading = true;
  Node(g, kR2)->sync_in_progress = true;
  auto r = Gate(g, Action::kFailover, "", kNow + 10s);
  auto codes = Codes(r);
  for (B b : {B::kStaleObservation, B::kPrimaryDown, B::kPrimaryLoading, B::kReplicaSyncing}) {
    EXPECT_TRUE(r.Has(b)) << BlockerName(b);
  }
  EXPECT_GE(codes.size(), 4u);
}

TEST(GateTest, JsonContract) {
  auto r = Gate(Healthy(), Action::kRestartReplica, kR1);
  std::string j = GateJson(r);
  for (const char* key : {"\"group\":\"g\"", "\"action\":\"restart-replica\"",
                          "\"node\":\"10.0.0.2:6379\"", "\"ready\":true", "\"blockers\":[]",
                          "\"candidate\":null", "\"observed_at\":", "\"age_seconds\":0.5"}) {
    EXPECT_NE(j.find(key), std::string::npos) << key << " in " << j;
  }
  auto f = Gate(Healthy(), Action::kFailover, "", kNow + 9s);
  j = GateJson(f);
  EXPECT_NE(j.find("\"node\":null"), std::string::npos);
  EXPECT_NE(j.find("{\"code\":\"stale_observation\",\"message\":"), std::string::npos) << j;
  EXPECT_NE(j.find("\"candidate\":{\"node\":\"10.0.0.2:6379\",\"priority\":100,\"lag_bytes\":0"),
            std::string::npos)
      << j;
}

}  // namespace
}  // namespace redis_ha::assess
