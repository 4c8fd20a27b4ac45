#include "parse/sentinel.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "parse/info.h"

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

// ---- Typed field lookups.

// One entry of a SENTINEL table as views into the reply, sorted by key, the last of equal
// keys kept (as ParseFieldArray's insert_or_assign does). Used by the table parsers,
// which run for every group on every poll: a FieldMap copies every field of every entry.
struct FieldView {
  std::vector<std::pair<std::string_view, const std::string*>> fields;
};

const std::string* Get(const FieldMap& f, std::string_view key) {
  auto it = f.find(key);
  return it == f.end() ? nullptr : &it->second;
}

const std::string* Get(const FieldView& f, std::string_view key) {
  auto it = std::lower_bound(f.fields.begin(), f.fields.end(), key,
                             [](const auto& e, std::string_view k) { return e.first < k; });
  return it != f.fields.end() && it->first == key ? it->second : nullptr;
}

template <typename M>
std::string GetStr(const M& f, std::string_view key) {
  const std::string* v = Get(f, key);
  return v == nullptr ? std::string() : *v;
}

template <typename M>
std::optional<std::string> GetOptStr(const M& f, std::string_view key) {
  const std::string* v = Get(f, key);
  if (v == nullptr) return std::nullopt;
  return *v;
}

template <typename M>
std::optional<int64_t> GetInt(const M& f, std::string_view key) {
  const std::string* v = Get(f, key);
  if (v == nullptr) return std::nullopt;
  return ParseInt64(*v);
}

template <typename M>
std::optional<int> GetPort(const M& f, std::string_view key) {
  const std::string* v = Get(f, key);
  if (v == nullptr) return std::nullopt;
  return ParsePort(*v);
}

template <typename M>
void FillInstance(const M& f, SentinelInstance& out) {
  out.name = GetStr(f, "name");
  out.ip = GetStr(f, "ip");
  out.port = GetPort(f, "port");
  out.runid = GetStr(f, "runid");
  out.flags_text = GetStr(f, "flags");
  out.flags = ParseSentinelFlags(out.flags_text);
  out.link_pending_commands = GetInt(f, "link-pending-commands");
  out.link_refcount = GetInt(f, "link-refcount");
  out.last_ping_sent_ms = GetInt(f, "last-ping-sent");
  out.last_ok_ping_reply_ms = GetInt(f, "last-ok-ping-reply");
  out.last_ping_reply_ms = GetInt(f, "last-ping-reply");
  out.down_after_ms = GetInt(f, "down-after-milliseconds");
  out.s_down_time_ms = GetInt(f, "s-down-time");
  out.o_down_time_ms = GetInt(f, "o-down-time");
  out.failover_state = GetOptStr(f, "failover-state");
}

template <typename M>
void FillDataNode(const M& f, SentinelDataNode& out) {
  FillInstance(f, out);
  out.info_refresh_ms = GetInt(f, "info-refresh");
  out.role_reported = GetOptStr(f, "role-reported");
  out.role_reported_time_ms = GetInt(f, "role-reported-time");
}

