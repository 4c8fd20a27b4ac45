#include "assess/gate.h"

#include <algorithm>
#include <cstdio>

#include "assess/assess.h"
#include "util/json.h"

namespace redis_ha::assess {

namespace {

using model::NodeState;
using model::Role;

constexpr int64_t kSentinelPingPeriodMs = 1000;
constexpr int64_t kSentinelInfoPeriodMs = 10000;

std::string Secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", s);
  return buf;
}

// Sentinel's order: lowest priority value, then highest offset, then lowest run id
// (a missing run id sorts last).
template <typename T>
bool PromotionOrder(const T& a, const T& b) {
  int64_t pa = a.priority.value_or(100), pb = b.priority.value_or(100);
  if (pa != pb) return pa < pb;
  int64_t oa = a.offset.value_or(0), ob = b.offset.value_or(0);
  if (oa != ob) return oa > ob;
  if (a.run_id.empty() != b.run_id.empty()) return !a.run_id.empty();
  return a.run_id < b.run_id;
}

bool VersionMatches(const std::string& version, const std::string& wanted) {
  if (wanted.empty()) return true;
  return version == wanted ||
         (version.size() > wanted.size() && version.compare(0, wanted.size(), wanted) == 0 &&
          version[wanted.size()] == '.');
}

// Why `n` would not be a safe primary now, in our own poll; "" when eligible.
std::string Ineligible(const model::GroupSnapshot& g, const NodeState* n, int64_t max_lag,
                       const std::string& require_version) {
  if (n == nullptr) return "it is not among the nodes the exporter polls";
  if (!n->up) return "the exporter cannot reach it";
  if (n->role != Role::kReplica) return "it does not report role slave";
  if (!ReplicatesFromPrimary(g, *n)) return "it replicates from " + n->master_address;
  if (!n->link_up || !*n->link_up) return "its link to the primary is down";
  if (n->sync_in_progress) return "it is in a full sync";
  if (n->loading) return "it is loading its dataset";
  auto lag = LagBytes(g, *n);
  if (!lag) return "its lag is unknown";
  if (*lag > max_lag) {
    return "it lags " + std::to_string(*lag) + " bytes (max " + std::to_string(max_lag) + ")";
  }
  if (!VersionMatches(n->version, require_version)) {
    return "it runs " + n->version + ", not " + require_version;
  }
  return "";
}

Candidate MakeCandidate(const model::GroupSnapshot& g, const std::string& address,
                        std::optional<int64_t> priority, int64_t max_lag,
                        const std::string& require_version) {
  Candidate c;
  c.node = address;
  c.priority = priority;
  const NodeState* n = g.FindNode(address);
  if (n != nullptr) {
    c.lag_bytes = LagBytes(g, *n);
    c.version = n->version;
    if (!c.priority) c.priority = n->priority;
  }
  c.why_not = Ineligible(g, n, max_lag, require_version);
  c.eligible = c.why_not.empty();
  return c;
}

}  // namespace

const char* ActionName(Action a) {
  switch (a) {
    case Action::kFailover: return "failover";
    case Action::kRestartReplica: return "restart-replica";
    case Action::kRestartSentinel: return "restart-sentinel";
  }
  return "";
}

std::optional<Action> ParseAction(std::string_view name) {
  for (Action a : kActions) {
    if (name == ActionName(a)) return a;
  }
  return std::nullopt;
}

bool BlockerApplies(Action action, Blocker b) {
  const bool failover = action == Action::kFailover;
  const bool replica = action == Action::kRestartReplica;
  const bool sentinel = action == Action::kRestartSentinel;
  switch (b) {
    case Blocker::kStaleObservation:
    case Blocker::kUnknownNode:
    case Blocker::kQuorumUnreachable:
    case Blocker::kSentinelsDisagree:
    case Blocker::kMultiplePrimaries:
    case Blocker::kFailoverInProgress:
    case Blocker::kRecentFailover:
      return true;
    case Blocker::kSentinelTilt:
      return failover || sentinel;
    case Blocker::kPrimaryDown:
    case Blocker::kPrimaryLoading:
    case Blocker::kEmptyPrimaryRisk:
    case Blocker::kMinReplicasWouldBreak:
    case Blocker::kReplicaSyncing:
      return failover || replica;
    case Blocker::kNoEligibleReplica:
      return failover;
    case Blocker::kLastHealthyReplica:
    case Blocker::kNodeLoading:
      return replica;
    case Blocker::kQuorumWouldBreak:
      return sentinel;
  }
  return true;
}

