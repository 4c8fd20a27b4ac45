#include "assess/assess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace redis_ha::assess {

const char* LevelName(Level level) {
  switch (level) {
    case Level::kNone: return "none";
    case Level::kLatent: return "latent";
    case Level::kImminent: return "imminent";
    case Level::kActive: return "active";
  }
  return "none";
}

const std::array<FactorInfo, kSplitBrainFactorCount>& SplitBrainFactors() {
  static constexpr std::array<FactorInfo, kSplitBrainFactorCount> kFactors = {{
      {"multiple_primaries", Level::kActive,
       "More than one reachable data node of the group reports role master."},
      {"sentinels_disagree", Level::kImminent,
       "Reachable Sentinels name different primaries for the group."},
      {"quorum_unreachable", Level::kImminent,
       "A reachable Sentinel's SENTINEL CKQUORUM fails."},
      {"partial_partition", Level::kImminent,
       "Some Sentinels see the primary down and others do not, or some see fewer peers."},
      {"too_few_sentinels", Level::kLatent, "Fewer than 3 Sentinels are known."},
      {"even_sentinels", Level::kLatent,
       "An even number of Sentinels: a partition can split them evenly."},
      {"quorum_below_majority", Level::kLatent,
       "The quorum is below a majority of the known Sentinels."},
      {"no_min_replicas_to_write", Level::kLatent,
       "The primary keeps accepting writes when it loses its replicas "
       "(min-replicas-to-write 0)."},
      {"down_after_below_rtt", Level::kLatent,
       "down-after-milliseconds is below twice the p99 round trip to the primary plus the "
       "longest stall seen."},
  }};
  return kFactors;
}

const std::array<FactorInfo, kEmptyPrimaryFactorCount>& EmptyPrimaryFactors() {
  static constexpr std::array<FactorInfo, kEmptyPrimaryFactorCount> kFactors = {{
      {"primary_without_persistence", Level::kLatent,
       "Neither RDB snapshots nor AOF are enabled on the primary: a restart brings it back "
       "empty."},
      {"primary_restarted_with_fewer_keys", Level::kImminent,
       "The primary restarted and holds far fewer keys than its replicas still do."},
      {"replica_syncing_from_empty_primary", Level::kImminent,
       "A replica is full-syncing (or about to) from a primary with far fewer keys than it "
       "had."},
      {"replica_wiped", Level::kActive,
       "A replica's dataset collapsed after a full sync from a restarted primary: data was "
       "lost."},
  }};
  return kFactors;
}

const char* CheckName(Check c) {
  switch (c) {
    case Check::kPersistence: return "persistence";
    case Check::kMinReplicasToWrite: return "min_replicas_to_write";
  }
  return "";
}

std::optional<int64_t> LagBytes(const model::GroupSnapshot& g, const model::NodeState& n) {
  const model::NodeState* p = g.Primary();
  if (p == nullptr || !p->up || p->role != model::Role::kPrimary || !p->master_repl_offset ||
      !n.up || n.role != model::Role::kReplica || !n.slave_repl_offset) {
    return std::nullopt;
  }
  return std::max<int64_t>(0, *p->master_repl_offset - *n.slave_repl_offset);
}

bool ReplicatesFromPrimary(const model::GroupSnapshot& g, const model::NodeState& n) {
  const model::NodeState* p = g.Primary();
  if (p == nullptr || n.role != model::Role::kReplica || n.master_address.empty()) return false;
  return n.master_address == p->address || n.master_address == p->announced;
}

bool IsHealthyReplica(const model::GroupSnapshot& g, const model::NodeState& n,
                      int64_t max_lag_bytes) {
  if (!n.up || n.role != model::Role::kReplica || !ReplicatesFromPrimary(g, n)) return false;
  auto lag = LagBytes(g, n);
  return n.link_up && *n.link_up && !n.sync_in_progress && !n.loading && n.priority &&
         *n.priority > 0 && lag && *lag <= max_lag_bytes;
}

