// The core exporter against a real lab: discovery from one seed, the /metrics contract,
// failures of single targets, a black-hole target, a Sentinel-driven failover, HTTP,
// signals, config errors and secrets.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "lab/lab.h"
#include "redis/resolver.h"
#include "support/exporter_process.h"
#include "support/fake_server.h"
#include "support/metrics_text.h"
#include "support/resp_server.h"
#include "support/test_util.h"

namespace redis_ha {
namespace {

using namespace std::chrono_literals;
using testing::ExporterProcess;
using testing::Sample;
using testing::Select;
using testing::Value;
namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) { return testing::TestDir("it", name); }

bool Is(const std::optional<double>& v, double want) { return v && *v == want; }

// One lab + one exporter shared by the read-only tests of this suite.
class CoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    lab::LabOptions o;
    lab_ = new lab::Lab(o);
    ASSERT_TRUE(lab_->Start().ok());
    ASSERT_TRUE(lab_->WriteKeys("mymaster", 100).ok());
    exporter_ = new ExporterProcess(
        EXPORTER_BINARY,
        {"--sentinel", lab_->sentinels()[0]->address(), "--poll.interval", "250ms"},
        TempDir("core") / "exporter.log");
    Status s = exporter_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
    // Each case may run in a process of its own: start from a complete snapshot.
    ASSERT_TRUE(exporter_->WaitForMetrics(
        [](const std::vector<Sample>& m) {
          if (Select(m, "redis_ha_node_up").size() != 3) return false;
          for (const auto& n : Select(m, "redis_ha_node_up")) {
            if (n.value != 1) return false;
          }
          return Select(m, "redis_ha_sentinel_up").size() == 3;
        },
        15s))
        << exporter_->Log();
  }
  static void TearDownTestSuite() {
    delete exporter_;
    delete lab_;
  }
  static lab::Lab* lab_;
  static ExporterProcess* exporter_;
};
lab::Lab* CoreTest::lab_ = nullptr;
ExporterProcess* CoreTest::exporter_ = nullptr;

