// Hand-built groups for the unit tests of assess and the gate: a healthy group of one
// primary, two replicas and three Sentinels, and accessors to break it.
#ifndef REDIS_HA_TESTS_SUPPORT_GROUP_FIXTURE_H_
#define REDIS_HA_TESTS_SUPPORT_GROUP_FIXTURE_H_

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "assess/assess.h"
#include "model/snapshot.h"

namespace redis_ha::testing::fixture {

using model::GroupSnapshot;
using model::NodeState;
using model::Role;
using model::SentinelView;
using namespace std::chrono_literals;

inline const model::SysTime kNow = model::SysTime(std::chrono::seconds(1800000000));
inline constexpr const char* kP = "10.0.0.1:6379";
inline constexpr const char* kR1 = "10.0.0.2:6379";
inline constexpr const char* kR2 = "10.0.0.3:6379";

inline SentinelView View(const std::string& sentinel) {
  SentinelView v;
  v.sentinel = sentinel;
  v.reachable = true;
  v.monitors = true;
  v.primary = kP;
  v.quorum = 2;
  v.num_other_sentinels = 2;
  v.num_slaves = 2;
  v.ckquorum_ok = true;
  v.usable_sentinels = 3;
  v.down_after_ms = 5000;
  v.failover_timeout_ms = 60000;
  v.config_epoch = 0;
  v.role_reported_time_ms = 100000;
  for (const char* r : {"10.0.0.2:6379", "10.0.0.3:6379"}) {
    model::SentinelReplicaEntry e;
    e.address = r;
    e.announced = r;
    e.run_id = std::string("r-run-") + r;
    e.link_ok = true;
    e.link_down_ms = 0;
    e.priority = 100;
    e.offset = 5000;
    e.last_ok_ping_reply_ms = 300;
    e.info_refresh_ms = 2000;
    v.replicas.push_back(e);
  }
  return v;
}

inline NodeState Primary() {
  NodeState n;
  n.address = kP;
  n.announced = kP;
  n.up = true;
  n.role = Role::kPrimary;
  n.keys = 1000;
  n.master_repl_offset = 5000;
  n.connected_replicas = 2;
  n.repl_backlog_size = 1 << 20;
  n.config_save = "3600 1";
  n.config_appendonly = true;
  n.config_min_replicas_to_write = 1;
  n.config_min_replicas_max_lag = 10;
  n.run_id = "p-run";
  n.uptime_seconds = 100000;
  return n;
}

inline NodeState Replica(const std::string& addr) {
  NodeState n;
  n.address = addr;
  n.announced = addr;
  n.up = true;
  n.role = Role::kReplica;
  n.keys = 1000;
  n.master_address = kP;
  n.link_up = true;
  n.slave_repl_offset = 5000;
  n.master_repl_offset = 5000;
  n.priority = 100;
  n.run_id = "r-run-" + addr;
  n.uptime_seconds = 100000;
  return n;
}

inline GroupSnapshot Healthy() {
  GroupSnapshot g;
  g.name = "g";
  g.primary = kP;
  g.observed = true;
  g.observed_at = kNow;
  g.last_success_at = kNow;
  g.views = {View("10.0.1.1:26379"), View("10.0.1.2:26379"), View("10.0.1.3:26379")};
  g.nodes = {Primary(), Replica(kR1), Replica(kR2)};
  g.history.primary_write_rate_bytes_per_second = 1024;
  return g;
}

// The Sentinel-side replica entry of `addr` in every view.
template <typename F>
void ForEachSentinelEntry(GroupSnapshot& g, const std::string& addr, F f) {
  for (auto& v : g.views) {
    for (auto& e : v.replicas) {
      if (e.address == addr) f(e);
    }
  }
}

// A snapshot holding `g`, with its three Sentinels up.
inline model::Snapshot SnapshotOf(const GroupSnapshot& g) {
  model::Snapshot s;
  s.cycle = 1;
  s.taken_at = g.observed_at;
  for (const auto& v : g.views) {
    model::SentinelState st;
    st.address = v.sentinel;
    st.up = true;
    st.groups = {g.name};
    s.sentinels.push_back(st);
  }
  s.groups[g.name] = g;
  return s;
}

// A fleet of `groups` healthy groups ("g000", ...; nodes 10.<n>.<m>.1-3:6379) watched by
// the same three Sentinels, each assessed: the shape of the benchmark's fleet.
inline model::Snapshot Fleet(int groups) {
  model::Snapshot s;
  s.cycle = 1;
  s.taken_at = kNow;
  const std::vector<std::string> sentinels = {"10.0.1.1:26379", "10.0.1.2:26379", "10.0.1.3:26379"};
  for (const auto& a : sentinels) {
    model::SentinelState st;
    st.address = a;
    st.up = true;
    st.version = "7.0.15";
    s.sentinels.push_back(st);
  }
  for (int i = 0; i < groups; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "g%03d", i);
    const std::string net = "10." + std::to_string(10 + i / 250) + "." + std::to_string(i % 250);
    const std::string p = net + ".1:6379";
    const std::string r1 = net + ".2:6379";
    const std::string r2 = net + ".3:6379";
    GroupSnapshot g = Healthy();
    g.name = name;
    g.primary = p;
    for (auto& v : g.views) {
      v.primary = p;
      v.replicas[0].address = v.replicas[0].announced = r1;
      v.replicas[1].address = v.replicas[1].announced = r2;
      v.replicas[0].run_id = "r-run-" + r1;
      v.replicas[1].run_id = "r-run-" + r2;
    }
    g.nodes = {Primary(), Replica(r1), Replica(r2)};
    g.nodes[0].address = g.nodes[0].announced = p;
    for (auto& n : g.nodes) {
      n.version = "7.0.15";
      n.round_trip = std::chrono::microseconds(180 + i);
      n.uptime_seconds = 100000 + i;
      if (n.role == Role::kReplica) n.master_address = p;
    }
    g.history.primary_rtt_p99_seconds = 0.000412 + i * 1e-6;
    g.assessment = assess::Assess(g, assess::AssessOptions{});
    for (auto& st : s.sentinels) st.groups.push_back(g.name);
    s.groups[g.name] = std::move(g);
  }
  return s;
}

inline NodeState* Node(GroupSnapshot& g, const std::string& addr) {
  for (auto& n : g.nodes) {
    if (n.address == addr) return &n;
  }
  return nullptr;
}

}  // namespace redis_ha::testing::fixture

#endif  // REDIS_HA_TESTS_SUPPORT_GROUP_FIXTURE_H_
