#include "http/gate_http.h"

#include <charconv>

#include "util/json.h"

namespace redis_ha::http {

assess::GateOptions GateOptionsFrom(const Config& config) {
  assess::GateOptions o;
  o.max_staleness = config.EffectiveMaxStaleness();
  o.failover_cooldown = config.gate_failover_cooldown;
  o.max_lag_bytes = config.max_lag_bytes;
  return o;
}

Result<ParsedGate> ParseGateQuery(const Request& req) {
  ParsedGate out;
  bool has_action = false;
  for (const auto& [k, v] : req.Params()) {
    if (k == "group") {
      out.group = v;
    } else if (k == "action") {
      auto a = assess::ParseAction(v);
      if (!a) {
        return MakeError(ErrorKind::kConfig,
                         "action must be failover, restart-replica or restart-sentinel");
      }
      out.request.action = *a;
      has_action = true;
    } else if (k == "node") {
      out.request.node = v;
    } else if (k == "max_lag_bytes") {
      int64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || n < 0) {
        return MakeError(ErrorKind::kConfig, "max_lag_bytes must be a byte count >= 0");
      }
      out.request.max_lag_bytes = n;
    } else if (k == "require_version") {
      out.request.require_version = v;
    } else {
      return MakeError(ErrorKind::kConfig,
                       "unknown parameter '" + k +
                           "' (group, action, node, max_lag_bytes, require_version)");
    }
  }
  if (out.group.empty()) return MakeError(ErrorKind::kConfig, "group is required");
  if (!has_action) return MakeError(ErrorKind::kConfig, "action is required");
  if (out.request.action != assess::Action::kFailover && out.request.node.empty()) {
    return MakeError(ErrorKind::kConfig,
                     std::string("node=host:port is required for action=") +
                         assess::ActionName(out.request.action));
  }
  return out;
}

namespace {
Response ErrorBody(int status, const std::string& message, const Request& req, bool always_200) {
  JsonWriter w;
  w.BeginObject().Field("ready", false).Field("error", message);
  w.Field("group", req.Param("group")).Field("action", req.Param("action"));
  w.Key("blockers").BeginArray().EndArray().EndObject();
  return Response::Json(always_200 ? 200 : status, w.Take());
}
}  // namespace

Response HandleGate(const Request& req, const model::Snapshot& snapshot,
                    const assess::GateOptions& options, model::SysTime now, bool always_200) {
  auto parsed = ParseGateQuery(req);
  if (!parsed) return ErrorBody(400, parsed.error().message, req, always_200);
  const model::GroupSnapshot* g = snapshot.FindGroup(parsed->group);
  if (g == nullptr && snapshot.cycle > 0) {
    return ErrorBody(404, "unknown group '" + parsed->group + "'", req, always_200);
  }
  assess::GateResult r = assess::EvaluateGate(snapshot, g, parsed->request, options, now);
  if (g == nullptr) r.group = parsed->group;
  return Response::Json(always_200 || r.ready ? 200 : 503, assess::GateJson(r));
}

}  // namespace redis_ha::http