TEST_F(CoreTest, DiscoversEverythingFromOneSeedAndServesTheContract) {
  const std::string g = "mymaster";
  const std::string primary = lab_->primary().address();
  std::vector<std::string> replicas, sentinels;
  for (auto* r : lab_->replicas()) replicas.push_back(r->address());
  for (auto* s : lab_->sentinels()) sentinels.push_back(s->address());

  // Everything discovered, and the replicas caught up with the 100 keys.
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) {
        for (const auto& s : sentinels) {
          if (!Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", s}}), 1)) return false;
        }
        for (const auto& n : replicas) {
          if (!Is(Value(m, "redis_ha_node_keys", {{"node", n}}), 100)) return false;
          if (!Is(Value(m, "redis_ha_replica_lag_bytes", {{"node", n}}), 0)) return false;
        }
        return Is(Value(m, "redis_ha_node_keys", {{"node", primary}}), 100);
      },
      15s))
      << exporter_->Log();

  auto m = exporter_->Scrape();
  for (const auto& s : sentinels) {
    std::map<std::string, std::string> l = {{"group", g}, {"sentinel", s}};
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_tilt", {{"sentinel", s}}), 0));
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_ckquorum_ok", l), 1));
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_usable_sentinels", l), 3));
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_quorum", l), 2));
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_known_sentinels", l), 3));
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_known_replicas", l), 2));
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_down_after_seconds", l), 5));
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_failover_timeout_seconds", l), 60));
    EXPECT_TRUE(Value(m, "redis_ha_sentinel_config_epoch", l).has_value());
    for (const char* f : {"s_down", "o_down", "disconnected", "failover_in_progress",
                          "master_reboot"}) {
      auto fl = l;
      fl["flag"] = f;
      EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_primary_flag", fl), 0)) << f;
    }
    auto info = Select(m, "redis_ha_sentinel_primary_info", l);
    ASSERT_EQ(info.size(), 1u);
    EXPECT_EQ(info[0].labels["address"], primary);
  }
  std::map<std::string, std::string> pl = {{"group", g}, {"node", primary}};
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_up", pl), 1));
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_is_primary", pl), 1));
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_loading", pl), 0));
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_connected_replicas", pl), 2));
  EXPECT_GT(*Value(m, "redis_ha_node_uptime_seconds", pl), -1);
  EXPECT_GT(*Value(m, "redis_ha_node_repl_offset_bytes", pl), 0);
  EXPECT_TRUE(Select(m, "redis_ha_replica_link_up", pl).empty()) << "replica-only series";
  for (const auto& n : replicas) {
    std::map<std::string, std::string> l = {{"group", g}, {"node", n}};
    EXPECT_TRUE(Is(Value(m, "redis_ha_node_is_primary", l), 0));
    EXPECT_TRUE(Is(Value(m, "redis_ha_replica_link_up", l), 1));
    EXPECT_TRUE(Is(Value(m, "redis_ha_replica_sync_in_progress", l), 0));
    EXPECT_TRUE(Is(Value(m, "redis_ha_replica_priority", l), 100));
    EXPECT_EQ(Value(m, "redis_ha_node_repl_offset_bytes", l),
              Value(m, "redis_ha_node_repl_offset_bytes", pl));
  }
  auto info = Select(m, "redis_ha_node_info", pl);
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].labels["server"], "redis");
  EXPECT_FALSE(info[0].labels["version"].empty());
  EXPECT_TRUE(Is(Value(m, "redis_ha_exporter_build_info"), 1) ||
              Select(m, "redis_ha_exporter_build_info").size() == 1);
  EXPECT_GT(*Value(m, "redis_ha_exporter_poll_duration_seconds_count"), 0);
  EXPECT_EQ(Select(m, "redis_ha_exporter_poll_errors_total").size(), 10u);
  EXPECT_GT(*Value(m, "redis_ha_exporter_last_poll_timestamp_seconds", {{"group", g}}), 1e9);
  // One connection per server: 3 data nodes + 3 Sentinels.
  EXPECT_TRUE(Is(Value(m, "redis_ha_exporter_connections"), 6));
}

TEST_F(CoreTest, PromtoolCheckMetricsIsClean) {
  auto r = exporter_->Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.headers["content-type"].find("text/plain"), std::string::npos);
  fs::path f = TempDir("promtool") / "metrics.txt";
  std::ofstream(f) << r.body;
  auto r2 = testing::RunShell("promtool check metrics < " + f.string() + " 2>&1");
  EXPECT_EQ(r2.exit_code, 0) << r2.out;
  EXPECT_EQ(r2.out, "") << r2.out;
  EXPECT_NE(r.body.find("from the background poll"), std::string::npos);
}

TEST_F(CoreTest, EveryMetricItEmitsIsDocumented) {
  std::ifstream in(std::string(SOURCE_DIR) + "/docs/metrics.md");
  std::stringstream doc;
  doc << in.rdbuf();
  ASSERT_FALSE(doc.str().empty());
  auto body = exporter_->Get("/metrics").body;
  std::istringstream lines(body);
  std::string line;
  int families = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("# HELP ", 0) != 0) continue;
    std::string name = line.substr(7, line.find(' ', 7) - 7);
    ++families;
    EXPECT_NE(doc.str().find("`" + name + "`"), std::string::npos)
        << name << " is not in docs/metrics.md";
  }
  EXPECT_GT(families, 50);
}

