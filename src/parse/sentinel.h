// Parsing of Sentinel replies (SENTINEL MASTERS / MASTER / REPLICAS /
// SENTINELS, CKQUORUM), CONFIG GET replies of data nodes, and Sentinel pub/sub
// event messages.
//
// Contract: every function here is a pure function of its arguments. None does
// I/O, none throws, none crashes on any input. A reply of the wrong shape, or
// an error reply, gives an Error (kind kReply, or kAuth for NOAUTH / NOPERM /
// WRONGPASS) carrying the server's message; inside a well-formed table a value
// that does not parse leaves its field unset. When a field appears twice, the
// last one wins. Times stay in milliseconds as Sentinel reports them (the
// caller converts to std::chrono).
//
// Thread-safety: pure functions over values; safe to call concurrently from any
// thread.
#ifndef REDIS_HA_PARSE_SENTINEL_H_
#define REDIS_HA_PARSE_SENTINEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/reply.h"
#include "util/status.h"

namespace redis_ha::parse {

// ---- Error replies.

// The Error for an error reply: kAuth when the message starts with NOAUTH,
// NOPERM or WRONGPASS, else kReply; the message is the server's text.
Error ErrorFromReply(const redis::Reply& reply);
// `ERR unknown command ...` / `ERR unknown subcommand ...`: the command is not
// there (renamed, disabled, or an older server), as opposed to failing.
bool IsUnknownCommandError(std::string_view message);
// NOPERM / NOAUTH / WRONGPASS.
bool IsPermissionError(std::string_view message);

// ---- Field tables.

using FieldMap = std::map<std::string, std::string, std::less<>>;

// One flat field/value array (RESP2): {"name", "g1", "ip", "127.0.0.1", ...}.
// Elements must be bulk (or status) strings and come in pairs.
Result<FieldMap> ParseFieldArray(const redis::Reply& reply);
// An array of such arrays (SENTINEL MASTERS / REPLICAS / SENTINELS). Empty is
// fine.
Result<std::vector<FieldMap>> ParseFieldArrays(const redis::Reply& reply);

// The comma-joined `flags` field.
struct SentinelFlags {
  bool s_down = false;
  bool o_down = false;
  bool master = false;
  bool slave = false;
  bool sentinel = false;
  bool disconnected = false;
  bool master_down = false;
  bool failover_in_progress = false;
  bool promoted = false;
  bool reconf_sent = false;
  bool reconf_inprog = false;
  bool reconf_done = false;
  bool force_failover = false;
  bool script_kill_sent = false;
  bool master_reboot = false;
  bool coordinated_failover = false;  // Valkey 9
  std::vector<std::string> unknown;   // anything else, in order

  bool operator==(const SentinelFlags&) const = default;
};

SentinelFlags ParseSentinelFlags(std::string_view flags);

// Fields every instance table has. `name` of a replica is "ip:port", of a
// Sentinel its run id. `runid` is empty until the instance answered an INFO
// (seen right after a failover).
struct SentinelInstance {
  std::string name;
  std::string ip;
  std::optional<int> port;
  std::string runid;
  std::string flags_text;  // as sent
  SentinelFlags flags;
  std::optional<int64_t> link_pending_commands;
  std::optional<int64_t> link_refcount;
  std::optional<int64_t> last_ping_sent_ms;  // 0 when no ping is pending
  std::optional<int64_t> last_ok_ping_reply_ms;
  std::optional<int64_t> last_ping_reply_ms;
  std::optional<int64_t> down_after_ms;
  std::optional<int64_t> s_down_time_ms;  // only while s_down
  std::optional<int64_t> o_down_time_ms;  // only while o_down
  // Only during a failover: wait_start select_slave send_slaveof_noone
  // wait_promotion reconf_slaves update_config.
  std::optional<std::string> failover_state;

  bool operator==(const SentinelInstance&) const = default;
};

// Data nodes (primaries and replicas) also report what their INFO said.
struct SentinelDataNode : SentinelInstance {
  std::optional<int64_t> info_refresh_ms;
  std::optional<std::string> role_reported;  // master | slave
  std::optional<int64_t> role_reported_time_ms;

  bool operator==(const SentinelDataNode&) const = default;
};

struct SentinelPrimary : SentinelDataNode {
  std::optional<int64_t> config_epoch;
  std::optional<int64_t> num_slaves;
  std::optional<int64_t>
      num_other_sentinels;  // excludes the answering Sentinel
  std::optional<int64_t> quorum;
  std::optional<int64_t> failover_timeout_ms;
  std::optional<int64_t> parallel_syncs;

