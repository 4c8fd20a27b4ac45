#include "http/api.h"

#include <cmath>

#include "util/json.h"

namespace redis_ha::http {

namespace {

void WriteError(JsonWriter& w, const std::optional<model::PollError>& e) {
  w.Key("error");
  if (!e) {
    w.Null();
    return;
  }
  w.BeginObject().Field("reason", e->reason).Field("message", e->message).EndObject();
}

void WriteView(JsonWriter& w, const model::SentinelView& v) {
  w.BeginObject();
  w.Field("sentinel", v.sentinel).Field("reachable", v.reachable).Field("monitors", v.monitors);
  w.Field("primary", v.primary).Field("primary_announced", v.primary_announced);
  w.Key("flags").BeginObject();
  for (auto f : model::kPrimaryFlags) w.Field(model::PrimaryFlagName(f), v.flag(f));
  w.EndObject();
  w.Key("raw_flags").BeginArray();
  for (const auto& f : v.raw_flags) w.String(f);
  w.EndArray();
  w.Field("failover_state", v.failover_state);
  w.Field("config_epoch", v.config_epoch).Field("quorum", v.quorum);
  w.Key("known_sentinels");
  if (v.num_other_sentinels) w.Int(*v.num_other_sentinels + 1);
  else w.Null();
  w.Field("known_replicas", v.num_slaves);
  w.Field("down_after_ms", v.down_after_ms).Field("failover_timeout_ms", v.failover_timeout_ms);
  w.Field("parallel_syncs", v.parallel_syncs);
  w.Key("ckquorum").BeginObject();
  w.Field("ok", v.ckquorum_ok).Field("usable", v.usable_sentinels);
  w.Field("message", v.ckquorum_message).EndObject();
  w.Key("replicas").BeginArray();
  for (const auto& r : v.replicas) {
    w.BeginObject().Field("address", r.address).Field("announced", r.announced);
    w.Field("run_id", r.run_id).Field("s_down", r.s_down).Field("o_down", r.o_down);
    w.Field("disconnected", r.disconnected).Field("link_ok", r.link_ok);
    w.Field("link_down_ms", r.link_down_ms).Field("priority", r.priority);
    w.Field("offset", r.offset).EndObject();
  }
  w.EndArray();
  w.Key("sentinels").BeginArray();
  for (const auto& p : v.peers) {
    w.BeginObject().Field("address", p.address).Field("run_id", p.run_id);
    w.Field("s_down", p.s_down).Field("o_down", p.o_down);
    w.Field("disconnected", p.disconnected).EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void WriteNode(JsonWriter& w, const model::GroupSnapshot& g, const model::NodeState& n) {
  w.BeginObject();
  w.Field("address", n.address).Field("announced", n.announced).Field("up", n.up);
  WriteError(w, n.error);
  w.Field("role", model::RoleName(n.role));
  w.Field("sentinel_role", model::RoleName(n.sentinel_role));
  w.Field("server", n.server).Field("version", n.version).Field("run_id", n.run_id);
  w.Field("uptime_seconds", n.uptime_seconds).Field("loading", n.loading);
  w.Field("keys", n.keys).Field("offset", n.Offset());
  w.Field("connected_replicas", n.connected_replicas);
  w.Field("master_address", n.master_address).Field("link_up", n.link_up);
  w.Field("sync_in_progress", n.sync_in_progress).Field("priority", n.priority);
  std::optional<int64_t> lag;
  if (const auto* p = g.Primary(); p != nullptr && p->up && p->master_repl_offset &&
                                   n.role == model::Role::kReplica && n.slave_repl_offset) {
    lag = std::max<int64_t>(0, *p->master_repl_offset - *n.slave_repl_offset);
  }
  w.Field("lag_bytes", lag);
  w.Field("repl_backlog_size", n.repl_backlog_size);
  w.Field("aof_enabled", n.aof_enabled).Field("config_save", n.config_save);
  w.Field("min_replicas_to_write", n.config_min_replicas_to_write);
  const auto* h = g.history.Node(n.address);
  w.Field("restarts", h ? h->restarts : uint64_t{0});
  w.Field("dataset_wipes", h ? h->wipes : uint64_t{0});
  w.Field("round_trip_seconds", std::chrono::duration<double>(n.round_trip).count());
  w.EndObject();
}

template <size_t N>
void WriteRisk(JsonWriter& w, const char* key, const assess::Risk<N>& risk,
               const std::array<assess::FactorInfo, N>& infos) {
  w.Key(key).BeginObject();
  w.Field("level", static_cast<int>(risk.level)).Field("level_name", assess::LevelName(risk.level));
  w.Key("factors").BeginArray();
  for (size_t i = 0; i < N; ++i) {
    w.BeginObject().Field("factor", infos[i].name).Field("active", risk.factors[i].active);
    w.Field("level", static_cast<int>(infos[i].level)).Field("meaning", infos[i].meaning);
    w.Field("reason", risk.factors[i].reason).EndObject();
  }
  w.EndArray().EndObject();
}

void WriteAssessment(JsonWriter& w, const model::GroupSnapshot& g) {
  const auto& a = g.assessment;
  w.Field("primaries", a.primaries).Field("primary_views", a.primary_views);
  WriteRisk(w, "split_brain", a.split_brain, assess::SplitBrainFactors());
  WriteRisk(w, "empty_primary", a.empty_primary, assess::EmptyPrimaryFactors());
  w.Key("checks_unavailable").BeginArray();
  for (size_t i = 0; i < assess::kCheckCount; ++i) {
    if (a.check_unavailable[i]) w.String(assess::CheckName(static_cast<assess::Check>(i)));
  }
  w.EndArray();
  w.Field("healthy_replicas", a.healthy_replicas);
  w.Key("backlog_headroom_seconds");
  if (!a.backlog_headroom_seconds) w.Null();
  else if (std::isinf(*a.backlog_headroom_seconds)) w.String("+Inf");
  else w.Number(*a.backlog_headroom_seconds);
  w.Field("primary_write_rate_bytes_per_second", g.history.primary_write_rate_bytes_per_second);
  w.Field("primary_rtt_p99_seconds", g.history.primary_rtt_p99_seconds);
  w.Field("primary_max_stall_seconds", g.history.primary_max_stall_seconds);
}

}  // namespace

std::string GroupsJson(const model::Snapshot& s, const std::string& only_group) {
  JsonWriter w;
  w.BeginObject();
  w.Field("cycle", s.cycle).Field("taken_at", model::ToUnixSeconds(s.taken_at));
  w.Key("sentinels").BeginArray();
  for (const auto& st : s.sentinels) {
    w.BeginObject().Field("address", st.address).Field("up", st.up);
    WriteError(w, st.error);
    w.Field("tilt", st.tilt).Field("version", st.version).Field("seed", st.seed);
    w.Key("groups").BeginArray();
    for (const auto& g : st.groups) w.String(g);
    w.EndArray().EndObject();
  }
  w.EndArray();
  w.Key("groups").BeginArray();
  for (const auto& [name, g] : s.groups) {
    if (!only_group.empty() && name != only_group) continue;
    w.BeginObject().Field("name", name).Field("primary", g.primary);
    w.Field("observed", g.observed);
    w.Field("last_success_at", model::ToUnixSeconds(g.last_success_at));
    w.Field("failovers", g.history.failovers);
    w.Key("last_failover_at");
    if (g.history.last_failover_at) w.Number(model::ToUnixSeconds(*g.history.last_failover_at));
    else w.Null();
    WriteAssessment(w, g);
    w.Key("sentinel_views").BeginArray();
    for (const auto& v : g.views) WriteView(w, v);
    w.EndArray();
    w.Key("nodes").BeginArray();
    for (const auto& n : g.nodes) WriteNode(w, g, n);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("recent_events").BeginArray();
  for (const auto& e : s.recent_events) {
    w.BeginObject().Field("at", model::ToUnixSeconds(e.at)).Field("sentinel", e.sentinel);
    w.Field("group", e.group).Field("event", e.event).Field("detail", e.detail).EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace redis_ha::http