TEST_F(CoreTest, ApiAndHttpBasics) {
  auto r = exporter_->Get("/api/v1/groups");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_NE(r.body.find("\"name\":\"mymaster\""), std::string::npos);
  EXPECT_NE(r.body.find(lab_->primary().address()), std::string::npos);
  EXPECT_NE(r.body.find("\"sentinel_views\""), std::string::npos);
  EXPECT_EQ(exporter_->Get("/healthz").status, 200);
  EXPECT_EQ(exporter_->Get("/nope").status, 404);
  EXPECT_EQ(http::HttpRequest(exporter_->port(), "DELETE", "/metrics").status, 405);
  EXPECT_EQ(http::HttpRequest(exporter_->port(), "HEAD", "/healthz").status, 200);
  EXPECT_EQ(http::HttpRequest(exporter_->port(), "GET", "/-/reload").status, 405);
  EXPECT_EQ(http::HttpRequest(exporter_->port(), "POST", "/-/reload").status, 200);
  EXPECT_TRUE(lab::WaitFor([&] { return exporter_->Log().find("configuration reloaded") !=
                                        std::string::npos; },
                           5s));
  EXPECT_EQ(exporter_->Get("/healthz").status, 200);
}

// Destructive scenarios get a lab of their own.
class CoreFaultTest : public ::testing::Test {
 protected:
  void StartLab(lab::LabOptions o = {}) {
    lab_ = std::make_unique<lab::Lab>(o);
    ASSERT_TRUE(lab_->Start().ok());
  }
  void StartExporter(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--sentinel", lab_->sentinels()[0]->address(),
                                     "--poll.interval", "250ms", "--poll.timeout", "200ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    exporter_ = std::make_unique<ExporterProcess>(
        EXPORTER_BINARY, args,
        TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name()) /
            "exporter.log");
    Status s = exporter_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  // The exporter seeded with the first Sentinel and a config file whose address map sends
  // `from` (as Sentinels announce it) to `to`; `args` are the other flags.
  void StartMappedExporter(const std::string& name, const std::string& from,
                           const std::string& to, std::vector<std::string> args) {
    fs::path cfg = TempDir(name) / "config.yml";
    std::ofstream(cfg) << "address-map:\n  \"" << from << "\": \"" << to << "\"\n";
    args.insert(args.begin(), {"--config", cfg.string(), "--sentinel",
                               lab_->sentinels()[0]->address()});
    exporter_ =
        std::make_unique<ExporterProcess>(EXPORTER_BINARY, args, TempDir(name) / "exporter.log");
    Status s = exporter_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  void TearDown() override {
    if (HasFailure() && exporter_) std::cerr << "exporter log:\n" << exporter_->Log();
    exporter_.reset();
    lab_.reset();
  }
  bool AllUp(const std::vector<Sample>& m) {
    for (auto* s : lab_->sentinels()) {
      if (!Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", s->address()}}), 1)) return false;
    }
    for (auto* n : lab_->data_nodes()) {
      if (!Is(Value(m, "redis_ha_node_up", {{"node", n->address()}}), 1)) return false;
    }
    return true;
  }
  std::unique_ptr<lab::Lab> lab_;
  std::unique_ptr<ExporterProcess> exporter_;
};

TEST_F(CoreFaultTest, StoppedReplicaIsDownAndNothingElseIs) {
  StartLab();
  StartExporter();
  ASSERT_TRUE(exporter_->WaitForMetrics([&](auto& m) { return AllUp(m); }, 10s));
  lab::Server* victim = lab_->replicas()[0];
  victim->Kill();
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return Is(Value(m, "redis_ha_node_up", {{"node", victim->address()}}), 0); },
      10s));
  auto m = exporter_->Scrape();
  // Its series are still there (NaN), the others are up.
  auto keys = Value(m, "redis_ha_node_keys", {{"node", victim->address()}});
  ASSERT_TRUE(keys.has_value());
  EXPECT_TRUE(std::isnan(*keys));
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_up", {{"node", lab_->primary().address()}}), 1));
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_up", {{"node", lab_->replicas()[1]->address()}}), 1));
  for (auto* s : lab_->sentinels()) {
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", s->address()}}), 1));
  }
  EXPECT_GT(*Value(m, "redis_ha_exporter_poll_errors_total", {{"kind", "node"},
                                                               {"reason", "connect"}}),
            0);
  // It comes back.
  ASSERT_TRUE(victim->Start().ok());
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return Is(Value(m, "redis_ha_node_up", {{"node", victim->address()}}), 1); },
      10s));
}

