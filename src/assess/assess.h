// Assess: pure functions from a group's snapshot (and the history carried in it) to the
// risks, factors, readiness and blockers published with it.
//
// Thread-safety: pure functions.
#ifndef REDIS_HA_ASSESS_ASSESS_H_
#define REDIS_HA_ASSESS_ASSESS_H_

#include "assess/assessment.h"
#include "model/snapshot.h"

namespace redis_ha::assess {

GroupAssessment Assess(const model::GroupSnapshot& group);

}  // namespace redis_ha::assess

#endif  // REDIS_HA_ASSESS_ASSESS_H_
