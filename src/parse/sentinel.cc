#include "parse/sentinel.h"

#include <algorithm>
#include <array>
#include <optional>
#include <type_traits>
#include <utility>

#include "parse/info.h"
#include "util/key_table.h"

namespace redis_ha::parse {
namespace {

using redis::Reply;
using redis::ReplyType;

char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool Contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

Error ShapeError(std::string_view what, const Reply& reply) {
  return MakeError(ErrorKind::kReply, std::string(what) + ", got " +
                                          redis::DebugString(reply, 120));
}

// ---- Instance tables, in one pass.

// The fields of SENTINEL MASTERS / REPLICAS / SENTINELS entries that are read. Each entry
// is read in one pass over its pairs: every key is classified by FieldOf (one hash in a
// table laid out at compile time) and applied to the struct, so a field given
// twice ends with its last value, as FieldMap's insert_or_assign does. No map, sort or copy
// of the entry is made: these parsers run for every group on every poll.
enum class Field {
  kOther,
  kName,
  kIp,
  kPort,
  kRunid,
  kFlags,
  kLinkPendingCommands,
  kLinkRefcount,
  kLastPingSent,
  kLastOkPingReply,
  kLastPingReply,
  kDownAfterMilliseconds,
  kSDownTime,
  kODownTime,
  kFailoverState,
  kInfoRefresh,
  kRoleReported,
  kRoleReportedTime,
  kConfigEpoch,
  kNumSlaves,
  kNumOtherSentinels,
  kQuorum,
  kFailoverTimeout,
  kParallelSyncs,
  kMasterLinkDownTime,
  kMasterLinkStatus,
  kMasterHost,
  kMasterPort,
  kSlavePriority,
  kReplicaPriority,
  kSlaveReplOffset,
  kReplicaReplOffset,
  kReplicaAnnounced,
  kLastHelloMessage,
  kVotedLeader,
  kVotedLeaderEpoch,
};

// The names of the fields after kOther, in the order of Field.
constexpr auto kFieldNames = std::to_array<std::string_view>({
    "name",
    "ip",
    "port",
    "runid",
    "flags",
    "link-pending-commands",
    "link-refcount",
    "last-ping-sent",
    "last-ok-ping-reply",
    "last-ping-reply",
    "down-after-milliseconds",
    "s-down-time",
    "o-down-time",
    "failover-state",
    "info-refresh",
    "role-reported",
    "role-reported-time",
    "config-epoch",
    "num-slaves",
    "num-other-sentinels",
    "quorum",
    "failover-timeout",
    "parallel-syncs",
    "master-link-down-time",
    "master-link-status",
    "master-host",
    "master-port",
    "slave-priority",
    "replica-priority",
    "slave-repl-offset",
    "replica-repl-offset",
    "replica-announced",
    "last-hello-message",
    "voted-leader",
    "voted-leader-epoch",
});
static_assert(kFieldNames.size() == static_cast<size_t>(Field::kVotedLeaderEpoch),
              "one name per Field after kOther");
constexpr KeyTable<kFieldNames.size()> kFields(kFieldNames);

Field FieldOf(std::string_view key) {
  const size_t i = kFields.Find(key);
  return i == kFields.kNotFound ? Field::kOther : static_cast<Field>(i + 1);
}

// One entry being read. Fields whose value depends on others (the flags, the priority and
// offset that have two names) are resolved in Finish, once every pair has been seen.
template <typename T>
class EntryReader {
 public:
  void Apply(std::string_view key, const std::string& value) {
    const Field f = FieldOf(key);
    if (ApplyInstance(f, value)) return;
    if constexpr (std::is_base_of_v<SentinelDataNode, T>) {
      if (ApplyDataNode(f, value)) return;
    }
    if constexpr (std::is_same_v<T, SentinelPrimary>) ApplyPrimary(f, value);
    if constexpr (std::is_same_v<T, SentinelReplica>) ApplyReplica(f, value);
    if constexpr (std::is_same_v<T, SentinelPeer>) ApplyPeer(f, value);
  }