TEST_F(CoreFaultTest, StoppedSentinelIsDownAndTheRestKeepPolling) {
  StartLab();
  StartExporter();
  ASSERT_TRUE(exporter_->WaitForMetrics([&](auto& m) { return AllUp(m); }, 10s));
  // Stop the seed itself: the exporter must keep polling the Sentinels it discovered.
  lab::Server* seed = lab_->sentinels()[0];
  seed->Kill();
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", seed->address()}}), 0); },
      10s));
  double cycles = *Value(exporter_->Scrape(), "redis_ha_exporter_poll_cycles_total");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return *Value(m, "redis_ha_exporter_poll_cycles_total") > cycles + 2; }, 10s));
  auto m = exporter_->Scrape();
  EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", lab_->sentinels()[1]->address()}}), 1));
  EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", lab_->sentinels()[2]->address()}}), 1));
  // The down Sentinel's group series stay present (NaN), the others keep their values.
  auto q = Value(m, "redis_ha_sentinel_quorum", {{"sentinel", seed->address()}});
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(std::isnan(*q));
  EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_quorum", {{"sentinel", lab_->sentinels()[1]->address()}}), 2));
  for (auto* n : lab_->data_nodes()) {
    EXPECT_TRUE(Is(Value(m, "redis_ha_node_up", {{"node", n->address()}}), 1));
  }
}

TEST_F(CoreFaultTest, BlackHoleTargetDoesNotDelayTheCycleBeyondItsDeadline) {
  StartLab();
  // A peer that accepts connections and never answers, put in place of one replica
  // through the address map.
  testing::FakeServer hole([](int, const std::atomic<bool>& stop) {
    testing::FakeServer::WaitForStop(stop);
  });
  // Interval 1s, timeout 200ms: a cycle must end within its deadline, well before the tick.
  StartMappedExporter("blackhole", lab_->replicas()[0]->address(), hole.address(),
                      {"--poll.interval", "1s", "--poll.timeout", "200ms"});
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        return Is(Value(m, "redis_ha_node_up", {{"node", hole.address()}}), 0) &&
               Is(Value(m, "redis_ha_node_up", {{"node", lab_->primary().address()}}), 1) &&
               *Value(m, "redis_ha_exporter_poll_cycles_total") >= 4;
      },
      15s));
  auto m = exporter_->Scrape();
  EXPECT_GT(*Value(m, "redis_ha_exporter_poll_errors_total", {{"kind", "node"},
                                                               {"reason", "timeout"}}),
            0);
  EXPECT_TRUE(Is(Value(m, "redis_ha_exporter_poll_overruns_total"), 0));
  // Every cycle fits in the 0.5 s bucket: the hole cost at most its 200 ms deadline (times
  // the follow-up rounds a first cycle may need), never the whole interval.
  EXPECT_EQ(Value(m, "redis_ha_exporter_poll_duration_seconds_bucket", {{"le", "0.5"}}),
            Value(m, "redis_ha_exporter_poll_duration_seconds_count"));
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_up", {{"node", lab_->replicas()[1]->address()}}), 1));
}

