#include "http/page.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "assess/assess.h"
#include "assess/assessment.h"
#include "http/page_assets.h"
#include "util/text.h"

namespace redis_ha::http {
namespace {

using assess::Level;
using model::GroupSnapshot;
using model::NodeState;
using model::PrimaryFlag;
using model::Role;
using model::SentinelView;
using model::Snapshot;
using model::SysTime;

// Where the factor, blocker and alert documentation lives (the runbook base is
// the one rules/config.json gives the alerts' runbook_url).
constexpr std::string_view kDocsBase =
    "https://github.com/redis-ha-exporter/redis_ha_exporter/blob/main/docs/";

// ---- Formatting -------------------------------------------------------------

// Appends `s` escaped for HTML text and double-quoted attribute values.
void Esc(std::string& o, std::string_view s) { o += text::EscapeHtml(s); }

double SecondsBetween(SysTime from, SysTime to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string Printf(const char* format, double v) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

// "0.4 s", "12 s", "3 min", "2.5 h", "3.0 d".
std::string Age(double s) {
  if (!(s > 0)) s = 0;
  if (s < 10) return Printf("%.1f s", s);
  if (s < 90) return Printf("%.0f s", s);
  if (s < 90 * 60) return Printf("%.0f min", s / 60);
  if (s < 36 * 3600) return Printf("%.1f h", s / 3600);
  return Printf("%.1f d", s / 86400);
}

std::string Bytes(int64_t b) {
  if (b < 1024) return std::to_string(b) + " B";
  static constexpr std::array<const char*, 4> kUnits = {"KiB", "MiB", "GiB",
                                                        "TiB"};
  double v = static_cast<double>(b);
  size_t u = 0;
  v /= 1024;
  while (v >= 1024 && u + 1 < kUnits.size()) {
    v /= 1024;
    ++u;
  }
  return Printf(v < 10 ? "%.1f " : "%.0f ", v) + kUnits[u];
}

// 1234567 -> "1,234,567".
std::string Count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "2026-01-02 15:04:05" (UTC) and its ISO form for <time datetime>.
std::string UtcTime(SysTime t, bool iso) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf),
                iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void Time(std::string& o, SysTime t, SysTime now) {
  o += "<time datetime=\"" + UtcTime(t, true) + "\">" + UtcTime(t, false) +
       "</time> <span class=\"sub\">" + Age(SecondsBetween(t, now)) +
       " ago</span>";
}

// At most `max` code points of `s`, with an ellipsis when cut (UTF-8 safe).
std::string Clip(std::string_view s, size_t max) {
  size_t points = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (points == max - 1) {
      // Is there more than one code point left?
      size_t j = i + 1;
      while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80)
        ++j;
      if (j < s.size()) return std::string(s.substr(0, i)) + "\u2026";
      return std::string(s);
    }
    ++points;
  }
  return std::string(s);
}

int LevelNumber(Level l) { return static_cast<int>(l); }

void Badge(std::string& o, Level l, std::string_view prefix = {}) {
  o += "<span class=\"badge l";
  o += std::to_string(LevelNumber(l));
  o += "\">";
  o += prefix;
  o += assess::LevelName(l);
  o += "</span>";
}

void Verdict(std::string& o, bool ready) {
  o += ready ? "<span class=\"badge verdict ready\">ready</span>"
             : "<span class=\"badge verdict blocked\">blocked</span>";
}

void State(std::string& o, const char* cls, std::string_view label) {
  o += "<span class=\"badge state ";
  o += cls;
  o += "\">";
  o += label;
  o += "</span>";
}

void Tag(std::string& o, const char* cls, std::string_view label_html) {
  o += "<span class=\"tag ";
  o += cls;
  o += "\">";
  o += label_html;
  o += "</span>";
}

std::string GroupHref(std::string_view name) {
  return text::EscapeHtml("group?name=" + UrlEncodeComponent(name));
}

// ---- Documentation links ----------------------------------------------------

const char* SplitBrainRunbookAnchor(assess::SplitBrainFactor f) {
  switch (f) {
    case assess::SplitBrainFactor::kMultiplePrimaries:
      return "redishasplitbrainactive";
    case assess::SplitBrainFactor::kSentinelsDisagree:
      return "redishasentinelsdisagree";
    case assess::SplitBrainFactor::kQuorumUnreachable:
      return "redishaquorumunreachable";
    case assess::SplitBrainFactor::kPartialPartition:
      return "redishasplitbrainriskimminent";
    default:
      return "redishalatentsplitbrainrisk";
  }
}

const char* EmptyPrimaryRunbookAnchor(assess::EmptyPrimaryFactor f) {
  switch (f) {
    case assess::EmptyPrimaryFactor::kPrimaryWithoutPersistence:
      return "redishalatentemptyprimaryrisk";
    case assess::EmptyPrimaryFactor::kReplicaWiped:
      return "redishadatasetwiped";
    default:
      return "redishaemptyprimaryriskimminent";
  }
}

void DocLink(std::string& o, std::string_view doc, std::string_view anchor,
             std::string_view label) {
  o += "<a href=\"";
  o += kDocsBase;
  o += doc;
  if (!anchor.empty()) {
    o += '#';
    o += anchor;
  }
  o += "\" rel=\"noreferrer\">";
  o += label;
  o += "</a>";
}

// ---- Per-group figures ------------------------------------------------------

struct Counts {
  int replicas = 0;
  int replicas_up = 0;
  int sentinels = 0;
  int sentinels_reachable = 0;
  std::optional<int64_t> quorum;
};

Counts CountGroup(const GroupSnapshot& g) {
  Counts c;
  for (const auto& n : g.nodes) {
    if (n.address == g.primary) continue;
    ++c.replicas;
    if (n.up) ++c.replicas_up;
  }
  for (const auto& v : g.views) {
    ++c.sentinels;
    if (v.reachable) ++c.sentinels_reachable;
    if (!c.quorum && v.quorum) c.quorum = v.quorum;
  }
  return c;
}

Level Worst(const GroupSnapshot& g) {
  return std::max(g.assessment.split_brain.level,
                  g.assessment.empty_primary.level);
}

assess::GateResult Gate(const Snapshot& s, const GroupSnapshot& g,
                        assess::Action action, const std::string& node,
                        const assess::GateOptions& options, SysTime now) {
  assess::GateRequest req;
  req.action = action;
  req.node = node;
  return assess::EvaluateGate(s, &g, req, options, now);
}

// ---- Page frame -------------------------------------------------------------

void Open(std::string& o, std::string_view title, const Snapshot& s,
          SysTime now, bool fleet_here) {
  o +=
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta http-equiv=\"refresh\" content=\"";
  o += std::to_string(kPageRefreshSeconds);
  o += "\"><meta name=\"referrer\" content=\"no-referrer\"><title>";
  Esc(o, title);
  o += "</title><link rel=\"icon\" href=\"";
  o += assets::kFavicon;
  o += "\"><style>";
  o += assets::kStyle;
  o += "</style></head>\n<body><header class=\"top\"><div class=\"brand\">";
  o += assets::kLogo;
  o += "redis_ha_exporter <span class=\"ver\">" REDIS_HA_VERSION
       "</span></div><nav>";
  o += fleet_here ? "<a class=\"here\" href=\"./\">Fleet</a>"
                  : "<a href=\"./\">Fleet</a>";
  o += "<a href=\"api/v1/groups\">JSON</a></nav><div class=\"meta\" "
       "id=\"poll\">";
  if (s.cycle == 0) {
    o += "waiting for the first poll";
  } else {
    o += "poll #" + std::to_string(s.cycle) + " &middot; " +
         Age(SecondsBetween(s.taken_at, now)) + " ago &middot; took " +
         Printf("%.0f ms",
                std::chrono::duration<double, std::milli>(s.cycle_duration)
                    .count());
  }
  o += " &middot; refreshes every " + std::to_string(kPageRefreshSeconds) +
       " s</div></header>\n<main>";
}

