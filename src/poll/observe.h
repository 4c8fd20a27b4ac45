// Observe: turns the parsed replies of one poll into model values.
//
// The only place that knows both the reply formats (src/parse) and the model. Addresses
// announced by Sentinel are mapped to dialled ones with the configured address map.
// Thread-safety: pure functions.
#ifndef REDIS_HA_POLL_OBSERVE_H_
#define REDIS_HA_POLL_OBSERVE_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/snapshot.h"
#include "parse/sentinel.h"
#include "redis/reply.h"
#include "util/status.h"

namespace redis_ha::poll {

// INFO of a Sentinel -> version, run id, uptime, tilt.
Status ObserveSentinelInfo(const redis::Reply& info, model::SentinelState& out);

// SENTINEL MASTERS -> one view per group it monitors (every group, watched or not).
Result<std::map<std::string, model::SentinelView>> ObserveMasters(const redis::Reply& masters,
                                                                 const std::string& sentinel,
                                                                 const Config& config);

// SENTINEL MASTER <g> -> its view of that group; none when it answers "No such master"
// (it stopped monitoring the group); an error for any other reply, or one about another
// group.
Result<std::optional<model::SentinelView>> ObserveMaster(const redis::Reply& master,
                                                         const std::string& group,
                                                         const std::string& sentinel,
                                                         const Config& config);

// SENTINEL CKQUORUM <g>.
void ObserveCkquorum(const redis::Reply& reply, model::SentinelView& view);
// SENTINEL REPLICAS <g>.
Status ObserveReplicas(const redis::Reply& reply, const Config& config,
                       model::SentinelView& view);
// SENTINEL SENTINELS <g>.
Status ObservePeers(const redis::Reply& reply, const Config& config, model::SentinelView& view);

// INFO of a data node.
Status ObserveNodeInfo(const redis::Reply& info, model::NodeState& out);

// The INFO command a data node is asked: all of INFO, or (`sectioned`) only the sections
// ObserveNodeInfo reads (server, persistence, stats, replication, keyspace), about 60 % of
// the bytes. Several sections in one INFO need Redis 7.0 or Valkey; older servers answer
// it with an error.
std::vector<std::string> NodeInfoCommand(bool sectioned);
// True when the server `node` describes (its last INFO) takes INFO sections by name.
bool TakesInfoSections(const model::NodeState& node);

// The CONFIG GET commands a node is asked (in this order) and their replies.
const std::vector<std::vector<std::string>>& ConfigCommands();
void ObserveConfig(const std::vector<redis::Reply>& replies, model::NodeState& out);

// EventOverlay: what one Sentinel's events said about its view of one group's primary
// since the last reply from that Sentinel that was asked for after them.
//
// Contract: a view taken from an older reply (or from the latest snapshot) gets the overlay
// laid over it, so a snapshot shows a `+switch-master` or `+sdown` as soon as the event
// arrives, however slow the Sentinel is to answer requests meanwhile, and a reply asked for
// before the event does not take it back. Kept, only what an event states outright:
// - `+switch-master`: the primary's new address. Sentinel resets the group then: the
//   primary's flags and failover state are cleared, its role-reported time restarts (0),
//   what the event does not say (run id, the new config epoch, ping times) is unknown, and
//   in the replicas table the new primary's row gives way to the old primary's, every row
//   disconnected (Sentinel makes a new instance of each and connects again);
// - `+sdown`/`-sdown`, `+odown`/`-odown` of the master instance: its s_down / o_down, laid
//   over only while the view's primary is at that address;
// - `+try-failover` (failover in progress), ended by `+failover-end`,
//   `+failover-end-for-timeout`, `-failover-abort-*` and `+switch-master`;
// - `+reset-master` (SENTINEL RESET): s_down, o_down and the failover cleared.
// Every fact sets a value (none toggles), so laying one over a view that already shows it
// changes nothing. `Prune(asked)` forgets what arrived at or before `asked`: a reply to a
// request sent after the event shows it (the poller never uses a reply older than one it
// pruned with). A view that is newer than a fact still kept (its event not read yet from
// the subscription, which is another connection) shows the fact until that event is read.
//
// Thread-safety: a plain value (the poll thread owns them).
class EventOverlay {
 public:
  using Time = std::chrono::steady_clock::time_point;

  // True when the overlay keeps what `ev` says (the event names a group's primary).
  static bool Keeps(const parse::SentinelEvent& ev);
  // Records `ev`, received at `at`; false when it is not one it keeps.
  bool Record(const parse::SentinelEvent& ev, Time at);
  // Forgets what was received at or before `asked`.
  void Prune(Time asked);
  bool empty() const { return !switch_ && !s_down_ && !o_down_ && !failover_; }
  // Lays the facts over `view` (a reachable Sentinel's view of the group); true when that
  // changed it.
  bool ApplyTo(model::SentinelView& view, const Config& config) const;
  // For the view of a Sentinel that did not answer its last poll (no other data): the
  // primary a `+switch-master` it published since named, so the Sentinel keeps that vote in
  // the group's majority, for `kUnansweredVote` after the event at most (a Sentinel that does
  // not answer for longer has nothing current to say). True when that changed the view.
  static constexpr std::chrono::seconds kUnansweredVote{30};
  bool NamePrimary(model::SentinelView& view, const Config& config, Time now) const;

 private:
  struct Fact {
    bool set = false;
    std::string announced;  // the primary it is about ("" for the failover)
    Time at{};
    std::string old_announced;  // a switch's old primary
  };
  std::optional<Fact> switch_;  // `announced`: the new primary
  std::optional<Fact> s_down_;
  std::optional<Fact> o_down_;
  std::optional<Fact> failover_;
};

}  // namespace redis_ha::poll

#endif  // REDIS_HA_POLL_OBSERVE_H_
