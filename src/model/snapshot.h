// Snapshot: the immutable result of one poll cycle, for every watched group.
//
// Contract: the poller builds a Snapshot, derives the assessments into it, and publishes
// it as `std::shared_ptr<const Snapshot>`; from then on nobody mutates it. HTTP handlers
// and the metrics collector read whichever snapshot is current; they never wait for the
// poller. Values a poll could not learn are std::nullopt (rendered as NaN or null), never
// guessed. Cumulative counters (restarts, failovers, errors, events) live in the snapshot
// too, so a scrape always sees monotonic values.
//
// Addresses: `address` fields are "host:port" as the exporter dials them (after the
// configured address map); `announced` is what Sentinel said.
//
// Thread-safety: immutable once published; safe to read from any thread.
#ifndef REDIS_HA_MODEL_SNAPSHOT_H_
#define REDIS_HA_MODEL_SNAPSHOT_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "assess/assessment.h"
#include "model/history.h"

namespace redis_ha::model {

using SysTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

// The five primary flags the contract exports, always present.
enum class PrimaryFlag { kSDown, kODown, kDisconnected, kFailoverInProgress, kMasterReboot };
inline constexpr std::array<PrimaryFlag, 5> kPrimaryFlags = {
    PrimaryFlag::kSDown, PrimaryFlag::kODown, PrimaryFlag::kDisconnected,
    PrimaryFlag::kFailoverInProgress, PrimaryFlag::kMasterReboot};
const char* PrimaryFlagName(PrimaryFlag f);  // "s_down", ...

struct PollError {
  std::string kind;     // "sentinel" | "node"
  std::string reason;   // connect | timeout | auth | protocol | reply
  std::string message;  // human text; never a label
  friend bool operator==(const PollError&, const PollError&) = default;
};

// One row of a Sentinel's SENTINEL REPLICAS table, as that Sentinel holds it.
struct SentinelReplicaEntry {
  std::string address;    // dialled
  std::string announced;  // ip:port from Sentinel
  std::string run_id;
  bool s_down = false;
  bool o_down = false;
  bool disconnected = false;
  bool link_ok = false;  // master-link-status ok
  std::optional<int64_t> link_down_ms;
  std::optional<int64_t> priority;
  std::optional<int64_t> offset;
  std::optional<int64_t> last_ok_ping_reply_ms;
  std::optional<int64_t> info_refresh_ms;
  std::optional<bool> replica_announced;
};

// One row of a Sentinel's SENTINEL SENTINELS table.
struct SentinelPeerEntry {
  std::string address;
  std::string announced;
  std::string run_id;
  bool s_down = false;
  bool o_down = false;
  bool disconnected = false;
  std::optional<int64_t> last_hello_ms;
};

// One Sentinel's view of one group.
struct SentinelView {
  std::string sentinel;  // address of the Sentinel
  bool reachable = false;
  bool monitors = false;  // the group is in its SENTINEL MASTERS
  std::string primary;    // dialled address of the primary it names ("" unknown)
  std::string primary_announced;
  std::string primary_run_id;
  std::array<bool, 5> flags{};  // indexed like kPrimaryFlags
  std::vector<std::string> raw_flags;
  std::string failover_state;
  std::optional<int64_t> config_epoch;
  std::optional<int64_t> quorum;
  std::optional<int64_t> num_slaves;
  std::optional<int64_t> num_other_sentinels;
  std::optional<int64_t> down_after_ms;
  std::optional<int64_t> failover_timeout_ms;
  std::optional<int64_t> parallel_syncs;
  std::optional<int64_t> link_pending_commands;
  std::optional<int64_t> last_ok_ping_reply_ms;
  std::optional<int64_t> role_reported_time_ms;  // ms since the primary's role was reported
  std::optional<int64_t> s_down_time_ms;          // ms the primary has been s_down
  std::optional<bool> ckquorum_ok;
  std::optional<int64_t> usable_sentinels;
  bool ckquorum_quorum_fails = false;    // "Not enough ... to reach the specified quorum"
  bool ckquorum_majority_fails = false;  // "... majority and authorize a failover"
  std::string ckquorum_message;
  std::vector<SentinelReplicaEntry> replicas;
  std::vector<SentinelPeerEntry> peers;

  bool flag(PrimaryFlag f) const { return flags[static_cast<size_t>(f)]; }
};

enum class Role { kUnknown, kPrimary, kReplica };
const char* RoleName(Role r);

struct ReplicaLine {  // slaveN: line on a primary
  std::string address;
  std::string state;
  std::optional<int64_t> offset;
  std::optional<int64_t> lag_seconds;
  friend bool operator==(const ReplicaLine&, const ReplicaLine&) = default;
};

// A data node as polled by us this cycle.
struct NodeState {
  std::string address;     // dialled
  std::string announced;   // as Sentinel announced it
  bool up = false;
  std::optional<PollError> error;
  std::chrono::nanoseconds round_trip{0};

  Role role = Role::kUnknown;     // what the node itself reports
  Role sentinel_role = Role::kUnknown;  // primary if it is the group primary, else replica
  std::string server = "redis";  // redis | valkey
  std::string version;
  std::string run_id;
  std::optional<int64_t> uptime_seconds;
  bool loading = false;
  std::optional<double> loading_percent;
  std::optional<int64_t> keys;  // summed over databases; 0 with no keyspace line
  std::optional<int64_t> expires;