TEST_F(CoreFaultTest, AServerThatRefusesInfoSectionsGetsAllOfInfoInTheSameCycle) {
  // Redis 7+ and Valkey are asked for INFO's sections by name; a server that refuses them
  // although its last INFO said 7.0 (a downgrade, or a proxy in between) must not show as
  // down for it: the same cycle asks again for all of INFO, and it is not asked for
  // sections again until it restarts. Here a scripted peer stands in for one replica.
  StartLab();
  lab::Server* real = lab_->replicas()[0];
  std::atomic<int> plain{0}, sectioned{0};
  const std::string info =
      "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n"
      "run_id:0123456789abcdef0123456789abcdef01234567\r\nuptime_in_seconds:100\r\n"
      "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:" +
      std::to_string(lab_->primary().port()) +
      "\r\nmaster_link_status:up\r\nslave_repl_offset:10\r\nslave_priority:100\r\n"
      "master_repl_offset:10\r\n# Keyspace\r\n";
  testing::RespServer fake([&](testing::RespServer::Conn& c, const std::vector<std::string>& cmd) {
    if (cmd[0] == "INFO" && cmd.size() > 2) {
      ++sectioned;
      c.Send(testing::resp::Error("ERR syntax error"));  // what Redis 6 says
    } else if (cmd[0] == "INFO") {
      ++plain;
      c.Send(testing::resp::Bulk(info));
    } else if (cmd[0] == "CONFIG" && cmd.size() == 3) {
      c.Send(testing::resp::ConfigGet(cmd[2]));
    } else {
      c.Send(testing::resp::Error("ERR unknown command"));
    }
  });
  StartMappedExporter("sections", real->address(), fake.address(), {"--poll.interval", "250ms"});
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return Is(Value(m, "redis_ha_node_up", {{"node", fake.address()}}), 1); },
      10s));
  const double cycles = *Value(exporter_->Scrape(), "redis_ha_exporter_poll_cycles_total");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return *Value(m, "redis_ha_exporter_poll_cycles_total") >= cycles + 6; },
      10s));
  auto m = exporter_->Scrape();
  EXPECT_EQ(sectioned.load(), 1);  // tried once, after the first INFO said 7.0.15
  EXPECT_GE(plain.load(), 7);
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_up", {{"node", fake.address()}}), 1));
  EXPECT_TRUE(Is(Value(m, "redis_ha_exporter_poll_errors_total",
                       {{"kind", "node"}, {"reason", "reply"}}), 0));
  // The real nodes take sections and are read completely from them.
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_up", {{"node", lab_->primary().address()}}), 1));
  auto keys = Value(m, "redis_ha_node_keys", {{"node", lab_->primary().address()}});
  ASSERT_TRUE(keys.has_value());
  EXPECT_FALSE(std::isnan(*keys));
}

TEST_F(CoreFaultTest, ANodeListedByTwoGroupsIsReportedCompletelyInBoth) {
  // One server behind two groups' addresses (the address map sends a replica of the second
  // group to a replica of the first): it is polled once, and each group's snapshot holds
  // all of it (the first group takes the poll result by move, the second copies it).
  lab::LabOptions o;
  o.groups = 2;
  lab_ = std::make_unique<lab::Lab>(o);
  ASSERT_TRUE(lab_->Start().ok());
  ASSERT_TRUE(lab_->WriteKeys("mymaster", 20).ok());
  const std::string shared = lab_->replicas(0)[0]->address();
  StartMappedExporter("shared-node", lab_->replicas(1)[0]->address(), shared,
                      {"--poll.interval", "250ms"});
  auto both = [&](const std::vector<Sample>& m, const char* name) {
    return std::make_pair(Value(m, name, {{"group", "mymaster"}, {"node", shared}}),
                          Value(m, name, {{"group", "mymaster-2"}, {"node", shared}}));
  };
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        auto [a, b] = both(m, "redis_ha_node_keys");
        return Is(a, 20) && Is(b, 20);
      },
      15s));
  auto m = exporter_->Scrape();
  for (const char* name : {"redis_ha_node_up", "redis_ha_node_uptime_seconds",
                           "redis_ha_node_repl_offset_bytes"}) {
    auto [a, b] = both(m, name);
    ASSERT_TRUE(a.has_value() && b.has_value()) << name;
    EXPECT_FALSE(std::isnan(*a)) << name;
    EXPECT_EQ(*a, *b) << name;
  }
  // The strings too (a moved-from NodeState would have lost its version).
  std::map<std::string, std::string> version_by_group;
  for (const auto& s : Select(m, "redis_ha_node_info")) {
    if (s.labels.count("node") && s.labels.at("node") == shared) {
      version_by_group[s.labels.at("group")] = s.labels.at("version");
    }
  }
  ASSERT_EQ(version_by_group.size(), 2u);
  EXPECT_FALSE(version_by_group["mymaster"].empty());
  EXPECT_EQ(version_by_group["mymaster"], version_by_group["mymaster-2"]);
}

