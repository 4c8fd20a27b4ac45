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
// - `TriggerGroup(g)` (a Sentinel event about group g) polls only that group at once, also
//   while a full cycle is waiting for its last replies: its Sentinels (SENTINEL MASTER g and
//   the group's details) and its data nodes, except those down in the latest snapshot and
//   nodes the cycle is still asking. It publishes a snapshot in which that group is new (a
//   server it did not ask is as the cycle or the latest snapshot last saw it) and every
//   other group is carried over from the latest one. So a server that does not answer (a hung primary)
//   delays an event by no more than the wait for that server, which the event poll does
//   not join. What it learns also replaces the running cycle's older replies, so the
//   cycle's snapshot never goes back on it. Event polls of a group are at least
//   kGroupPollGap apart, come in bursts of at most kGroupPollBurst (a failover brings about
//   ten events), then one per min(interval/2, 500 ms), so a flooding Sentinel polls its
//   group about twice a second; one runs at a time, the pause after one is at least as
//   long as it took, and events that arrive meanwhile are folded together.
// - What a Sentinel event states outright (EventOverlay, poll/observe.h: +switch-master,
//   +/-sdown and +/-odown of the primary, failover start and end, +reset-master) is laid
//   over the latest snapshot as soon as the poll thread wakes for it, before the event poll
//   answers, and over every later view from that Sentinel until a reply to a request sent
//   after the event replaces it; the group's primary, failover history and assessment are
//   renewed with it. A Sentinel that did not answer its last poll keeps voting for the
//   primary its own +switch-master named since (EventOverlay::kUnansweredVote at most).
//   A Sentinel's answer asked for before one already published is not used (the latest
//   snapshot's view is), and an event poll that ends in the same turn as a cycle is
//   published first.
// - A data node that closes the exporter's idle connection (it exited, crashed or was
//   restarted) gets its group an event poll at once, on the same budget, which asks that
//   node even though it is then down; while it refuses (or resets) connections, the group is
//   polled again 50, 100, 200, 400 and 800 ms after the hang-up (within the budget and one
//   interval). So a primary restarted empty is seen, with the key counts its replicas still
//   hold, tens of milliseconds after it answers, not at the next cycle: without diskless sync
//   (`repl-diskless-sync no`) its replicas' full sync follows within about a second, and
//   the cycle may come later. A node that times out instead (it froze) is left to the
//   cycles, and a node's hang-ups start this at most once a poll interval (a server that
//   drops idle clients, or turns them away, costs at most one event poll an interval).
// - Each cycle's snapshot is assessed and published; `Latest()` never blocks on a cycle.
//
// Thread-safety: Start/Stop/Reload/Trigger/Latest are safe from any thread. PollOnce()
// must not be mixed with Start().
#ifndef REDIS_HA_POLL_POLLER_H_
#define REDIS_HA_POLL_POLLER_H_

#include <chrono>
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
#include "poll/observe.h"
#include "poll/subscriber.h"
#include "redis/pool.h"
#include "util/event_fd.h"

namespace redis_ha::poll {

class Poller {
 public:
  static constexpr std::chrono::minutes kRetention{10};
  // Event polls of one group are at least this far apart, and at most this many in a burst.
  static constexpr std::chrono::milliseconds kGroupPollGap{50};
  static constexpr int kGroupPollBurst = 10;
  // Sentinel events waiting for the poll thread to lay them over the latest snapshot;
  // beyond this many (a flood) the oldest half is dropped (their event polls still run).
  static constexpr size_t kMaxPendingEvents = 10000;

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
    // When its last hang-up got its group polled (at most one a poll interval).
    std::chrono::steady_clock::time_point last_hangup{};
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
  // What one request of a cycle or event poll is for.
  struct Plan {
    enum Kind { kSentinel, kSentinelDetails, kSentinelGroups, kNode } kind;
    std::string address;
    std::vector<std::string> groups;  // groups whose details were asked, in order
    bool full = false;                // INFO + MASTERS first
    bool with_config = false;
    bool info_sections = false;       // a node asked for INFO's sections by name
  };
  // A full cycle in progress (rounds of requests; see Submit*).
  struct ActiveCycle;
  // An event poll in progress.
  struct ActiveEvent;

