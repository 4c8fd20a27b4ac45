// GroupAssessment: what the assess functions derive from a group's snapshot and history:
// the two risk levels with their factors, derived gauges, and the rollout gate.
//
// Every factor and blocker belongs to a fixed, documented list (docs/risks.md,
// docs/gate.md); the metrics export all of them on every scrape.
//
// Thread-safety: plain values, part of the immutable Snapshot.
#ifndef REDIS_HA_ASSESS_ASSESSMENT_H_
#define REDIS_HA_ASSESS_ASSESSMENT_H_

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace redis_ha::assess {

// 0 none, 1 latent (a configuration that loses data at the next fault), 2 imminent (one
// step from loss), 3 active (happening or happened).
enum class Level { kNone = 0, kLatent = 1, kImminent = 2, kActive = 3 };
const char* LevelName(Level level);

struct FactorInfo {
  const char* name;     // label value, e.g. "multiple_primaries"
  Level level;          // the level it raises the risk to
  const char* meaning;  // one sentence for humans (status page, API)
};

enum class SplitBrainFactor {
  kMultiplePrimaries,
  kSentinelsDisagree,
  kQuorumUnreachable,
  kPartialPartition,
  kTooFewSentinels,
  kEvenSentinels,
  kQuorumBelowMajority,
  kNoMinReplicasToWrite,
  kDownAfterBelowRtt,
};
inline constexpr size_t kSplitBrainFactorCount = 9;

enum class EmptyPrimaryFactor {
  kPrimaryWithoutPersistence,
  kPrimaryRestartedWithFewerKeys,
  kReplicaSyncingFromEmptyPrimary,
  kReplicaWiped,
};
inline constexpr size_t kEmptyPrimaryFactorCount = 4;

const std::array<FactorInfo, kSplitBrainFactorCount>& SplitBrainFactors();
const std::array<FactorInfo, kEmptyPrimaryFactorCount>& EmptyPrimaryFactors();

// Checks that need CONFIG GET and may be impossible (ACL, renamed command).
enum class Check { kPersistence, kMinReplicasToWrite };
inline constexpr size_t kCheckCount = 2;
const char* CheckName(Check c);

struct FactorState {
  bool active = false;
  std::string reason;  // why, with the values involved ("" when inactive)
};

template <size_t N>
struct Risk {
  Level level = Level::kNone;
  std::array<FactorState, N> factors{};
};

struct GroupAssessment {
  int primaries = 0;      // reachable data nodes of the group reporting role master
  int primary_views = 0;  // distinct primaries named by reachable Sentinels
  Risk<kSplitBrainFactorCount> split_brain;
  Risk<kEmptyPrimaryFactorCount> empty_primary;
  std::array<bool, kCheckCount> check_unavailable{};
  int healthy_replicas = 0;
  // repl-backlog-size over the primary's write rate; +Inf without writes; unset unknown.
  std::optional<double> backlog_headroom_seconds;

  const FactorState& factor(SplitBrainFactor f) const {
    return split_brain.factors[static_cast<size_t>(f)];
  }
  const FactorState& factor(EmptyPrimaryFactor f) const {
    return empty_primary.factors[static_cast<size_t>(f)];
  }
};

}  // namespace redis_ha::assess

#endif  // REDIS_HA_ASSESS_ASSESSMENT_H_
