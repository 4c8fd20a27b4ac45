// The rollout gate against a real lab: the candidate is the replica Sentinel really
// promotes, blockers provoked for real, staleness, HTTP statuses, and `check`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "lab/lab.h"
#include "redis/connection.h"
#include "support/exporter_process.h"
#include "support/metrics_text.h"
#include "support/test_util.h"

namespace redis_ha {
namespace {

using namespace std::chrono_literals;
using testing::ExporterProcess;
using testing::Value;
namespace fs = std::filesystem;

testing::CommandResult Exec(const std::string& cmd) {
  return testing::RunShell(cmd + " 2>/dev/null");
}

bool Has(const std::string& body, const std::string& what) {
  return body.find(what) != std::string::npos;
}

// Streams writes to the group's primary (redis-benchmark, pipelined) while it lives, so
// replicas really lag behind.
class Writer {
 public:
  Writer(lab::Lab& lab, const fs::path& log) {
    auto e = redis::ParseEndpoint(lab.CurrentPrimary("mymaster"));
    auto p = lab::Process::Spawn({"redis-benchmark", "-h", e->host, "-p", std::to_string(e->port),
                                  "-t", "set", "-n", "100000000", "-d", "2000", "-c", "10", "-P",
                                  "10", "-q"},
                                 log);
    if (p.ok()) process_ = std::move(*p);
  }

