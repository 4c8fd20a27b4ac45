// Parsing of INFO replies from Redis / Valkey data nodes and Sentinels.
//
// Contract: every function here is a pure function of its arguments. None does
// I/O, none throws, none crashes on any input (truncated text, CRLF or LF line
// ends, garbage bytes, empty input, huge numbers). Malformed lines are skipped;
// a value that does not parse leaves its field unset (std::optional). When a
// key appears twice, the last one wins.
//
// Thread-safety: pure functions over values; safe to call concurrently from any
// thread.
#ifndef REDIS_HA_PARSE_INFO_H_
#define REDIS_HA_PARSE_INFO_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redis_ha::parse {

// Every `key:value` line of an INFO reply (the value is everything after the
// first ':', with a trailing '\r' removed) and the `# Section` headers in the
// order seen.
struct InfoMap {
  std::map<std::string, std::string, std::less<>> fields;
  std::vector<std::string>
      sections;  // e.g. {"Server", "Clients", ..., "Keyspace"}

  // The value of `key`, or nullptr.
  const std::string* Find(std::string_view key) const;
  // Whether a `# <name>` header was seen (ASCII case-insensitive).
  bool HasSection(std::string_view name) const;
};

InfoMap ParseInfo(std::string_view text);

// ---- Small, strict number helpers (whole string must be the number, no
// spaces, no '+').

std::optional<int64_t> ParseInt64(std::string_view s);
// Finite doubles only ("nan" and "inf" are rejected).
std::optional<double> ParseDouble(std::string_view s);
// 0..65535.
std::optional<int> ParsePort(std::string_view s);

// "host:port", "[v6addr]:port" (brackets removed from the host) or a bare IPv6
// address whose last ':' separates the port ("::1:6379" -> {"::1", 6379}).
// nullopt when the host is empty or the port is not 0..65535.
std::optional<std::pair<std::string, int>> SplitHostPort(std::string_view s);

// ---- Data nodes (INFO of a Redis / Valkey server).

enum class ServerKind { kRedis, kValkey };
enum class Role { kUnknown, kPrimary, kReplica };

// One `slaveN:ip=..,port=..,state=..,offset=..,lag=..[,type=..]` line of a
// primary.
struct ReplicaLine {
  int index = 0;  // N of slaveN
  std::string ip;
  std::optional<int> port;
  std::string
      state;  // wait_bgsave | send_bulk | online | bg_transfer (Valkey) | ...
  std::optional<int64_t> offset;    // acknowledged replication offset
  std::optional<int64_t> lag;       // seconds since the last ACK
  std::optional<std::string> type;  // Valkey 8+ only

  bool operator==(const ReplicaLine&) const = default;
};

// One `dbN:keys=N,expires=N,avg_ttl=N[,subexpiry=N]` line.
struct KeyspaceDb {
  int index = 0;
  int64_t keys = 0;
  int64_t expires = 0;
  std::optional<int64_t> avg_ttl;
  std::optional<int64_t> subexpiry;  // Valkey 9

  bool operator==(const KeyspaceDb&) const = default;
};

struct DataNodeInfo {
  // Server.
  std::optional<ServerKind>
      server_kind;  // Valkey if server_name:valkey or valkey_version
  std::optional<std::string>
      version;  // valkey_version on Valkey, else redis_version
  std::optional<std::string>
      mode;  // redis_mode or server_mode (standalone, ...)
  std::optional<std::string> run_id;
  std::optional<int64_t> uptime_in_seconds;
  std::optional<int> tcp_port;

