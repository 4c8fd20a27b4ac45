#include "assess/assess.h"

#include <set>

namespace redis_ha::assess {

GroupAssessment Assess(const model::GroupSnapshot& group) {
  GroupAssessment a;
  for (const auto& n : group.nodes) {
    if (n.up && n.role == model::Role::kPrimary) ++a.primaries;
  }
  std::set<std::string> named;
  for (const auto& v : group.views) {
    if (v.reachable && v.monitors && !v.primary.empty()) named.insert(v.primary);
  }
  a.primary_views = static_cast<int>(named.size());
  return a;
}

}  // namespace redis_ha::assess
