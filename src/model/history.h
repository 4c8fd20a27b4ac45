// History: what the exporter remembers about a group across cycles, and the rules that
// update it from each new observation.
//
// Contract: `HistoryState::Update()` is called once per cycle with the group's fresh
// snapshot (before assessment). It detects restarts (run id changed or uptime went
// back), dataset collapses after a restarted primary (wipes), failovers (the majority
// primary changed), and keeps sliding windows (primary round trips and stalls, primary
// write rate, recent key counts). `Summary()` is the small, copyable `GroupHistory` that
// goes into the published snapshot; assess reads only that.
//
// Thread-safety: HistoryState is owned by the poll thread; GroupHistory is a plain value.
#ifndef REDIS_HA_MODEL_HISTORY_H_
#define REDIS_HA_MODEL_HISTORY_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace redis_ha::model {

struct GroupSnapshot;
using SysTime = std::chrono::system_clock::time_point;

struct HistoryOptions {
  // A replica "collapsed" when its keys fell below this fraction of what it held, and a
  // primary holds "far fewer" keys when below this fraction of a replica's.
  double key_drop_fraction = 0.5;
  // How long replica_wiped stays raised after a wipe, and how long after a primary
  // restart a collapse still counts as caused by it.
  std::chrono::milliseconds wipe_hold{std::chrono::minutes(10)};
  // Sliding window for primary round trips and stalls.
  std::chrono::milliseconds rtt_window{std::chrono::minutes(5)};
  std::chrono::milliseconds poll_interval{1000};
};

struct NodeHistory {
  uint64_t restarts = 0;
  uint64_t wipes = 0;
  std::optional<SysTime> last_restart_at;
  std::optional<SysTime> last_wipe_at;
  std::optional<int64_t> keys_before_wipe;  // what the node held before its last wipe
  // The most keys seen on the node within the wipe window (what a replica "had").
  std::optional<int64_t> recent_max_keys;
};

// The copyable summary published with each snapshot.
struct GroupHistory {
  // When this exporter first observed the group: its failover history covers the time since.
  std::optional<SysTime> first_observed_at;
  uint64_t failovers = 0;
  std::optional<SysTime> last_failover_at;
  std::map<std::string, NodeHistory> nodes;  // by node address
  // The current primary's last restart, when it restarted within the wipe window.
  std::optional<SysTime> primary_restarted_at;
  // Round trips to the primary over the window: p99 and the longest stall (time the
  // primary went without answering, beyond one interval). Unset with too few samples.
  std::optional<double> primary_rtt_p99_seconds;
  std::optional<double> primary_max_stall_seconds;
  size_t primary_rtt_samples = 0;
  // Smoothed growth of the primary's replication offset (bytes per second).
  std::optional<double> primary_write_rate_bytes_per_second;

  const NodeHistory* Node(const std::string& address) const {
    auto it = nodes.find(address);
    return it == nodes.end() ? nullptr : &it->second;
  }
};

class HistoryState {
 public:
  explicit HistoryState(HistoryOptions options = {}) : options_(options) {}
  void set_options(const HistoryOptions& o) { options_ = o; }

  // Folds one cycle's observation of `group` in. `now` is the cycle's time.
  void Update(const GroupSnapshot& group, SysTime now);
  // Only the failover rule of Update(): for a snapshot renewed from Sentinel events alone,
  // whose data nodes are those of an earlier poll (they must not count as new samples).
  void NotePrimary(const GroupSnapshot& group, SysTime now);
  const GroupHistory& Summary() const { return summary_; }
  // Drops what is kept for a node no longer watched.
  void Forget(const std::string& address);

 private:
  struct NodeTrack {
    std::string run_id;
    std::optional<int64_t> uptime;
    // (time, keys) within the wipe window, kept as a sliding maximum: each entry holds more
    // keys than every later one, so the front is the window's maximum and an entry that a
    // later, larger one outlives is dropped (a few entries instead of one per poll).
    std::deque<std::pair<SysTime, int64_t>> keys;
  };

  HistoryOptions options_;
  GroupHistory summary_;
  std::map<std::string, NodeTrack> nodes_;
  std::string majority_primary_;
  std::deque<std::pair<SysTime, double>> rtt_;     // (time, seconds) of primary polls
  std::deque<std::pair<SysTime, double>> stalls_;  // (time, seconds)
  std::optional<SysTime> primary_last_ok_;
  std::string primary_for_rtt_;
  std::optional<std::pair<SysTime, int64_t>> last_offset_;  // of the primary
  std::string primary_for_rate_;
};

}  // namespace redis_ha::model

#endif  // REDIS_HA_MODEL_HISTORY_H_