void Close(std::string& o, SysTime now) {
  o += "</main>\n<footer>Rendered ";
  o += UtcTime(now, false);
  o +=
      " UTC by the exporter. Risk levels: <span class=\"badge l0\">none</span> "
      "<span class=\"badge l1\">latent</span> <span class=\"badge "
      "l2\">imminent</span> "
      "<span class=\"badge l3\">active</span> &mdash; see ";
  DocLink(o, "risks.md", "", "docs/risks.md");
  o += ", ";
  DocLink(o, "gate.md", "", "docs/gate.md");
  o += " and the ";
  DocLink(o, "runbook.md", "", "runbook");
  o += ".</footer>\n</body></html>\n";
}

// ---- Fleet ------------------------------------------------------------------

template <size_t N>
void FleetRiskCell(std::string& o, const assess::Risk<N>& risk,
                   const std::array<assess::FactorInfo, N>& infos) {
  o += "<td>";
  Badge(o, risk.level);
  bool any = false;
  for (size_t i = 0; i < N; ++i) {
    if (!risk.factors[i].active) continue;
    o += any ? "<li>" : "<ul class=\"list\"><li>";
    any = true;
    o += "<code class=\"factor-name\">";
    o += infos[i].name;
    o += "</code>";
    if (!risk.factors[i].reason.empty()) {
      o += " <span class=\"sub\">";
      Esc(o, Clip(risk.factors[i].reason, 100));
      o += "</span>";
    }
    o += "</li>";
  }
  if (any) o += "</ul>";
  o += "</td>";
}

// Full: each blocker linked to docs/gate.md with its message. Compact (fleet
// table): the codes, the messages as tooltips.
void BlockerList(std::string& o, const assess::GateResult& r, bool full) {
  if (r.blockers.empty()) return;
  o += "<ul class=\"list blockers\">";
  for (const auto& [b, msg] : r.blockers) {
    const std::string code =
        std::string("<code>") + assess::BlockerName(b) + "</code>";
    if (!full) {
      o += "<li title=\"";
      Esc(o, msg);
      o += "\">" + code + "</li>";
      continue;
    }
    o += "<li>";
    DocLink(o, "gate.md", assess::BlockerName(b), code);
    if (!msg.empty()) {
      o += " <span class=\"sub\">";
      Esc(o, msg);
      o += "</span>";
    }
    o += "</li>";
  }
  o += "</ul>";
}

void ObservedCell(std::string& o, const GroupSnapshot& g,
                  const assess::GateOptions& options, SysTime now) {
  o += "<td class=\"nowrap\">";
  if (g.last_success_at == SysTime{}) {
    o += "<span class=\"bad\">never</span>";
  } else {
    const double age = SecondsBetween(g.last_success_at, now);
    const bool stale =
        age > std::chrono::duration<double>(options.max_staleness).count();
    o += stale ? "<span class=\"bad\">" : "<span>";
    o += Age(age) + " ago</span>";
    if (!g.observed)
      o += "<div class=\"sub bad\">not observed by the last poll</div>";
  }
  o += "</td>";
}

struct FleetRow {
  const GroupSnapshot* group;
  assess::GateResult gate;
  Level worst;
};

void FleetTable(std::string& o, const std::vector<FleetRow>& rows,
                const assess::GateOptions& options, SysTime now) {
  o += "<div class=\"tablewrap\"><table id=\"groups\" "
       "class=\"fleet\"><thead><tr>"
       "<th>Group</th><th>Primary</th><th>Replicas</th><th>Sentinels</th>"
       "<th>Split brain</th><th>Empty primary</th><th>Failover "
       "gate</th><th>Observed</th>"
       "</tr></thead><tbody>";
  for (const auto& row : rows) {
    const GroupSnapshot& g = *row.group;
    const Counts c = CountGroup(g);
    o += "<tr class=\"w" + std::to_string(LevelNumber(row.worst)) +
         "\" data-group=\"";
    Esc(o, g.name);
    o += "\"><td class=\"group\"><a href=\"" + GroupHref(g.name) + "\">";
    Esc(o, g.name);
    o += "</a></td><td class=\"mono primary\">";
    if (g.primary.empty()) {
      o += "<span class=\"bad\">none known</span>";
    } else {
      Esc(o, g.primary);
      const NodeState* p = g.Primary();
      if (p != nullptr && !p->up) o += " <span class=\"tag bad\">down</span>";
      if (g.assessment.primaries > 1) {
        o += "<div class=\"sub bad\">" +
             std::to_string(g.assessment.primaries) +
             " nodes report master</div>";
      }
    }
    o += "</td><td class=\"nowrap replicas\"><span class=\"";
    o += c.replicas_up < c.replicas ? "bad" : (c.replicas == 0 ? "warn" : "");
    o += "\">" + std::to_string(c.replicas_up) + "/" +
         std::to_string(c.replicas) + " up</span><div class=\"sub\">" +
         std::to_string(g.assessment.healthy_replicas) +
         " healthy</div></td><td class=\"nowrap sentinels\"><span class=\"";
    o += c.sentinels_reachable < c.sentinels ? "bad" : "";
    o += "\">" + std::to_string(c.sentinels_reachable) + "/" +
         std::to_string(c.sentinels) + " reachable</span>";
    if (c.quorum)
      o += "<div class=\"sub\">quorum " + std::to_string(*c.quorum) + "</div>";
    o += "</td>";
    FleetRiskCell(o, g.assessment.split_brain, assess::SplitBrainFactors());
    FleetRiskCell(o, g.assessment.empty_primary, assess::EmptyPrimaryFactors());
    o += "<td class=\"gate\">";
    Verdict(o, row.gate.ready);
    if (row.gate.ready && row.gate.candidate) {
      o += " <span class=\"sub\">&rarr; <span class=\"mono\">";
      Esc(o, row.gate.candidate->node);
      o += "</span></span>";
    }
    BlockerList(o, row.gate, /*full=*/false);
    o += "</td>";
    ObservedCell(o, g, options, now);
    o += "</tr>\n";
  }
  o += "</tbody></table></div>";
}

