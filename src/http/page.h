// The status page: server-rendered HTML for people, served by the exporter
// itself.
//
//   /            the fleet: every group (primary, replica and Sentinel counts,
//   both risk
//                levels with their active factors, the failover gate with its
//                blockers, the age of the observation), worst first; and the
//                Sentinels.
//   /group?name= one group: its topology as inline SVG, nodes and Sentinel
//   views, the
//                factors with their documented meaning, reason and runbook
//                links, the gate for every action, recent events (newest
//                first). 404 when unknown.
//
// Contract: no external assets, no JavaScript (auto-refresh with a meta
// refresh), every value that came from a server is HTML-escaped (text and
// quoted attributes). Rendering is linear in the size of the snapshot.
// Responses carry kPageCsp.
//
// Thread-safety: pure functions of the snapshot they are given.
#ifndef REDIS_HA_HTTP_PAGE_H_
#define REDIS_HA_HTTP_PAGE_H_

#include <optional>
#include <string>

#include "assess/gate.h"
#include "http/server.h"
#include "model/snapshot.h"

namespace redis_ha::http {

inline constexpr char kPageCsp[] =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

// Seconds between automatic reloads (<meta http-equiv="refresh">).
inline constexpr int kPageRefreshSeconds = 5;

// The fleet page ("/").
std::string RenderFleetPage(const model::Snapshot& snapshot,
                            const assess::GateOptions& options,
                            model::SysTime now);

// The page of one group ("/group?name="); nullopt when the snapshot has no such
// group.
std::optional<std::string> RenderGroupPage(const model::Snapshot& snapshot,
                                           const std::string& name,
                                           const assess::GateOptions& options,
                                           model::SysTime now);

// Route handlers: the page with its headers; 404 page for an unknown group, 400
// without a name, 405 for POST.
Response HandleFleetPage(const Request& req, const model::Snapshot& snapshot,
                         const assess::GateOptions& options,
                         model::SysTime now);
Response HandleGroupPage(const Request& req, const model::Snapshot& snapshot,
                         const assess::GateOptions& options,
                         model::SysTime now);

// Percent-encoding of a query component (RFC 3986 unreserved characters kept).
std::string UrlEncodeComponent(std::string_view s);

}  // namespace redis_ha::http

#endif  // REDIS_HA_HTTP_PAGE_H_
