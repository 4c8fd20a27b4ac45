// Observe: turns the parsed replies of one poll into model values.
//
// The only place that knows both the reply formats (src/parse) and the model. Addresses
// announced by Sentinel are mapped to dialled ones with the configured address map.
// Thread-safety: pure functions.
#ifndef REDIS_HA_POLL_OBSERVE_H_
#define REDIS_HA_POLL_OBSERVE_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/snapshot.h"
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

}  // namespace redis_ha::poll

#endif  // REDIS_HA_POLL_OBSERVE_H_