void SentinelTable(std::string& o, const Snapshot& s) {
  if (s.sentinels.empty()) {
    o += "<div class=\"empty\">No Sentinel known yet.</div>";
    return;
  }
  o += "<div class=\"tablewrap\"><table "
       "id=\"sentinels\"><thead><tr><th>Sentinel</th>"
       "<th>State</th><th>TILT</th><th>Version</th><th>Groups</th><th>Round "
       "trip</th>"
       "<th>Uptime</th></tr></thead><tbody>";
  for (const auto& st : s.sentinels) {
    o += "<tr class=\"";
    o += st.up ? "up" : "down";
    o += st.tilt ? " tilt" : "";
    o += "\" data-sentinel=\"";
    Esc(o, st.address);
    o += "\"><td class=\"mono\">";
    Esc(o, st.address);
    if (st.seed) o += " <span class=\"tag\">seed</span>";
    o += "</td><td>";
    State(o, st.up ? "up" : "down", st.up ? "up" : "down");
    if (!st.up && st.error) {
      o += " <span class=\"sub\">";
      Esc(o, st.error->reason);
      if (!st.error->message.empty()) {
        o += ": ";
        Esc(o, Clip(st.error->message, 120));
      }
      o += "</span>";
    }
    o += "</td><td>";
    if (st.tilt) {
      Tag(o, "bad", "TILT");
      if (st.tilt_since_seconds) {
        o += " <span class=\"sub\">for " +
             Age(static_cast<double>(*st.tilt_since_seconds)) + "</span>";
      }
    } else {
      o += st.up ? "<span class=\"sub\">no</span>"
                 : "<span class=\"sub\">&mdash;</span>";
    }
    o += "</td><td class=\"mono\">";
    Esc(o, st.version);
    o += "</td><td>";
    o += std::to_string(st.groups.size());
    if (!st.groups.empty()) {
      o += " <span class=\"sub\">";
      constexpr size_t kShown = 6;
      for (size_t i = 0; i < st.groups.size() && i < kShown; ++i) {
        if (i > 0) o += ", ";
        Esc(o, st.groups[i]);
      }
      if (st.groups.size() > kShown) {
        o += " and " + std::to_string(st.groups.size() - kShown) + " more";
      }
      o += "</span>";
    }
    o += "</td><td class=\"num\">";
    if (st.up) {
      o += Printf(
          "%.1f ms",
          std::chrono::duration<double, std::milli>(st.round_trip).count());
    }
    o += "</td><td class=\"num\">";
    if (st.uptime_seconds) o += Age(static_cast<double>(*st.uptime_seconds));
    o += "</td></tr>\n";
  }
  o += "</tbody></table></div>";
}

// ---- Group: topology -------------------------------------------------------

// Three rows: the Sentinels; the primary and whatever else claims or is named
// primary; the other data nodes.
constexpr int kBoxW = 210;
constexpr int kBoxH = 64;
constexpr int kGapX = 26;
constexpr int kMarginX = 24;
constexpr int kMinWidth = 960;
constexpr int kSentinelY = 34;
constexpr int kPrimaryY = 176;
constexpr int kReplicaY = 330;
constexpr int kSvgHeight = kReplicaY + kBoxH + 22;
constexpr size_t kBoxChars = 29;  // what fits on one line of a box

struct Placed {
  std::string address;
  int x = 0;
  int y = 0;
};

struct Layout {
  int width = 0;
  std::vector<Placed> sentinels;  // parallel to GroupSnapshot::views
  std::vector<Placed> nodes;      // the middle row, then the bottom row

  const Placed* Find(const std::string& address) const {
    for (const auto& p : nodes) {
      if (p.address == address) return &p;
    }
    return nullptr;
  }
};

void PlaceRow(const std::vector<std::string>& addresses, int y, int width,
              std::vector<Placed>& out) {
  const int n = static_cast<int>(addresses.size());
  int x = (width - (n * kBoxW + (n - 1) * kGapX)) / 2;
  for (const auto& a : addresses) {
    out.push_back({a, x, y});
    x += kBoxW + kGapX;
  }
}

Layout PlaceTopology(const GroupSnapshot& g) {
  std::vector<std::string> top, middle, bottom;
  for (const auto& v : g.views) top.push_back(v.sentinel);
  auto add_middle = [&](const std::string& a) {
    if (!a.empty() &&
        std::find(middle.begin(), middle.end(), a) == middle.end()) {
      middle.push_back(a);
    }
  };
  add_middle(g.primary);
  for (const auto& n : g.nodes) {
    if (n.up && n.role == Role::kPrimary) add_middle(n.address);
  }
  for (const auto& v : g.views) {
    if (v.reachable && v.monitors) add_middle(v.primary);
  }
  for (const auto& n : g.nodes) {
    if (std::find(middle.begin(), middle.end(), n.address) == middle.end()) {
      bottom.push_back(n.address);
    }
  }
  const size_t widest =
      std::max({top.size(), middle.size(), bottom.size(), size_t{1}});
  Layout l;
  l.width = std::max(kMinWidth, static_cast<int>(widest) * (kBoxW + kGapX) -
                                    kGapX + 2 * kMarginX);
  PlaceRow(top, kSentinelY, l.width, l.sentinels);
  PlaceRow(middle, kPrimaryY, l.width, l.nodes);
  PlaceRow(bottom, kReplicaY, l.width, l.nodes);
  return l;
}

// The node `n` replicates from, as an address ("" when none or unknown).
std::string MasterOf(const GroupSnapshot& g, const NodeState& n) {
  if (!n.up) {
    // We cannot ask it; Sentinel lists it as a replica of the primary.
    return n.sentinel_role == Role::kPrimary ? "" : g.primary;
  }
  if (n.role != Role::kReplica) return "";
  if (assess::ReplicatesFromPrimary(g, n)) return g.primary;
  for (const auto& m : g.nodes) {
    if (&m != &n &&
        (m.address == n.master_address || m.announced == n.master_address)) {
      return m.address;
    }
  }
  return "";
}

std::string Num(double v) { return Printf("%.1f", v); }

void SvgText(std::string& o, int x, int y, const char* cls,
             std::string_view s) {
  o += "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) +
       "\" class=\"";
  o += cls;
  o += "\">";
  Esc(o, Clip(s, kBoxChars));
  o += "</text>";
}

struct BoxStyle {
  std::string classes;  // "node primary", "sentinel differ", ...
  std::string role;     // first line: "PRIMARY", "SENTINEL · TILT", ...
  std::string info;     // third line
  const char* dot = "up";
  std::string tooltip;
};

// `kind` names the data attribute: data-node or data-sentinel.
void SvgBox(std::string& o, const Placed& p, const char* kind,
            const BoxStyle& b) {
  o += "<g class=\"" + b.classes + "\" data-" + kind + "=\"";
  Esc(o, p.address);
  o += "\"><title>";
  Esc(o, b.tooltip);
  o += "</title><rect class=\"box\" x=\"" + std::to_string(p.x) + "\" y=\"" +
       std::to_string(p.y) + "\" width=\"" + std::to_string(kBoxW) +
       "\" height=\"" + std::to_string(kBoxH) + "\" rx=\"7\"/>";
  o += "<circle class=\"dot " + std::string(b.dot) + "\" cx=\"" +
       std::to_string(p.x + kBoxW - 14) + "\" cy=\"" +
       std::to_string(p.y + 14) + "\" r=\"5.5\"/>";
  SvgText(o, p.x + 12, p.y + 18, "role", b.role);
  SvgText(o, p.x + 12, p.y + 37, "addr", p.address);
  SvgText(o, p.x + 12, p.y + 54, "info", b.info);
  o += "</g>\n";
}

void SvgLabel(std::string& o, double cx, double cy, std::string_view label,
              bool bad) {
  const double w = 12 + 6.7 * static_cast<double>(label.size());
  o += bad ? "<g class=\"lbl down\">" : "<g class=\"lbl\">";
  o += "<rect x=\"" + Num(cx - w / 2) + "\" y=\"" + Num(cy - 9) +
       "\" width=\"" + Num(w) + "\" height=\"18\" rx=\"9\"/><text x=\"" +
       Num(cx) + "\" y=\"" + Num(cy + 4) + "\" text-anchor=\"middle\">";
  Esc(o, label);
  o += "</text></g>";
}

