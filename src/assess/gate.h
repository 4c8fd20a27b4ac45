// Gate: may this node be touched now? Pure evaluation of a rollout action against a
// group's published snapshot, at a given time.
//
// Contract: fails closed. Every "no" lists every blocker that applies, from the fixed
// set in docs/gate.md, each with a message naming the values involved. Stale or missing
// observations are never ready. For `failover`, the replica Sentinel would promote is
// predicted with Sentinel's own rule (sentinelSelectSlave: not s_down/o_down/
// disconnected, answered a ping within 5 s, INFO fresh, link down no longer than 10 x
// down-after, priority != 0; then lowest priority, highest offset, lowest run id) applied
// to the Sentinel's own replica table, then checked against our own poll.
//
// Thread-safety: pure functions.
#ifndef REDIS_HA_ASSESS_GATE_H_
#define REDIS_HA_ASSESS_GATE_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace redis_ha::assess {

enum class Action { kFailover, kRestartReplica, kRestartSentinel };
inline constexpr std::array<Action, 3> kActions = {Action::kFailover, Action::kRestartReplica,
                                                   Action::kRestartSentinel};
const char* ActionName(Action a);
std::optional<Action> ParseAction(std::string_view name);

enum class Blocker {
  kStaleObservation,
  kUnknownNode,
  kQuorumUnreachable,
  kSentinelsDisagree,
  kMultiplePrimaries,
  kFailoverInProgress,
  kRecentFailover,
  kSentinelTilt,
  kPrimaryDown,
  kPrimaryLoading,
  kNoEligibleReplica,
  kEmptyPrimaryRisk,
  kLastHealthyReplica,
  kMinReplicasWouldBreak,
  kQuorumWouldBreak,
  kNodeLoading,
  kReplicaSyncing,
};
inline constexpr size_t kBlockerCount = 17;
const char* BlockerName(Blocker b);
// Whether `b` can ever hold `action` (the "actions" column of docs/gate.md). EvaluateGate
// raises no other pair; the metrics publish exactly these pairs.
bool BlockerApplies(Action action, Blocker b);

struct GateOptions {
  std::chrono::milliseconds max_staleness{3000};
  std::chrono::milliseconds failover_cooldown{60000};
  int64_t max_lag_bytes = 1 << 20;
};

struct GateRequest {
  Action action = Action::kFailover;
  std::string node;                    // required for restart-*; optional for failover
  std::optional<int64_t> max_lag_bytes;  // overrides GateOptions::max_lag_bytes
  std::string require_version;         // candidate must run it
};

struct Candidate {
  std::string node;
  std::optional<int64_t> priority;
  std::optional<int64_t> lag_bytes;
  std::string version;
  bool eligible = false;
  std::string why_not;  // when not eligible
};

struct GateResult {
  std::string group;
  GateRequest request;
  bool ready = false;
  std::vector<std::pair<Blocker, std::string>> blockers;
  std::optional<Candidate> candidate;      // failover: Sentinel's predicted choice
  std::optional<Candidate> best_eligible;  // failover: the replica to raise priority on
  std::optional<model::SysTime> observed_at;
  double age_seconds = 0;

  bool Has(Blocker b) const;
};

// `group` may be null (never observed): the result is a stale_observation "no".
GateResult EvaluateGate(const model::Snapshot& snapshot, const model::GroupSnapshot* group,
                        const GateRequest& request, const GateOptions& options,
                        model::SysTime now);

// Sentinel's choice among its own replica table (nullopt: it would find none).
std::optional<model::SentinelReplicaEntry> PredictPromotion(const model::SentinelView& view);

// The JSON body documented in docs/gate.md.
std::string GateJson(const GateResult& result);

}  // namespace redis_ha::assess

#endif  // REDIS_HA_ASSESS_GATE_H_