const char* BlockerName(Blocker b) {
  static constexpr std::array<const char*, kBlockerCount> kNames = {
      "stale_observation", "unknown_node",         "quorum_unreachable",
      "sentinels_disagree", "multiple_primaries",  "failover_in_progress",
      "recent_failover",   "sentinel_tilt",        "primary_down",
      "primary_loading",   "no_eligible_replica",  "empty_primary_risk",
      "last_healthy_replica", "min_replicas_would_break", "quorum_would_break",
      "node_loading",      "replica_syncing"};
  return kNames[static_cast<size_t>(b)];
}

bool GateResult::Has(Blocker b) const {
  return std::any_of(blockers.begin(), blockers.end(),
                     [b](const auto& p) { return p.first == b; });
}

std::optional<model::SentinelReplicaEntry> PredictPromotion(const model::SentinelView& v) {
  const bool sdown = v.flag(model::PrimaryFlag::kSDown);
  int64_t max_down = v.down_after_ms.value_or(30000) * 10;
  if (sdown) max_down += v.s_down_time_ms.value_or(0);
  const int64_t info_validity = sdown ? kSentinelPingPeriodMs * 5 : kSentinelInfoPeriodMs * 3;
  std::vector<model::SentinelReplicaEntry> ok;
  for (const auto& r : v.replicas) {
    if (r.s_down || r.o_down || r.disconnected) continue;
    if (r.last_ok_ping_reply_ms && *r.last_ok_ping_reply_ms > kSentinelPingPeriodMs * 5) continue;
    if (r.priority && *r.priority == 0) continue;
    if (r.info_refresh_ms && *r.info_refresh_ms > info_validity) continue;
    if (r.link_down_ms && *r.link_down_ms > max_down) continue;
    ok.push_back(r);
  }
  if (ok.empty()) return std::nullopt;
  std::sort(ok.begin(), ok.end(), PromotionOrder<model::SentinelReplicaEntry>);
  return ok.front();
}

