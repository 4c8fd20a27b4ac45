// History: restarts, failovers, wipes, the RTT window and the write rate, fed cycle by cycle.
#include "model/history.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "model/snapshot.h"

namespace redis_ha::model {
namespace {

using namespace std::chrono_literals;
const SysTime kT0 = SysTime(std::chrono::seconds(1800000000));
constexpr const char* kP = "10.0.0.1:6379";
constexpr const char* kR = "10.0.0.2:6379";

GroupSnapshot Group(int64_t primary_keys, int64_t replica_keys, const std::string& primary_run,
                    int64_t primary_uptime) {
  GroupSnapshot g;
  g.name = "g";
  g.primary = kP;
  g.observed = true;
  NodeState p;
  p.address = kP;
  p.up = true;
  p.role = Role::kPrimary;
  p.keys = primary_keys;
  p.run_id = primary_run;
  p.uptime_seconds = primary_uptime;
  p.master_repl_offset = 1000;
  p.round_trip = std::chrono::milliseconds(1);
  NodeState r;
  r.address = kR;
  r.up = true;
  r.role = Role::kReplica;
  r.keys = replica_keys;
  r.run_id = "replica";
  r.uptime_seconds = 100000;
  g.nodes = {p, r};
  return g;
}

TEST(HistoryTest, CountsRestartsByRunIdOrUptime) {
  HistoryState h;
  h.Update(Group(10, 10, "a", 5000), kT0);
  h.Update(Group(10, 10, "a", 5001), kT0 + 1s);
  EXPECT_EQ(h.Summary().Node(kP)->restarts, 0u);
  h.Update(Group(10, 10, "b", 2), kT0 + 2s);  // new run id
  EXPECT_EQ(h.Summary().Node(kP)->restarts, 1u);
  h.Update(Group(10, 10, "b", 1), kT0 + 3s);  // uptime went back, same id (CONFIG RESETSTAT? no: restart)
  EXPECT_EQ(h.Summary().Node(kP)->restarts, 2u);
  EXPECT_EQ(h.Summary().Node(kR)->restarts, 0u);
}

TEST(HistoryTest, PrimaryRestartIsRememberedWithinTheWindow) {
  HistoryState h;
  h.Update(Group(10, 10, "a", 5000), kT0);
  EXPECT_FALSE(h.Summary().primary_restarted_at.has_value());
  h.Update(Group(0, 10, "b", 0), kT0 + 1s);
  ASSERT_TRUE(h.Summary().primary_restarted_at.has_value());
  h.Update(Group(0, 10, "b", 700), kT0 + 701s);
  EXPECT_FALSE(h.Summary().primary_restarted_at.has_value()) << "older than the 10 min hold";
}

TEST(HistoryTest, UptimeTellsOfARestartTheExporterDidNotSee) {
  HistoryState h;
  h.Update(Group(0, 10, "fresh", 3), kT0);
  ASSERT_TRUE(h.Summary().primary_restarted_at.has_value());
  EXPECT_EQ(*h.Summary().primary_restarted_at, kT0 - 3s);
}

TEST(HistoryTest, AWipeAfterARestartedPrimaryIsCountedOnce) {
  HistoryState h;
  h.Update(Group(2000, 2000, "a", 5000), kT0);
  h.Update(Group(2000, 2000, "a", 5001), kT0 + 1s);
  h.Update(Group(0, 2000, "b", 0), kT0 + 2s);  // restarted empty
  GroupSnapshot syncing = Group(0, 2000, "b", 1);
  syncing.nodes[1].sync_in_progress = true;
  syncing.nodes[1].keys = 300;  // partial while loading: not recorded
  h.Update(syncing, kT0 + 3s);
  EXPECT_EQ(h.Summary().Node(kR)->wipes, 0u);
  h.Update(Group(0, 0, "b", 7), kT0 + 8s);  // the sync is done: wiped
  const NodeHistory* r = h.Summary().Node(kR);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->wipes, 1u);
  ASSERT_TRUE(r->last_wipe_at.has_value());
  EXPECT_EQ(*r->last_wipe_at, kT0 + 8s);
  EXPECT_EQ(r->keys_before_wipe, 2000);
  h.Update(Group(0, 0, "b", 8), kT0 + 9s);
  EXPECT_EQ(h.Summary().Node(kR)->wipes, 1u);
}

TEST(HistoryTest, RecentMaxKeysIsTheMostWithinTheWipeWindow) {
  // The window is kept as a sliding maximum; check it against a brute-force maximum over
  // a sequence that rises, falls, repeats values and outlives its peaks.
  HistoryState h;
  const std::vector<int64_t> keys = {5, 9, 9, 3, 7, 2, 8, 8, 1, 0, 6, 4, 10, 2, 2, 3};
  const auto step = 100s;  // 6 polls per 10-minute window
  std::vector<std::pair<SysTime, int64_t>> seen;
  for (size_t i = 0; i < keys.size(); ++i) {
    const SysTime now = kT0 + step * static_cast<int>(i);
    h.Update(Group(10, keys[i], "a", 5000 + 100 * static_cast<int64_t>(i)), now);
    seen.emplace_back(now, keys[i]);
    int64_t want = 0;
    for (const auto& [t, k] : seen) {
      if (t >= now - 10min) want = std::max(want, k);
    }
    ASSERT_EQ(h.Summary().Node(kR)->recent_max_keys, want) << "poll " << i;
  }
}

TEST(HistoryTest, AFlushWithoutARestartIsNotAWipe) {
  HistoryState h;
  h.Update(Group(2000, 2000, "a", 5000), kT0);
  h.Update(Group(0, 0, "a", 5001), kT0 + 1s);  // FLUSHALL replicated
  EXPECT_EQ(h.Summary().Node(kR)->wipes, 0u);
}

TEST(HistoryTest, FailoversAreMajorityPrimaryChanges) {
  HistoryState h;
  GroupSnapshot g = Group(10, 10, "a", 5000);
  h.Update(g, kT0);
  EXPECT_EQ(h.Summary().failovers, 0u);
  g.primary = kR;
  h.Update(g, kT0 + 1s);
  EXPECT_EQ(h.Summary().failovers, 1u);
  EXPECT_EQ(h.Summary().last_failover_at, kT0 + 1s);
  g.observed = false;  // no Sentinel answered: no change is concluded
  g.primary = "";
  h.Update(g, kT0 + 2s);
  EXPECT_EQ(h.Summary().failovers, 1u);
}

TEST(HistoryTest, RttWindowNeedsSamplesAndSeesStalls) {
  HistoryOptions o;
  o.poll_interval = 1s;
  HistoryState h(o);
  for (int i = 0; i < 9; ++i) h.Update(Group(10, 10, "a", 5000 + i), kT0 + std::chrono::seconds(i));
  EXPECT_FALSE(h.Summary().primary_rtt_p99_seconds.has_value());
  h.Update(Group(10, 10, "a", 5009), kT0 + 9s);
  ASSERT_TRUE(h.Summary().primary_rtt_p99_seconds.has_value());
  EXPECT_DOUBLE_EQ(*h.Summary().primary_rtt_p99_seconds, 0.001);
  EXPECT_DOUBLE_EQ(*h.Summary().primary_max_stall_seconds, 0.0);
  // The primary does not answer for 4 s, then does: a 3 s stall (beyond one interval).
  GroupSnapshot down = Group(10, 10, "a", 5010);
  down.nodes[0].up = false;
  h.Update(down, kT0 + 10s);
  h.Update(Group(10, 10, "a", 5013), kT0 + 13s);
  EXPECT_DOUBLE_EQ(*h.Summary().primary_max_stall_seconds, 3.0);
}

TEST(HistoryTest, WriteRateFollowsOffsetGrowth) {
  HistoryState h;
  GroupSnapshot g = Group(10, 10, "a", 5000);
  for (int i = 0; i < 50; ++i) {
    g.nodes[0].master_repl_offset = 1000 + 500 * i;
    h.Update(g, kT0 + std::chrono::seconds(i));
  }
  ASSERT_TRUE(h.Summary().primary_write_rate_bytes_per_second.has_value());
  EXPECT_NEAR(*h.Summary().primary_write_rate_bytes_per_second, 500.0, 1.0);
  // The offset went back (restart): the rate starts over.
  g.nodes[0].master_repl_offset = 0;
  h.Update(g, kT0 + 51s);
  EXPECT_FALSE(h.Summary().primary_write_rate_bytes_per_second.has_value());
}

}  // namespace
}  // namespace redis_ha::model
