// Assess: pure functions from a group's snapshot (and the history carried in it) to the
// risks, factors and derived gauges published with it. docs/risks.md states every rule.
//
// Thread-safety: pure functions.
#ifndef REDIS_HA_ASSESS_ASSESS_H_
#define REDIS_HA_ASSESS_ASSESS_H_

#include <chrono>
#include <cstdint>

#include "assess/assessment.h"
#include "model/snapshot.h"

namespace redis_ha::assess {

struct AssessOptions {
  double key_drop_fraction = 0.5;  // "far fewer keys": below this fraction
  std::chrono::milliseconds wipe_hold{std::chrono::minutes(10)};
  int64_t max_lag_bytes = 1 << 20;  // a healthy replica lags at most this much
};

GroupAssessment Assess(const model::GroupSnapshot& group, const AssessOptions& options);

// When the imminent empty-primary factors were last raised, carried across cycles.
struct ImminentMemory {
  struct Seen {
    model::SysTime at;
    std::string reason;
  };
  std::array<std::optional<Seen>, kEmptyPrimaryFactorCount> last;
};

// Keeps an imminent empty-primary factor raised for `hold` after its condition last held:
// its window can be seconds long, shorter than a scrape interval, and must not be missed.
void HoldImminent(GroupAssessment& assessment, ImminentMemory& memory, model::SysTime now,
                  std::chrono::milliseconds hold);

// The replica's lag behind the group primary in bytes, when both offsets are known.
std::optional<int64_t> LagBytes(const model::GroupSnapshot& group, const model::NodeState& node);

// A replica of the group's primary with link up, not syncing or loading, priority above
// 0 and lag within `max_lag_bytes`.
bool IsHealthyReplica(const model::GroupSnapshot& group, const model::NodeState& node,
                      int64_t max_lag_bytes);

// True when `node` replicates from the group's primary (by dialled or announced address).
bool ReplicatesFromPrimary(const model::GroupSnapshot& group, const model::NodeState& node);

}  // namespace redis_ha::assess

#endif  // REDIS_HA_ASSESS_ASSESS_H_
