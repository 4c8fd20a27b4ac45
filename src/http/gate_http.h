// The gate over HTTP: /gate (200 ready, 503 not, 400 bad parameters, 404 unknown group)
// and /api/v1/gate (the same JSON, always 200, for Argo Rollouts' web provider).
// Thread-safety: pure functions of the snapshot they are given.
#ifndef REDIS_HA_HTTP_GATE_HTTP_H_
#define REDIS_HA_HTTP_GATE_HTTP_H_

#include "assess/gate.h"
#include "config/config.h"
#include "http/server.h"
#include "model/snapshot.h"

namespace redis_ha::http {

assess::GateOptions GateOptionsFrom(const Config& config);

struct ParsedGate {
  std::string group;
  assess::GateRequest request;
};
// Validates group, action, node, max_lag_bytes, require_version; nothing else is allowed.
Result<ParsedGate> ParseGateQuery(const Request& req);

Response HandleGate(const Request& req, const model::Snapshot& snapshot,
                    const assess::GateOptions& options, model::SysTime now, bool always_200);

}  // namespace redis_ha::http

#endif  // REDIS_HA_HTTP_GATE_HTTP_H_