 private:
  lab::Process process_;
};

class GateTest : public ::testing::Test {
 protected:
  void StartLab(lab::LabOptions o = {}) {
    lab_ = std::make_unique<lab::Lab>(o);
    Status s = lab_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  // This test's directory (for the exporter's log and files).
  const fs::path& Dir() {
    if (dir_.empty()) {
      dir_ = testing::TestDir("gate",
                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    }
    return dir_;
  }
  // The exporter seeded with the first Sentinel, with `args` and nothing else.
  void Launch(std::vector<std::string> args) {
    args.insert(args.begin(), {"--sentinel", lab_->sentinels()[0]->address()});
    exporter_ = std::make_unique<ExporterProcess>(EXPORTER_BINARY, args, Dir() / "exporter.log");
    Status s = exporter_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  void StartExporter(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--poll.interval", "100ms", "--gate.failover-cooldown", "3s"};
    args.insert(args.end(), extra.begin(), extra.end());
    Launch(args);
  }
  void TearDown() override {
    if (HasFailure() && exporter_) std::cerr << "exporter log:\n" << exporter_->Log();
    exporter_.reset();
    lab_.reset();
  }
  http::HttpResult Gate(const std::string& query) { return exporter_->Get("/gate?" + query); }
  bool WaitGate(const std::string& query, const std::function<bool(const http::HttpResult&)>& pred,
                std::chrono::milliseconds deadline) {
    return lab::WaitFor([&] { return pred(Gate(query)); }, deadline, 50ms);
  }
  bool WaitReady(const std::string& query, std::chrono::milliseconds deadline = 15s) {
    return WaitGate(query, [](const auto& r) { return r.status == 200; }, deadline);
  }
  std::string CandidateOf(const std::string& body) {
    auto at = body.find("\"candidate\":{\"node\":\"");
    if (at == std::string::npos) return "";
    at += 21;
    return body.substr(at, body.find('"', at) - at);
  }

  std::unique_ptr<lab::Lab> lab_;
  std::unique_ptr<ExporterProcess> exporter_;
  fs::path dir_;
};

TEST_F(GateTest, HealthyLabIsReadyAndTheCandidateIsWhomSentinelPromotes) {
  StartLab();
  StartExporter();
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  auto r = Gate("group=mymaster&action=failover");
  EXPECT_EQ(r.headers["content-type"], "application/json");
  const std::string candidate = CandidateOf(r.body);
  ASSERT_FALSE(candidate.empty()) << r.body;
  EXPECT_TRUE(Has(r.body, "\"eligible\":true"));
  for (auto* n : lab_->replicas()) {
    EXPECT_EQ(Gate("group=mymaster&action=restart-replica&node=" + n->address()).status, 200);
  }
  for (auto* s : lab_->sentinels()) {
    EXPECT_EQ(Gate("group=mymaster&action=restart-sentinel&node=" + s->address()).status, 200);
  }
  auto m = exporter_->Scrape();
  EXPECT_EQ(Value(m, "redis_ha_rollout_ready", {{"group", "mymaster"}, {"action", "failover"}}), 1);
  EXPECT_EQ(Value(m, "redis_ha_failover_candidate_info", {{"node", candidate}}), 1);

  const std::string old_primary = lab_->primary().address();
  auto f = lab_->SentinelCommand({"SENTINEL", "FAILOVER", "mymaster"});
  ASSERT_TRUE(f.ok() && !f->is_error());
  ASSERT_TRUE(lab_->WaitForFailover("mymaster", old_primary, 30s).ok());
  EXPECT_EQ(lab_->CurrentPrimary("mymaster"), candidate);
}

TEST_F(GateTest, PriorityZeroAndLowerPriorityFollowSentinelsRule) {
  StartLab();
  lab::Server* never = lab_->replicas()[0];
  lab::Server* preferred = lab_->replicas()[1];
  ASSERT_TRUE(never->Command({"CONFIG", "SET", "replica-priority", "0"}).ok());
  ASSERT_TRUE(preferred->Command({"CONFIG", "SET", "replica-priority", "10"}).ok());
  StartExporter();
  // Sentinel refreshes its replicas' INFO every 10 s; wait until its table has the values.
  ASSERT_TRUE(WaitGate(
      "group=mymaster&action=failover",
      [&](const auto& r) { return r.status == 200 && CandidateOf(r.body) == preferred->address(); },
      20s));
  {
    // While writes stream, a zero lag bound makes Sentinel's choice ineligible: no, and
    // no other replica is offered in its place as if Sentinel could be told.
    Writer writer(*lab_, dir_ / "benchmark.log");
    ASSERT_TRUE(WaitGate(
        "group=mymaster&action=failover&max_lag_bytes=0",
        [&](const auto& r) {
          return r.status == 503 && Has(r.body, "no_eligible_replica") &&
                 Has(r.body, "Sentinel would promote " + preferred->address());
        },
        15s));
  }
  const std::string old_primary = lab_->primary().address();
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  auto f = lab_->SentinelCommand({"SENTINEL", "FAILOVER", "mymaster"});
  ASSERT_TRUE(f.ok() && !f->is_error());
  ASSERT_TRUE(lab_->WaitForFailover("mymaster", old_primary, 30s).ok());
  EXPECT_EQ(lab_->CurrentPrimary("mymaster"), preferred->address());
}

TEST_F(GateTest, FailoverInFlightThenRecentThenReadyAgain) {
  StartLab();
  StartExporter();
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  const std::string old_primary = lab_->primary().address();
  auto f = lab_->SentinelCommand({"SENTINEL", "FAILOVER", "mymaster"});
  ASSERT_TRUE(f.ok() && !f->is_error());
  ASSERT_TRUE(WaitGate(
      "group=mymaster&action=failover",
      [](const auto& r) {
        return r.status == 503 &&
               (Has(r.body, "failover_in_progress") || Has(r.body, "recent_failover"));
      },
      15s));
  ASSERT_TRUE(lab_->WaitForFailover("mymaster", old_primary, 30s).ok());
  ASSERT_TRUE(WaitGate(
      "group=mymaster&action=restart-replica&node=" + old_primary,
      [](const auto& r) { return Has(r.body, "recent_failover"); }, 10s));
  // Cooldown 3 s, then Sentinel reconfigures the old primary as a replica: ready again.
  EXPECT_TRUE(WaitReady("group=mymaster&action=failover", 30s));
}

TEST_F(GateTest, StoppedReplicaBlocksRestartingTheLastOne) {
  StartLab();
  StartExporter();
  lab::Server* down = lab_->replicas()[0];
  lab::Server* last = lab_->replicas()[1];
  ASSERT_TRUE(WaitReady("group=mymaster&action=restart-replica&node=" + last->address()));
  down->Kill();
  ASSERT_TRUE(WaitGate("group=mymaster&action=restart-replica&node=" + last->address(),
                       [](const auto& r) {
                         return r.status == 503 && Has(r.body, "last_healthy_replica") &&
                                Has(r.body, "min_replicas_would_break");
                       },
                       10s));
  // Restarting the one already down is not blocked by redundancy.
  auto r = Gate("group=mymaster&action=restart-replica&node=" + down->address());
  EXPECT_FALSE(Has(r.body, "last_healthy_replica")) << r.body;
}

TEST_F(GateTest, PausedReplicaIsNotSentinelsCandidate) {
  lab::LabOptions o;
  o.down_after = 1000ms;
  StartLab(o);
  StartExporter();
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  auto r = Gate("group=mymaster&action=failover");
  lab::Server& paused = lab_->node(CandidateOf(r.body));
  ASSERT_TRUE(paused.Pause());
  std::string other;
  for (auto* n : lab_->replicas()) {
    if (n != &paused) other = n->address();
  }
  // Past down-after, Sentinel flags it s_down and would promote the other one.
  EXPECT_TRUE(WaitGate("group=mymaster&action=failover",
                       [&](const auto& r) { return CandidateOf(r.body) == other; }, 15s));
  ASSERT_TRUE(paused.Resume());
}

TEST_F(GateTest, StoppedSentinelMeansNoOtherMayBeRestarted) {
  lab::LabOptions o;
  o.down_after = 1000ms;
  StartLab(o);
  StartExporter();
  auto sentinels = lab_->sentinels();
  ASSERT_TRUE(WaitReady("group=mymaster&action=restart-sentinel&node=" + sentinels[1]->address()));
  sentinels[2]->Kill();
  ASSERT_TRUE(WaitGate("group=mymaster&action=restart-sentinel&node=" + sentinels[1]->address(),
                       [](const auto& r) {
                         return r.status == 503 && Has(r.body, "quorum_would_break");
                       },
                       15s));
  // The one already down may be restarted.
  auto r = Gate("group=mymaster&action=restart-sentinel&node=" + sentinels[2]->address());
  EXPECT_FALSE(Has(r.body, "quorum_would_break")) << r.body;
}

// A Sentinel event shows at once: with cycles 30 s apart, the gate shows the primary's
// s_down as soon as a Sentinel publishes +sdown, without a full cycle (laid over the latest
// snapshot from the event itself), and the event also polls the group.
TEST_F(GateTest, SentinelEventsPollTheGroupBetweenCycles) {
  lab::LabOptions o;
  o.down_after = 1000ms;
  StartLab(o);
  Launch({"--poll.interval", "30s", "--gate.max-staleness", "5m"});
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  const auto before = exporter_->Scrape();
  const auto cycles = Value(before, "redis_ha_exporter_poll_cycles_total");
  ASSERT_TRUE(cycles.has_value());
  EXPECT_EQ(Value(before, "redis_ha_exporter_event_polls_total"), 0.0);

  ASSERT_TRUE(lab_->primary().Pause());
  const bool flagged = WaitGate("group=mymaster&action=failover",
                                [](const auto& r) { return Has(r.body, "primary_down"); }, 20s);
  const bool polled = exporter_->WaitForMetrics(
      [](auto& m) { return Value(m, "redis_ha_exporter_event_polls_total").value_or(0) >= 1; },
      10s);
  const auto after = exporter_->Scrape();
  ASSERT_TRUE(lab_->primary().Resume());
  ASSERT_TRUE(flagged) << Gate("group=mymaster&action=failover").body;
  EXPECT_TRUE(polled);
  EXPECT_EQ(Value(after, "redis_ha_exporter_poll_cycles_total"), cycles)
      << "a full cycle ran; the event was not what showed it";
  EXPECT_GE(Value(after, "redis_ha_exporter_events_applied_total").value_or(0), 1.0);
  EXPECT_EQ(Value(after, "redis_ha_sentinel_up",
                  {{"sentinel", lab_->sentinels()[0]->address()}}),
            1.0);
}

// Bytes that process `pid` sent to the loopback server on `port` and the server has not read
// yet (the receive queue of the server's end of the connection, from /proc/net/tcp; the most
// over its connections there); -1 when there is no such connection.
long UnreadFrom(pid_t pid, int port) {
  std::set<std::string> inodes;
  const fs::path fds = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fds, ec)) {
    const std::string target = fs::read_symlink(e.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  struct Row {
    unsigned local, remote;
    long rx;
    std::string inode;
  };
  std::vector<Row> rows;
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
    f >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
    if (st != "01") continue;  // established
    const auto port_of = [](const std::string& a) {
      return std::stoul(a.substr(a.find(':') + 1), nullptr, 16);
    };
    rows.push_back({static_cast<unsigned>(port_of(local)), static_cast<unsigned>(port_of(remote)),
                    std::stol(queues.substr(queues.find(':') + 1), nullptr, 16), inode});
  }
  long most = -1;  // over its connections there (a Sentinel also has its subscription)
  for (const auto& mine : rows) {
    if (mine.remote != static_cast<unsigned>(port) || !inodes.count(mine.inode)) continue;
    for (const auto& theirs : rows) {
      if (theirs.local == static_cast<unsigned>(port) && theirs.remote == mine.local) {
        most = std::max(most, theirs.rx);
      }
    }
  }
  return most;
}

// A Sentinel event that comes while a full cycle waits for a server that does not answer
// (a hung replica) is polled and published at once, not when the cycle gives up on it.
TEST_F(GateTest, SentinelEventsAreNotHeldUpByACycleWaitingForAHungNode) {
  lab::LabOptions o;
  o.down_after = 1000ms;
  StartLab(o);
  // Every cycle waits up to a minute for a server that does not answer.
  Launch({"--poll.interval", "60s", "--poll.timeout", "60s", "--gate.max-staleness", "5m"});
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  auto* hung = lab_->replicas()[0];
  auto* other = lab_->replicas()[1];
  ASSERT_TRUE(hung->Pause());
  // A reload starts a cycle now; its INFO request then waits in the hung replica's socket.
  ASSERT_EQ(::kill(exporter_->process().pid(), SIGHUP), 0);
  const pid_t pid = exporter_->process().pid();
  const int hung_port = hung->port();
  const bool waiting = lab::WaitFor([&] { return UnreadFrom(pid, hung_port) > 0; }, 10s, 20ms);
  const auto before = exporter_->Scrape();
  const auto cycles = Value(before, "redis_ha_exporter_poll_cycles_total");
  ASSERT_TRUE(waiting) << "the cycle's request never reached the hung replica";
  ASSERT_TRUE(cycles.has_value());

  lab_->primary().Kill();
  // +sdown, then the failover to the replica that answers (+switch-master): each shown by
  // an event poll while the cycle is still waiting for the hung replica.
  const bool flagged = WaitGate("group=mymaster&action=failover",
                                [](const auto& r) { return Has(r.body, "primary_down"); }, 30s);
  const bool switched = lab::WaitFor(
      [&] {
        return Has(exporter_->Get("/api/v1/groups?group=mymaster").body,
                   "\"primary\":\"" + other->address() + "\"");
      },
      40s, 50ms);
  const auto after = exporter_->Scrape();
  const long still_unread = UnreadFrom(pid, hung_port);
  ASSERT_TRUE(hung->Resume());
  EXPECT_TRUE(flagged) << Gate("group=mymaster&action=failover").body;
  EXPECT_TRUE(switched) << exporter_->Get("/api/v1/groups?group=mymaster").body;
  EXPECT_GT(still_unread, 0) << "the cycle is no longer waiting for the hung replica";
  EXPECT_EQ(Value(after, "redis_ha_exporter_poll_cycles_total"), cycles)
      << "a full cycle ended; the event polls were not what showed it";
  EXPECT_GE(Value(after, "redis_ha_exporter_event_polls_total").value_or(0), 2.0);
}

// An event poll leaves out a Sentinel that the latest snapshot has down: a hung one would
// hold it until the cycle that waits for that Sentinel gives up.
TEST_F(GateTest, AnEventPollLeavesOutASentinelThatIsDown) {
  lab::LabOptions o;
  o.down_after = 1000ms;
  StartLab(o);
  const fs::path cfg = Dir() / "config.yml";
  auto write_config = [&](const std::string& interval, const std::string& timeout) {
    std::ofstream(cfg) << "poll:\n  interval: " << interval << "\n  timeout: " << timeout
                       << "\ngate:\n  max-staleness: 5m\n";
  };
  write_config("1s", "300ms");
  Launch({"--config", cfg.string()});
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  auto* hung = lab_->sentinels()[2];
  ASSERT_TRUE(hung->Pause());
  const bool down = exporter_->WaitForMetrics(
      [&](const auto& m) {
        return Value(m, "redis_ha_sentinel_up", {{"sentinel", hung->address()}}) == 0.0;
      },
      10s);
  // From the next cycle on, a cycle waits up to a minute for the hung Sentinel.
  write_config("60s", "60s");
  const pid_t pid = exporter_->process().pid();
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  const int hung_port = hung->port();
  const bool waiting = lab::WaitFor([&] { return UnreadFrom(pid, hung_port) > 0; }, 10s, 20ms);
  const auto before = exporter_->Scrape();
  const auto cycles = Value(before, "redis_ha_exporter_poll_cycles_total");
  ASSERT_TRUE(down) << "the hung Sentinel was never down";
  ASSERT_TRUE(waiting) << "no cycle's request reached the hung Sentinel";
  ASSERT_TRUE(cycles.has_value());

  lab_->primary().Kill();
  // The two other Sentinels are a quorum: +sdown, then the failover.
  const bool flagged = WaitGate("group=mymaster&action=failover",
                                [](const auto& r) { return Has(r.body, "primary_down"); }, 30s);
  const auto after = exporter_->Scrape();
  const long still_unread = UnreadFrom(pid, hung_port);
  ASSERT_TRUE(hung->Resume());
  EXPECT_TRUE(flagged) << Gate("group=mymaster&action=failover").body;
  EXPECT_GT(still_unread, 0) << "the cycle is no longer waiting for the hung Sentinel";
  EXPECT_EQ(Value(after, "redis_ha_exporter_poll_cycles_total"), cycles)
      << "a full cycle ended; the event polls were not what showed it";
  EXPECT_GE(Value(after, "redis_ha_exporter_event_polls_total").value_or(0), 1.0);
  // It is still shown as the latest snapshot had it: down.
  EXPECT_EQ(Value(after, "redis_ha_sentinel_up", {{"sentinel", hung->address()}}), 0.0);
}

TEST_F(GateTest, PrimaryRestartedEmptyBlocksEverything) {
  lab::LabOptions o;
  o.persistence = false;
  o.diskless_sync = true;
  StartLab(o);
  ASSERT_TRUE(lab_->WriteKeys("mymaster", 1000).ok());
  ASSERT_TRUE(lab_->WaitForReplicasInSync("mymaster").ok());
  StartExporter();
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  lab_->primary().Kill();
  ASSERT_TRUE(lab_->primary().Start().ok());
  EXPECT_TRUE(WaitGate("group=mymaster&action=failover",
                       [](const auto& r) {
                         return r.status == 503 && Has(r.body, "empty_primary_risk");
                       },
                       10s));
  auto r = Gate("group=mymaster&action=restart-replica&node=" + lab_->replicas()[0]->address());
  EXPECT_TRUE(Has(r.body, "empty_primary_risk")) << r.body;
}

TEST_F(GateTest, CutOffFromEveryTargetIsStale) {
  StartLab();
  StartExporter({"--poll.timeout", "100ms"});
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  for (auto* s : lab_->sentinels()) ASSERT_TRUE(s->Pause());
  for (auto* n : lab_->data_nodes()) ASSERT_TRUE(n->Pause());
  // 3 poll intervals (300 ms) of staleness: the gate says no, and so do the metrics.
  EXPECT_TRUE(WaitGate("group=mymaster&action=failover",
                       [](const auto& r) {
                         return r.status == 503 && Has(r.body, "stale_observation");
                       },
                       10s));
  auto m = exporter_->Scrape();
  EXPECT_EQ(Value(m, "redis_ha_rollout_blocker",
                  {{"action", "failover"}, {"blocker", "stale_observation"}}),
            1);
  EXPECT_EQ(Value(m, "redis_ha_rollout_ready", {{"action", "failover"}}), 0);
  for (auto* s : lab_->sentinels()) s->Resume();
  for (auto* n : lab_->data_nodes()) n->Resume();
  EXPECT_TRUE(WaitReady("group=mymaster&action=failover"));
}

TEST_F(GateTest, HttpStatusesAndTheAlways200Api) {
  StartLab();
  StartExporter();
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  EXPECT_EQ(Gate("group=nope&action=failover").status, 404);
  EXPECT_EQ(Gate("group=mymaster&action=reboot").status, 400);
  EXPECT_EQ(Gate("group=mymaster&action=restart-replica").status, 400);
  EXPECT_EQ(Gate("group=mymaster&action=failover&max_lag_bytes=-1").status, 400);
  EXPECT_EQ(Gate("group=mymaster&action=failover&bogus=1").status, 400);
  auto bad = exporter_->Get("/api/v1/gate?group=nope&action=failover");
  EXPECT_EQ(bad.status, 200);
  EXPECT_TRUE(Has(bad.body, "\"ready\":false"));
  auto unknown = Gate("group=mymaster&action=restart-replica&node=127.0.0.1:1");
  EXPECT_EQ(unknown.status, 503);
  EXPECT_TRUE(Has(unknown.body, "unknown_node"));
  // Flagger posts a JSON body: accepted and ignored.
  auto post = http::HttpRequest(exporter_->port(), "POST", "/gate?group=mymaster&action=failover",
                                "{\"name\":\"podinfo\",\"namespace\":\"test\"}");
  EXPECT_EQ(post.status, 200);
  auto api = exporter_->Get("/api/v1/gate?group=mymaster&action=failover");
  EXPECT_EQ(api.status, 200);
  EXPECT_TRUE(Has(api.body, "\"ready\":true"));
  // /api/v1/groups filtered to one group.
  auto one = exporter_->Get("/api/v1/groups?group=mymaster");
  EXPECT_EQ(one.status, 200);
  EXPECT_TRUE(Has(one.body, "\"groups\":[{\"name\":\"mymaster\"")) << one.body;
  auto none = exporter_->Get("/api/v1/groups?group=nope");
  EXPECT_EQ(none.status, 200);
  EXPECT_TRUE(Has(none.body, "\"groups\":[]")) << none.body;
}

TEST_F(GateTest, CheckCommandExitCodesAndWait) {
  StartLab();
  StartExporter();
  ASSERT_TRUE(WaitReady("group=mymaster&action=failover"));
  const std::string bin = EXPORTER_BINARY;
  const std::string seed = " --sentinel " + lab_->sentinels()[0]->address();
  auto ok = Exec(bin + " check" + seed + " --group mymaster --action failover");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_TRUE(Has(ok.out, "\"ready\":true"));
  auto no = Exec(bin + " check" + seed +
                 " --group mymaster --action restart-replica --node 127.0.0.1:1");
  EXPECT_EQ(no.exit_code, 1) << no.out;
  EXPECT_TRUE(Has(no.out, "unknown_node"));
  EXPECT_EQ(Exec(bin + " check" + seed + " --group nope --action failover").exit_code, 2);
  EXPECT_EQ(Exec(bin + " check" + seed + " --group mymaster").exit_code, 2);
  EXPECT_EQ(Exec(bin + " check" + seed + " --group mymaster --action x").exit_code, 2);
  EXPECT_EQ(Exec(bin + " check --sentinel 127.0.0.1:1 --group g --action failover").exit_code, 2);
  const std::string url = " --url http://127.0.0.1:" + std::to_string(exporter_->port());
  EXPECT_EQ(Exec(bin + " check" + url + " --group mymaster --action failover").exit_code, 0);
  EXPECT_EQ(Exec(bin + " check --url http://127.0.0.1:1 --group mymaster --action failover")
                .exit_code,
            2);

  // Right after a failover the gate says no; --wait re-polls until the cooldown passed.
  const std::string old_primary = lab_->primary().address();
  auto f = lab_->SentinelCommand({"SENTINEL", "FAILOVER", "mymaster"});
  ASSERT_TRUE(f.ok() && !f->is_error());
  ASSERT_TRUE(lab_->WaitForFailover("mymaster", old_primary, 30s).ok());
  auto busy = Exec(bin + " check" + seed +
                   " --gate.failover-cooldown 4s --group mymaster --action failover");
  EXPECT_EQ(busy.exit_code, 1) << busy.out;
  EXPECT_TRUE(Has(busy.out, "recent_failover")) << busy.out;
  auto waited = Exec(bin + " check" + seed +
                     " --gate.failover-cooldown 4s --group mymaster --action failover --wait 40s");
  EXPECT_EQ(waited.exit_code, 0) << waited.out;
}

}  // namespace
}  // namespace redis_ha