// Each reachable Sentinel to the primary it names; red when that is not the
// group's primary.
void SentinelLines(std::string& o, const GroupSnapshot& g, const Layout& l) {
  for (size_t i = 0; i < g.views.size(); ++i) {
    const SentinelView& v = g.views[i];
    if (!v.reachable || !v.monitors || v.primary.empty()) continue;
    const Placed* t = l.Find(v.primary);
    if (t == nullptr) continue;
    o += v.primary != g.primary ? "<line class=\"names differ\""
                                : "<line class=\"names\"";
    o += " x1=\"" + std::to_string(l.sentinels[i].x + kBoxW / 2) + "\" y1=\"" +
         std::to_string(kSentinelY + kBoxH) + "\" x2=\"" +
         std::to_string(t->x + kBoxW / 2) + "\" y2=\"" + std::to_string(t->y) +
         "\"/>\n";
  }
}

// The state of a replication link: its class (up, sync, down) and label.
std::pair<const char*, std::string> LinkState(const GroupSnapshot& g,
                                              const NodeState& n,
                                              const std::string& master) {
  if (master != g.primary) return {"down", "replicates from another node"};
  if (!n.up) return {"down", "unreachable"};
  if (n.link_up && !*n.link_up) {
    std::string label = "link down";
    if (n.link_down_since_seconds) {
      label += " " + Age(static_cast<double>(*n.link_down_since_seconds));
    }
    return {"down", label};
  }
  if (n.sync_in_progress) return {"sync", "full sync"};
  if (auto lag = assess::LagBytes(g, n)) return {"up", "lag " + Bytes(*lag)};
  return {"up", "lag ?"};
}

// Each replica to the node it replicates from; labels go to `labels`, drawn
// over the boxes.
void ReplicationLinks(std::string& o, std::string& labels,
                      const GroupSnapshot& g, const Layout& l) {
  for (const auto& n : g.nodes) {
    const std::string master = MasterOf(g, n);
    if (master.empty() || master == n.address) continue;
    const Placed* from = l.Find(n.address);
    const Placed* to = l.Find(master);
    if (from == nullptr || to == nullptr) continue;
    const auto [cls, label] = LinkState(g, n, master);
    double x1, y1, x2, y2;
    if (from->y != to->y) {  // Up from the replica's top to the master.
      x1 = from->x + kBoxW / 2.0;
      y1 = from->y;
      x2 = to->x + kBoxW / 2.0;
      y2 = to->y + kBoxH;
    } else {  // Same row: side to side.
      const bool left = from->x > to->x;
      x1 = left ? from->x : from->x + kBoxW;
      x2 = left ? to->x + kBoxW : to->x;
      y1 = y2 = from->y + kBoxH / 2.0;
    }
    o += "<line class=\"link " + std::string(cls) + "\" data-replica=\"";
    Esc(o, n.address);
    o += "\" x1=\"" + Num(x1) + "\" y1=\"" + Num(y1) + "\" x2=\"" + Num(x2) +
         "\" y2=\"" + Num(y2) + "\"/>\n";
    const double t = from->y != to->y ? 0.4 : 0.5;  // nearer the replica
    SvgLabel(labels, x1 + (x2 - x1) * t, y1 + (y2 - y1) * t, label,
             std::string_view(cls) == "down");
  }
}

BoxStyle SentinelStyle(const Snapshot& s, const GroupSnapshot& g,
                       const SentinelView& v) {
  const model::SentinelState* st = s.FindSentinel(v.sentinel);
  BoxStyle b{"sentinel", "SENTINEL", "", "up", ""};
  if (!v.reachable) {
    b.classes += " down";
    b.dot = "down";
    b.info = "unreachable";
    if (st != nullptr && st->error) b.info += " \u00b7 " + st->error->reason;
  } else if (!v.monitors) {
    b.classes += " warnbox";
    b.dot = "warn";
    b.info = "does not monitor this group";
  } else {
    b.info = v.primary.empty() ? "names no primary" : "\u2192 " + v.primary;
    if (v.primary != g.primary) {
      b.classes += " differ";
      b.dot = "down";
    }
  }
  if (st != nullptr && st->up && st->tilt) {
    b.role += " \u00b7 TILT";
    b.classes += " warnbox";
    b.dot = "warn";
  }
  if (v.reachable && v.flag(PrimaryFlag::kODown)) {
    b.role += " \u00b7 O_DOWN";
  } else if (v.reachable && v.flag(PrimaryFlag::kSDown)) {
    b.role += " \u00b7 S_DOWN";
  }
  b.tooltip = "Sentinel " + v.sentinel + (v.reachable ? "" : " (unreachable)") +
              "\nnames primary: " + (v.primary.empty() ? "none" : v.primary);
  if (v.quorum) b.tooltip += "\nquorum " + std::to_string(*v.quorum);
  if (v.config_epoch) {
    b.tooltip += ", config epoch " + std::to_string(*v.config_epoch);
  }
  if (!v.ckquorum_message.empty()) {
    b.tooltip += "\nCKQUORUM: " + v.ckquorum_message;
  }
  return b;
}

std::string NodeInfo(const NodeState& n) {
  if (!n.up) {
    std::string s = "DOWN";
    if (n.error) s += " \u00b7 " + n.error->reason;
    return s;
  }
  std::string s = "up";
  if (n.loading) {
    s += " \u00b7 loading";
    if (n.loading_percent) s += Printf(" %.0f%%", *n.loading_percent);
  } else if (n.keys) {
    s += " \u00b7 " + Count(*n.keys) + " keys";
  }
  if (!n.version.empty()) {
    s += " \u00b7 " + (n.server == "redis" ? "v" : n.server + " ") + n.version;
  }
  return s;
}

BoxStyle NodeStyle(const GroupSnapshot& g, const NodeState& n,
                   bool middle_row) {
  BoxStyle b{"node ", "", NodeInfo(n), n.up ? "up" : "down", ""};
  if (n.address == g.primary) {
    b.classes += "primary";
    b.role = "PRIMARY";
    if (n.up && n.role != Role::kPrimary) {
      b.classes += " rogue";
      b.role += n.role == Role::kReplica ? " \u00b7 REPORTS REPLICA"
                                         : " \u00b7 ROLE UNKNOWN";
      b.dot = "down";
    }
  } else if (n.up && n.role == Role::kPrimary) {
    b.classes += "rogue";
    b.role = "ALSO PRIMARY";
    b.dot = "down";
  } else {
    b.classes += "replica";
    b.role = n.up && n.role == Role::kUnknown ? "NODE" : "REPLICA";
    if (middle_row) {  // A Sentinel names it primary.
      b.classes += " rogue";
      b.role += " \u00b7 NAMED PRIMARY";
      b.dot = "down";
    }
    if (n.priority && *n.priority == 0) b.role += " \u00b7 PRIO 0";
  }
  if (!n.up) b.classes += " down";
  if (n.up && (n.loading || n.sync_in_progress)) {
    b.classes += " warnbox";
    b.dot = "warn";
  }
  if (const auto* h = g.history.Node(n.address); h != nullptr && h->wipes > 0) {
    b.role += " \u00b7 WIPED";
  }
  b.tooltip = std::string(model::RoleName(n.role)) + " " + n.address;
  if (!n.announced.empty() && n.announced != n.address) {
    b.tooltip += " (announced " + n.announced + ")";
  }
  if (!n.up && n.error) {
    b.tooltip += "\n" + n.error->reason + ": " + n.error->message;
  }
  if (!n.master_address.empty()) b.tooltip += "\nmaster " + n.master_address;
  if (n.Offset()) b.tooltip += "\noffset " + std::to_string(*n.Offset());
  return b;
}