// ParseFieldArrays + parse_one on each entry, through FieldViews (same checks and errors).
template <typename T, typename ParseOne>
Result<std::vector<T>> ParseTable(const Reply& reply, ParseOne parse_one) {
  if (reply.is_error()) return ErrorFromReply(reply);
  if (!reply.is_array()) return ShapeError("expected an array of tables", reply);
  std::vector<T> out;
  out.reserve(reply.elements.size());
  FieldView view;
  for (size_t i = 0; i < reply.elements.size(); ++i) {
    const Reply& e = reply.elements[i];
    std::optional<Error> bad;
    if (e.is_error()) {
      bad = ErrorFromReply(e);
    } else if (!e.is_array()) {
      bad = ShapeError("expected a field/value array", e);
    } else if (e.elements.size() % 2 != 0) {
      bad = ShapeError("field/value array of odd length", e);
    }
    view.fields.clear();
    for (size_t k = 0; !bad && k < e.elements.size(); k += 2) {
      const Reply& key = e.elements[k];
      const Reply& value = e.elements[k + 1];
      if (!key.is_text() || !value.is_text()) {
        bad = ShapeError("field/value array with a non-string element", e);
        break;
      }
      view.fields.emplace_back(key.str, &value.str);
    }
    if (bad) {
      return MakeError(bad->kind, "entry " + std::to_string(i) + ": " + bad->message);
    }
    std::stable_sort(view.fields.begin(), view.fields.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    size_t w = 0;
    for (size_t r = 0; r < view.fields.size(); ++r) {
      if (r + 1 < view.fields.size() && view.fields[r + 1].first == view.fields[r].first) {
        continue;
      }
      view.fields[w++] = view.fields[r];
    }
    view.fields.resize(w);
    out.push_back(parse_one(view));
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
  if (reply.is_error()) return ErrorFromReply(reply);
  if (!reply.is_array())
    return ShapeError("expected a field/value array", reply);
  if (reply.elements.size() % 2 != 0) {
    return ShapeError("field/value array of odd length", reply);
  }
  FieldMap out;
  for (size_t i = 0; i < reply.elements.size(); i += 2) {
    const Reply& k = reply.elements[i];
    const Reply& v = reply.elements[i + 1];
    if (!k.is_text() || !v.is_text()) {
      return ShapeError("field/value array with a non-string element", reply);
    }
    out.insert_or_assign(k.str, v.str);
  }
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

namespace {
template <typename M>
SentinelPrimary PrimaryFrom(const M& f) {
  SentinelPrimary p;
  FillDataNode(f, p);
  p.config_epoch = GetInt(f, "config-epoch");
  p.num_slaves = GetInt(f, "num-slaves");
  p.num_other_sentinels = GetInt(f, "num-other-sentinels");
  p.quorum = GetInt(f, "quorum");
  p.failover_timeout_ms = GetInt(f, "failover-timeout");
  p.parallel_syncs = GetInt(f, "parallel-syncs");
  return p;
}
}  // namespace

SentinelPrimary ParseSentinelPrimary(const FieldMap& f) { return PrimaryFrom(f); }

namespace {
template <typename M>
SentinelReplica ReplicaFrom(const M& f) {
  SentinelReplica r;
  FillDataNode(f, r);
  r.master_link_down_time_ms = GetInt(f, "master-link-down-time");
  if (const std::string* s = Get(f, "master-link-status")) {
    if (*s == "ok") {
      r.master_link_ok = true;
    } else if (*s == "err") {
      r.master_link_ok = false;
    }
  }
  r.master_host = GetOptStr(f, "master-host");
  r.master_port = GetPort(f, "master-port");
  r.slave_priority = GetInt(f, "slave-priority");
  if (!r.slave_priority) r.slave_priority = GetInt(f, "replica-priority");
  r.slave_repl_offset = GetInt(f, "slave-repl-offset");
  if (!r.slave_repl_offset)
    r.slave_repl_offset = GetInt(f, "replica-repl-offset");
  if (std::optional<int64_t> a = GetInt(f, "replica-announced")) {
    r.replica_announced = *a != 0;
  }
  return r;
}
}  // namespace

SentinelReplica ParseSentinelReplica(const FieldMap& f) { return ReplicaFrom(f); }

namespace {
template <typename M>
SentinelPeer PeerFrom(const M& f) {
  SentinelPeer s;
  FillInstance(f, s);
  s.last_hello_message_ms = GetInt(f, "last-hello-message");
  s.voted_leader = GetOptStr(f, "voted-leader");
  s.voted_leader_epoch = GetInt(f, "voted-leader-epoch");
  return s;
}
}  // namespace

SentinelPeer ParseSentinelPeer(const FieldMap& f) { return PeerFrom(f); }

Result<SentinelPrimary> ParseSentinelPrimaryReply(const Reply& reply) {
  Result<FieldMap> f = ParseFieldArray(reply);
  if (!f.ok()) return f.error();
  return ParseSentinelPrimary(*f);
}

Result<std::vector<SentinelPrimary>> ParseSentinelPrimaries(
    const Reply& reply) {
  return ParseTable<SentinelPrimary>(reply, [](const FieldView& f) { return PrimaryFrom(f); });
}

Result<std::vector<SentinelReplica>> ParseSentinelReplicas(const Reply& reply) {
  return ParseTable<SentinelReplica>(reply, [](const FieldView& f) { return ReplicaFrom(f); });
}

Result<std::vector<SentinelPeer>> ParseSentinelPeers(const Reply& reply) {
  return ParseTable<SentinelPeer>(reply, [](const FieldView& f) { return PeerFrom(f); });
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