namespace {

template <size_t N, typename E>
void Raise(Risk<N>& risk, const std::array<FactorInfo, N>& infos, E factor, std::string reason) {
  auto i = static_cast<size_t>(factor);
  risk.factors[i].active = true;
  risk.factors[i].reason = std::move(reason);
  risk.level = std::max(risk.level, infos[i].level);
}

std::string Join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

void AssessSplitBrain(const model::GroupSnapshot& g, GroupAssessment& a) {
  using F = SplitBrainFactor;
  const auto& infos = SplitBrainFactors();
  auto& risk = a.split_brain;

  std::vector<std::string> masters;
  for (const auto& n : g.nodes) {
    if (n.up && n.role == model::Role::kPrimary) masters.push_back(n.address);
  }
  a.primaries = static_cast<int>(masters.size());
  if (masters.size() > 1) {
    Raise(risk, infos, F::kMultiplePrimaries,
          std::to_string(masters.size()) + " nodes report role master: " + Join(masters));
  }

  std::vector<const model::SentinelView*> views;
  for (const auto& v : g.views) {
    if (v.reachable && v.monitors) views.push_back(&v);
  }
  std::set<std::string> named;
  for (const auto* v : views) {
    if (!v->primary.empty()) named.insert(v->primary);
  }
  a.primary_views = static_cast<int>(named.size());
  // A Sentinel that did not answer its last poll but has since published a +switch-master
  // names that primary too (the poller keeps that vote for a while): it disagrees as much.
  std::vector<std::string> who;
  for (const auto* v : views) who.push_back(v->sentinel + " names " + v->primary);
  for (const auto& v : g.views) {
    if (v.reachable || v.primary.empty()) continue;
    named.insert(v.primary);
    who.push_back(v.sentinel + " announced " + v.primary + " (+switch-master; not answering)");
  }
  if (named.size() > 1) Raise(risk, infos, F::kSentinelsDisagree, Join(who, "; "));

  std::vector<std::string> noquorum;
  for (const auto* v : views) {
    if (v->ckquorum_ok && !*v->ckquorum_ok) {
      noquorum.push_back(v->sentinel + ": " + v->ckquorum_message);
    }
  }
  if (!noquorum.empty()) Raise(risk, infos, F::kQuorumUnreachable, Join(noquorum, "; "));

  std::vector<std::string> sdown, not_sdown;
  std::optional<int64_t> min_peers, max_peers;
  for (const auto* v : views) {
    (v->flag(model::PrimaryFlag::kSDown) ? sdown : not_sdown).push_back(v->sentinel);
    if (v->num_other_sentinels) {
      min_peers = std::min(min_peers.value_or(*v->num_other_sentinels), *v->num_other_sentinels);
      max_peers = std::max(max_peers.value_or(*v->num_other_sentinels), *v->num_other_sentinels);
    }
  }
  if (!sdown.empty() && !not_sdown.empty()) {
    Raise(risk, infos, F::kPartialPartition,
          "the primary is s_down for " + Join(sdown) + " but not for " + Join(not_sdown));
  } else if (min_peers && *min_peers != *max_peers) {
    Raise(risk, infos, F::kPartialPartition,
          "Sentinels see between " + std::to_string(*min_peers + 1) + " and " +
              std::to_string(*max_peers + 1) + " Sentinels");
  }

  if (max_peers) {
    const int64_t n = *max_peers + 1;
    if (n < 3) {
      Raise(risk, infos, F::kTooFewSentinels,
            std::to_string(n) + " Sentinel(s) known; 3 or more are needed to survive one loss");
    }
    if (n % 2 == 0) {
      Raise(risk, infos, F::kEvenSentinels,
            std::to_string(n) + " Sentinels: a partition can split them " +
                std::to_string(n / 2) + "/" + std::to_string(n / 2));
    }
    std::optional<int64_t> quorum;
    for (const auto* v : views) {
      if (v->quorum) quorum = std::min(quorum.value_or(*v->quorum), *v->quorum);
    }
    if (quorum && *quorum < n / 2 + 1) {
      Raise(risk, infos, F::kQuorumBelowMajority,
            "quorum " + std::to_string(*quorum) + " is below the majority " +
                std::to_string(n / 2 + 1) + " of " + std::to_string(n) + " Sentinels");
    }
  }

  const model::NodeState* p = g.Primary();
  if (p != nullptr && p->up && p->role == model::Role::kPrimary) {
    if (p->config_min_replicas_to_write) {
      if (*p->config_min_replicas_to_write == 0) {
        Raise(risk, infos, F::kNoMinReplicasToWrite,
              p->address + " has min-replicas-to-write 0: an isolated primary keeps taking "
                           "writes that a failover discards");
      }
    } else if (!p->min_replicas_good) {
      // INFO prints min_slaves_good_slaves only when the setting is on; without CONFIG
      // GET, its absence cannot tell "off" from "not reported".
      a.check_unavailable[static_cast<size_t>(Check::kMinReplicasToWrite)] = true;
    }
  }

  std::optional<int64_t> down_after;
  for (const auto* v : views) {
    if (v->down_after_ms) down_after = std::min(down_after.value_or(*v->down_after_ms), *v->down_after_ms);
  }
  const auto& h = g.history;
  if (down_after && h.primary_rtt_p99_seconds && h.primary_max_stall_seconds) {
    double need = 2 * *h.primary_rtt_p99_seconds + *h.primary_max_stall_seconds;
    if (static_cast<double>(*down_after) / 1000.0 < need) {
      char buf[160];
      std::snprintf(buf, sizeof(buf),
                    "down-after %.3fs < 2 x p99 round trip %.3fs + longest stall %.3fs",
                    static_cast<double>(*down_after) / 1000.0, *h.primary_rtt_p99_seconds,
                    *h.primary_max_stall_seconds);
      Raise(risk, infos, F::kDownAfterBelowRtt, buf);
    }
  }
}

void AssessEmptyPrimary(const model::GroupSnapshot& g, const AssessOptions& o,
                        GroupAssessment& a) {
  using F = EmptyPrimaryFactor;
  const auto& infos = EmptyPrimaryFactors();
  auto& risk = a.empty_primary;
  const model::NodeState* p = g.Primary();
  const bool primary_up = p != nullptr && p->up && p->role == model::Role::kPrimary;

  if (primary_up) {
    if (p->config_save && p->config_appendonly) {
      if (p->config_save->empty() && !*p->config_appendonly) {
        Raise(risk, infos, F::kPrimaryWithoutPersistence,
              p->address + " has save \"\" and appendonly no");
      }
    } else if (!(p->aof_enabled && *p->aof_enabled)) {
      a.check_unavailable[static_cast<size_t>(Check::kPersistence)] = true;
    }
  }

  auto far_fewer = [&](int64_t primary_keys, int64_t replica_keys) {
    return replica_keys > 0 &&
           static_cast<double>(primary_keys) < o.key_drop_fraction * static_cast<double>(replica_keys);
  };
  // What a replica holds or held recently (its key count may already be falling).
  auto had = [&](const model::NodeState& n) {
    int64_t k = n.keys.value_or(0);
    if (const auto* nh = g.history.Node(n.address); nh && nh->recent_max_keys) {
      k = std::max(k, *nh->recent_max_keys);
    }
    return k;
  };

  if (primary_up && p->keys) {
    const int64_t pk = *p->keys;
    if (g.history.primary_restarted_at) {
      std::vector<std::string> fuller;
      for (const auto& n : g.nodes) {
        if (!n.up || n.role != model::Role::kReplica || !n.keys) continue;
        if (far_fewer(pk, *n.keys)) {
          fuller.push_back(n.address + " holds " + std::to_string(*n.keys));
        }
      }
      if (!fuller.empty()) {
        Raise(risk, infos, F::kPrimaryRestartedWithFewerKeys,
              p->address + " restarted and holds " + std::to_string(pk) + " keys while " +
                  Join(fuller));
      }
    }
    std::vector<std::string> syncing;
    for (const auto& n : g.nodes) {
      if (!n.up || !ReplicatesFromPrimary(g, n)) continue;
      const bool about_to_sync = n.sync_in_progress || (n.link_up && !*n.link_up);
      if (about_to_sync && far_fewer(pk, had(n))) {
        syncing.push_back(n.address + " (had " + std::to_string(had(n)) + ")");
      }
    }
    if (!syncing.empty()) {
      Raise(risk, infos, F::kReplicaSyncingFromEmptyPrimary,
            Join(syncing) + " syncing from " + p->address + " holding " + std::to_string(pk) +
                " keys");
    }
  }

  std::vector<std::string> wiped;
  for (const auto& [addr, nh] : g.history.nodes) {
    if (nh.last_wipe_at && g.observed_at - *nh.last_wipe_at < o.wipe_hold) {
      wiped.push_back(addr + " (had " + std::to_string(nh.keys_before_wipe.value_or(0)) + ")");
    }
  }
  if (!wiped.empty()) {
    Raise(risk, infos, F::kReplicaWiped, "dataset wiped on " + Join(wiped));
  }
}

}  // namespace