void Topology(std::string& o, const Snapshot& s, const GroupSnapshot& g) {
  const Layout l = PlaceTopology(g);
  const std::string w = std::to_string(l.width);
  o += "<svg class=\"topology\" xmlns=\"http://www.w3.org/2000/svg\" "
       "viewBox=\"0 0 " +
       w + " " + std::to_string(kSvgHeight) + "\" width=\"" + w +
       "\" style=\"max-width:" + w +
       "px\" role=\"img\" aria-label=\"Topology of ";
  Esc(o, g.name);
  o += "\">\n";
  for (const auto& [y, text] :
       {std::pair{kSentinelY, "SENTINELS"}, std::pair{kPrimaryY, "PRIMARY"},
        std::pair{kReplicaY, "REPLICAS"}}) {
    o += "<text class=\"rowlbl\" x=\"8\" y=\"" + std::to_string(y - 12) +
         "\">" + text + "</text>";
  }
  o += "\n";
  // Lines first, boxes over them, the links' labels last.
  std::string labels;
  SentinelLines(o, g, l);
  ReplicationLinks(o, labels, g, l);
  for (size_t i = 0; i < g.views.size(); ++i) {
    SvgBox(o, l.sentinels[i], "sentinel", SentinelStyle(s, g, g.views[i]));
  }
  for (const auto& p : l.nodes) {
    if (const NodeState* n = g.FindNode(p.address)) {
      SvgBox(o, p, "node", NodeStyle(g, *n, p.y == kPrimaryY));
    } else {
      SvgBox(o, p, "node",
             {"node ghost", "NAMED PRIMARY", "not a known data node", "down",
              p.address + " is named primary by a Sentinel but is not a "
                          "known data node"});
    }
  }
  o += labels;
  o += "</svg>";
}

void Legend(std::string& o) {
  auto line = [&](const char* style, const char* label) {
    o += "<span><svg width=\"30\" height=\"10\" aria-hidden=\"true\"><line "
         "x1=\"1\" y1=\"5\" "
         "x2=\"29\" y2=\"5\" style=\"";
    o += style;
    o += "\"/></svg>";
    o += label;
    o += "</span>";
  };
  o += "<div class=\"legend\">";
  line("stroke:#1f883d;stroke-width:2.5", "replication link up (label: lag)");
  line("stroke:#d4a72c;stroke-width:2.5;stroke-dasharray:7 4", "full sync");
  line("stroke:#cf222e;stroke-width:2.5;stroke-dasharray:7 4",
       "link down / unreachable");
  line("stroke:#8c959f;stroke-width:1.3", "Sentinel names the primary");
  line("stroke:#cf222e;stroke-width:2.5", "Sentinel names a different primary");
  o +=
      "<span><svg width=\"22\" height=\"14\" aria-hidden=\"true\"><rect "
      "x=\"1\" y=\"1\" "
      "width=\"20\" height=\"12\" rx=\"3\" style=\"fill:#fff5f5;stroke:#cf222e;"
      "stroke-width:1.5;stroke-dasharray:4 2\"/></svg>down or "
      "unknown</span></div>";
}

// ---- Group: factors, gate, tables, events -----------------------------------

template <size_t N, typename E>
void FactorPanel(std::string& o, const char* title, const char* id,
                 const assess::Risk<N>& risk,
                 const std::array<assess::FactorInfo, N>& infos,
                 const char* (*runbook)(E)) {
  o += "<div class=\"panel\" id=\"";
  o += id;
  o += "\"><h3>";
  o += title;
  o += " ";
  Badge(o, risk.level);
  o += "</h3>";
  auto factor = [&](size_t i) {
    const bool on = risk.factors[i].active;
    o += "<div class=\"factor ";
    o += on ? "on" : "off";
    o += " lv" + std::to_string(LevelNumber(infos[i].level)) +
         "\" data-factor=\"";
    o += infos[i].name;
    o += "\"><div class=\"head\">";
    o += "<code>";
    o += infos[i].name;
    o += "</code> ";
    Badge(o, infos[i].level, on ? "" : "raises to ");
    o += "<span class=\"links\">";
    DocLink(o, "risks.md", infos[i].name, "explanation");
    DocLink(o, "runbook.md", runbook(static_cast<E>(i)), "runbook");
    o += "</span></div><p>";
    o += infos[i].meaning;  // Ours, constant text.
    o += "</p>";
    if (on && !risk.factors[i].reason.empty()) {
      o += "<div class=\"reason\">";
      Esc(o, risk.factors[i].reason);
      o += "</div>";
    }
    o += "</div>";
  };
  size_t active = 0;
  for (size_t i = 0; i < N; ++i) {
    if (risk.factors[i].active) {
      factor(i);
      ++active;
    }
  }
  if (active == 0) o += "<div class=\"allclear\">No factor is active.</div>";
  if (active < N) {
    o += "<details><summary>" + std::to_string(N - active) + " other check" +
         (N - active == 1 ? "" : "s") + " passed</summary>";
    for (size_t i = 0; i < N; ++i) {
      if (!risk.factors[i].active) factor(i);
    }
    o += "</details>";
  }
  o += "</div>";
}

void CandidateText(std::string& o, const assess::Candidate& c) {
  o += "<span class=\"mono\">";
  Esc(o, c.node);
  o += "</span> <span class=\"sub\">";
  if (c.priority) o += "priority " + std::to_string(*c.priority);
  if (c.lag_bytes) o += " &middot; lag " + Bytes(*c.lag_bytes);
  if (!c.version.empty()) {
    o += " &middot; ";
    Esc(o, c.version);
  }
  o += "</span>";
  if (!c.eligible) {
    o += " <span class=\"tag bad\">not eligible</span>";
    if (!c.why_not.empty()) {
      o += " <span class=\"sub\">";
      Esc(o, c.why_not);
      o += "</span>";
    }
  }
}

void GateRow(std::string& o, const assess::GateResult& r,
             const std::string& node) {
  o += "<tr class=\"";
  o += r.ready ? "ready" : "blocked";
  o += "\" data-action=\"";
  o += assess::ActionName(r.request.action);
  o += "\" data-node=\"";
  Esc(o, node);
  o += "\"><td class=\"nowrap\"><code>";
  o += assess::ActionName(r.request.action);
  o += "</code></td><td class=\"mono\">";
  Esc(o, node);
  o += "</td><td>";
  Verdict(o, r.ready);
  o += "</td><td>";
  if (r.blockers.empty()) o += "<span class=\"sub\">&mdash;</span>";
  BlockerList(o, r, /*full=*/true);
  o += "</td><td>";
  if (r.candidate) {
    CandidateText(o, *r.candidate);
    if (r.best_eligible && r.best_eligible->node != r.candidate->node) {
      o += "<div class=\"sub\">best eligible: ";
      CandidateText(o, *r.best_eligible);
      o += "</div>";
    }
  } else if (r.best_eligible) {
    o += "<span class=\"sub\">best eligible:</span> ";
    CandidateText(o, *r.best_eligible);
  } else if (r.request.action == assess::Action::kFailover) {
    o += "<span class=\"sub\">none</span>";
  }
  o += "</td></tr>\n";
}

