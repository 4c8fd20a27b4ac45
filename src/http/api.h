// The JSON documents served under /api/v1, rendered from a snapshot.
// Thread-safety: pure functions.
#ifndef REDIS_HA_HTTP_API_H_
#define REDIS_HA_HTTP_API_H_

#include <string>

#include "model/snapshot.h"

namespace redis_ha::http {

// /api/v1/groups: every group (or only `only_group` when not empty: an empty list when it is
// unknown), each Sentinel's view, each node's state, the Sentinels.
std::string GroupsJson(const model::Snapshot& snapshot, const std::string& only_group = "");

}  // namespace redis_ha::http

#endif  // REDIS_HA_HTTP_API_H_