TEST_F(CoreFaultTest, HostNamesAreResolvedForSeedsAndMappedNodes) {
  // The resolver runs beside the poll (a hung DNS server delays only the named targets;
  // tests/unit/pool_test.cc holds one hung): here, that names work end to end.
  auto lo = redis::Resolver::SystemResolve("localhost");
  if (!lo || lo->storage.ss_family != AF_INET) {
    GTEST_SKIP() << "localhost does not resolve to an IPv4 address first here; the lab "
                    "listens on 127.0.0.1 only";
  }
  StartLab();
  lab::Server* mapped = lab_->replicas()[0];
  const std::string by_name = "localhost:" + std::to_string(mapped->port());
  fs::path cfg = TempDir("hostnames") / "config.yml";
  std::ofstream(cfg) << "address-map:\n  \"" << mapped->address() << "\": \"" << by_name
                     << "\"\n";
  exporter_ = std::make_unique<ExporterProcess>(
      EXPORTER_BINARY,
      std::vector<std::string>{"--config", cfg.string(), "--sentinel",
                               "localhost:" + std::to_string(lab_->sentinels()[0]->port()),
                               "--poll.interval", "250ms"},
      TempDir("hostnames") / "exporter.log");
  ASSERT_TRUE(exporter_->Start().ok());
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        return Is(Value(m, "redis_ha_node_up", {{"node", by_name}}), 1) &&
               Is(Value(m, "redis_ha_node_up", {{"node", lab_->primary().address()}}), 1) &&
               Is(Value(m, "redis_ha_sentinel_up",
                        {{"sentinel", lab_->sentinels()[1]->address()}}), 1);
      },
      15s));
  auto m = exporter_->Scrape();
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_keys", {{"node", by_name}}),
                 *Value(m, "redis_ha_node_keys", {{"node", lab_->primary().address()}})));
}

TEST_F(CoreFaultTest, SentinelFailoverIsFollowed) {
  StartLab();
  StartExporter();
  ASSERT_TRUE(exporter_->WaitForMetrics([&](auto& m) { return AllUp(m); }, 10s));
  const std::string old_primary = lab_->primary().address();
  auto r = lab_->SentinelCommand({"SENTINEL", "FAILOVER", "mymaster"});
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->is_error()) << r->str;
  ASSERT_TRUE(lab_->WaitForFailover("mymaster", old_primary, 30s).ok());
  const std::string new_primary = lab_->CurrentPrimary("mymaster");
  ASSERT_NE(new_primary, old_primary);
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        for (auto& s : Select(m, "redis_ha_sentinel_primary_info")) {
          if (s.labels["address"] != new_primary) return false;
        }
        return Is(Value(m, "redis_ha_node_is_primary", {{"node", new_primary}}), 1) &&
               Is(Value(m, "redis_ha_node_is_primary", {{"node", old_primary}}), 0) &&
               Is(Value(m, "redis_ha_replica_link_up", {{"node", old_primary}}), 1);
      },
      30s));
  auto m = exporter_->Scrape();
  // The new primary no longer has replica-only series; the old one has them.
  EXPECT_TRUE(Select(m, "redis_ha_replica_link_up", {{"node", new_primary}}).empty());
}