void GateTable(std::string& o, const Snapshot& s, const GroupSnapshot& g,
               const assess::GateOptions& options, SysTime now) {
  o += "<div class=\"tablewrap\"><table "
       "id=\"gate\"><thead><tr><th>Action</th><th>Node</th>"
       "<th>Verdict</th><th>Blockers</th><th>Candidate "
       "(failover)</th></tr></thead><tbody>";
  GateRow(o, Gate(s, g, assess::Action::kFailover, "", options, now),
          g.primary);
  for (const auto& n : g.nodes) {
    if (n.address == g.primary) continue;
    GateRow(
        o, Gate(s, g, assess::Action::kRestartReplica, n.address, options, now),
        n.address);
  }
  for (const auto& v : g.views) {
    GateRow(
        o,
        Gate(s, g, assess::Action::kRestartSentinel, v.sentinel, options, now),
        v.sentinel);
  }
  o += "</tbody></table></div>";
}

void NodeTable(std::string& o, const GroupSnapshot& g) {
  o += "<div class=\"tablewrap\"><table "
       "id=\"nodes\"><thead><tr><th>Node</th><th>Role</th>"
       "<th>State</th><th>Replication "
       "link</th><th>Lag</th><th>Offset</th><th>Keys</th>"
       "<th>Version</th><th>Uptime</th><th>Restarts</th><th>Priority</th></"
       "tr></thead><tbody>";
  // The primary first, then the others by address.
  std::vector<const NodeState*> order;
  order.reserve(g.nodes.size());
  if (const NodeState* p = g.Primary()) order.push_back(p);
  for (const auto& n : g.nodes) {
    if (n.address != g.primary) order.push_back(&n);
  }
  for (const NodeState* np : order) {
    const NodeState& n = *np;
    const bool is_primary = n.address == g.primary;
    o += "<tr class=\"";
    o += n.up ? "up" : "down";
    o += "\" data-node=\"";
    Esc(o, n.address);
    o += "\"><td class=\"mono\">";
    Esc(o, n.address);
    if (!n.announced.empty() && n.announced != n.address) {
      o += "<div class=\"sub\">announced ";
      Esc(o, n.announced);
      o += "</div>";
    }
    o += "</td><td>";
    if (!n.up) {
      o += is_primary ? "primary" : "<span class=\"sub\">unknown</span>";
    } else {
      o += model::RoleName(n.role);
      if (n.role == Role::kPrimary && !is_primary)
        Tag(o, "bad", "not the Sentinels' primary");
      if (n.role != Role::kPrimary && is_primary)
        Tag(o, "bad", "Sentinels' primary");
    }
    o += "</td><td>";
    if (!n.up) {
      State(o, "down", "down");
      if (n.error) {
        o += " <span class=\"sub\">";
        Esc(o, n.error->reason);
        if (!n.error->message.empty()) {
          o += ": ";
          Esc(o, Clip(n.error->message, 100));
        }
        o += "</span>";
      }
    } else if (n.loading) {
      State(o, "warn",
            n.loading_percent
                ? "loading " + Printf("%.0f%%", *n.loading_percent)
                : std::string("loading"));
    } else if (n.sync_in_progress) {
      State(o, "warn", "full sync");
    } else {
      State(o, "up", "up");
    }
    o += "</td><td>";
    if (n.up && n.role == Role::kReplica) {
      if (n.link_up && *n.link_up) {
        o += "<span class=\"ok\">up</span>";
      } else if (n.link_up) {
        o += "<span class=\"bad\">down</span>";
        if (n.link_down_since_seconds) {
          o += " <span class=\"sub\">for " +
               Age(static_cast<double>(*n.link_down_since_seconds)) + "</span>";
        }
      }
      o += " <span class=\"sub\">from <span class=\"mono\">";
      Esc(o, n.master_address);
      o += "</span></span>";
      if (!assess::ReplicatesFromPrimary(g, n))
        Tag(o, "bad", "not the primary");
    } else if (n.up && n.role == Role::kPrimary && n.connected_replicas) {
      o += "<span class=\"sub\">" + std::to_string(*n.connected_replicas) +
           " connected replica(s)</span>";
    }
    o += "</td><td class=\"num\">";
    if (auto lag = assess::LagBytes(g, n)) o += Bytes(*lag);
    o += "</td><td class=\"num\">";
    if (n.up && n.Offset()) o += Count(*n.Offset());
    o += "</td><td class=\"num\">";
    if (n.up && n.keys) o += Count(*n.keys);
    o += "</td><td class=\"mono\">";
    if (n.up && !n.version.empty()) {
      if (n.server != "redis") {
        Esc(o, n.server);
        o += " ";
      }
      Esc(o, n.version);
    }
    o += "</td><td class=\"num\">";
    if (n.up && n.uptime_seconds)
      o += Age(static_cast<double>(*n.uptime_seconds));
    o += "</td><td class=\"num\">";
    if (const auto* h = g.history.Node(n.address)) {
      o += std::to_string(h->restarts);
      if (h->wipes > 0) {
        o += " ";
        Tag(o, "bad", std::to_string(h->wipes) + " wiped");
      }
    } else {
      o += "0";
    }
    o += "</td><td class=\"num\">";
    if (n.up && n.priority) o += std::to_string(*n.priority);
    o += "</td></tr>\n";
  }
  o += "</tbody></table></div>";
}

void ViewTable(std::string& o, const Snapshot& s, const GroupSnapshot& g) {
  o += "<div class=\"tablewrap\"><table "
       "id=\"views\"><thead><tr><th>Sentinel</th><th>State</th>"
       "<th>Names primary</th><th>Flags</th><th>Quorum</th><th>CKQUORUM</th>"
       "<th>Sentinels "
       "known</th><th>Epoch</th><th>Down-after</th></tr></thead><tbody>";
  for (const auto& v : g.views) {
    const model::SentinelState* st = s.FindSentinel(v.sentinel);
    o += "<tr class=\"";
    o += v.reachable ? "up" : "down";
    o += "\" data-sentinel=\"";
    Esc(o, v.sentinel);
    o += "\"><td class=\"mono\">";
    Esc(o, v.sentinel);
    o += "</td><td>";
    State(o, v.reachable ? "up" : "down",
          v.reachable ? "reachable" : "unreachable");
    if (st != nullptr && st->tilt) {
      o += " ";
      Tag(o, "bad", "TILT");
    }
    if (v.reachable && !v.monitors) {
      o += " ";
      Tag(o, "warn", "does not monitor");
    }
    o += "</td><td class=\"mono\">";
    Esc(o, v.primary);
    if (v.reachable && v.monitors && v.primary != g.primary) {
      o += " ";
      Tag(o, "bad", "differs");
    }
    o += "</td><td>";
    bool any = false;
    for (auto f : model::kPrimaryFlags) {
      if (!v.flag(f)) continue;
      Tag(o, "bad", model::PrimaryFlagName(f));
      o += " ";
      any = true;
    }
    if (!v.failover_state.empty()) {
      o += "<span class=\"tag warn\">";
      Esc(o, v.failover_state);
      o += "</span>";
      any = true;
    }
    if (!any) o += "<span class=\"sub\">&mdash;</span>";
    o += "</td><td class=\"num\">";
    if (v.quorum) o += std::to_string(*v.quorum);
    o += "</td><td>";
    if (v.ckquorum_ok) {
      o += *v.ckquorum_ok ? "<span class=\"ok\">OK</span>"
                          : "<span class=\"bad\">fails</span>";
      if (v.usable_sentinels) {
        o += " <span class=\"sub\">" + std::to_string(*v.usable_sentinels) +
             " usable</span>";
      }
      if (!*v.ckquorum_ok && !v.ckquorum_message.empty()) {
        o += "<div class=\"sub\">";
        Esc(o, Clip(v.ckquorum_message, 160));
        o += "</div>";
      }
    }
    o += "</td><td class=\"num\">";
    if (v.num_other_sentinels) o += std::to_string(*v.num_other_sentinels + 1);
    o += "</td><td class=\"num\">";
    if (v.config_epoch) o += std::to_string(*v.config_epoch);
    o += "</td><td class=\"num\">";
    if (v.down_after_ms) o += Count(*v.down_after_ms) + " ms";
    o += "</td></tr>\n";
  }
  o += "</tbody></table></div>";
}