  // Replication.
  Role role = Role::kUnknown;
  std::optional<std::string> master_host;
  std::optional<int> master_port;
  std::optional<bool> master_link_up;  // master_link_status up / down
  std::optional<int64_t> master_last_io_seconds_ago;
  std::optional<bool> master_sync_in_progress;
  std::optional<int64_t> master_sync_total_bytes;
  std::optional<int64_t> master_sync_read_bytes;
  std::optional<int64_t> master_sync_left_bytes;
  std::optional<double> master_sync_perc;
  std::optional<int64_t> master_sync_last_io_seconds_ago;
  std::optional<int64_t> master_link_down_since_seconds;  // -1: never linked
  std::optional<int64_t> slave_read_repl_offset;
  std::optional<int64_t> slave_repl_offset;
  std::optional<int64_t> slave_priority;  // also replica_priority
  std::optional<bool> slave_read_only;    // also replica_read_only
  std::optional<bool> replica_announced;
  std::optional<int64_t> connected_slaves;
  std::optional<int64_t> min_slaves_good_slaves;
  std::vector<ReplicaLine> replicas;  // sorted by index
  std::optional<std::string> master_failover_state;
  std::optional<std::string> master_replid;
  std::optional<std::string> master_replid2;
  std::optional<int64_t> master_repl_offset;
  std::optional<int64_t> second_repl_offset;
  std::optional<bool> repl_backlog_active;
  std::optional<int64_t> repl_backlog_size;
  std::optional<int64_t> repl_backlog_first_byte_offset;
  std::optional<int64_t> repl_backlog_histlen;

  // Persistence.
  std::optional<bool> loading;
  std::optional<bool> async_loading;
  std::optional<double> loading_loaded_perc;
  std::optional<int64_t> loading_eta_seconds;
  std::optional<bool> aof_enabled;
  std::optional<int64_t> rdb_last_save_time;  // unix seconds
  std::optional<int64_t> rdb_changes_since_last_save;
  std::optional<bool> rdb_bgsave_in_progress;
  std::optional<bool> aof_rewrite_in_progress;
  std::optional<std::string> rdb_last_bgsave_status;  // ok | err

  // Stats.
  std::optional<int64_t> sync_full;
  std::optional<int64_t> sync_partial_ok;
  std::optional<int64_t> sync_partial_err;
  std::optional<int64_t> total_commands_processed;
  std::optional<int64_t> instantaneous_ops_per_sec;

  // Memory.
  std::optional<int64_t> used_memory;
  std::optional<int64_t> maxmemory;

  // Keyspace. An empty database has no line, so an empty keyspace is a `#
  // Keyspace` header with no db line: total_keys is 0 then. total_keys is unset
  // when there is neither a header nor a db line (e.g. `INFO replication`
  // only). Saturates at INT64_MAX.
  bool keyspace_section_present = false;
  std::vector<KeyspaceDb> keyspace;  // sorted by index
  std::optional<int64_t> total_keys;

  // Field by field (the text and InfoMap overloads of ParseDataNodeInfo must agree).
  bool operator==(const DataNodeInfo&) const = default;
};

DataNodeInfo ParseDataNodeInfo(std::string_view info_text);
DataNodeInfo ParseDataNodeInfo(const InfoMap& info);

// ---- Sentinels (INFO of a redis-sentinel / valkey-sentinel).

// One `masterN:name=..,status=..,address=host:port,slaves=N,sentinels=N` line.
// `sentinels` counts the answering Sentinel itself.
struct SentinelInfoGroup {
  int index = 0;
  std::string name;
  std::string status;   // ok | sdown | odown
  std::string address;  // as printed, "host:port"
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<int64_t> slaves;
  std::optional<int64_t> sentinels;
};

struct SentinelInfo {
  std::optional<ServerKind> server_kind;
  std::optional<std::string> version;
  std::optional<std::string> mode;  // "sentinel"
  std::optional<std::string> run_id;
  std::optional<int64_t> uptime_in_seconds;
  std::optional<int> tcp_port;

  std::optional<int64_t> sentinel_masters;
  std::optional<bool> tilt;
  std::optional<int64_t> tilt_since_seconds;  // -1 when not in TILT
  std::optional<int64_t> total_tilt;          // Redis 7.2+ / Valkey 9 only
  std::optional<int64_t> running_scripts;
  std::optional<int64_t> scripts_queue_length;
  std::optional<int64_t> simulate_failure_flags;
  std::vector<SentinelInfoGroup> groups;  // sorted by index
};

// Parses one group line value (after `masterN:`). The group name is the only
// free text and comes first, so the fixed fields are taken from the right: a
// name containing
// `,` or `=` (even `,status=`) survives. nullopt when the fixed fields are
// missing.
std::optional<SentinelInfoGroup> ParseSentinelInfoGroup(std::string_view value);

SentinelInfo ParseSentinelInfo(std::string_view info_text);
SentinelInfo ParseSentinelInfo(const InfoMap& info);

}  // namespace redis_ha::parse

#endif  // REDIS_HA_PARSE_INFO_H_