GateResult EvaluateGate(const model::Snapshot& snapshot, const model::GroupSnapshot* g,
                        const GateRequest& req, const GateOptions& opts, model::SysTime now) {
  GateResult r;
  r.request = req;
  auto block = [&](Blocker b, std::string msg) { r.blockers.emplace_back(b, std::move(msg)); };
  if (g == nullptr || g->last_success_at == model::SysTime{}) {
    if (g != nullptr) r.group = g->name;
    block(Blocker::kStaleObservation, "the exporter has not observed the group yet");
    return r;
  }
  r.group = g->name;
  r.observed_at = g->last_success_at;
  r.age_seconds = std::chrono::duration<double>(now - g->last_success_at).count();
  if (now - g->last_success_at > opts.max_staleness) {
    block(Blocker::kStaleObservation,
          "last observed " + Secs(r.age_seconds) + " ago (max " +
              Secs(std::chrono::duration<double>(opts.max_staleness).count()) + ")");
  }

  const bool failover = req.action == Action::kFailover;
  const bool replica = req.action == Action::kRestartReplica;
  const bool sentinel = req.action == Action::kRestartSentinel;
  const GroupAssessment& a = g->assessment;
  const int64_t max_lag = req.max_lag_bytes.value_or(opts.max_lag_bytes);
  std::vector<const model::SentinelView*> views;
  for (const auto& v : g->views) {
    if (v.reachable && v.monitors) views.push_back(&v);
  }
  const NodeState* primary = g->Primary();
  const NodeState* target = nullptr;

  // The node the action is about.
  if (replica) {
    target = g->FindNode(req.node);
    if (target == nullptr) {
      block(Blocker::kUnknownNode, req.node + " is not a known data node of " + g->name);
    } else if (req.node == g->primary) {
      block(Blocker::kUnknownNode, req.node + " is the primary; ask action=failover");
      target = nullptr;
    }
  } else if (sentinel) {
    bool known = std::any_of(g->views.begin(), g->views.end(),
                             [&](const auto& v) { return v.sentinel == req.node; });
    if (!known) block(Blocker::kUnknownNode, req.node + " is not a known Sentinel of " + g->name);
  } else if (!req.node.empty() && req.node != g->primary) {
    block(Blocker::kUnknownNode,
          req.node + " is not the primary of " + g->name + " (" + g->primary + ")");
  }

  // Group-wide conditions.
  if (a.factor(SplitBrainFactor::kQuorumUnreachable).active) {
    block(Blocker::kQuorumUnreachable, a.factor(SplitBrainFactor::kQuorumUnreachable).reason);
  }
  if (a.factor(SplitBrainFactor::kSentinelsDisagree).active) {
    block(Blocker::kSentinelsDisagree, a.factor(SplitBrainFactor::kSentinelsDisagree).reason);
  }
  if (a.factor(SplitBrainFactor::kMultiplePrimaries).active) {
    block(Blocker::kMultiplePrimaries, a.factor(SplitBrainFactor::kMultiplePrimaries).reason);
  }
  {
    std::vector<std::string> why;
    for (const auto* v : views) {
      if (v->flag(model::PrimaryFlag::kFailoverInProgress) || !v->failover_state.empty()) {
        why.push_back(v->sentinel + " is in failover state " +
                      (v->failover_state.empty() ? "in progress" : v->failover_state));
      }
    }
    for (const auto& n : g->nodes) {
      if (n.up && !n.failover_state.empty() && n.failover_state != "no-failover") {
        why.push_back(n.address + " reports master_failover_state " + n.failover_state);
      }
    }
    if (!why.empty()) block(Blocker::kFailoverInProgress, why.front());
  }
  {
    const auto& last = g->history.last_failover_at;
    if (last && now - *last < opts.failover_cooldown) {
      block(Blocker::kRecentFailover,
            "the primary changed " + Secs(std::chrono::duration<double>(now - *last).count()) +
                " ago (cooldown " +
                Secs(std::chrono::duration<double>(opts.failover_cooldown).count()) + ")");
    } else if (!g->history.first_observed_at ||
               now - *g->history.first_observed_at < opts.failover_cooldown) {
      // Without a cooldown's worth of history (a fresh exporter or `check`), Sentinel's own
      // clock: it resets the primary's role-reported time when it switches primaries (and,
      // conservatively, when the Sentinel itself restarts).
      for (const auto* v : views) {
        if (v->config_epoch && *v->config_epoch > 0 && v->role_reported_time_ms &&
            *v->role_reported_time_ms < opts.failover_cooldown.count()) {
          block(Blocker::kRecentFailover,
                v->sentinel + " took the primary's role " +
                    Secs(static_cast<double>(*v->role_reported_time_ms) / 1000.0) +
                    " ago (config epoch " + std::to_string(*v->config_epoch) + ")");
          break;
        }
      }
    }
  }
  if (failover || sentinel) {
    for (const auto& st : snapshot.sentinels) {
      bool ours = std::any_of(g->views.begin(), g->views.end(),
                              [&](const auto& v) { return v.sentinel == st.address; });
      if (ours && st.up && st.tilt) {
        block(Blocker::kSentinelTilt, st.address + " is in TILT mode and will not act");
        break;
      }
    }
  }
  if (failover || replica) {
    for (const auto* v : views) {
      if (v->flag(model::PrimaryFlag::kSDown) || v->flag(model::PrimaryFlag::kODown)) {
        block(Blocker::kPrimaryDown,
              v->sentinel + " flags the primary " +
                  (v->flag(model::PrimaryFlag::kODown) ? "o_down" : "s_down"));
        break;
      }
    }
    if (primary != nullptr && primary->up && primary->loading) {
      block(Blocker::kPrimaryLoading, primary->address + " is loading its dataset");
    }
    if (a.empty_primary.level >= Level::kImminent) {
      std::string why;
      for (size_t i = 0; i < kEmptyPrimaryFactorCount; ++i) {
        if (a.empty_primary.factors[i].active &&
            EmptyPrimaryFactors()[i].level >= Level::kImminent) {
          why = std::string(EmptyPrimaryFactors()[i].name) + ": " + a.empty_primary.factors[i].reason;
          break;
        }
      }
      block(Blocker::kEmptyPrimaryRisk, why);
    }
  }

  // Replica redundancy. Promotable replicas (healthy, priority above 0) keep a failover
  // possible; linked replicas (any priority) keep min-replicas-to-write satisfied.
  int healthy_others = 0;
  for (const auto& n : g->nodes) {
    if (replica && n.address == req.node) continue;
    if (IsHealthyReplica(*g, n, max_lag)) ++healthy_others;
  }
  if (replica && target != nullptr && healthy_others == 0) {
    block(Blocker::kLastHealthyReplica,
          "no other healthy replica would remain while " + req.node + " restarts");
  }
  if ((failover || replica) && primary != nullptr && primary->config_min_replicas_to_write) {
    // Failover: the candidate becomes the primary and the old primary is away while it
    // restarts, so the replicas left are the others.
    std::string leaving = replica ? req.node : "";
    if (failover) {
      const model::SentinelView* view = nullptr;
      for (const auto* v : views) {
        if (v->primary == g->primary) view = v;
      }
      if (view != nullptr) {
        if (auto pick = PredictPromotion(*view)) leaving = pick->address;
      }
    }
    int linked = 0;
    for (const auto& n : g->nodes) {
      if (n.address == leaving || !n.up || !ReplicatesFromPrimary(*g, n)) continue;
      if (n.link_up && *n.link_up && !n.sync_in_progress && !n.loading) ++linked;
    }
    if (*primary->config_min_replicas_to_write > linked) {
      block(Blocker::kMinReplicasWouldBreak,
            "min-replicas-to-write is " + std::to_string(*primary->config_min_replicas_to_write) +
                " but only " + std::to_string(linked) +
                " linked replica(s) would remain: the primary would refuse writes");
    }
  }

  if (sentinel) {
    std::optional<int64_t> usable, quorum, known;
    for (const auto* v : views) {
      if (v->usable_sentinels) usable = std::min(usable.value_or(*v->usable_sentinels), *v->usable_sentinels);
      if (v->quorum) quorum = std::max(quorum.value_or(*v->quorum), *v->quorum);
      if (v->num_other_sentinels) known = std::max(known.value_or(0), *v->num_other_sentinels + 1);
    }
    bool target_usable = std::any_of(views.begin(), views.end(),
                                     [&](const auto* v) { return v->sentinel == req.node; });
    if (!usable || !quorum || !known) {
      block(Blocker::kQuorumWouldBreak, "the Sentinels' quorum and peers are not known");
    } else {
      int64_t after = *usable - (target_usable ? 1 : 0);
      int64_t majority = *known / 2 + 1;
      if (after < *quorum || after < majority) {
        block(Blocker::kQuorumWouldBreak,
              "without " + req.node + ": " + std::to_string(after) +
                  " usable Sentinel(s); quorum needs " + std::to_string(*quorum) +
                  ", failover authorization needs " + std::to_string(majority) + " of " +
                  std::to_string(*known));
      }
    }
  }

  if (replica && target != nullptr && target->up && target->loading) {
    block(Blocker::kNodeLoading, req.node + " is loading its dataset");
  }
  if (failover || replica) {
    std::vector<std::string> syncing;
    for (const auto& n : g->nodes) {
      if (!n.up || n.role != Role::kReplica) continue;
      if (replica && n.address == req.node) {
        if (n.sync_in_progress) syncing.push_back(n.address + " is in a full sync");
        continue;
      }
      if (n.sync_in_progress || n.loading) {
        syncing.push_back(n.address + (n.loading ? " is loading" : " is in a full sync"));
      }
    }
    if (!syncing.empty()) block(Blocker::kReplicaSyncing, syncing.front());
  }

  // The failover candidate.
  if (failover) {
    const model::SentinelView* view = nullptr;
    for (const auto* v : views) {
      if (v->primary == g->primary) {
        view = v;
        break;
      }
    }
    std::vector<Candidate> eligible;
    if (view != nullptr) {
      for (const auto& e : view->replicas) {
        Candidate c = MakeCandidate(*g, e.address, e.priority, max_lag, req.require_version);
        if (c.eligible && (!e.priority || *e.priority != 0)) eligible.push_back(c);
      }
    }
    std::sort(eligible.begin(), eligible.end(), [&](const Candidate& x, const Candidate& y) {
      struct K {
        std::optional<int64_t> priority, offset;
        std::string run_id;
      };
      auto key = [&](const Candidate& c) {
        K k{c.priority, std::nullopt, ""};
        if (const auto* n = g->FindNode(c.node)) {
          k.offset = n->slave_repl_offset;
          k.run_id = n->run_id;
        }
        return k;
      };
      return PromotionOrder(key(x), key(y));
    });
    if (!eligible.empty()) r.best_eligible = eligible.front();

    auto pick = view != nullptr ? PredictPromotion(*view) : std::nullopt;
    if (view == nullptr) {
      block(Blocker::kNoEligibleReplica, "no reachable Sentinel names the primary");
    } else if (!pick) {
      block(Blocker::kNoEligibleReplica,
            "Sentinel would find no replica to promote (NOGOODSLAVE): every replica is down, "
            "disconnected, stale or has priority 0");
    } else {
      r.candidate = MakeCandidate(*g, pick->address, pick->priority, max_lag, req.require_version);
      if (!r.candidate->eligible) {
        std::string msg = "Sentinel would promote " + pick->address + " but " +
                          r.candidate->why_not + "; it cannot be made to pick another";
        if (r.best_eligible) {
          msg += ". Best eligible replica: " + r.best_eligible->node +
                 " (give it a lower replica-priority than " + pick->address + ")";
        } else {
          msg += ". No replica is eligible";
        }
        block(Blocker::kNoEligibleReplica, msg);
      }
    }
  }

  r.ready = r.blockers.empty();
  return r;
}