  bool operator==(const SentinelPrimary&) const = default;
};

struct SentinelReplica : SentinelDataNode {
  std::optional<int64_t> master_link_down_time_ms;
  std::optional<bool> master_link_ok;  // master-link-status ok / err
  std::optional<std::string> master_host;
  std::optional<int> master_port;
  std::optional<int64_t> slave_priority;  // also replica-priority
  std::optional<int64_t> slave_repl_offset;
  std::optional<bool> replica_announced;

  bool operator==(const SentinelReplica&) const = default;
};

struct SentinelPeer : SentinelInstance {
  std::optional<int64_t> last_hello_message_ms;
  std::optional<std::string> voted_leader;  // run id, or "?" for none
  std::optional<int64_t> voted_leader_epoch;

  bool operator==(const SentinelPeer&) const = default;
};

SentinelPrimary ParseSentinelPrimary(const FieldMap& fields);
SentinelReplica ParseSentinelReplica(const FieldMap& fields);
SentinelPeer ParseSentinelPeer(const FieldMap& fields);

// SENTINEL MASTER <name> (one flat array).
Result<SentinelPrimary> ParseSentinelPrimaryReply(const redis::Reply& reply);
// SENTINEL MASTERS, SENTINEL REPLICAS|SLAVES <name>, SENTINEL SENTINELS <name>.
Result<std::vector<SentinelPrimary>> ParseSentinelPrimaries(
    const redis::Reply& reply);
Result<std::vector<SentinelReplica>> ParseSentinelReplicas(
    const redis::Reply& reply);
Result<std::vector<SentinelPeer>> ParseSentinelPeers(const redis::Reply& reply);

// ---- SENTINEL CKQUORUM <name>.

struct CkquorumResult {
  bool ok = false;
  std::optional<int> usable;  // usable Sentinels, counting the answering one
  bool quorum_unreachable = false;
  bool majority_unreachable = false;
  bool no_such_group = false;
  std::string
      message;  // the server's text (or a rendering of an unexpected reply)
};

CkquorumResult ParseCkquorum(const redis::Reply& reply);

// ---- CONFIG GET on a data node.

// name -> value pairs. An empty map means no parameter matched (unknown, or
// renamed). Error replies (NOPERM, `ERR unknown command` when CONFIG is
// renamed) give an Error: see IsPermissionError / IsUnknownCommandError.
Result<FieldMap> ParseConfigGet(const redis::Reply& reply);

// ---- Pub/sub.

struct PubSubMessage {
  enum class Kind {
    kMessage,       // ["message", channel, payload]
    kPMessage,      // ["pmessage", pattern, channel, payload]
    kSubscribe,     // ["subscribe", channel, count]
    kPSubscribe,    // ["psubscribe", pattern, count]
    kUnsubscribe,   // ["unsubscribe", channel|nil, count]
    kPUnsubscribe,  // ["punsubscribe", pattern|nil, count]
    kPong,          // ["pong", payload] (PING while subscribed)
  };
  Kind kind = Kind::kMessage;
  std::string pattern;  // kPMessage, kPSubscribe, kPUnsubscribe
  std::string channel;  // kMessage, kPMessage, kSubscribe, kUnsubscribe
  std::string payload;  // kMessage, kPMessage, kPong
  int64_t count = 0;  // subscriptions left, for the (un)subscribe confirmations
};

std::optional<PubSubMessage> ParsePubSubMessage(const redis::Reply& reply);

// One Sentinel event (the channel is the event name). Payload forms:
//   master <group> <ip> <port> [note]
//   slave|sentinel <name> <ip> <port> @ <group> <primary-ip> <primary-port>
//   [note] +switch-master: <group> <old-ip> <old-port> <new-ip> <new-port>
//   anything else (+tilt "#tilt mode entered", +new-epoch "3", +vote-for-leader
//   "<runid> <epoch>", ...): the whole payload in `note`.
// Group names may contain spaces: the address is found as the first "<host>
// <port>" pair after the name whose host is not all digits.
struct SentinelEvent {
  std::string event;          // the channel, e.g. "+sdown"
  std::string instance_type;  // master | slave | sentinel | "" (no instance)
  std::string name;           // instance name (the group for a primary)
  std::string ip;
  int port = 0;
  std::string group;       // "" when the event names no group (+tilt)
  std::string primary_ip;  // for +switch-master: the new primary
  int primary_port = 0;
  std::string old_ip;  // +switch-master only
  int old_port = 0;
  std::string new_ip;  // +switch-master only
  int new_port = 0;
  std::string note;  // trailing text, e.g. "#quorum 2/2"
};

// nullopt when the channel is not a Sentinel event name (empty, or not starting
// with
// '+' or '-'). A payload that does not match its form still yields an event,
// with the payload in `note` and no instance, so it can be counted.
std::optional<SentinelEvent> ParseSentinelEvent(std::string_view channel,
                                                std::string_view payload);

}  // namespace redis_ha::parse

#endif  // REDIS_HA_PARSE_SENTINEL_H_