TEST_F(CoreFaultTest, WrongPasswordIsAnAuthErrorAndNeverShown) {
  lab::LabOptions o;
  o.password = "right-secret-1";
  StartLab(o);
  setenv("REDIS_HA_REDIS_PASSWORD", "wrong-secret-2", 1);
  StartExporter();
  unsetenv("REDIS_HA_REDIS_PASSWORD");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        auto v = Value(m, "redis_ha_exporter_poll_errors_total", {{"kind", "node"},
                                                                   {"reason", "auth"}});
        return v && *v >= 3;
      },
      10s));
  auto m = exporter_->Scrape();
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_up", {{"node", lab_->primary().address()}}), 0));
  EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", lab_->sentinels()[0]->address()}}), 1));
  for (const std::string& body : {exporter_->Get("/metrics").body,
                                  exporter_->Get("/api/v1/groups").body, exporter_->Log()}) {
    EXPECT_EQ(body.find("wrong-secret-2"), std::string::npos);
    EXPECT_EQ(body.find("right-secret-1"), std::string::npos);
  }
}

TEST_F(CoreFaultTest, RightPasswordFromAFileWorks) {
  lab::LabOptions o;
  o.password = "right-secret-3";
  StartLab(o);
  fs::path pw = TempDir("pwfile") / "pw";
  std::ofstream(pw) << "right-secret-3\n";
  StartExporter({"--redis.password-file", pw.string()});
  ASSERT_TRUE(exporter_->WaitForMetrics([&](auto& m) { return AllUp(m); }, 10s));
  EXPECT_EQ(exporter_->Get("/metrics").body.find("right-secret-3"), std::string::npos);
}

TEST_F(CoreFaultTest, TheGroupsListRestrictsWhatIsWatched) {
  lab::LabOptions o;
  o.groups = 2;
  StartLab(o);
  fs::path cfg = TempDir("groups") / "config.yml";
  std::ofstream(cfg) << "groups:\n  - " << lab_->group_name(1) << "\n";
  StartExporter({"--config", cfg.string()});
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        return Is(Value(m, "redis_ha_node_up", {{"node", lab_->primary(1).address()}}), 1);
      },
      10s));
  auto m = exporter_->Scrape();
  EXPECT_TRUE(Select(m, "redis_ha_node_up", {{"group", lab_->group_name(0)}}).empty());
  EXPECT_TRUE(Select(m, "redis_ha_split_brain_risk", {{"group", lab_->group_name(0)}}).empty());
  EXPECT_EQ(Select(m, "redis_ha_node_up", {{"group", lab_->group_name(1)}}).size(), 3u);
  // Only the watched group's data nodes are polled: 3 nodes + 3 Sentinels.
  EXPECT_TRUE(Is(Value(m, "redis_ha_exporter_connections"), 6));
}

TEST(ExporterProcessTest, SigtermStopsPromptly) {
  ExporterProcess e(EXPORTER_BINARY, {"--sentinel", "127.0.0.1:1"}, TempDir("sigterm") / "log");
  ASSERT_TRUE(e.Start().ok());
  // Unreachable seed: serving up=0, not fatal.
  ASSERT_TRUE(e.WaitForMetrics(
      [](auto& m) { return Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", "127.0.0.1:1"}}), 0); },
      5s));
  ASSERT_TRUE(e.process().Signal(SIGTERM));
  ASSERT_TRUE(e.process().Wait(3s));
  EXPECT_EQ(e.process().exit_code(), 0);
}

TEST(ExporterProcessTest, BadConfigExitsTwoNamingTheField) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  } cases[] = {
      {{"--poll.interval", "soon", "--sentinel", "a:1"}, "--poll.interval"},
      {{"--nope"}, "--nope"},
      {{}, "--sentinel"},
      {{"--sentinel", "a:1", "--redis.password", "x"}, "not accepted"},
  };
  for (const auto& c : cases) {
    std::string cmd = std::string(EXPORTER_BINARY);
    for (const auto& a : c.args) cmd += " '" + a + "'";
    auto run = testing::RunShell(cmd + " 2>&1");
    EXPECT_EQ(run.exit_code, 2) << cmd;
    EXPECT_NE(run.out.find(c.want), std::string::npos) << run.out;
  }
  auto help = testing::RunShell(std::string(EXPORTER_BINARY) + " --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--poll.interval"), std::string::npos);
}

}  // namespace
}  // namespace redis_ha
