// Every split-brain and empty-primary rule on hand-built snapshots, with the edges.
#include "assess/assess.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/history.h"
#include "support/group_fixture.h"

namespace redis_ha::assess {
namespace {

using model::GroupSnapshot;
using model::NodeState;
using model::Role;
using model::SentinelView;
using namespace redis_ha::testing::fixture;
using SB = SplitBrainFactor;
using EP = EmptyPrimaryFactor;
using namespace std::chrono_literals;

GroupAssessment Eval(const GroupSnapshot& g) { return Assess(g, AssessOptions{}); }

void ExpectOnly(const GroupAssessment& a, std::vector<SB> sb, std::vector<EP> ep) {
  for (size_t i = 0; i < kSplitBrainFactorCount; ++i) {
    bool want = std::find(sb.begin(), sb.end(), static_cast<SB>(i)) != sb.end();
    EXPECT_EQ(a.split_brain.factors[i].active, want) << SplitBrainFactors()[i].name << ": "
                                                     << a.split_brain.factors[i].reason;
    if (want) {
      EXPECT_FALSE(a.split_brain.factors[i].reason.empty());
    }
  }
  for (size_t i = 0; i < kEmptyPrimaryFactorCount; ++i) {
    bool want = std::find(ep.begin(), ep.end(), static_cast<EP>(i)) != ep.end();
    EXPECT_EQ(a.empty_primary.factors[i].active, want) << EmptyPrimaryFactors()[i].name << ": "
                                                       << a.empty_primary.factors[i].reason;
  }
}

TEST(AssessTest, HealthyGroupHasNoRisk) {
  auto a = Eval(Healthy());
  EXPECT_EQ(a.split_brain.level, Level::kNone);
  EXPECT_EQ(a.empty_primary.level, Level::kNone);
  ExpectOnly(a, {}, {});
  EXPECT_EQ(a.primaries, 1);
  EXPECT_EQ(a.primary_views, 1);
  EXPECT_EQ(a.healthy_replicas, 2);
  ASSERT_TRUE(a.backlog_headroom_seconds.has_value());
  EXPECT_DOUBLE_EQ(*a.backlog_headroom_seconds, 1024.0);
  EXPECT_FALSE(a.check_unavailable[0]);
  EXPECT_FALSE(a.check_unavailable[1]);
}

TEST(AssessTest, FactorListsAreFixedAndLevelled) {
  EXPECT_STREQ(SplitBrainFactors()[0].name, "multiple_primaries");
  EXPECT_EQ(SplitBrainFactors()[0].level, Level::kActive);
  EXPECT_EQ(SplitBrainFactors()[static_cast<size_t>(SB::kSentinelsDisagree)].level,
            Level::kImminent);
  EXPECT_EQ(SplitBrainFactors()[static_cast<size_t>(SB::kDownAfterBelowRtt)].level, Level::kLatent);
  EXPECT_STREQ(EmptyPrimaryFactors()[3].name, "replica_wiped");
  EXPECT_EQ(EmptyPrimaryFactors()[3].level, Level::kActive);
}

TEST(AssessTest, MultiplePrimariesIsActive) {
  auto g = Healthy();
  Node(g, kR1)->role = Role::kPrimary;
  auto a = Eval(g);
  EXPECT_EQ(a.primaries, 2);
  EXPECT_EQ(a.split_brain.level, Level::kActive);
  EXPECT_TRUE(a.factor(SB::kMultiplePrimaries).active);
  EXPECT_NE(a.factor(SB::kMultiplePrimaries).reason.find(kR1), std::string::npos);
}

TEST(AssessTest, AnUnreachableOldPrimaryDoesNotCount) {
  auto g = Healthy();
  Node(g, kR1)->role = Role::kPrimary;
  Node(g, kR1)->up = false;
  EXPECT_FALSE(Eval(g).factor(SB::kMultiplePrimaries).active);
}

TEST(AssessTest, SentinelsDisagree) {
  auto g = Healthy();
  g.views[2].primary = kR1;
  auto a = Eval(g);
  EXPECT_EQ(a.primary_views, 2);
  ExpectOnly(a, {SB::kSentinelsDisagree}, {});
  EXPECT_EQ(a.split_brain.level, Level::kImminent);
}

TEST(AssessTest, AnUnreachableSentinelVotesOnlyWithItsOwnSwitch) {
  auto g = Healthy();
  g.views[2] = model::SentinelView{};
  g.views[2].sentinel = "10.0.0.23:26379";
  auto a = Eval(g);
  EXPECT_EQ(a.primary_views, 1);
  ExpectOnly(a, {}, {});
  // The poller names a primary in an unreachable Sentinel's view only after that Sentinel
  // published a +switch-master (poll/observe.h, EventOverlay::NamePrimary): it disagrees.
  g.views[2].primary = kR1;
  a = Eval(g);
  EXPECT_EQ(a.primary_views, 1);  // reachable ones only
  ExpectOnly(a, {SB::kSentinelsDisagree}, {});
  EXPECT_NE(a.factor(SB::kSentinelsDisagree).reason.find("not answering"), std::string::npos);
}

TEST(AssessTest, QuorumUnreachable) {
  auto g = Healthy();
  g.views[0].ckquorum_ok = false;
  g.views[0].ckquorum_message = "NOQUORUM 1 usable Sentinels.";
  auto a = Eval(g);
  ExpectOnly(a, {SB::kQuorumUnreachable}, {});
  EXPECT_NE(a.factor(SB::kQuorumUnreachable).reason.find("NOQUORUM"), std::string::npos);
}

TEST(AssessTest, PartialPartitionBySdownOrPeerCount) {
  auto g = Healthy();
  g.views[0].flags[static_cast<size_t>(model::PrimaryFlag::kSDown)] = true;
  ExpectOnly(Eval(g), {SB::kPartialPartition}, {});
  g = Healthy();
  g.views[1].num_other_sentinels = 1;
  ExpectOnly(Eval(g), {SB::kPartialPartition}, {});
  // Everybody agrees the primary is down: not a partition.
  g = Healthy();
  for (auto& v : g.views) v.flags[static_cast<size_t>(model::PrimaryFlag::kSDown)] = true;
  ExpectOnly(Eval(g), {}, {});
}

TEST(AssessTest, SentinelCountAndQuorumConfiguration) {
  auto g = Healthy();
  g.views.pop_back();
  for (auto& v : g.views) v.num_other_sentinels = 1;
  auto a = Eval(g);
  ExpectOnly(a, {SB::kTooFewSentinels, SB::kEvenSentinels}, {});
  EXPECT_EQ(a.split_brain.level, Level::kLatent);

  g = Healthy();
  for (auto& v : g.views) v.num_other_sentinels = 3;  // 4 known
  for (auto& v : g.views) v.quorum = 3;
  ExpectOnly(Eval(g), {SB::kEvenSentinels}, {});

  g = Healthy();
  for (auto& v : g.views) v.quorum = 1;
  ExpectOnly(Eval(g), {SB::kQuorumBelowMajority}, {});
  // One Sentinel configured lower than the rest is enough.
  g = Healthy();
  g.views[1].quorum = 1;
  ExpectOnly(Eval(g), {SB::kQuorumBelowMajority}, {});
}

TEST(AssessTest, MinReplicasToWrite) {
  auto g = Healthy();
  Node(g, kP)->config_min_replicas_to_write = 0;
  ExpectOnly(Eval(g), {SB::kNoMinReplicasToWrite}, {});
  // CONFIG denied, and INFO does not show min_slaves_good_slaves: unknown, not guessed.
  g = Healthy();
  Node(g, kP)->config_min_replicas_to_write.reset();
  Node(g, kP)->config_unavailable = true;
  auto a = Eval(g);
  ExpectOnly(a, {}, {});
  EXPECT_TRUE(a.check_unavailable[static_cast<size_t>(Check::kMinReplicasToWrite)]);
  // ... but INFO showing min_slaves_good_slaves proves the setting is on.
  Node(g, kP)->min_replicas_good = 2;
  EXPECT_FALSE(Eval(g).check_unavailable[static_cast<size_t>(Check::kMinReplicasToWrite)]);
}

TEST(AssessTest, DownAfterBelowRtt) {
  auto g = Healthy();
  g.history.primary_rtt_p99_seconds = 2.0;
  g.history.primary_max_stall_seconds = 1.5;
  auto a = Eval(g);
  ExpectOnly(a, {SB::kDownAfterBelowRtt}, {});
  EXPECT_NE(a.factor(SB::kDownAfterBelowRtt).reason.find("down-after 5.000s"), std::string::npos);
  g.history.primary_rtt_p99_seconds = 0.001;
  g.history.primary_max_stall_seconds = 0.2;
  ExpectOnly(Eval(g), {}, {});
  // Too few samples: unknown, not raised.
  g.history.primary_rtt_p99_seconds.reset();
  ExpectOnly(Eval(g), {}, {});
}

TEST(AssessTest, PrimaryWithoutPersistence) {
  auto g = Healthy();
  Node(g, kP)->config_save = "";
  Node(g, kP)->config_appendonly = false;
  auto a = Eval(g);
  ExpectOnly(a, {}, {EP::kPrimaryWithoutPersistence});
  EXPECT_EQ(a.empty_primary.level, Level::kLatent);
  // RDB only or AOF only is persistence.
  Node(g, kP)->config_appendonly = true;
  ExpectOnly(Eval(g), {}, {});
  // CONFIG denied: say the check could not be made.
  g = Healthy();
  Node(g, kP)->config_save.reset();
  Node(g, kP)->config_appendonly.reset();
  Node(g, kP)->config_unavailable = true;
  a = Eval(g);
  ExpectOnly(a, {}, {});
  EXPECT_TRUE(a.check_unavailable[static_cast<size_t>(Check::kPersistence)]);
  // INFO's aof_enabled:1 answers it without CONFIG.
  Node(g, kP)->aof_enabled = true;
  EXPECT_FALSE(Eval(g).check_unavailable[static_cast<size_t>(Check::kPersistence)]);
}

TEST(AssessTest, PrimaryRestartedWithFewerKeys) {
  auto g = Healthy();
  Node(g, kP)->keys = 0;
  g.history.primary_restarted_at = kNow - 2s;
  auto a = Eval(g);
  EXPECT_TRUE(a.factor(EP::kPrimaryRestartedWithFewerKeys).active);
  EXPECT_EQ(a.empty_primary.level, Level::kImminent);
  // Without a restart, fewer keys alone is not this factor.
  g.history.primary_restarted_at.reset();
  EXPECT_FALSE(Eval(g).factor(EP::kPrimaryRestartedWithFewerKeys).active);
  // A restart that came back with its data is fine.
  g = Healthy();
  g.history.primary_restarted_at = kNow - 2s;
  Node(g, kP)->keys = 990;
  ExpectOnly(Eval(g), {}, {});
  // Replicas that hold nothing: nothing to lose.
  g = Healthy();
  g.history.primary_restarted_at = kNow - 2s;
  for (auto& n : g.nodes) n.keys = 0;
  ExpectOnly(Eval(g), {}, {});
}

TEST(AssessTest, ReplicaSyncingFromEmptyPrimary) {
  auto g = Healthy();
  Node(g, kP)->keys = 0;
  Node(g, kR1)->sync_in_progress = true;
  auto a = Eval(g);
  EXPECT_TRUE(a.factor(EP::kReplicaSyncingFromEmptyPrimary).active);
  EXPECT_NE(a.factor(EP::kReplicaSyncingFromEmptyPrimary).reason.find(kR1), std::string::npos);
  // "About to": its link is down, it will full-sync when it reconnects.
  g = Healthy();
  Node(g, kP)->keys = 10;
  Node(g, kR2)->link_up = false;
  EXPECT_TRUE(Eval(g).factor(EP::kReplicaSyncingFromEmptyPrimary).active);
  // Its key count may already be falling: what it had recently counts.
  g = Healthy();
  Node(g, kP)->keys = 0;
  Node(g, kR1)->sync_in_progress = true;
  Node(g, kR1)->keys = 0;
  Node(g, kR2)->keys = 0;
  g.history.nodes[kR1].recent_max_keys = 1000;
  EXPECT_TRUE(Eval(g).factor(EP::kReplicaSyncingFromEmptyPrimary).active);
  // A new, empty replica syncing from a full primary is normal.
  g = Healthy();
  Node(g, kR1)->keys = 0;
  Node(g, kR1)->sync_in_progress = true;
  EXPECT_FALSE(Eval(g).factor(EP::kReplicaSyncingFromEmptyPrimary).active);
}

TEST(AssessTest, ReplicaWipedIsHeldThenClears) {
  auto g = Healthy();
  g.history.nodes[kR1].wipes = 1;
  g.history.nodes[kR1].last_wipe_at = kNow - 5min;
  g.history.nodes[kR1].keys_before_wipe = 2000;
  auto a = Eval(g);
  ExpectOnly(a, {}, {EP::kReplicaWiped});
  EXPECT_EQ(a.empty_primary.level, Level::kActive);
  EXPECT_NE(a.factor(EP::kReplicaWiped).reason.find("had 2000"), std::string::npos);
  g.history.nodes[kR1].last_wipe_at = kNow - 11min;
  ExpectOnly(Eval(g), {}, {});
}

TEST(AssessTest, ImminentFactorsAreHeldThenRelease) {
  ImminentMemory mem;
  auto g = Healthy();
  Node(g, kP)->keys = 0;
  Node(g, kR1)->sync_in_progress = true;
  auto a = Eval(g);
  HoldImminent(a, mem, kNow, 60s);
  EXPECT_TRUE(a.factor(EP::kReplicaSyncingFromEmptyPrimary).active);
  // The condition is gone 5 s later (the sync finished): still raised, marked as held.
  auto later = Eval(Healthy());
  HoldImminent(later, mem, kNow + 5s, 60s);
  EXPECT_TRUE(later.factor(EP::kReplicaSyncingFromEmptyPrimary).active);
  EXPECT_NE(later.factor(EP::kReplicaSyncingFromEmptyPrimary).reason.find("held"),
            std::string::npos);
  EXPECT_EQ(later.empty_primary.level, Level::kImminent);
  // Latent and active factors are never held by this.
  EXPECT_FALSE(later.factor(EP::kPrimaryWithoutPersistence).active);
  auto much_later = Eval(Healthy());
  HoldImminent(much_later, mem, kNow + 61s, 60s);
  ExpectOnly(much_later, {}, {});
  EXPECT_EQ(much_later.empty_primary.level, Level::kNone);
}

TEST(AssessTest, HealthyReplicasCountsOnlyGoodOnes) {
  auto g = Healthy();
  Node(g, kR1)->priority = 0;
  EXPECT_EQ(Eval(g).healthy_replicas, 1);
  g = Healthy();
  Node(g, kR1)->slave_repl_offset = 5000 - (2 << 20);
  EXPECT_EQ(Eval(g).healthy_replicas, 1);
  g = Healthy();
  Node(g, kR1)->loading = true;
  Node(g, kR2)->up = false;
  EXPECT_EQ(Eval(g).healthy_replicas, 0);
  // A replica of another primary is not one of ours.
  g = Healthy();
  Node(g, kR1)->master_address = "10.9.9.9:6379";
  EXPECT_EQ(Eval(g).healthy_replicas, 1);
}

TEST(AssessTest, BacklogHeadroom) {
  auto g = Healthy();
  g.history.primary_write_rate_bytes_per_second = 0;
  auto a = Eval(g);
  ASSERT_TRUE(a.backlog_headroom_seconds.has_value());
  EXPECT_TRUE(std::isinf(*a.backlog_headroom_seconds));
  g.history.primary_write_rate_bytes_per_second.reset();
  EXPECT_FALSE(Eval(g).backlog_headroom_seconds.has_value());
}

TEST(AssessTest, EdgesDoNotInventRisk) {
  // No replicas at all.
  auto g = Healthy();
  g.nodes.resize(1);
  auto a = Eval(g);
  ExpectOnly(a, {}, {});
  EXPECT_EQ(a.healthy_replicas, 0);
  // No Sentinel reachable: nothing known about the Sentinel configuration.
  g = Healthy();
  for (auto& v : g.views) v.reachable = false;
  a = Eval(g);
  ExpectOnly(a, {}, {});
  EXPECT_EQ(a.primary_views, 0);
  // No primary known, no nodes.
  GroupSnapshot empty;
  empty.name = "e";
  a = Eval(empty);
  ExpectOnly(a, {}, {});
  EXPECT_EQ(a.primaries, 0);
  // Unknown values everywhere.
  g = Healthy();
  for (auto& n : g.nodes) {
    n.keys.reset();
    n.config_save.reset();
    n.config_appendonly.reset();
    n.config_min_replicas_to_write.reset();
  }
  for (auto& v : g.views) {
    v.quorum.reset();
    v.num_other_sentinels.reset();
    v.ckquorum_ok.reset();
  }
  a = Eval(g);
  ExpectOnly(a, {}, {});
  EXPECT_TRUE(a.check_unavailable[0]);
  EXPECT_TRUE(a.check_unavailable[1]);
}

}  // namespace
}  // namespace redis_ha::assess