  void Run(std::stop_token stop);
  // One data node's request (INFO, and CONFIG GET when due), planned for `group`.
  void PlanNode(const std::string& group, const std::string& address, const NodeRecord& rec,
                uint64_t refresh_cycles, std::vector<redis::Request>& requests,
                std::vector<Plan>& plans);
  // Applies a pending reload and submits a full cycle's first round.
  void StartCycle(std::chrono::steady_clock::time_point now);
  // Plans and submits the requests of a full cycle's next round; false if there are none.
  bool SubmitCycleRound();
  // After a round: learns the topology, then submits the next round or finishes the cycle
  // (returns its snapshot, published; null while more rounds run).
  model::SnapshotPtr AdvanceCycle(std::stop_token stop);
  model::SnapshotPtr FinishCycle();
  // Starts an event poll of `groups`; false if there was nothing to ask.
  bool StartEventPoll(const std::set<std::string>& groups);
  void FinishEventPoll();
  // What an event poll learnt from one server (`p`), copied over the running cycle's older
  // answer from it, so the cycle's snapshot does not go back on the event poll's.
  void ReplaceOlder(const Plan& p, const CycleState& newer, CycleState& cycle);
  // From the pool: a data node closed its idle connection (see the contract above).
  void OnConnectionLost(const redis::Endpoint& endpoint);
  // An event poll's answer (or failure) from a node being watched after it hung up.
  void Rewatch(const std::string& address, const Status& status);
  // A Sentinel's answer to a full plan (INFO, MASTERS, then each group's tables), read
  // reply by reply as it comes in (see ConnectionPool::ReplyHandler).
  struct SentinelAnswer;
  // Takes reply `index` of a full Sentinel plan `p` into `answer`.
  void ReadSentinelReply(const Plan& p, size_t index, const redis::Reply& reply,
                         SentinelAnswer& answer);
  // One response of a cycle (`previous` null) or event poll, into `cs`. A full Sentinel
  // plan whose replies were read as they came has them in `answer`.
  void Handle(const Plan& p, redis::Response&& resp, CycleState& cs,
              const model::Snapshot* previous, SentinelAnswer* answer = nullptr);
  // An event poll's SENTINEL MASTER/CKQUORUM/REPLICAS/SENTINELS replies for `groups`.
  void ObserveSentinelGroups(const std::string& address, const std::vector<std::string>& groups,
                             const SentinelRecord& rec, const redis::Response& resp,
                             const model::Snapshot* previous, CycleState& cs);
  // Learns groups, nodes and Sentinels from what the Sentinels said in `cs`.
  void LearnTopology(CycleState& cs);
  // One group's snapshot from `cs`: views of the Sentinels in it, and nodes. A full cycle
  // consumes `cs`; an event poll copies, and takes a node missing from `cs` from `also`
  // (the running cycle) or else from `fallback` (the latest snapshot's group).
  model::GroupSnapshot AssembleGroup(const std::string& name, GroupRecord& grec,
                                     CycleState& cs, model::SysTime now_sys, bool consume,
                                     const CycleState* also,
                                     const model::GroupSnapshot* fallback);
  void Publish(model::SnapshotPtr snapshot);
  // A Sentinel's view of a group in the latest snapshot (poll thread only).
  const model::SentinelView* LatestView(const std::string& group,
                                        const std::string& sentinel) const;
  // From the subscriber's thread: asks for an event poll, and keeps what the poll thread
  // lays over the snapshot (ApplyEvents).
  void OnEvent(const EventSubscriber::Notice& n);
  // Records `notices` (taken from pending_events_) in each (Sentinel, group)'s EventOverlay
  // and publishes the latest snapshot with every group whose views that changed renewed
  // (its primary, history of failovers and assessment; nodes as they were).
  void ApplyEvents(std::vector<EventSubscriber::Notice> notices);
  void ApplyPendingConfig();
  void CountError(const std::string& kind, ErrorKind reason);
  uint64_t ConfigRefreshCycles() const;
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

  std::unique_ptr<ActiveCycle> active_cycle_;
  std::unique_ptr<ActiveEvent> active_event_;
  model::SnapshotPtr cycle_snapshot_;  // the last full cycle's

  // Shared state.
  mutable std::mutex mu_;
  EventFd wake_;  // wakes the poll thread (it waits in the pool's epoll set)
  bool triggered_ = false;
  // Event polls asked for, with when each group was first asked for since its last one.
  std::map<std::string, std::chrono::steady_clock::time_point> urgent_groups_;
  std::vector<EventSubscriber::Notice> pending_events_;  // taken by the poll loop

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
  // Per (Sentinel, group): what its events said since an answer that shows them, and when
  // the answer behind its latest published view was asked for.
  struct ViewTrack {
    EventOverlay overlay;
    std::chrono::steady_clock::time_point asked{};
  };
  std::map<std::pair<std::string, std::string>, ViewTrack> tracks_;
  // Data nodes that hung up and are asked by event polls although they are down: until an
  // answer, a timeout, kMaxRefusals failures (refused, reset) or `until`.
  // After a refusal the next poll waits kGroupPollGap, after the second one too, then twice
  // as long each time.
  struct Watch {
    std::string group;
    std::chrono::steady_clock::time_point until{};
    std::chrono::steady_clock::time_point not_before{};
    int refusals = 0;
    bool queued = true;  // in urgent_groups_ (or polled) since not_before
  };
  static constexpr int kMaxRefusals = 5;
  std::map<std::string, Watch> rewatch_;
  std::optional<Config> pending_config_;
  model::SnapshotPtr latest_;
  std::jthread thread_;
};

}  // namespace redis_ha::poll

#endif  // REDIS_HA_POLL_POLLER_H_
