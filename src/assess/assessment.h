// GroupAssessment: what the assess functions derive from a group's snapshot and history.
//
// Thread-safety: a plain value, part of the immutable Snapshot.
#ifndef REDIS_HA_ASSESS_ASSESSMENT_H_
#define REDIS_HA_ASSESS_ASSESSMENT_H_

#include <optional>
#include <string>
#include <vector>

namespace redis_ha::assess {

struct GroupAssessment {
  int primaries = 0;      // reachable data nodes of the group reporting role master
  int primary_views = 0;  // distinct primaries named by reachable Sentinels
};

}  // namespace redis_ha::assess

#endif  // REDIS_HA_ASSESS_ASSESSMENT_H_
