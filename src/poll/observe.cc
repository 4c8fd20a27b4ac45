#include "poll/observe.h"

#include <algorithm>
#include <charconv>

#include "parse/info.h"
#include "parse/sentinel.h"
#include "redis/connection.h"

namespace redis_ha::poll {

namespace {

std::string Announced(const std::string& ip, const std::optional<int>& port) {
  if (ip.empty() || !port) return "";
  return redis::JoinHostPort(ip, *port);
}

std::string Dialled(const Config& config, const std::string& announced) {
  return announced.empty() ? "" : config.MapAddress(announced);
}

Error ReplyError(const redis::Reply& reply, const char* what) {
  if (reply.is_error()) return parse::ErrorFromReply(reply);
  return MakeError(ErrorKind::kReply, std::string(what) + ": unexpected reply " +
                                          redis::DebugString(reply, 80));
}

}  // namespace

Status ObserveSentinelInfo(const redis::Reply& info, model::SentinelState& out) {
  if (!info.is_text()) return ReplyError(info, "INFO");
  parse::SentinelInfo si = parse::ParseSentinelInfo(info.str);
  if (!si.mode || *si.mode != "sentinel") {
    // A data node (or anything else) where a Sentinel was expected.
    return MakeError(ErrorKind::kReply, "INFO does not describe a Sentinel (mode " +
                                            si.mode.value_or("unknown") + ")");
  }
  out.version = si.version.value_or("");
  out.run_id = si.run_id.value_or("");
  out.uptime_seconds = si.uptime_in_seconds;
  out.tilt = si.tilt.value_or(false);
  out.tilt_since_seconds = si.tilt_since_seconds;
  return Status::Ok();
}

namespace {

model::SentinelView ViewFrom(const parse::SentinelPrimary& p, const std::string& sentinel,
                             const Config& config) {
  model::SentinelView v;
  v.sentinel = sentinel;
  v.reachable = true;
  v.monitors = true;
  v.primary_announced = Announced(p.ip, p.port);
  v.primary = Dialled(config, v.primary_announced);
  v.primary_run_id = p.runid;
  using F = model::PrimaryFlag;
  v.flags[static_cast<size_t>(F::kSDown)] = p.flags.s_down;
  v.flags[static_cast<size_t>(F::kODown)] = p.flags.o_down;
  v.flags[static_cast<size_t>(F::kDisconnected)] = p.flags.disconnected;
  v.flags[static_cast<size_t>(F::kFailoverInProgress)] = p.flags.failover_in_progress;
  v.flags[static_cast<size_t>(F::kMasterReboot)] = p.flags.master_reboot;
  std::string_view text = p.flags_text;
  while (!text.empty()) {
    auto comma = text.find(',');
    if (!text.substr(0, comma).empty()) v.raw_flags.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  v.failover_state = p.failover_state.value_or("");
  v.config_epoch = p.config_epoch;
  v.quorum = p.quorum;
  v.num_slaves = p.num_slaves;
  v.num_other_sentinels = p.num_other_sentinels;
  v.down_after_ms = p.down_after_ms;
  v.failover_timeout_ms = p.failover_timeout_ms;
  v.parallel_syncs = p.parallel_syncs;
  v.link_pending_commands = p.link_pending_commands;
  v.last_ok_ping_reply_ms = p.last_ok_ping_reply_ms;
  v.role_reported_time_ms = p.role_reported_time_ms;
  v.s_down_time_ms = p.s_down_time_ms;
  return v;
}

}  // namespace

Result<std::map<std::string, model::SentinelView>> ObserveMasters(const redis::Reply& masters,
                                                                 const std::string& sentinel,
                                                                 const Config& config) {
  auto parsed = parse::ParseSentinelPrimaries(masters);
  if (!parsed) return parsed.error();
  std::map<std::string, model::SentinelView> views;
  for (const auto& p : *parsed) {
    if (p.name.empty()) continue;
    views.insert_or_assign(p.name, ViewFrom(p, sentinel, config));
  }
  return views;
}

Result<std::optional<model::SentinelView>> ObserveMaster(const redis::Reply& master,
                                                         const std::string& group,
                                                         const std::string& sentinel,
                                                         const Config& config) {
  if (master.is_error() && master.str.find("No such master") != std::string::npos) {
    return std::optional<model::SentinelView>{};  // it no longer monitors the group
  }
  auto parsed = parse::ParseSentinelPrimaryReply(master);
  if (!parsed) return parsed.error();
  if (parsed->name != group) {
    return MakeError(ErrorKind::kReply, "SENTINEL MASTER " + group + " described another group");
  }
  return std::optional<model::SentinelView>(ViewFrom(*parsed, sentinel, config));
}

void ObserveCkquorum(const redis::Reply& reply, model::SentinelView& view) {
  parse::CkquorumResult r = parse::ParseCkquorum(reply);
  view.ckquorum_ok = r.ok;
  if (r.usable) view.usable_sentinels = *r.usable;
  view.ckquorum_quorum_fails = r.quorum_unreachable;
  view.ckquorum_majority_fails = r.majority_unreachable;
  view.ckquorum_message = r.message;
}

Status ObserveReplicas(const redis::Reply& reply, const Config& config,
                      model::SentinelView& view) {
  auto parsed = parse::ParseSentinelReplicas(reply);
  if (!parsed) return parsed.error();
  view.replicas.clear();
  view.replicas.reserve(parsed->size());
  for (auto& r : *parsed) {
    model::SentinelReplicaEntry e;
    e.announced = Announced(r.ip, r.port);
    if (e.announced.empty()) continue;
    e.address = Dialled(config, e.announced);
    e.run_id = std::move(r.runid);
    e.s_down = r.flags.s_down;
    e.o_down = r.flags.o_down;
    e.disconnected = r.flags.disconnected;
    e.link_ok = r.master_link_ok.value_or(false);
    e.link_down_ms = r.master_link_down_time_ms;
    e.priority = r.slave_priority;
    e.offset = r.slave_repl_offset;
    e.last_ok_ping_reply_ms = r.last_ok_ping_reply_ms;
    e.info_refresh_ms = r.info_refresh_ms;
    e.replica_announced = r.replica_announced;
    view.replicas.push_back(std::move(e));
  }
  return Status::Ok();
}

Status ObservePeers(const redis::Reply& reply, const Config& config, model::SentinelView& view) {
  auto parsed = parse::ParseSentinelPeers(reply);
  if (!parsed) return parsed.error();
  view.peers.clear();
  view.peers.reserve(parsed->size());
  for (auto& p : *parsed) {
    model::SentinelPeerEntry e;
    e.announced = Announced(p.ip, p.port);
    if (e.announced.empty()) continue;
    e.address = Dialled(config, e.announced);
    e.run_id = std::move(p.runid);
    e.s_down = p.flags.s_down;
    e.o_down = p.flags.o_down;
    e.disconnected = p.flags.disconnected;
    e.last_hello_ms = p.last_hello_message_ms;
    view.peers.push_back(std::move(e));
  }
  return Status::Ok();
}

Status ObserveNodeInfo(const redis::Reply& info, model::NodeState& out) {
  if (!info.is_text()) return ReplyError(info, "INFO");
  parse::DataNodeInfo d = parse::ParseDataNodeInfo(info.str);
  if (d.mode && *d.mode == "sentinel") {
    return MakeError(ErrorKind::kReply, "a Sentinel answered where a data node was expected");
  }
  if (d.role == parse::Role::kUnknown) {
    return MakeError(ErrorKind::kReply, "INFO has no role line");
  }
  out.role = d.role == parse::Role::kPrimary ? model::Role::kPrimary : model::Role::kReplica;
  out.server = d.server_kind == parse::ServerKind::kValkey ? "valkey" : "redis";
  out.version = d.version.value_or("");
  out.run_id = d.run_id.value_or("");
  out.uptime_seconds = d.uptime_in_seconds;
  out.loading = d.loading.value_or(false) || d.async_loading.value_or(false);
  out.loading_percent = d.loading_loaded_perc;
  // No keyspace line means no keys (the section is always in a full INFO).
  out.keys = d.total_keys.value_or(0);
  int64_t expires = 0;
  for (const auto& db : d.keyspace) expires += db.expires;
  out.expires = expires;

  out.master_repl_offset = d.master_repl_offset;
  out.master_replid = d.master_replid.value_or("");
  if (d.repl_backlog_active) out.repl_backlog_active = *d.repl_backlog_active ? 1 : 0;
  out.repl_backlog_size = d.repl_backlog_size;
  out.repl_backlog_histlen = d.repl_backlog_histlen;
  out.connected_replicas = d.connected_slaves;
  out.min_replicas_good = d.min_slaves_good_slaves;
  for (const auto& r : d.replicas) {
    model::ReplicaLine line;
    line.address = Announced(r.ip, r.port);
    line.state = r.state;
    line.offset = r.offset;
    line.lag_seconds = r.lag;
    out.replica_lines.push_back(std::move(line));
  }
  out.failover_state = d.master_failover_state.value_or("");

  if (d.master_host && d.master_port) out.master_address = Announced(*d.master_host, d.master_port);
  out.link_up = d.master_link_up;
  out.last_io_seconds = d.master_last_io_seconds_ago;
  out.link_down_since_seconds = d.master_link_down_since_seconds;
  out.sync_in_progress = d.master_sync_in_progress.value_or(false);
  out.slave_repl_offset = d.slave_repl_offset;
  out.slave_read_repl_offset = d.slave_read_repl_offset;
  out.priority = d.slave_priority;
  out.read_only = d.slave_read_only;

  out.aof_enabled = d.aof_enabled;
  out.rdb_last_save_time = d.rdb_last_save_time;
  out.rdb_changes_since_last_save = d.rdb_changes_since_last_save;
  out.rdb_bgsave_in_progress = d.rdb_bgsave_in_progress.value_or(false);

  out.sync_full = d.sync_full;
  out.sync_partial_ok = d.sync_partial_ok;
  out.sync_partial_err = d.sync_partial_err;
  return Status::Ok();
}

std::vector<std::string> NodeInfoCommand(bool sectioned) {
  if (!sectioned) return {"INFO"};
  return {"INFO", "server", "persistence", "stats", "replication", "keyspace"};
}

bool TakesInfoSections(const model::NodeState& node) {
  if (node.server == "valkey") return true;  // forked from Redis 7.2
  int major = 0;
  auto [ptr, ec] = std::from_chars(node.version.data(), node.version.data() + node.version.size(),
                                   major);
  return ec == std::errc() && ptr != node.version.data() && major >= 7;
}

const std::vector<std::vector<std::string>>& ConfigCommands() {
  static const auto* commands = new std::vector<std::vector<std::string>>{
      {"CONFIG", "GET", "save"},
      {"CONFIG", "GET", "appendonly"},
      {"CONFIG", "GET", "min-replicas-to-write"},
      {"CONFIG", "GET", "min-replicas-max-lag"},
  };
  return *commands;
}

void ObserveConfig(const std::vector<redis::Reply>& replies, model::NodeState& out) {
  out.config_unavailable = false;
  auto get = [&](size_t i, const char* name) -> std::optional<std::string> {
    if (i >= replies.size()) return std::nullopt;
    auto r = parse::ParseConfigGet(replies[i]);
    if (!r) {
      out.config_unavailable = true;  // denied by ACL, renamed, or unknown
      return std::nullopt;
    }
    auto it = r->find(name);
    if (it == r->end()) {
      out.config_unavailable = true;
      return std::nullopt;
    }
    return it->second;
  };
  out.config_save = get(0, "save");
  if (auto v = get(1, "appendonly")) out.config_appendonly = *v == "yes";
  if (auto v = get(2, "min-replicas-to-write")) {
    out.config_min_replicas_to_write = parse::ParseInt64(*v);
  }
  if (auto v = get(3, "min-replicas-max-lag")) {
    out.config_min_replicas_max_lag = parse::ParseInt64(*v);
  }
}

namespace {

using F = model::PrimaryFlag;

// Sets one primary flag and keeps `raw_flags` in step; true when it changed.
bool SetFlag(model::SentinelView& v, F flag, std::string_view name, bool set) {
  bool changed = v.flags[static_cast<size_t>(flag)] != set;
  v.flags[static_cast<size_t>(flag)] = set;
  auto it = std::find(v.raw_flags.begin(), v.raw_flags.end(), name);
  if (set && it == v.raw_flags.end()) {
    v.raw_flags.emplace_back(name);
    changed = true;
  } else if (!set && it != v.raw_flags.end()) {
    v.raw_flags.erase(it);
    changed = true;
  }
  return changed;
}

bool EndsFailover(const std::string& event) {
  return event == "+failover-end" || event == "+failover-end-for-timeout" ||
         event.starts_with("-failover-abort");
}

}  // namespace

bool EventOverlay::Keeps(const parse::SentinelEvent& ev) {
  if (ev.group.empty()) return false;
  if (ev.event == "+switch-master") return !ev.new_ip.empty() && ev.new_port > 0;
  if (ev.instance_type != "master" || ev.ip.empty() || ev.port <= 0) return false;
  return ev.event == "+sdown" || ev.event == "-sdown" || ev.event == "+odown" ||
         ev.event == "-odown" || ev.event == "+try-failover" || ev.event == "+reset-master" ||
         EndsFailover(ev.event);
}

bool EventOverlay::Record(const parse::SentinelEvent& ev, Time at) {
  if (!Keeps(ev)) return false;
  if (ev.event == "+switch-master") {
    switch_ = Fact{true, redis::JoinHostPort(ev.new_ip, ev.new_port), at,
                   ev.old_ip.empty() ? "" : redis::JoinHostPort(ev.old_ip, ev.old_port)};
    // What was said of the old primary no longer applies; a new failover starts afresh.
    s_down_.reset();
    o_down_.reset();
    failover_.reset();
    return true;
  }
  Fact f{ev.event.front() == '+', redis::JoinHostPort(ev.ip, ev.port), at, ""};
  if (ev.event == "+reset-master") {
    f.set = false;
    s_down_ = f;
    o_down_ = f;
    f.announced.clear();
    failover_ = std::move(f);
  } else if (ev.event == "+sdown" || ev.event == "-sdown") {
    s_down_ = std::move(f);
  } else if (ev.event == "+odown" || ev.event == "-odown") {
    o_down_ = std::move(f);
  } else {
    f.set = ev.event == "+try-failover";
    f.announced.clear();
    failover_ = std::move(f);
  }
  return true;
}

void EventOverlay::Prune(Time asked) {
  for (auto* fact : {&switch_, &s_down_, &o_down_, &failover_}) {
    if (*fact && (*fact)->at <= asked) fact->reset();
  }
}

bool EventOverlay::ApplyTo(model::SentinelView& v, const Config& config) const {
  bool changed = false;
  if (switch_ && v.primary_announced != switch_->announced) {
    v.primary_announced = switch_->announced;
    v.primary = Dialled(config, v.primary_announced);
    v.primary_run_id.clear();
    v.flags = {};
    v.raw_flags = {"master"};
    v.failover_state.clear();
    v.config_epoch.reset();  // the failover's epoch: not in the event
    v.link_pending_commands.reset();
    v.last_ok_ping_reply_ms.reset();
    v.role_reported_time_ms = 0;
    v.s_down_time_ms.reset();
    const std::string& old_announced = switch_->old_announced;
    std::erase_if(v.replicas, [&](const model::SentinelReplicaEntry& r) {
      return r.announced == v.primary_announced || r.announced == old_announced;
    });
    for (auto& r : v.replicas) {
      r.disconnected = true;
      r.s_down = false;
      r.o_down = false;
      r.link_ok = false;
    }
    if (!old_announced.empty()) {
      model::SentinelReplicaEntry old;
      old.address = Dialled(config, old_announced);
      old.announced = old_announced;
      old.disconnected = true;
      v.replicas.push_back(std::move(old));
    }
    changed = true;
  }
  if (s_down_ && s_down_->announced == v.primary_announced) {
    changed |= SetFlag(v, F::kSDown, "s_down", s_down_->set);
    if (!s_down_->set) v.s_down_time_ms.reset();
  }
  if (o_down_ && o_down_->announced == v.primary_announced) {
    changed |= SetFlag(v, F::kODown, "o_down", o_down_->set);
  }
  if (failover_) {
    changed |= SetFlag(v, F::kFailoverInProgress, "failover_in_progress", failover_->set);
    if (!failover_->set && !v.failover_state.empty()) {
      v.failover_state.clear();
      changed = true;
    }
  }
  return changed;
}

bool EventOverlay::NamePrimary(model::SentinelView& v, const Config& config, Time now) const {
  if (!switch_ || v.primary_announced == switch_->announced) return false;
  if (now - switch_->at > kUnansweredVote) return false;
  v.primary_announced = switch_->announced;
  v.primary = Dialled(config, v.primary_announced);
  return true;
}

}  // namespace redis_ha::poll