  T Finish() && {
    out_.flags = ParseSentinelFlags(out_.flags_text);
    if constexpr (std::is_same_v<T, SentinelReplica>) {
      out_.slave_priority = slave_priority_ ? slave_priority_ : replica_priority_;
      out_.slave_repl_offset = slave_repl_offset_ ? slave_repl_offset_ : replica_repl_offset_;
    }
    return std::move(out_);
  }

 private:
  bool ApplyInstance(Field f, const std::string& v) {
    switch (f) {
      case Field::kName: out_.name = v; return true;
      case Field::kIp: out_.ip = v; return true;
      case Field::kPort: out_.port = ParsePort(v); return true;
      case Field::kRunid: out_.runid = v; return true;
      case Field::kFlags: out_.flags_text = v; return true;
      case Field::kLinkPendingCommands: out_.link_pending_commands = ParseInt64(v); return true;
      case Field::kLinkRefcount: out_.link_refcount = ParseInt64(v); return true;
      case Field::kLastPingSent: out_.last_ping_sent_ms = ParseInt64(v); return true;
      case Field::kLastOkPingReply: out_.last_ok_ping_reply_ms = ParseInt64(v); return true;
      case Field::kLastPingReply: out_.last_ping_reply_ms = ParseInt64(v); return true;
      case Field::kDownAfterMilliseconds: out_.down_after_ms = ParseInt64(v); return true;
      case Field::kSDownTime: out_.s_down_time_ms = ParseInt64(v); return true;
      case Field::kODownTime: out_.o_down_time_ms = ParseInt64(v); return true;
      case Field::kFailoverState: out_.failover_state = v; return true;
      default: return false;
    }
  }
  bool ApplyDataNode(Field f, const std::string& v) {
    switch (f) {
      case Field::kInfoRefresh: out_.info_refresh_ms = ParseInt64(v); return true;
      case Field::kRoleReported: out_.role_reported = v; return true;
      case Field::kRoleReportedTime: out_.role_reported_time_ms = ParseInt64(v); return true;
      default: return false;
    }
  }
  void ApplyPrimary(Field f, const std::string& v) {
    switch (f) {
      case Field::kConfigEpoch: out_.config_epoch = ParseInt64(v); break;
      case Field::kNumSlaves: out_.num_slaves = ParseInt64(v); break;
      case Field::kNumOtherSentinels: out_.num_other_sentinels = ParseInt64(v); break;
      case Field::kQuorum: out_.quorum = ParseInt64(v); break;
      case Field::kFailoverTimeout: out_.failover_timeout_ms = ParseInt64(v); break;
      case Field::kParallelSyncs: out_.parallel_syncs = ParseInt64(v); break;
      default: break;
    }
  }
  void ApplyReplica(Field f, const std::string& v) {
    switch (f) {
      case Field::kMasterLinkDownTime: out_.master_link_down_time_ms = ParseInt64(v); break;
      case Field::kMasterLinkStatus:
        if (v == "ok") {
          out_.master_link_ok = true;
        } else if (v == "err") {
          out_.master_link_ok = false;
        } else {
          out_.master_link_ok.reset();
        }
        break;
      case Field::kMasterHost: out_.master_host = v; break;
      case Field::kMasterPort: out_.master_port = ParsePort(v); break;
      case Field::kSlavePriority: slave_priority_ = ParseInt64(v); break;
      case Field::kReplicaPriority: replica_priority_ = ParseInt64(v); break;
      case Field::kSlaveReplOffset: slave_repl_offset_ = ParseInt64(v); break;
      case Field::kReplicaReplOffset: replica_repl_offset_ = ParseInt64(v); break;
      case Field::kReplicaAnnounced:
        if (std::optional<int64_t> a = ParseInt64(v)) {
          out_.replica_announced = *a != 0;
        } else {
          out_.replica_announced.reset();
        }
        break;
      default: break;
    }
  }
  void ApplyPeer(Field f, const std::string& v) {
    switch (f) {
      case Field::kLastHelloMessage: out_.last_hello_message_ms = ParseInt64(v); break;
      case Field::kVotedLeader: out_.voted_leader = v; break;
      case Field::kVotedLeaderEpoch: out_.voted_leader_epoch = ParseInt64(v); break;
      default: break;
    }
  }

