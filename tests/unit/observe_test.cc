// poll/observe: which INFO a data node is asked, and that the sections asked of Redis 7+
// and Valkey hold everything the exporter reads from a whole INFO; what EventOverlay lays
// over a Sentinel's view from its events.
#include "poll/observe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "support/group_fixture.h"

#ifndef TESTDATA_DIR
#error "TESTDATA_DIR must name tests/testdata"
#endif

namespace redis_ha::poll {
namespace {

std::string Load(const char* name) {
  std::ifstream in(std::filesystem::path(TESTDATA_DIR) / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << name;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// What `INFO <sections...>` answers: the whole INFO's text with only those sections left.
std::string KeepSections(const std::string& info, const std::set<std::string>& sections) {
  std::string out;
  bool keep = false;
  std::istringstream in(info);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# ")) {
      std::string name(line, 2);
      if (!name.empty() && name.back() == '\r') name.pop_back();
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      keep = sections.count(name) > 0;
    }
    if (keep) {
      out.append(line);
      out.push_back('\n');
    }
  }
  return out;
}

TEST(NodeInfoCommandTest, AllOfInfoOrTheSectionsThatAreRead) {
  EXPECT_EQ(NodeInfoCommand(false), std::vector<std::string>{"INFO"});
  EXPECT_EQ(NodeInfoCommand(true),
            (std::vector<std::string>{"INFO", "server", "persistence", "stats", "replication",
                                      "keyspace"}));
}

TEST(NodeInfoCommandTest, SectionsAreAskedOfRedis7AndLaterAndOfValkey) {
  auto takes = [](const char* server, const char* version) {
    model::NodeState n;
    n.server.assign(server);
    n.version.assign(version);
    return TakesInfoSections(n);
  };
  EXPECT_TRUE(takes("redis", "7.0.15"));
  EXPECT_TRUE(takes("redis", "7.4.1"));
  EXPECT_TRUE(takes("redis", "10.0.0"));
  EXPECT_TRUE(takes("valkey", "8.0.1"));
  EXPECT_TRUE(takes("valkey", ""));
  EXPECT_FALSE(takes("redis", "6.2.14"));
  EXPECT_FALSE(takes("redis", "5.0.7"));
  EXPECT_FALSE(takes("redis", ""));         // never answered an INFO
  EXPECT_FALSE(takes("redis", "unknown"));  // not a version
}

TEST(NodeInfoCommandTest, TheSectionsHoldEverythingReadFromAWholeInfo) {
  // The same node read from its whole INFO and from the sections the exporter asks for
  // (taken out of that same text) must come out the same, field for field.
  const std::vector<std::string> asked = NodeInfoCommand(true);
  const std::set<std::string> sections(asked.begin() + 1, asked.end());
  for (const char* capture :
       {"redis7_primary_info.txt", "redis7_replica_info.txt", "redis7_replica_loading_info.txt",
        "redis7_replica_link_down_info.txt", "redis7_primary_wait_bgsave_info.txt",
        "redis7_replica_priority0_unannounced_info.txt"}) {
    SCOPED_TRACE(capture);
    const std::string whole = Load(capture);
    const std::string part = KeepSections(whole, sections);
    ASSERT_LT(part.size(), whole.size());
    model::NodeState from_whole, from_part;
    ASSERT_TRUE(ObserveNodeInfo(redis::Reply::String(whole), from_whole).ok());
    ASSERT_TRUE(ObserveNodeInfo(redis::Reply::String(part), from_part).ok());
    EXPECT_EQ(from_whole, from_part);
    EXPECT_FALSE(from_part.version.empty());
    EXPECT_TRUE(from_part.keys.has_value());
  }
}


// EventOverlay: what a Sentinel's events said, laid over its view until a reply asked for
// after them shows it.

parse::SentinelEvent Event(const std::string& channel, const std::string& payload) {
  auto ev = parse::ParseSentinelEvent(channel, payload);
  EXPECT_TRUE(ev.has_value()) << channel << " " << payload;
  return ev.value_or(parse::SentinelEvent{});
}

// A reachable Sentinel's view of g (the assess tests' healthy one): primary 10.0.0.1:6379,
// dialled through the address map as a:1; replicas 10.0.0.2:6379 and 10.0.0.3:6379.
model::SentinelView HealthyView() {
  model::SentinelView v = testing::fixture::View("s:26379");
  v.primary_announced = "10.0.0.1:6379";
  v.primary = "a:1";
  v.primary_run_id = "run-a";
  v.raw_flags = {"master"};
  v.config_epoch = 3;
  v.last_ok_ping_reply_ms = 200;
  return v;
}

Config MappedConfig() {
  Config c;
  c.address_map["10.0.0.1:6379"] = "a:1";
  c.address_map["10.0.0.2:6379"] = "b:1";
  return c;
}

using Clock = std::chrono::steady_clock;
const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

TEST(EventOverlayTest, KeepsOnlyWhatEventsSayOfTheGroupsPrimary) {
  for (const auto& [channel, payload] : std::vector<std::pair<std::string, std::string>>{
           {"+switch-master", "g 10.0.0.1 6379 10.0.0.2 6379"},
           {"+sdown", "master g 10.0.0.1 6379"},
           {"-sdown", "master g 10.0.0.1 6379"},
           {"+odown", "master g 10.0.0.1 6379 #quorum 2/2"},
           {"-odown", "master g 10.0.0.1 6379"},
           {"+try-failover", "master g 10.0.0.1 6379"},
           {"+failover-end", "master g 10.0.0.1 6379"},
           {"+failover-end-for-timeout", "master g 10.0.0.1 6379"},
           {"-failover-abort-not-elected", "master g 10.0.0.1 6379"},
           {"-failover-abort-no-good-slave", "master g 10.0.0.1 6379"}}) {
    EXPECT_TRUE(EventOverlay::Keeps(Event(channel, payload))) << channel;
  }
  for (const auto& [channel, payload] : std::vector<std::pair<std::string, std::string>>{
           {"+sdown", "slave 10.0.0.2:6379 10.0.0.2 6379 @ g 10.0.0.1 6379"},
           {"+sdown", "sentinel abc 10.0.0.9 26379 @ g 10.0.0.1 6379"},
           {"+tilt", "#tilt mode entered"},
           {"+slave", "slave 10.0.0.2:6379 10.0.0.2 6379 @ g 10.0.0.1 6379"},
           {"+failover-state-reconf-slaves", "master g 10.0.0.1 6379"},
           {"+switch-master", "garbage"},
           {"+sdown", "garbage"}}) {
    EXPECT_FALSE(EventOverlay::Keeps(Event(channel, payload))) << channel << " " << payload;
    EventOverlay o;
    EXPECT_FALSE(o.Record(Event(channel, payload), kT0));
    EXPECT_TRUE(o.empty());
  }
}

TEST(EventOverlayTest, ASwitchNamesTheNewPrimaryAndResetsWhatSentinelResets) {
  const Config config = MappedConfig();
  model::SentinelView v = HealthyView();
  v.flags[static_cast<size_t>(model::PrimaryFlag::kSDown)] = true;
  v.flags[static_cast<size_t>(model::PrimaryFlag::kODown)] = true;
  v.flags[static_cast<size_t>(model::PrimaryFlag::kFailoverInProgress)] = true;
  v.raw_flags = {"master", "s_down", "o_down", "failover_in_progress"};
  v.failover_state = "wait_promotion";
  v.s_down_time_ms = 5000;
  EventOverlay o;
  ASSERT_TRUE(o.Record(Event("+switch-master", "g 10.0.0.1 6379 10.0.0.2 6379"), kT0));
  ASSERT_TRUE(o.ApplyTo(v, config));
  EXPECT_EQ(v.primary_announced, "10.0.0.2:6379");
  EXPECT_EQ(v.primary, "b:1");  // through the address map
  EXPECT_EQ(v.primary_run_id, "");
  EXPECT_EQ(v.flags, (std::array<bool, 5>{}));
  EXPECT_EQ(v.raw_flags, std::vector<std::string>{"master"});
  EXPECT_EQ(v.failover_state, "");
  EXPECT_FALSE(v.config_epoch.has_value());  // the event does not say the new epoch
  EXPECT_FALSE(v.last_ok_ping_reply_ms.has_value());
  EXPECT_EQ(v.role_reported_time_ms, 0);  // Sentinel restarts it at the switch
  EXPECT_FALSE(v.s_down_time_ms.has_value());
  EXPECT_EQ(v.quorum, 2);  // configuration stays
  // The new primary is no longer a replica; the old one is one. Sentinel makes a new
  // instance of every replica and connects again: none is connected yet, so none would be
  // promoted.
  ASSERT_EQ(v.replicas.size(), 2u);
  EXPECT_EQ(v.replicas[0].announced, "10.0.0.3:6379");
  EXPECT_TRUE(v.replicas[0].disconnected);
  EXPECT_FALSE(v.replicas[0].link_ok);
  EXPECT_EQ(v.replicas[1].announced, "10.0.0.1:6379");
  EXPECT_EQ(v.replicas[1].address, "a:1");
  EXPECT_TRUE(v.replicas[1].disconnected);
  // Laid over again (the next snapshot), or over a reply that already shows it: no change,
  // and what that reply said of the new primary stays.
  const model::SentinelView once = v;
  EXPECT_FALSE(o.ApplyTo(v, config));
  EXPECT_EQ(v.replicas.size(), once.replicas.size());
  model::SentinelView newer = HealthyView();
  newer.primary_announced = "10.0.0.2:6379";
  newer.primary = "b:1";
  newer.primary_run_id = "run-b";
  newer.config_epoch = 4;
  EXPECT_FALSE(o.ApplyTo(newer, config));
  EXPECT_EQ(newer.primary_run_id, "run-b");
  EXPECT_EQ(newer.config_epoch, 4);
}

TEST(EventOverlayTest, DownFlagsFollowTheirEventsForThePrimaryAtThatAddress) {
  const Config config = MappedConfig();
  EventOverlay o;
  ASSERT_TRUE(o.Record(Event("+sdown", "master g 10.0.0.1 6379"), kT0));
  ASSERT_TRUE(o.Record(Event("+odown", "master g 10.0.0.1 6379 #quorum 2/2"), kT0));
  model::SentinelView v = HealthyView();
  ASSERT_TRUE(o.ApplyTo(v, config));
  EXPECT_TRUE(v.flag(model::PrimaryFlag::kSDown));
  EXPECT_TRUE(v.flag(model::PrimaryFlag::kODown));
  EXPECT_EQ(v.raw_flags, (std::vector<std::string>{"master", "s_down", "o_down"}));
  EXPECT_FALSE(o.ApplyTo(v, config));
  // A view whose primary is elsewhere (a reply after a failover) is not touched.
  model::SentinelView other = HealthyView();
  other.primary_announced = "10.0.0.2:6379";
  EXPECT_FALSE(o.ApplyTo(other, config));
  EXPECT_FALSE(other.flag(model::PrimaryFlag::kSDown));
  // Ended: the flags clear again, also on a view that still has them from an older reply.
  ASSERT_TRUE(o.Record(Event("-odown", "master g 10.0.0.1 6379"), kT0));
  ASSERT_TRUE(o.Record(Event("-sdown", "master g 10.0.0.1 6379"), kT0));
  ASSERT_TRUE(o.ApplyTo(v, config));
  EXPECT_FALSE(v.flag(model::PrimaryFlag::kSDown));
  EXPECT_FALSE(v.flag(model::PrimaryFlag::kODown));
  EXPECT_EQ(v.raw_flags, std::vector<std::string>{"master"});
}

TEST(EventOverlayTest, AFailoverInProgressEndsWithItsEndOrTheSwitch) {
  const Config config = MappedConfig();
  EventOverlay o;
  ASSERT_TRUE(o.Record(Event("+try-failover", "master g 10.0.0.1 6379"), kT0));
  model::SentinelView v = HealthyView();
  ASSERT_TRUE(o.ApplyTo(v, config));
  EXPECT_TRUE(v.flag(model::PrimaryFlag::kFailoverInProgress));
  ASSERT_TRUE(o.Record(Event("-failover-abort-not-elected", "master g 10.0.0.1 6379"), kT0));
  v.failover_state = "wait_start";  // as an older reply would have it
  ASSERT_TRUE(o.ApplyTo(v, config));
  EXPECT_FALSE(v.flag(model::PrimaryFlag::kFailoverInProgress));
  EXPECT_EQ(v.failover_state, "");
  // Tried again, then switched: the switch ends it; a new failover after the switch counts.
  ASSERT_TRUE(o.Record(Event("+try-failover", "master g 10.0.0.1 6379"), kT0));
  ASSERT_TRUE(o.Record(Event("+switch-master", "g 10.0.0.1 6379 10.0.0.2 6379"), kT0));
  model::SentinelView w = HealthyView();
  ASSERT_TRUE(o.ApplyTo(w, config));
  EXPECT_FALSE(w.flag(model::PrimaryFlag::kFailoverInProgress));
  ASSERT_TRUE(o.Record(Event("+try-failover", "master g 10.0.0.2 6379"), kT0));
  ASSERT_TRUE(o.ApplyTo(w, config));
  EXPECT_TRUE(w.flag(model::PrimaryFlag::kFailoverInProgress));
  EXPECT_EQ(w.primary, "b:1");
}

TEST(EventOverlayTest, PruneForgetsWhatAReplyAskedForLaterShows) {
  const Config config = MappedConfig();
  EventOverlay o;
  ASSERT_TRUE(o.Record(Event("+sdown", "master g 10.0.0.1 6379"), kT0));
  ASSERT_TRUE(o.Record(Event("+switch-master", "g 10.0.0.1 6379 10.0.0.2 6379"),
                       kT0 + std::chrono::milliseconds(10)));
  // A request sent before both: the reply may lack either; the switch is kept (the s_down
  // of the old primary went with it).
  o.Prune(kT0 - std::chrono::milliseconds(1));
  EXPECT_FALSE(o.empty());
  model::SentinelView v = HealthyView();
  ASSERT_TRUE(o.ApplyTo(v, config));
  EXPECT_EQ(v.primary, "b:1");
  EXPECT_FALSE(v.flag(model::PrimaryFlag::kSDown));
  // The new primary goes down at +20. A request sent at +10 is answered after the switch
  // (the reply names b:1) but may lack the s_down: only that is laid over it.
  ASSERT_TRUE(o.Record(Event("+sdown", "master g 10.0.0.2 6379"),
                       kT0 + std::chrono::milliseconds(20)));
  o.Prune(kT0 + std::chrono::milliseconds(10));
  EXPECT_FALSE(o.empty());
  model::SentinelView w = HealthyView();
  w.primary_announced = "10.0.0.2:6379";
  w.primary = "b:1";
  w.primary_run_id = "run-b";
  ASSERT_TRUE(o.ApplyTo(w, config));
  EXPECT_EQ(w.primary_run_id, "run-b");
  EXPECT_TRUE(w.flag(model::PrimaryFlag::kSDown));
  // Once pruned, the switch is no longer laid over a view that names the old primary: the
  // poller never uses an answer asked for before one it pruned with (it takes the latest
  // snapshot's view instead; see Poller::AssembleGroup).
  model::SentinelView old = HealthyView();
  EXPECT_FALSE(o.ApplyTo(old, config));
  o.Prune(kT0 + std::chrono::milliseconds(20));
  EXPECT_TRUE(o.empty());
}


TEST(EventOverlayTest, TheSwitchTakesTheOldPrimaryFromTheEvent) {
  // A view two switches old: its primary is c, the event says a -> b.
  const Config config = MappedConfig();
  EventOverlay o;
  ASSERT_TRUE(o.Record(Event("+switch-master", "g 10.0.0.1 6379 10.0.0.2 6379"), kT0));
  model::SentinelView v = HealthyView();
  v.primary_announced = "10.0.0.3:6379";
  v.primary = "10.0.0.3:6379";
  v.replicas.erase(v.replicas.begin() + 1);  // 10.0.0.3 is not its own replica
  ASSERT_TRUE(o.ApplyTo(v, config));
  EXPECT_EQ(v.primary, "b:1");
  ASSERT_EQ(v.replicas.size(), 1u);
  EXPECT_EQ(v.replicas[0].announced, "10.0.0.1:6379");
  EXPECT_EQ(v.replicas[0].address, "a:1");
}

TEST(EventOverlayTest, AResetClearsTheFlagsAndTheFailover) {
  const Config config = MappedConfig();
  EventOverlay o;
  ASSERT_TRUE(o.Record(Event("+sdown", "master g 10.0.0.1 6379"), kT0));
  ASSERT_TRUE(o.Record(Event("+odown", "master g 10.0.0.1 6379 #quorum 2/2"), kT0));
  ASSERT_TRUE(o.Record(Event("+try-failover", "master g 10.0.0.1 6379"), kT0));
  ASSERT_TRUE(o.Record(Event("+reset-master", "master g 10.0.0.1 6379"), kT0));
  model::SentinelView v = HealthyView();
  v.flags[static_cast<size_t>(model::PrimaryFlag::kSDown)] = true;
  v.flags[static_cast<size_t>(model::PrimaryFlag::kODown)] = true;
  v.flags[static_cast<size_t>(model::PrimaryFlag::kFailoverInProgress)] = true;
  v.raw_flags = {"master", "s_down", "o_down", "failover_in_progress"};
  ASSERT_TRUE(o.ApplyTo(v, config));
  EXPECT_EQ(v.flags, (std::array<bool, 5>{}));
  EXPECT_EQ(v.raw_flags, std::vector<std::string>{"master"});
}

TEST(EventOverlayTest, AnUnansweredSentinelKeepsOnlyTheVoteItsSwitchGave) {
  const Config config = MappedConfig();
  EventOverlay o;
  model::SentinelView v;  // a Sentinel that did not answer its last poll
  v.sentinel = "s:26379";
  const auto soon = kT0 + std::chrono::milliseconds(700);
  ASSERT_TRUE(o.Record(Event("+sdown", "master g 10.0.0.1 6379"), kT0));
  EXPECT_FALSE(o.NamePrimary(v, config, soon));
  EXPECT_EQ(v.primary, "");
  ASSERT_TRUE(o.Record(Event("+switch-master", "g 10.0.0.1 6379 10.0.0.2 6379"), kT0));
  ASSERT_TRUE(o.NamePrimary(v, config, soon));
  EXPECT_EQ(v.primary, "b:1");
  EXPECT_EQ(v.primary_announced, "10.0.0.2:6379");
  EXPECT_FALSE(v.reachable);
  EXPECT_EQ(v.flags, (std::array<bool, 5>{}));
  EXPECT_TRUE(v.replicas.empty());
  EXPECT_FALSE(o.NamePrimary(v, config, soon));  // once
  // A Sentinel silent for longer than kUnansweredVote after its switch votes no more.
  model::SentinelView later;
  later.sentinel = "s:26379";
  EXPECT_TRUE(o.NamePrimary(later, config, kT0 + EventOverlay::kUnansweredVote));
  model::SentinelView too_late;
  too_late.sentinel = "s:26379";
  EXPECT_FALSE(
      o.NamePrimary(too_late, config, kT0 + EventOverlay::kUnansweredVote + std::chrono::seconds(1)));
  EXPECT_EQ(too_late.primary, "");
}

}  // namespace
}  // namespace redis_ha::poll