struct Event {
  SysTime at;
  const char* kind;  // failover | restart | wipe | sentinel
  const char* tone;  // good | bad | warn | ""
  std::string source;
  std::string what;
  std::string detail;
};

const char* SentinelEventTone(std::string_view e) {
  if (e == "+switch-master" || e == "+failover-end" || e == "+try-failover" ||
      e == "+failover-state-select-slave" || e == "+selected-slave" ||
      e == "+promoted-slave") {
    return "warn";
  }
  if (e.starts_with("+sdown") || e.starts_with("+odown") || e == "+tilt" ||
      e.starts_with("-failover-abort") || e == "+failover-end-for-timeout") {
    return "bad";
  }
  if (e == "-sdown" || e == "-odown" || e == "-tilt") return "good";
  return "";
}

void Events(std::string& o, const Snapshot& s, const GroupSnapshot& g,
            SysTime now) {
  constexpr size_t kMaxEvents = 60;
  std::vector<Event> events;
  const auto& h = g.history;
  if (h.last_failover_at) {
    events.push_back({*h.last_failover_at, "failover", "warn", "exporter",
                      "failover",
                      "the primary changed to " + g.primary + "; " +
                          std::to_string(h.failovers) +
                          " failover(s) since the exporter started"});
  }
  for (const auto& [address, nh] : h.nodes) {
    if (nh.last_restart_at) {
      events.push_back({*nh.last_restart_at, "restart", "warn", address,
                        "restart",
                        std::to_string(nh.restarts) + " restart(s) seen"});
    }
    if (nh.last_wipe_at) {
      std::string detail = "dataset collapsed after a full sync";
      if (nh.keys_before_wipe)
        detail += "; it held " + Count(*nh.keys_before_wipe) + " keys";
      events.push_back(
          {*nh.last_wipe_at, "wipe", "bad", address, "dataset wiped", detail});
    }
  }
  for (const auto& e : s.recent_events) {
    bool ours = e.group == g.name;
    if (!ours && e.group.empty()) {
      ours = std::any_of(
          g.views.begin(), g.views.end(),
          [&](const SentinelView& v) { return v.sentinel == e.sentinel; });
    }
    if (ours) {
      events.push_back({e.at, "sentinel", SentinelEventTone(e.event),
                        e.sentinel, e.event, e.detail});
    }
  }
  // Newest first; among equal times, Sentinel events keep their arrival order
  // reversed.
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.at > b.at; });
  if (events.empty()) {
    o += "<div class=\"empty\" id=\"events\">No failover, restart or Sentinel "
         "event seen "
         "since the exporter started.</div>";
    return;
  }
  o += "<div class=\"tablewrap\"><table id=\"events\"><thead><tr><th>Time "
       "(UTC)</th>"
       "<th>Kind</th><th>Source</th><th>Event</th><th>Detail</th></tr></"
       "thead><tbody>";
  for (size_t i = 0; i < events.size() && i < kMaxEvents; ++i) {
    const Event& e = events[i];
    o += "<tr class=\"event ";
    o += e.kind;
    o += "\"><td class=\"nowrap\">";
    Time(o, e.at, now);
    o += "</td><td>";
    Tag(o, "", e.kind);
    o += "</td><td class=\"mono\">";
    Esc(o, e.source);
    o += "</td><td class=\"nowrap\">";
    o += "<span class=\"tag ";
    o += e.tone;
    o += "\">";
    Esc(o, e.what);
    o += "</span></td><td class=\"mono\">";
    Esc(o, Clip(e.detail, 300));
    o += "</td></tr>\n";
  }
  o += "</tbody></table></div>";
  if (events.size() > kMaxEvents) {
    o += "<div class=\"sub\">" + std::to_string(events.size() - kMaxEvents) +
         " older event(s) not shown.</div>";
  }
}

void Card(std::string& o, std::string_view key, std::string_view value_html,
          std::string_view sub_html = {}, const char* value_class = "v") {
  o += "<div class=\"card\"><div class=\"k\">";
  o += key;
  o += "</div><div class=\"";
  o += value_class;
  o += "\">";
  o += value_html;
  o += "</div>";
  if (!sub_html.empty()) {
    o += "<div class=\"sub\">";
    o += sub_html;
    o += "</div>";
  }
  o += "</div>";
}

}  // namespace