  // Replication (both roles).
  std::optional<int64_t> master_repl_offset;
  std::string master_replid;
  std::optional<int64_t> repl_backlog_active;
  std::optional<int64_t> repl_backlog_size;
  std::optional<int64_t> repl_backlog_histlen;
  std::optional<int64_t> connected_replicas;
  std::optional<int64_t> min_replicas_good;
  std::vector<ReplicaLine> replica_lines;
  std::string failover_state;  // master_failover_state

  // Replica side.
  std::string master_address;  // master_host:master_port as reported (announced)
  std::optional<bool> link_up;
  std::optional<int64_t> last_io_seconds;
  std::optional<int64_t> link_down_since_seconds;
  bool sync_in_progress = false;
  std::optional<int64_t> slave_repl_offset;
  std::optional<int64_t> slave_read_repl_offset;
  std::optional<int64_t> priority;
  std::optional<bool> read_only;

  // Persistence.
  std::optional<bool> aof_enabled;
  std::optional<int64_t> rdb_last_save_time;
  std::optional<int64_t> rdb_changes_since_last_save;
  bool rdb_bgsave_in_progress = false;

  // Stats.
  std::optional<int64_t> sync_full;
  std::optional<int64_t> sync_partial_ok;
  std::optional<int64_t> sync_partial_err;

  // CONFIG GET (refreshed less often; nullopt when denied or renamed).
  std::optional<std::string> config_save;
  std::optional<bool> config_appendonly;
  std::optional<int64_t> config_min_replicas_to_write;
  std::optional<int64_t> config_min_replicas_max_lag;
  bool config_unavailable = false;  // CONFIG GET was refused or renamed

  // The offset this node has reached: master_repl_offset on a primary,
  // slave_repl_offset on a replica.
  std::optional<int64_t> Offset() const;
  friend bool operator==(const NodeState&, const NodeState&) = default;
};

// A Sentinel process, independent of groups.
struct SentinelState {
  std::string address;
  bool up = false;
  std::optional<PollError> error;
  std::chrono::nanoseconds round_trip{0};
  bool tilt = false;
  std::optional<int64_t> tilt_since_seconds;
  std::string version;
  std::string run_id;
  std::optional<int64_t> uptime_seconds;
  std::vector<std::string> groups;  // the groups it monitors (watched ones)
  bool seed = false;
};

struct GroupSnapshot {
  std::string name;
  std::vector<SentinelView> views;  // one per known Sentinel, sorted by address
  std::vector<NodeState> nodes;     // sorted by address
  // The primary most Sentinels name: reachable ones, and for a while one that is not
  // answering but announced a +switch-master (see poll/poller.h; ties: lexically smallest).
  // The last known when no reachable Sentinel names one; "" none.
  std::string primary;
  bool observed = false;        // at least one Sentinel answered for the group this cycle
  SysTime observed_at{};        // when this cycle observed the group
  SysTime last_success_at{};    // last cycle in which it was observed (may be older)
  GroupHistory history;         // restarts, wipes, failovers, windows (see history.h)
  assess::GroupAssessment assessment;

  const NodeState* FindNode(const std::string& address) const;
  const NodeState* Primary() const { return FindNode(primary); }
};

// Fixed histogram of whole-cycle durations.
struct DurationHistogram {
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   5};
  std::array<uint64_t, kBounds.size()> buckets{};  // cumulative counts
  uint64_t count = 0;
  double sum = 0;
  void Observe(double seconds);
};

struct ExporterStats {
  uint64_t cycles = 0;
  uint64_t overruns = 0;
  uint64_t event_polls = 0;  // polls of single groups prompted by Sentinel events
  // Snapshots of a group renewed from Sentinel events' payloads alone (poll/observe.h's
  // EventOverlay), before any poll could show them.
  uint64_t events_applied = 0;
  // Idle connections a data node closed (it exited or restarted), each answered by an
  // event poll of its group (poll/poller.h).
  uint64_t connections_lost = 0;
  DurationHistogram poll_duration;
  // (kind, reason) -> count; every pair of the fixed sets is present.
  std::map<std::pair<std::string, std::string>, uint64_t> poll_errors;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  size_t open_connections = 0;
};

// One Sentinel pub/sub event, as received.
struct SentinelEventRecord {
  SysTime at{};
  std::string sentinel;
  std::string group;  // "" for events without a group (+tilt, -tilt)
  std::string event;
  std::string detail;  // the payload
};

// Events counted per (group, sentinel, event) of the fixed set; see kCountedEvents.
struct EventKey {
  std::string group;
  std::string sentinel;
  std::string event;
  friend auto operator<=>(const EventKey&, const EventKey&) = default;
};
inline constexpr std::array<const char*, 12> kCountedEvents = {
    "+sdown", "-sdown", "+odown", "-odown", "+switch-master", "+failover-end",
    "+failover-end-for-timeout", "-failover-abort-no-good-slave", "+tilt", "-tilt", "+reboot",
    "+try-failover"};

struct Snapshot {
  uint64_t cycle = 0;
  SysTime taken_at{};
  std::chrono::nanoseconds cycle_duration{0};
  std::vector<SentinelState> sentinels;  // sorted by address
  std::map<std::string, GroupSnapshot> groups;
  ExporterStats stats;
  std::map<EventKey, uint64_t> event_counts;       // cumulative
  std::vector<SentinelEventRecord> recent_events;  // newest last, bounded

  const GroupSnapshot* FindGroup(const std::string& name) const;
  const SentinelState* FindSentinel(const std::string& address) const;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

double ToUnixSeconds(SysTime t);

}  // namespace redis_ha::model

#endif  // REDIS_HA_MODEL_SNAPSHOT_H_