  T out_;
  // SentinelReplica only: the names Redis used before and after 5.0.
  std::optional<int64_t> slave_priority_, replica_priority_;
  std::optional<int64_t> slave_repl_offset_, replica_repl_offset_;
};

template <typename T>
T FromFieldMap(const FieldMap& fields) {
  EntryReader<T> reader;
  for (const auto& [k, v] : fields) reader.Apply(k, v);
  return std::move(reader).Finish();
}

// Calls on_pair(key, value) for each pair of one flat field/value array (RESP2), in order.
// An error reply, or an array of the wrong shape, gives its Error (pairs before a
// non-string element have been visited by then). The one place these checks are made.
template <typename OnPair>
Status VisitFieldArray(const Reply& reply, const OnPair& on_pair) {
  if (reply.is_error()) return ErrorFromReply(reply);
  if (!reply.is_array()) return ShapeError("expected a field/value array", reply);
  if (reply.elements.size() % 2 != 0) {
    return ShapeError("field/value array of odd length", reply);
  }
  for (size_t i = 0; i < reply.elements.size(); i += 2) {
    const Reply& key = reply.elements[i];
    const Reply& value = reply.elements[i + 1];
    if (!key.is_text() || !value.is_text()) {
      return ShapeError("field/value array with a non-string element", reply);
    }
    on_pair(key.str, value.str);
  }
  return Status::Ok();
}

// One table entry read in one pass, without a FieldMap.
template <typename T>
Result<T> ReadEntry(const Reply& entry) {
  EntryReader<T> reader;
  Status s = VisitFieldArray(
      entry, [&](const std::string& k, const std::string& v) { reader.Apply(k, v); });
  if (!s) return s.error();
  return std::move(reader).Finish();
}

// ParseFieldArrays + FromFieldMap on each entry, without the maps (same checks and errors).
template <typename T>
Result<std::vector<T>> ParseTable(const Reply& reply) {
  if (reply.is_error()) return ErrorFromReply(reply);
  if (!reply.is_array()) return ShapeError("expected an array of tables", reply);
  std::vector<T> out;
  out.reserve(reply.elements.size());
  for (size_t i = 0; i < reply.elements.size(); ++i) {
    Result<T> one = ReadEntry<T>(reply.elements[i]);
    if (!one.ok()) {
      return MakeError(one.error().kind,
                       "entry " + std::to_string(i) + ": " + one.error().message);
    }
    out.push_back(std::move(one).value());
  }
  return out;
}

// ---- Event payload tokens (views into the payload; empty tokens kept, so a
// span of tokens is exactly the original text).

using Tokens = std::vector<std::string_view>;

Tokens SplitSpaces(std::string_view s) {
  Tokens out;
  while (true) {
    size_t sp = s.find(' ');
    out.push_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

// Tokens [a, b) as they appear in `text`.
std::string Span(std::string_view text, const Tokens& t, size_t a, size_t b) {
  const char* begin = t[a].data();
  const char* end = t[b - 1].data() + t[b - 1].size();
  return std::string(text.substr(static_cast<size_t>(begin - text.data()),
                                 static_cast<size_t>(end - begin)));
}

// Text from token k to the end of `text` ("" when k is past the last token).
std::string Rest(std::string_view text, const Tokens& t, size_t k) {
  if (k >= t.size()) return std::string();
  return std::string(
      text.substr(static_cast<size_t>(t[k].data() - text.data())));
}

bool LooksLikeHost(std::string_view s) {
  if (s.empty() || s == "@") return false;
  for (char c : s) {
    if (c < '0' || c > '9') return true;
  }
  return false;  // all digits
}

// The first k >= from with t[k] a host and t[k+1] a port.
std::optional<size_t> FindAddress(const Tokens& t, size_t from) {
  for (size_t k = from; k + 1 < t.size(); ++k) {
    if (LooksLikeHost(t[k]) && ParsePort(t[k + 1])) return k;
  }
  return std::nullopt;
}

std::optional<SentinelEvent> ParseInstanceEvent(std::string_view channel,
                                                std::string_view payload) {
  Tokens t = SplitSpaces(payload);
  if (t.size() < 4) return std::nullopt;
  std::string_view type = t[0];
  if (type != "master" && type != "slave" && type != "sentinel")
    return std::nullopt;
  std::optional<size_t> k = FindAddress(t, 2);
  if (!k) return std::nullopt;
  SentinelEvent ev;
  ev.event = std::string(channel);
  ev.instance_type = std::string(type);
  ev.name = Span(payload, t, 1, *k);
  ev.ip = std::string(t[*k]);
  ev.port = *ParsePort(t[*k + 1]);
  size_t next = *k + 2;
  if (type == "master") {
    ev.group = ev.name;
    ev.primary_ip = ev.ip;
    ev.primary_port = ev.port;
    ev.note = Rest(payload, t, next);
    return ev;
  }
  if (next < t.size() && t[next] == "@") {
    std::optional<size_t> j = FindAddress(t, next + 2);
    if (!j) return std::nullopt;
    ev.group = Span(payload, t, next + 1, *j);
    ev.primary_ip = std::string(t[*j]);
    ev.primary_port = *ParsePort(t[*j + 1]);
    next = *j + 2;
  }
  ev.note = Rest(payload, t, next);
  return ev;
}

std::optional<SentinelEvent> ParseSwitchMaster(std::string_view channel,
                                               std::string_view payload) {
  Tokens t = SplitSpaces(payload);
  size_t n = t.size();
  if (n < 5) return std::nullopt;
  std::optional<int> old_port = ParsePort(t[n - 3]);
  std::optional<int> new_port = ParsePort(t[n - 1]);
  if (!old_port || !new_port || !LooksLikeHost(t[n - 4]) ||
      !LooksLikeHost(t[n - 2])) {
    return std::nullopt;
  }
  SentinelEvent ev;
  ev.event = std::string(channel);
  ev.group = Span(payload, t, 0, n - 4);
  if (ev.group.empty()) return std::nullopt;
  ev.old_ip = std::string(t[n - 4]);
  ev.old_port = *old_port;
  ev.new_ip = std::string(t[n - 2]);
  ev.new_port = *new_port;
  ev.primary_ip = ev.new_ip;
  ev.primary_port = ev.new_port;
  return ev;
}

// "OK 3 usable ..." / "NOQUORUM 1 usable ...": the number after the first word.
std::optional<int> UsableCount(std::string_view text) {
  size_t sp = text.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(sp + 1);
  std::optional<int64_t> n = ParseInt64(rest.substr(0, rest.find(' ')));
  if (!n || *n < 0 || *n > 1'000'000) return std::nullopt;
  return static_cast<int>(*n);
}

}  // namespace

Error ErrorFromReply(const Reply& reply) {
  if (!reply.is_error()) return ShapeError("expected an error reply", reply);
  ErrorKind kind =
      IsPermissionError(reply.str) ? ErrorKind::kAuth : ErrorKind::kReply;
  return MakeError(kind, reply.str);
}

bool IsUnknownCommandError(std::string_view message) {
  return StartsWith(message, "ERR unknown command") ||
         StartsWith(message, "ERR unknown subcommand");
}

bool IsPermissionError(std::string_view message) {
  return StartsWith(message, "NOPERM") || StartsWith(message, "NOAUTH") ||
         StartsWith(message, "WRONGPASS");
}

Result<FieldMap> ParseFieldArray(const Reply& reply) {
  FieldMap out;
  Status s = VisitFieldArray(
      reply, [&](const std::string& k, const std::string& v) { out.insert_or_assign(k, v); });
  if (!s) return s.error();
  return out;
}

Result<std::vector<FieldMap>> ParseFieldArrays(const Reply& reply) {
  if (reply.is_error()) return ErrorFromReply(reply);
  if (!reply.is_array())
    return ShapeError("expected an array of tables", reply);
  std::vector<FieldMap> out;
  out.reserve(reply.elements.size());
  for (size_t i = 0; i < reply.elements.size(); ++i) {
    Result<FieldMap> one = ParseFieldArray(reply.elements[i]);
    if (!one.ok()) {
      return MakeError(one.error().kind, "entry " + std::to_string(i) + ": " +
                                             one.error().message);
    }
    out.push_back(std::move(one).value());
  }
  return out;
}

SentinelFlags ParseSentinelFlags(std::string_view flags) {
  SentinelFlags out;
  struct Known {
    std::string_view name;
    bool SentinelFlags::*member;
  };
  static constexpr Known kKnown[] = {
      {"s_down", &SentinelFlags::s_down},
      {"o_down", &SentinelFlags::o_down},
      {"master", &SentinelFlags::master},
      {"slave", &SentinelFlags::slave},
      {"sentinel", &SentinelFlags::sentinel},
      {"disconnected", &SentinelFlags::disconnected},
      {"master_down", &SentinelFlags::master_down},
      {"failover_in_progress", &SentinelFlags::failover_in_progress},
      {"promoted", &SentinelFlags::promoted},
      {"reconf_sent", &SentinelFlags::reconf_sent},
      {"reconf_inprog", &SentinelFlags::reconf_inprog},
      {"reconf_done", &SentinelFlags::reconf_done},
      {"force_failover", &SentinelFlags::force_failover},
      {"script_kill_sent", &SentinelFlags::script_kill_sent},
      {"master_reboot", &SentinelFlags::master_reboot},
      {"coordinated_failover", &SentinelFlags::coordinated_failover},
  };
  while (!flags.empty()) {
    size_t comma = flags.find(',');
    std::string_view item = flags.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t' ||
                             item.back() == '\r' || item.back() == '\n')) {
      item.remove_suffix(1);
    }
    if (!item.empty()) {
      bool known = false;
      for (const Known& k : kKnown) {
        if (item == k.name) {
          out.*(k.member) = true;
          known = true;
          break;
        }
      }
      if (!known) out.unknown.emplace_back(item);
    }
    if (comma == std::string_view::npos) break;
    flags.remove_prefix(comma + 1);
  }
  return out;
}

SentinelPrimary ParseSentinelPrimary(const FieldMap& f) {
  return FromFieldMap<SentinelPrimary>(f);
}

SentinelReplica ParseSentinelReplica(const FieldMap& f) {
  return FromFieldMap<SentinelReplica>(f);
}

SentinelPeer ParseSentinelPeer(const FieldMap& f) { return FromFieldMap<SentinelPeer>(f); }

Result<SentinelPrimary> ParseSentinelPrimaryReply(const Reply& reply) {
  return ReadEntry<SentinelPrimary>(reply);
}

Result<std::vector<SentinelPrimary>> ParseSentinelPrimaries(
    const Reply& reply) {
  return ParseTable<SentinelPrimary>(reply);
}

Result<std::vector<SentinelReplica>> ParseSentinelReplicas(const Reply& reply) {
  return ParseTable<SentinelReplica>(reply);
}

Result<std::vector<SentinelPeer>> ParseSentinelPeers(const Reply& reply) {
  return ParseTable<SentinelPeer>(reply);
}

CkquorumResult ParseCkquorum(const Reply& reply) {
  CkquorumResult out;
  if (reply.is_text()) {
    out.message = reply.str;
    if (StartsWith(reply.str, "OK")) {
      out.ok = true;
      out.usable = UsableCount(reply.str);
    }
    return out;
  }
  if (reply.is_error()) {
    out.message = reply.str;
    if (StartsWith(reply.str, "NOQUORUM")) {
      out.usable = UsableCount(reply.str);
      out.quorum_unreachable =
          Contains(reply.str, "reach the specified quorum");
      out.majority_unreachable = Contains(reply.str, "reach the majority");
    } else if (Contains(reply.str, "No such master") ||
               Contains(reply.str, "No such primary")) {
      out.no_such_group = true;
    }
    return out;
  }
  out.message = "unexpected reply: " + redis::DebugString(reply, 120);
  return out;
}

Result<FieldMap> ParseConfigGet(const Reply& reply) {
  if (reply.is_error()) return ErrorFromReply(reply);
  if (!reply.is_array())
    return ShapeError("expected a CONFIG GET array", reply);
  return ParseFieldArray(reply);
}

std::optional<PubSubMessage> ParsePubSubMessage(const Reply& reply) {
  if (!reply.is_array() || reply.elements.size() < 2) return std::nullopt;
  const std::vector<Reply>& e = reply.elements;
  if (!e[0].is_text()) return std::nullopt;
  std::string_view kind = e[0].str;
  PubSubMessage m;
  if (EqualsIgnoreCase(kind, "message")) {
    if (e.size() != 3 || !e[1].is_text() || !e[2].is_text())
      return std::nullopt;
    m.kind = PubSubMessage::Kind::kMessage;
    m.channel = e[1].str;
    m.payload = e[2].str;
    return m;
  }
  if (EqualsIgnoreCase(kind, "pmessage")) {
    if (e.size() != 4 || !e[1].is_text() || !e[2].is_text() ||
        !e[3].is_text()) {
      return std::nullopt;
    }
    m.kind = PubSubMessage::Kind::kPMessage;
    m.pattern = e[1].str;
    m.channel = e[2].str;
    m.payload = e[3].str;
    return m;
  }
  if (EqualsIgnoreCase(kind, "pong")) {
    if (e.size() != 2 || !e[1].is_text()) return std::nullopt;
    m.kind = PubSubMessage::Kind::kPong;
    m.payload = e[1].str;
    return m;
  }
  bool pattern;
  if (EqualsIgnoreCase(kind, "subscribe")) {
    m.kind = PubSubMessage::Kind::kSubscribe;
    pattern = false;
  } else if (EqualsIgnoreCase(kind, "unsubscribe")) {
    m.kind = PubSubMessage::Kind::kUnsubscribe;
    pattern = false;
  } else if (EqualsIgnoreCase(kind, "psubscribe")) {
    m.kind = PubSubMessage::Kind::kPSubscribe;
    pattern = true;
  } else if (EqualsIgnoreCase(kind, "punsubscribe")) {
    m.kind = PubSubMessage::Kind::kPUnsubscribe;
    pattern = true;
  } else {
    return std::nullopt;
  }
  if (e.size() != 3 || e[2].type != ReplyType::kInteger) return std::nullopt;
  if (!e[1].is_text() && e[1].type != ReplyType::kNil) return std::nullopt;
  (pattern ? m.pattern : m.channel) = e[1].str;
  m.count = e[2].integer;
  return m;
}

std::optional<SentinelEvent> ParseSentinelEvent(std::string_view channel,
                                                std::string_view payload) {
  if (channel.empty() || (channel.front() != '+' && channel.front() != '-')) {
    return std::nullopt;
  }
  if (channel == "+switch-master") {
    if (auto ev = ParseSwitchMaster(channel, payload)) return ev;
  } else if (auto ev = ParseInstanceEvent(channel, payload)) {
    return ev;
  }
  SentinelEvent ev;
  ev.event = std::string(channel);
  ev.note = std::string(payload);
  return ev;
}

}  // namespace redis_ha::parse
