#include "model/snapshot.h"

#include <algorithm>

namespace redis_ha::model {

const char* PrimaryFlagName(PrimaryFlag f) {
  switch (f) {
    case PrimaryFlag::kSDown: return "s_down";
    case PrimaryFlag::kODown: return "o_down";
    case PrimaryFlag::kDisconnected: return "disconnected";
    case PrimaryFlag::kFailoverInProgress: return "failover_in_progress";
    case PrimaryFlag::kMasterReboot: return "master_reboot";
  }
  return "";
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kPrimary: return "primary";
    case Role::kReplica: return "replica";
    case Role::kUnknown: return "unknown";
  }
  return "unknown";
}

std::optional<int64_t> NodeState::Offset() const {
  if (role == Role::kPrimary) return master_repl_offset;
  if (role == Role::kReplica) return slave_repl_offset;
  return std::nullopt;
}

const NodeState* GroupSnapshot::FindNode(const std::string& address) const {
  if (address.empty()) return nullptr;
  for (const auto& n : nodes) {
    if (n.address == address) return &n;
  }
  return nullptr;
}

void DurationHistogram::Observe(double seconds) {
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++buckets[i];
  }
  ++count;
  sum += seconds;
}

const GroupSnapshot* Snapshot::FindGroup(const std::string& name) const {
  auto it = groups.find(name);
  return it == groups.end() ? nullptr : &it->second;
}

const SentinelState* Snapshot::FindSentinel(const std::string& address) const {
  for (const auto& s : sentinels) {
    if (s.address == address) return &s;
  }
  return nullptr;
}

double ToUnixSeconds(SysTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace redis_ha::model
