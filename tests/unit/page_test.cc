// The status page on hand-built snapshots: healthy, a down replica, split
// brain, hostile names; the elements, classes and texts each state must
// produce, and escaping.
#include "http/page.h"

#include <gtest/gtest.h>

#include <string>

#include "assess/assess.h"
#include "support/group_fixture.h"
#include "util/text.h"

namespace redis_ha::http {
namespace {

using namespace redis_ha::testing::fixture;

// The fixture's group with its assessment derived the way the poller derives
// it.
GroupSnapshot Assessed(GroupSnapshot g) {
  g.assessment = assess::Assess(g, assess::AssessOptions{});
  return g;
}

model::Snapshot SnapshotOfAssessed(const GroupSnapshot& g) {
  return SnapshotOf(Assessed(g));
}

const assess::GateOptions kOptions{};
const model::SysTime kLater = kNow + 500ms;

std::string Fleet(const model::Snapshot& s) {
  return RenderFleetPage(s, kOptions, kLater);
}

std::string GroupPage(const model::Snapshot& s, const std::string& name) {
  auto page = RenderGroupPage(s, name, kOptions, kLater);
  EXPECT_TRUE(page.has_value()) << name;
  return page.value_or("");
}

// Like HasSubstr, without printing the whole page on failure.
::testing::AssertionResult Has(const std::string& html,
                               const std::string& needle) {
  if (html.find(needle) != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "missing: " << needle;
}

::testing::AssertionResult Lacks(const std::string& html,
                                 const std::string& needle) {
  const size_t at = html.find(needle);
  if (at == std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "unexpected: " << needle
         << "\n  at: " << html.substr(at > 80 ? at - 80 : 0, 200);
}

size_t Occurrences(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

const std::string* Header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

Request Get(const std::string& path, const std::string& query = "") {
  Request r;
  r.method = "GET";
  r.path = path;
  r.query = query;
  return r;
}

TEST(PageTest, FleetHealthy) {
  const std::string html = Fleet(SnapshotOfAssessed(Healthy()));
  EXPECT_TRUE(html.starts_with("<!doctype html>"));
  EXPECT_TRUE(Has(html, "<title>1 group \u00b7 redis_ha_exporter</title>"));
  EXPECT_TRUE(Has(html, "<meta http-equiv=\"refresh\" content=\"5\">"));
  EXPECT_TRUE(Has(html, "<table id=\"groups\""));
  EXPECT_TRUE(Has(html, "<tr class=\"w0\" data-group=\"g\">"));
  EXPECT_TRUE(Has(html, "<a href=\"group?name=g\">g</a>"));
  EXPECT_TRUE(Has(html, kP));
  EXPECT_TRUE(Has(html, "2/2 up"));
  EXPECT_TRUE(Has(html, "2 healthy"));
  EXPECT_TRUE(Has(html, "3/3 reachable"));
  EXPECT_TRUE(Has(html, "quorum 2"));
  EXPECT_EQ(Occurrences(html, "<td><span class=\"badge l0\">none</span></td>"),
            2u);
  EXPECT_TRUE(Has(html, "<span class=\"badge verdict ready\">ready</span>"));
  EXPECT_TRUE(Has(html, "0.5 s ago"));
  // The Sentinels list.
  EXPECT_TRUE(Has(html, "<table id=\"sentinels\">"));
  EXPECT_EQ(Occurrences(html, "<tr class=\"up\" data-sentinel=\""), 3u);
  // No script, no external asset.
  EXPECT_TRUE(Lacks(html, "<script"));
  EXPECT_TRUE(Lacks(html, "src=\"http"));
  EXPECT_TRUE(Lacks(html, "href=\"http://"));
}

TEST(PageTest, GroupHealthy) {
  const std::string html = GroupPage(SnapshotOfAssessed(Healthy()), "g");
  EXPECT_TRUE(Has(html, "<svg class=\"topology\""));
  EXPECT_TRUE(
      Has(html, "<g class=\"node primary\" data-node=\"10.0.0.1:6379\">"));
  EXPECT_TRUE(
      Has(html, "<g class=\"node replica\" data-node=\"10.0.0.2:6379\">"));
  EXPECT_TRUE(
      Has(html, "<g class=\"node replica\" data-node=\"10.0.0.3:6379\">"));
  EXPECT_EQ(Occurrences(html, "<g class=\"sentinel\" data-sentinel="), 3u);
  EXPECT_EQ(Occurrences(html, "<line class=\"names\""), 3u);
  EXPECT_EQ(Occurrences(html, "<line class=\"link up\""), 2u);
  EXPECT_TRUE(Has(html, ">lag 0 B</text>"));
  EXPECT_TRUE(Lacks(html, "names differ"));
  EXPECT_TRUE(Lacks(html, "sentinel differ"));
  // Every factor, with its documented meaning and links.
  for (const auto& f : assess::SplitBrainFactors()) {
    EXPECT_TRUE(Has(html, std::string("data-factor=\"") + f.name + "\""));
    EXPECT_TRUE(Has(html, std::string("docs/risks.md#") + f.name));
    EXPECT_TRUE(Has(html, f.meaning));
  }
  for (const auto& f : assess::EmptyPrimaryFactors()) {
    EXPECT_TRUE(Has(html, std::string("data-factor=\"") + f.name + "\""));
  }
  EXPECT_TRUE(Has(html, "docs/runbook.md#redishalatentsplitbrainrisk"));
  EXPECT_TRUE(Has(html, "No factor is active."));
  // The gate for every action.
  EXPECT_TRUE(Has(html,
                  "<tr class=\"ready\" data-action=\"failover\" "
                  "data-node=\"10.0.0.1:6379\">"));
  EXPECT_TRUE(
      Has(html, "data-action=\"restart-replica\" data-node=\"10.0.0.2:6379\""));
  EXPECT_TRUE(
      Has(html, "data-action=\"restart-replica\" data-node=\"10.0.0.3:6379\""));
  EXPECT_EQ(Occurrences(html, "data-action=\"restart-sentinel\""), 3u);
  EXPECT_TRUE(Lacks(
      html, "data-action=\"restart-replica\" data-node=\"10.0.0.1:6379\""));
  // Tables of nodes and views, and no events yet.
  EXPECT_EQ(Occurrences(html, "<tr class=\"up\" data-node=\""), 3u);
  EXPECT_TRUE(Has(html, "<table id=\"views\">"));
  EXPECT_TRUE(Has(html, "<div class=\"empty\" id=\"events\">"));
  EXPECT_TRUE(Lacks(html, "<script"));
}

TEST(PageTest, DownReplica) {
  GroupSnapshot g = Healthy();
  NodeState* r = Node(g, kR1);
  r->up = false;
  r->role = Role::kUnknown;
  r->sentinel_role = Role::kReplica;
  r->link_up.reset();
  r->error = model::PollError{"node", "connect", "Connection refused"};
  const model::Snapshot s = SnapshotOfAssessed(g);

  const std::string fleet = Fleet(s);
  EXPECT_TRUE(Has(fleet, "<span class=\"bad\">1/2 up</span>"));
  EXPECT_TRUE(Has(fleet, "1 healthy"));

  const std::string html = GroupPage(s, "g");
  EXPECT_TRUE(
      Has(html, "<g class=\"node replica down\" data-node=\"10.0.0.2:6379\">"));
  EXPECT_TRUE(
      Has(html, "<line class=\"link down\" data-replica=\"10.0.0.2:6379\""));
  EXPECT_TRUE(Has(html, ">unreachable</text>"));
  EXPECT_TRUE(Has(html, ">DOWN \u00b7 connect</text>"));
  EXPECT_TRUE(Has(html, "<tr class=\"down\" data-node=\"10.0.0.2:6379\">"));
  EXPECT_TRUE(Has(html, "connect: Connection refused"));
  // The healthy one is still drawn as up.
  EXPECT_TRUE(
      Has(html, "<g class=\"node replica\" data-node=\"10.0.0.3:6379\">"));
  EXPECT_TRUE(
      Has(html, "<line class=\"link up\" data-replica=\"10.0.0.3:6379\""));
}

TEST(PageTest, LinkDownAndSyncing) {
  GroupSnapshot g = Healthy();
  Node(g, kR1)->link_up = false;
  Node(g, kR1)->link_down_since_seconds = 42;
  Node(g, kR2)->sync_in_progress = true;
  const std::string html = GroupPage(SnapshotOfAssessed(g), "g");
  EXPECT_TRUE(
      Has(html, "<line class=\"link down\" data-replica=\"10.0.0.2:6379\""));
  EXPECT_TRUE(Has(html, ">link down 42 s</text>"));
  EXPECT_TRUE(
      Has(html, "<line class=\"link sync\" data-replica=\"10.0.0.3:6379\""));
  EXPECT_TRUE(Has(
      html, "<g class=\"node replica warnbox\" data-node=\"10.0.0.3:6379\">"));
}

TEST(PageTest, SplitBrain) {
  GroupSnapshot g = Healthy();
  g.views[2].primary = kR1;
  Node(g, kR1)->role = Role::kPrimary;
  Node(g, kR1)->master_address.clear();
  const model::Snapshot s = SnapshotOfAssessed(g);
  ASSERT_EQ(s.groups.at("g").assessment.split_brain.level,
            assess::Level::kActive);

  const std::string fleet = Fleet(s);
  EXPECT_TRUE(Has(fleet, "<tr class=\"w3\" data-group=\"g\">"));
  EXPECT_TRUE(Has(fleet, "<span class=\"badge l3\">active</span>"));
  EXPECT_TRUE(
      Has(fleet, "<code class=\"factor-name\">multiple_primaries</code>"));
  EXPECT_TRUE(
      Has(fleet, "<code class=\"factor-name\">sentinels_disagree</code>"));
  EXPECT_TRUE(
      Has(fleet, "<span class=\"badge verdict blocked\">blocked</span>"));
  EXPECT_TRUE(Has(fleet, "<code>sentinels_disagree</code>"));
  EXPECT_TRUE(Has(fleet, "2 nodes report master"));

  const std::string html = GroupPage(s, "g");
  // The dissenting Sentinel and its line to the node it names stand out.
  EXPECT_TRUE(Has(
      html, "<g class=\"sentinel differ\" data-sentinel=\"10.0.1.3:26379\">"));
  EXPECT_EQ(Occurrences(html, "<line class=\"names differ\""), 1u);
  EXPECT_EQ(Occurrences(html, "<line class=\"names\""), 2u);
  EXPECT_TRUE(
      Has(html, "<g class=\"node rogue\" data-node=\"10.0.0.2:6379\">"));
  EXPECT_TRUE(Has(html, ">ALSO PRIMARY</text>"));
  // Factors: active ones with their reason and runbook anchors.
  EXPECT_TRUE(
      Has(html,
          "<div class=\"factor on lv3\" data-factor=\"multiple_primaries\">"));
  EXPECT_TRUE(
      Has(html,
          "<div class=\"factor on lv2\" data-factor=\"sentinels_disagree\">"));
  EXPECT_TRUE(Has(html, "docs/runbook.md#redishasplitbrainactive"));
  EXPECT_TRUE(Has(html, "docs/runbook.md#redishasentinelsdisagree"));
  const std::string reason =
      s.groups.at("g")
          .assessment.factor(assess::SplitBrainFactor::kMultiplePrimaries)
          .reason;
  ASSERT_FALSE(reason.empty());
  EXPECT_TRUE(Has(
      html, "<div class=\"reason\">" + text::EscapeHtml(reason) + "</div>"));
  // The gate names its blockers with links to docs/gate.md.
  EXPECT_TRUE(Has(html, "<tr class=\"blocked\" data-action=\"failover\""));
  EXPECT_TRUE(Has(html, "docs/gate.md#sentinels_disagree"));
  EXPECT_TRUE(Has(html, "docs/gate.md#multiple_primaries"));
  EXPECT_TRUE(Has(html, "<span class=\"tag bad\">differs</span>"));
}

TEST(PageTest, SentinelNamingAnUnknownNodeAndAnUnreachableSentinel) {
  GroupSnapshot g = Healthy();
  g.views[1].primary = "10.9.9.9:6379";
  g.views[2].reachable = false;
  model::Snapshot s = SnapshotOfAssessed(g);
  s.sentinels[2].up = false;
  s.sentinels[2].error =
      model::PollError{"sentinel", "timeout", "no reply in 1s"};
  s.sentinels[0].tilt = true;
  s.sentinels[0].tilt_since_seconds = 12;

  const std::string html = GroupPage(s, "g");
  EXPECT_TRUE(
      Has(html, "<g class=\"node ghost\" data-node=\"10.9.9.9:6379\">"));
  EXPECT_TRUE(Has(
      html, "<g class=\"sentinel differ\" data-sentinel=\"10.0.1.2:26379\">"));
  EXPECT_TRUE(Has(
      html, "<g class=\"sentinel down\" data-sentinel=\"10.0.1.3:26379\">"));
  EXPECT_TRUE(Has(html, ">unreachable \u00b7 timeout</text>"));
  EXPECT_TRUE(Has(html, ">SENTINEL \u00b7 TILT</text>"));
  // An unreachable Sentinel draws no line.
  EXPECT_EQ(Occurrences(html, "<line class=\"names"), 2u);

  const std::string fleet = Fleet(s);
  EXPECT_TRUE(
      Has(fleet, "<tr class=\"up tilt\" data-sentinel=\"10.0.1.1:26379\">"));
  EXPECT_TRUE(
      Has(fleet, "<tr class=\"down\" data-sentinel=\"10.0.1.3:26379\">"));
  EXPECT_TRUE(Has(fleet, "timeout: no reply in 1s"));
  EXPECT_TRUE(Has(fleet, "2/3 reachable"));
}

TEST(PageTest, HostileNamesRenderAsText) {
  const std::string name = "<script>alert(1)</script>\"'&";
  const std::string sentinel = "\"><img src=x onerror=alert(2)>:26379";
  const std::string version = "</text><script>alert(3)</script>";
  GroupSnapshot g = Healthy();
  g.name = name;
  g.views[0].sentinel = sentinel;
  g.views[0].ckquorum_message = "<b>bold</b>";
  Node(g, kR1)->version = version;
  Node(g, kR2)->error =
      model::PollError{"node", "<i>", "<svg onload=alert(5)>"};
  Node(g, kR2)->up = false;
  model::Snapshot s = SnapshotOfAssessed(g);
  s.sentinels[0].version = version;
  s.recent_events.push_back({kNow, sentinel, name, "+sdown",
                             "master <script>alert(4)</script> 10.0.0.1 6379"});

  const std::string esc_name =
      "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;";
  const std::string esc_sentinel =
      "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;:26379";
  for (const std::string& html : {Fleet(s), GroupPage(s, name)}) {
    EXPECT_TRUE(Lacks(html, "<script"));
    EXPECT_TRUE(Lacks(html, "<img"));
    EXPECT_TRUE(Lacks(html, "<b>"));
    EXPECT_TRUE(Lacks(html, "<i>"));
    EXPECT_TRUE(Lacks(html, name));
    EXPECT_TRUE(Lacks(html, sentinel));
    EXPECT_TRUE(Has(html, esc_name));
    EXPECT_TRUE(Has(html, esc_sentinel));
  }
  const std::string fleet = Fleet(s);
  EXPECT_TRUE(Has(fleet, "data-group=\"" + esc_name + "\""));
  EXPECT_TRUE(Has(
      fleet,
      "<a "
      "href=\"group?name=%3Cscript%3Ealert%281%29%3C%2Fscript%3E%22%27%26\">" +
          esc_name + "</a>"));
  EXPECT_TRUE(Has(fleet, "data-sentinel=\"" + esc_sentinel + "\""));
  EXPECT_TRUE(Has(fleet, "&lt;/text&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));

  const std::string html = GroupPage(s, name);
  EXPECT_TRUE(Has(html, "<title>" + esc_name));
  EXPECT_TRUE(Has(html, "aria-label=\"Topology of " + esc_name + "\""));
  EXPECT_TRUE(Has(
      html, "<g class=\"sentinel\" data-sentinel=\"" + esc_sentinel + "\">"));
  EXPECT_TRUE(Has(html, "&lt;svg onload=alert(5)&gt;"));
  EXPECT_TRUE(Lacks(html, "<svg onload"));
  EXPECT_TRUE(
      Has(html, "master &lt;script&gt;alert(4)&lt;/script&gt; 10.0.0.1 6379"));
  EXPECT_TRUE(Has(html, "&lt;b&gt;bold&lt;/b&gt;"));

  // The 404 page quotes the requested name as text too.
  Response r =
      HandleGroupPage(Get("/group", "name=%3Cscript%3Ealert(9)%3C%2Fscript%3E"),
                      s, kOptions, kLater);
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(Lacks(r.body, "<script"));
  EXPECT_TRUE(Has(r.body, "&lt;script&gt;alert(9)&lt;/script&gt;"));
}

TEST(PageTest, HandlersSetHeadersAndStatus) {
  const model::Snapshot s = SnapshotOfAssessed(Healthy());
  Response fleet = HandleFleetPage(Get("/"), s, kOptions, kLater);
  EXPECT_EQ(fleet.status, 200);
  EXPECT_EQ(fleet.content_type, "text/html; charset=utf-8");
  ASSERT_NE(Header(fleet, "Content-Security-Policy"), nullptr);
  EXPECT_EQ(*Header(fleet, "Content-Security-Policy"),
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:");

  Response group =
      HandleGroupPage(Get("/group", "name=g"), s, kOptions, kLater);
  EXPECT_EQ(group.status, 200);
  EXPECT_NE(Header(group, "Content-Security-Policy"), nullptr);
  EXPECT_TRUE(Has(group.body, "<svg class=\"topology\""));

  Response unknown =
      HandleGroupPage(Get("/group", "name=nope"), s, kOptions, kLater);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(Header(unknown, "Content-Security-Policy"), nullptr);
  EXPECT_TRUE(Has(unknown.body, "Unknown group"));
  EXPECT_TRUE(Has(unknown.body, "<code>nope</code>"));

  EXPECT_EQ(HandleGroupPage(Get("/group"), s, kOptions, kLater).status, 400);
  Request post = Get("/");
  post.method = "POST";
  EXPECT_EQ(HandleFleetPage(post, s, kOptions, kLater).status, 405);
  EXPECT_FALSE(RenderGroupPage(s, "nope", kOptions, kLater).has_value());
}

TEST(PageTest, WaitingForTheFirstPoll) {
  model::Snapshot s;
  const std::string html = Fleet(s);
  EXPECT_TRUE(Has(html, "Waiting for the first poll"));
  EXPECT_TRUE(Has(html, "waiting for the first poll"));
  EXPECT_TRUE(Has(html, "No Sentinel known yet."));
  Response r = HandleGroupPage(Get("/group", "name=g"), s, kOptions, kLater);
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(Has(r.body, "has not completed its first poll"));
}

TEST(PageTest, WorstGroupsFirst) {
  GroupSnapshot healthy = Assessed(Healthy());
  healthy.name = "a-healthy";
  GroupSnapshot split = Healthy();
  split.name = "z-split";
  split.views[2].primary = kR1;
  split = Assessed(split);
  model::Snapshot s = SnapshotOf(healthy);
  s.groups[split.name] = split;
  const std::string html = Fleet(s);
  const size_t z = html.find("data-group=\"z-split\"");
  const size_t a = html.find("data-group=\"a-healthy\"");
  ASSERT_NE(z, std::string::npos);
  ASSERT_NE(a, std::string::npos);
  EXPECT_LT(z, a);
  EXPECT_TRUE(Has(html, "<tr class=\"w2\" data-group=\"z-split\">"));
}

TEST(PageTest, StaleAndUnobservedGroup) {
  GroupSnapshot g = Healthy();
  g.observed = false;
  g.last_success_at = kNow - 29500ms;
  const std::string html = Fleet(SnapshotOfAssessed(g));
  EXPECT_TRUE(Has(html, "<span class=\"bad\">30 s ago</span>"));
  EXPECT_TRUE(Has(html, "not observed by the last poll"));
  EXPECT_TRUE(Has(html, "<code>stale_observation</code>"));
}

TEST(PageTest, EventsNewestFirst) {
  GroupSnapshot g = Healthy();
  g.history.failovers = 1;
  g.history.last_failover_at = kNow - 5s;
  g.history.nodes[kR2].restarts = 2;
  g.history.nodes[kR2].last_restart_at = kNow - 20s;
  g.history.nodes[kR1].wipes = 1;
  g.history.nodes[kR1].last_wipe_at = kNow - 15s;
  g.history.nodes[kR1].keys_before_wipe = 2000;
  model::Snapshot s = SnapshotOfAssessed(g);
  s.recent_events = {
      {kNow - 30s, "10.0.1.1:26379", "g", "+sdown", "master g 10.0.0.1 6379"},
      {kNow - 25s, "10.0.1.1:26379", "other", "+odown",
       "master other 10.0.0.9 6379"},
      {kNow - 12s, "10.0.1.2:26379", "", "+tilt", "#tilt mode entered"},
      {kNow - 10s, "10.0.1.2:26379", "g", "+switch-master",
       "g 10.0.0.1 6379 10.0.0.2 6379"},
      {kNow - 8s, "10.7.7.7:26379", "", "-tilt", "not one of ours"},
  };
  const std::string html = GroupPage(s, "g");
  const std::vector<std::string> order = {"<tr class=\"event failover\">",
                                          ">+switch-master<",
                                          ">+tilt<",
                                          ">dataset wiped<",
                                          ">restart<",
                                          ">+sdown<"};
  size_t last = 0;
  for (const auto& needle : order) {
    const size_t at = html.find(needle);
    ASSERT_NE(at, std::string::npos) << needle;
    EXPECT_GT(at, last) << needle;
    last = at;
  }
  EXPECT_TRUE(Has(html, "it held 2,000 keys"));
  EXPECT_TRUE(Lacks(html, "+odown"));
  EXPECT_TRUE(Lacks(html, "not one of ours"));
  EXPECT_TRUE(Has(html, "<span class=\"tag bad\">1 wiped</span>"));
  EXPECT_TRUE(Has(html, ">REPLICA \u00b7 WIPED</text>"));
}

TEST(PageTest, HundredGroupsEachOnce) {
  model::Snapshot s = SnapshotOfAssessed(Healthy());
  s.groups.clear();
  for (int i = 0; i < 100; ++i) {
    GroupSnapshot g = Assessed(Healthy());
    g.name = "group-" + std::to_string(i);
    s.groups[g.name] = std::move(g);
  }
  const std::string html = Fleet(s);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(
        Occurrences(html, "data-group=\"group-" + std::to_string(i) + "\""), 1u)
        << i;
  }
  EXPECT_TRUE(Has(html, "100 / 100"));  // failover ready
  // Linear: one row costs about the same as any other.
  model::Snapshot ten = s;
  while (ten.groups.size() > 10) ten.groups.erase(std::prev(ten.groups.end()));
  EXPECT_LT(html.size(), Fleet(ten).size() * 12);
}

TEST(PageTest, UrlEncodeComponent) {
  EXPECT_EQ(UrlEncodeComponent("my-master_1.x~"), "my-master_1.x~");
  EXPECT_EQ(UrlEncodeComponent("a b/&?=#\"<"), "a%20b%2F%26%3F%3D%23%22%3C");
  EXPECT_EQ(UrlEncodeComponent("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(UrlDecode(UrlEncodeComponent("x y+z%")), "x y+z%");
}

}  // namespace
}  // namespace redis_ha::http