void HoldImminent(GroupAssessment& a, ImminentMemory& mem, model::SysTime now,
                  std::chrono::milliseconds hold) {
  const auto& infos = EmptyPrimaryFactors();
  for (size_t i = 0; i < kEmptyPrimaryFactorCount; ++i) {
    if (infos[i].level != Level::kImminent) continue;
    FactorState& f = a.empty_primary.factors[i];
    if (f.active) {
      mem.last[i] = ImminentMemory::Seen{now, f.reason};
    } else if (mem.last[i] && now - mem.last[i]->at < hold) {
      f.active = true;
      f.reason = mem.last[i]->reason + " (held: last seen " +
                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                    now - mem.last[i]->at)
                                    .count()) +
                 "s ago)";
      a.empty_primary.level = std::max(a.empty_primary.level, infos[i].level);
    }
  }
}

GroupAssessment Assess(const model::GroupSnapshot& g, const AssessOptions& o) {
  GroupAssessment a;
  AssessSplitBrain(g, a);
  AssessEmptyPrimary(g, o, a);

  for (const auto& n : g.nodes) {
    if (IsHealthyReplica(g, n, o.max_lag_bytes)) ++a.healthy_replicas;
  }

  const model::NodeState* p = g.Primary();
  const auto& rate = g.history.primary_write_rate_bytes_per_second;
  if (p != nullptr && p->up && p->repl_backlog_size && rate) {
    a.backlog_headroom_seconds = *rate < 1.0 ? std::numeric_limits<double>::infinity()
                                             : static_cast<double>(*p->repl_backlog_size) / *rate;
  }
  return a;
}

}  // namespace redis_ha::assess