std::string UrlEncodeComponent(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string RenderFleetPage(const Snapshot& s,
                            const assess::GateOptions& options, SysTime now) {
  std::string o;
  o.reserve(24 * 1024 + s.groups.size() * 2048 + s.sentinels.size() * 512);
  std::vector<FleetRow> rows;
  rows.reserve(s.groups.size());
  int by_level[4] = {0, 0, 0, 0};
  int ready = 0;
  for (const auto& [name, g] : s.groups) {
    FleetRow row{&g, Gate(s, g, assess::Action::kFailover, "", options, now),
                 Worst(g)};
    ++by_level[LevelNumber(row.worst)];
    if (row.gate.ready) ++ready;
    rows.push_back(std::move(row));
  }
  // Worst first, then blocked before ready, then by name.
  std::sort(rows.begin(), rows.end(), [](const FleetRow& a, const FleetRow& b) {
    if (a.worst != b.worst) return a.worst > b.worst;
    if (a.gate.ready != b.gate.ready) return !a.gate.ready;
    return a.group->name < b.group->name;
  });

  Open(o,
       std::to_string(s.groups.size()) + (s.groups.size() == 1 ? " group" : " groups") +
           " \u00b7 redis_ha_exporter",
       s, now, true);
  o += "<h1>Fleet</h1><div class=\"cards\" id=\"summary\">";
  Card(o, "Groups", std::to_string(s.groups.size()));
  for (int l = 3; l >= 0; --l) {
    // Groups whose worse risk is at this level; a badge only when there are
    // any.
    const std::string n = std::to_string(by_level[l]);
    std::string v = by_level[l] == 0 || l == 0
                        ? n
                        : "<span class=\"badge l" + std::to_string(l) + "\">" +
                              n + "</span>";
    static constexpr std::array<const char*, 4> kTitles = {
        "No risk", "Latent risk", "Imminent risk", "Active risk"};
    Card(o, kTitles[l], v);
  }
  Card(o, "Failover ready",
       std::to_string(ready) + " / " + std::to_string(rows.size()));
  int sentinels_up = 0;
  for (const auto& st : s.sentinels) sentinels_up += st.up ? 1 : 0;
  Card(o, "Sentinels up",
       std::to_string(sentinels_up) + " / " +
           std::to_string(s.sentinels.size()));
  o += "</div>";

  o += "<h2>Groups <span class=\"sub\">worst first</span></h2>";
  if (s.cycle == 0) {
    o += "<div class=\"empty\" id=\"groups\">Waiting for the first poll of the "
         "Sentinels.</div>";
  } else if (rows.empty()) {
    o += "<div class=\"empty\" id=\"groups\">The Sentinels monitor no watched "
         "group.</div>";
  } else {
    FleetTable(o, rows, options, now);
  }
  o += "<h2>Sentinels</h2>";
  SentinelTable(o, s);
  Close(o, now);
  return o;
}

std::optional<std::string> RenderGroupPage(const Snapshot& s,
                                           const std::string& name,
                                           const assess::GateOptions& options,
                                           SysTime now) {
  const GroupSnapshot* gp = s.FindGroup(name);
  if (gp == nullptr) return std::nullopt;
  const GroupSnapshot& g = *gp;
  std::string o;
  o.reserve(40 * 1024 + g.nodes.size() * 3072 + g.views.size() * 3072 +
            s.recent_events.size() * 256);
  Open(o, g.name + " \u00b7 redis_ha_exporter", s, now, false);
  const assess::GateResult failover =
      Gate(s, g, assess::Action::kFailover, "", options, now);
  const Counts c = CountGroup(g);
  const auto& a = g.assessment;

  o += "<div class=\"crumb\"><a href=\"./\">Fleet</a> /</div><h1 "
       "id=\"group-name\">";
  Esc(o, g.name);
  o += " ";
  Badge(o, a.split_brain.level, "split brain: ");
  Badge(o, a.empty_primary.level, "empty primary: ");
  o += "</h1><div class=\"cards\" id=\"summary\">";
  {
    std::string v = g.primary.empty() ? "<span class=\"bad\">none</span>"
                                      : text::EscapeHtml(g.primary);
    const NodeState* p = g.Primary();
    std::string sub =
        p == nullptr ? "" : (p->up ? "up" : "<span class=\"bad\">down</span>");
    if (a.primaries > 1)
      sub += " &middot; <span class=\"bad\">" + std::to_string(a.primaries) +
             " nodes report master</span>";
    Card(o, "Primary", v, sub, "v mono");
  }
  Card(o, "Replicas up",
       std::to_string(c.replicas_up) + " / " + std::to_string(c.replicas),
       std::to_string(a.healthy_replicas) + " healthy");
  Card(o, "Sentinels reachable",
       std::to_string(c.sentinels_reachable) + " / " +
           std::to_string(c.sentinels),
       c.quorum ? "quorum " + std::to_string(*c.quorum) : std::string());
  {
    std::string v;
    Verdict(v, failover.ready);
    Card(o, "Failover", v,
         failover.ready
             ? std::string("no blocker")
             : std::to_string(failover.blockers.size()) + " blocker(s)");
  }
  Card(o, "Failovers seen", std::to_string(g.history.failovers),
       g.history.last_failover_at
           ? "last " + Age(SecondsBetween(*g.history.last_failover_at, now)) +
                 " ago"
           : std::string());
  if (a.backlog_headroom_seconds) {
    Card(o, "Backlog headroom",
         std::isinf(*a.backlog_headroom_seconds)
             ? std::string("no writes")
             : Age(*a.backlog_headroom_seconds));
  }
  {
    std::string v = g.last_success_at == SysTime{}
                        ? std::string("never")
                        : Age(SecondsBetween(g.last_success_at, now)) + " ago";
    Card(o, "Observed", v,
         g.observed ? std::string()
                    : "<span class=\"bad\">not by the last poll</span>");
  }
  o += "</div>";

  o += "<h2>Topology</h2><div class=\"panel topo\">";
  Topology(o, s, g);
  Legend(o);
  o += "</div>";

  o += "<h2>Risk factors</h2><div class=\"factors\">";
  FactorPanel(o, "Split brain", "split-brain", a.split_brain,
              assess::SplitBrainFactors(), &SplitBrainRunbookAnchor);
  FactorPanel(o, "Empty primary", "empty-primary", a.empty_primary,
              assess::EmptyPrimaryFactors(), &EmptyPrimaryRunbookAnchor);
  o += "</div>";
  for (size_t i = 0; i < assess::kCheckCount; ++i) {
    if (!a.check_unavailable[i]) continue;
    o += "<div class=\"note\">The <code>";
    o += assess::CheckName(static_cast<assess::Check>(i));
    o += "</code> check is unavailable: CONFIG GET was refused or renamed on a "
         "node, so the "
         "factors that need it cannot be evaluated. ";
    DocLink(o, "runbook.md", "redishacheckunavailable", "runbook");
    o += "</div>";
  }

  o += "<h2>Rollout gate <span class=\"sub\">may this be touched "
       "now?</span></h2>";
  GateTable(o, s, g, options, now);
  o += "<h2>Data nodes</h2>";
  NodeTable(o, g);
  o += "<h2>Sentinel views</h2>";
  ViewTable(o, s, g);
  o += "<h2>Recent events <span class=\"sub\">newest first</span></h2>";
  Events(o, s, g, now);
  Close(o, now);
  return o;
}

namespace {

Response PageResponse(int status, std::string body) {
  Response r = Response::Html(status, std::move(body));
  r.headers.emplace_back("Content-Security-Policy", kPageCsp);
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

Response MethodNotAllowed() {
  Response r = Response::Text(405, "use GET\n");
  r.headers.emplace_back("Allow", "GET, HEAD");
  return r;
}

std::string MessagePage(const Snapshot& s, SysTime now, std::string_view title,
                        const std::string& message_html) {
  std::string o;
  o.reserve(20 * 1024);
  Open(o, std::string(title) + " \u00b7 redis_ha_exporter", s, now, false);
  o += "<div class=\"crumb\"><a href=\"./\">Fleet</a> /</div><h1>";
  Esc(o, title);
  o += "</h1><div class=\"empty\" id=\"message\">";
  o += message_html;
  o += "</div>";
  Close(o, now);
  return o;
}

}  // namespace

Response HandleFleetPage(const Request& req, const Snapshot& snapshot,
                         const assess::GateOptions& options, SysTime now) {
  if (req.method == "POST") return MethodNotAllowed();
  return PageResponse(200, RenderFleetPage(snapshot, options, now));
}

Response HandleGroupPage(const Request& req, const Snapshot& snapshot,
                         const assess::GateOptions& options, SysTime now) {
  if (req.method == "POST") return MethodNotAllowed();
  const std::string name = req.Param("name");
  if (name.empty()) {
    return PageResponse(
        400, MessagePage(snapshot, now, "No group given",
                         "Open a group from the <a href=\"./\">fleet</a>, or "
                         "ask for <code>/group?name=GROUP</code>."));
  }
  if (auto page = RenderGroupPage(snapshot, name, options, now)) {
    return PageResponse(200, std::move(*page));
  }
  std::string msg =
      "No group named <code>" + text::EscapeHtml(name) + "</code> ";
  msg += snapshot.cycle == 0
             ? "yet: the exporter has not completed its first poll."
             : "is watched or monitored by the Sentinels.";
  msg += " Back to the <a href=\"./\">fleet</a>.";
  return PageResponse(404, MessagePage(snapshot, now, "Unknown group", msg));
}

}  // namespace redis_ha::http
