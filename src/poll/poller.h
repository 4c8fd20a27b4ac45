// Poller: discovers Sentinel groups and polls every Sentinel and data node of every
// watched group once per interval, building one immutable Snapshot per cycle.
//
// Contract:
// - Seeds are the configured Sentinels. From their SENTINEL MASTERS / REPLICAS /
//   SENTINELS replies it learns groups, data nodes and further Sentinels, and polls all of
//   them from then on. Targets no Sentinel has listed for `kRetention` are forgotten.
// - One cycle sends each server its commands pipelined in one write, all servers at once,
//   each bounded by --poll.timeout. A target first discovered during a cycle is polled in
//   a follow-up round of the same cycle (at most three), so a new group is complete at once.
// - A cycle that overruns the interval is counted and the next one starts when it ends;
//   cycles never stack. `Trigger()` starts the next cycle soon (at most one triggered
//   cycle per half interval, capped at 500 ms).
// - `TriggerGroup(g)` (a Sentinel event about group g) polls only that group at once: its
//   Sentinels (SENTINEL MASTER g and the group's details) and its data nodes, and
//   publishes a snapshot in which that group is new and every other group is carried over
//   from the latest one. Event polls of a group are at least kGroupPollGap apart, come in
//   bursts of at most kGroupPollBurst (a failover brings about ten events), then one per
//   min(interval/2, 500 ms), so a flooding Sentinel polls its group about twice a second;
//   the pause after one is at least as long as it took; events that arrive meanwhile are
//   folded together.
// - Each cycle's snapshot is assessed and published; `Latest()` never blocks on a cycle.
//
// Thread-safety: Start/Stop/Reload/Trigger/Latest are safe from any thread. PollOnce()
// must not be mixed with Start().
#ifndef REDIS_HA_POLL_POLLER_H_
#define REDIS_HA_POLL_POLLER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "assess/assess.h"
#include "model/history.h"
#include "model/snapshot.h"
#include "poll/subscriber.h"
#include "redis/pool.h"

namespace redis_ha::poll {

class Poller {
 public:
  static constexpr std::chrono::minutes kRetention{10};
  // Event polls of one group are at least this far apart, and at most this many in a burst.
  static constexpr std::chrono::milliseconds kGroupPollGap{50};
  static constexpr int kGroupPollBurst = 10;

  explicit Poller(Config config);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Starts the background loop and the Sentinel event subscriber.
  void Start();
  // Stops it; returns within about one --poll.timeout.
  void Stop();
  // The new configuration applies from the next cycle (connections whose credentials
  // changed are re-opened).
  void Reload(Config config);
  // Asks for a cycle now instead of at the next tick.
  void Trigger();
  // Asks for an event poll of one group now (a full cycle when group is empty).
  void TriggerGroup(const std::string& group);
  // The latest published snapshot (an empty one before the first cycle ends).
  model::SnapshotPtr Latest() const;
  // Runs one cycle synchronously and returns its snapshot (for `check` and tests).
  model::SnapshotPtr PollOnce();

  // Called after each publish (from the poll thread); set before Start().
  void OnPublish(std::function<void(const model::SnapshotPtr&)> callback) {
    on_publish_ = std::move(callback);
  }

 private:
  struct SentinelRecord {
    redis::Endpoint endpoint;
    bool seed = false;
    std::vector<std::string> groups;  // watched groups it monitored when last reachable
    std::chrono::steady_clock::time_point last_listed{};
    // A full cycle's commands for `full_groups`, encoded once while that list stays the same.
    std::vector<std::string> full_groups;
    std::shared_ptr<const redis::EncodedCommands> full_commands;
  };
  struct NodeRecord {
    redis::Endpoint endpoint;
    std::string announced;
    std::chrono::steady_clock::time_point last_listed{};
    std::string last_run_id;
    uint64_t cycles_since_config = 1u << 30;  // CONFIG GET is refreshed every N cycles
    model::NodeState last_config;             // last CONFIG GET results
    // Its last INFO came from a server that takes several INFO sections in one command
    // (Redis 7+, Valkey): it is asked only for the sections the exporter reads.
    bool info_sections = false;
    std::string sections_refused_by;  // the run id of a server that refused them anyway
  };
  struct GroupRecord {
    std::map<std::string, NodeRecord> nodes;  // by dialled address
    std::chrono::steady_clock::time_point last_listed{};
    std::string last_primary;  // the majority's primary when last observed
    model::SysTime last_success_at{};
    model::HistoryState history;
    assess::ImminentMemory imminent;
  };
  struct CycleState;

  void Run(std::stop_token stop);
  // A full cycle when `only` is null; otherwise an event poll of those groups.
  model::SnapshotPtr Cycle(const std::set<std::string>* only = nullptr);
  // An event poll's SENTINEL MASTER/CKQUORUM/REPLICAS/SENTINELS replies for `groups`.
  void ObserveSentinelGroups(const std::string& address, const std::vector<std::string>& groups,
                             const SentinelRecord& rec, const redis::Response& resp,
                             const model::Snapshot* previous, CycleState& cs);
  // Waits for the next full cycle's start, running due event polls meanwhile.
  void AwaitNextCycle(std::stop_token stop, std::chrono::steady_clock::time_point start);
  void Publish(model::SnapshotPtr snapshot);
  void ApplyPendingConfig();
  void CountError(const std::string& kind, ErrorKind reason);
  model::HistoryOptions HistoryOptionsFromConfig() const;
  assess::AssessOptions AssessOptionsFromConfig() const;

  // Sentinel events (its own thread); created by the constructor, started by Start().
  std::unique_ptr<EventSubscriber> events_;
  bool events_started_ = false;

  // Poll thread state.
  Config config_;
  std::shared_ptr<redis::Resolver> resolver_;  // host names, for the pool and the events
  redis::ConnectionPool pool_;
  // A data node's commands, encoded once: [sectioned][with CONFIG GETs] (see NodeInfoCommand).
  std::shared_ptr<const redis::EncodedCommands> node_commands_[2][2];
  std::map<std::string, SentinelRecord> sentinels_;  // by dialled address
  std::map<std::string, GroupRecord> groups_;
  model::ExporterStats stats_;
  uint64_t cycle_ = 0;
  std::function<void(const model::SnapshotPtr&)> on_publish_;
  model::SnapshotPtr retired_;  // the snapshot latest_ replaced, freed at the next publish

  // Shared state.
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  bool triggered_ = false;
  std::set<std::string> urgent_groups_;  // event polls asked for

  // Poll thread: each group's event-poll budget (a token bucket).
  struct EventBudget {
    std::chrono::steady_clock::time_point last{};     // the last event poll
    std::chrono::steady_clock::time_point refilled{};  // tokens counted up to here
    double tokens = kGroupPollBurst;
  };
  // When `group` may next be polled for an event, refilling its tokens up to `now`.
  std::chrono::steady_clock::time_point EventPollDue(const std::string& group,
                                                     std::chrono::steady_clock::time_point now);
  std::map<std::string, EventBudget> event_budgets_;
  std::optional<Config> pending_config_;
  model::SnapshotPtr latest_;
  std::jthread thread_;
};

}  // namespace redis_ha::poll

#endif  // REDIS_HA_POLL_POLLER_H_
