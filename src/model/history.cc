#include "model/history.h"

#include <algorithm>
#include <vector>

#include "model/snapshot.h"
#include "util/log.h"

namespace redis_ha::model {

namespace {

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

template <typename T>
void TrimBefore(std::deque<std::pair<SysTime, T>>& d, SysTime cutoff) {
  while (!d.empty() && d.front().first < cutoff) d.pop_front();
}

}  // namespace

void HistoryState::Forget(const std::string& address) {
  nodes_.erase(address);
  summary_.nodes.erase(address);
}

void HistoryState::NotePrimary(const GroupSnapshot& g, SysTime now) {
  if (g.observed && !summary_.first_observed_at) summary_.first_observed_at = now;
  // Failovers: the primary named by the Sentinel majority changed.
  if (g.observed && !g.primary.empty()) {
    if (!majority_primary_.empty() && g.primary != majority_primary_) {
      ++summary_.failovers;
      summary_.last_failover_at = now;
      log::Info("failover observed",
                {{"group", g.name}, {"from", majority_primary_}, {"to", g.primary}});
    }
    majority_primary_ = g.primary;
  }
}

void HistoryState::Update(const GroupSnapshot& g, SysTime now) {
  const auto window_start = now - options_.wipe_hold;
  NotePrimary(g, now);

  // Restarts.
  for (const auto& n : g.nodes) {
    if (!n.up) continue;
    NodeTrack& st = nodes_[n.address];
    NodeHistory& h = summary_.nodes[n.address];
    bool restarted = (!st.run_id.empty() && !n.run_id.empty() && n.run_id != st.run_id) ||
                     (st.uptime && n.uptime_seconds && *n.uptime_seconds < *st.uptime);
    if (restarted) {
      ++h.restarts;
      h.last_restart_at = now - std::chrono::seconds(n.uptime_seconds.value_or(0));
      log::Info("node restarted", {{"group", g.name}, {"node", n.address}, {"run_id", n.run_id}});
    }
    st.run_id = n.run_id;
    st.uptime = n.uptime_seconds;
  }

  // The current primary's recent restart (observed, or told by its uptime when the
  // exporter was not watching at the time).
  summary_.primary_restarted_at.reset();
  const model::NodeState* primary = g.Primary();
  if (primary != nullptr && primary->up) {
    const NodeHistory& ph = summary_.nodes[primary->address];
    std::optional<SysTime> at = ph.last_restart_at;
    if (!at && primary->uptime_seconds) at = now - std::chrono::seconds(*primary->uptime_seconds);
    if (at && *at >= window_start) summary_.primary_restarted_at = at;
  }

  // Key windows and wipes. Observations while a node loads or syncs are partial and
  // not recorded.
  for (const auto& n : g.nodes) {
    if (!n.up || !n.keys || n.loading || n.sync_in_progress) continue;
    NodeTrack& st = nodes_[n.address];
    NodeHistory& h = summary_.nodes[n.address];
    TrimBefore(st.keys, window_start);
    std::optional<int64_t> before;  // the most keys within the window, before this poll
    if (!st.keys.empty()) before = std::max<int64_t>(0, st.keys.front().second);
    const int64_t keys = *n.keys;
    const bool is_replica = n.role == Role::kReplica;
    if (is_replica && before && *before > 0 &&
        static_cast<double>(keys) < options_.key_drop_fraction * static_cast<double>(*before) &&
        summary_.primary_restarted_at &&
        (!h.last_wipe_at || *h.last_wipe_at < *summary_.primary_restarted_at)) {
      ++h.wipes;
      h.last_wipe_at = now;
      h.keys_before_wipe = before;
      log::Warn("replica dataset wiped after a full sync from a restarted primary",
                {{"group", g.name}, {"node", n.address}, {"keys_before", std::to_string(*before)},
                 {"keys_now", std::to_string(keys)}});
      st.keys.clear();  // a new baseline; the wipe is held in last_wipe_at
    }
    while (!st.keys.empty() && st.keys.back().second <= keys) st.keys.pop_back();
    st.keys.emplace_back(now, keys);
    h.recent_max_keys = std::max<int64_t>(0, st.keys.front().second);
  }

  // Round trips and stalls of the primary, over the RTT window.
  const auto rtt_start = now - options_.rtt_window;
  if (g.primary != primary_for_rtt_) {
    rtt_.clear();
    stalls_.clear();
    primary_last_ok_.reset();
    primary_for_rtt_ = g.primary;
  }
  if (primary != nullptr && primary->up) {
    rtt_.emplace_back(now, Seconds(primary->round_trip));
    if (primary_last_ok_) {
      double gap = Seconds(now - *primary_last_ok_) -
                   std::chrono::duration<double>(options_.poll_interval).count();
      if (gap > 0) stalls_.emplace_back(now, gap);
    }
    primary_last_ok_ = now;
  }
  TrimBefore(rtt_, rtt_start);
  TrimBefore(stalls_, rtt_start);
  summary_.primary_rtt_samples = rtt_.size();
  summary_.primary_rtt_p99_seconds.reset();
  summary_.primary_max_stall_seconds.reset();
  if (rtt_.size() >= 10) {
    std::vector<double> v;
    v.reserve(rtt_.size());
    for (const auto& [t, s] : rtt_) v.push_back(s);
    size_t k = std::min(v.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    summary_.primary_rtt_p99_seconds = v[k];
    double stall = 0;
    for (const auto& [t, s] : stalls_) stall = std::max(stall, s);
    summary_.primary_max_stall_seconds = stall;
  }

  // Write rate of the primary: smoothed offset growth.
  if (g.primary != primary_for_rate_) {
    last_offset_.reset();
    summary_.primary_write_rate_bytes_per_second.reset();
    primary_for_rate_ = g.primary;
  }
  if (primary != nullptr && primary->up && primary->role == Role::kPrimary &&
      primary->master_repl_offset) {
    const int64_t off = *primary->master_repl_offset;
    if (last_offset_ && off >= last_offset_->second && now > last_offset_->first) {
      double dt = std::chrono::duration<double>(now - last_offset_->first).count();
      double rate = static_cast<double>(off - last_offset_->second) / dt;
      double prev = summary_.primary_write_rate_bytes_per_second.value_or(rate);
      summary_.primary_write_rate_bytes_per_second = 0.8 * prev + 0.2 * rate;
    } else if (last_offset_ && off < last_offset_->second) {
      summary_.primary_write_rate_bytes_per_second.reset();  // restarted: start over
    }
    last_offset_ = std::make_pair(now, off);
  }
}

}  // namespace redis_ha::model