std::string GateJson(const GateResult& r) {
  JsonWriter w;
  w.BeginObject();
  w.Field("group", r.group).Field("action", ActionName(r.request.action));
  w.Key("node");
  if (r.request.node.empty()) w.Null();
  else w.String(r.request.node);
  w.Field("ready", r.ready);
  w.Key("blockers").BeginArray();
  for (const auto& [b, msg] : r.blockers) {
    w.BeginObject().Field("code", BlockerName(b)).Field("message", msg).EndObject();
  }
  w.EndArray();
  auto candidate = [&](const char* key, const std::optional<Candidate>& c) {
    w.Key(key);
    if (!c) {
      w.Null();
      return;
    }
    w.BeginObject().Field("node", c->node).Field("priority", c->priority);
    w.Field("lag_bytes", c->lag_bytes).Field("version", c->version).Field("eligible", c->eligible);
    if (!c->eligible) w.Field("why_not", c->why_not);
    w.EndObject();
  };
  candidate("candidate", r.candidate);
  candidate("best_eligible", r.best_eligible);
  w.Key("observed_at");
  if (r.observed_at) w.Number(model::ToUnixSeconds(*r.observed_at));
  else w.Null();
  w.Field("age_seconds", r.age_seconds);
  w.EndObject();
  return w.Take();
}

}  // namespace redis_ha::assess
