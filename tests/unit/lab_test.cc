// Tests of the test lab itself: real redis-server / redis-sentinel processes on
// loopback.
#include "lab/lab.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace redis_ha::lab {
namespace {

using redis::Reply;
using redis::ReplyType;

bool Gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// Keeps the lab directory of a failed test for inspection.
void KeepIfFailed(Lab& lab) {
  if (::testing::Test::HasFailure()) lab.KeepDir();
}

TEST(FreePortTest, DistinctAndBindable) {
  std::set<int> ports;
  for (int i = 0; i < 20; ++i) {
    const int p = FreePort();
    ASSERT_GT(p, 0);
    EXPECT_TRUE(PortIsFree(p));
    ports.insert(p);
  }
  EXPECT_EQ(ports.size(), 20u);
}

TEST(WaitForTest, TrueAndDeadline) {
  int calls = 0;
  EXPECT_TRUE(WaitFor([&] { return ++calls == 3; }, 1s, 1ms));
  EXPECT_EQ(calls, 3);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(WaitFor([] { return false; }, 100ms, 10ms));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 1s);
}

TEST(ProcessTest, ExitCodeAndLog) {
  const auto dir =
      std::filesystem::path(::testing::TempDir()) / "lab_process_test";
  std::filesystem::create_directories(dir);
  const auto log = dir / "sh.log";
  std::filesystem::remove(log);
  auto p =
      Process::Spawn({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, log);
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_TRUE(p->Wait(5s));
  EXPECT_EQ(p->exit_code(), 3);
  EXPECT_FALSE(p->term_signal().has_value());
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("out"), std::string::npos);
  EXPECT_NE(text.find("err"), std::string::npos);

  auto missing = Process::Spawn({"/nonexistent/binary"}, log);
  ASSERT_TRUE(missing.ok());
  ASSERT_TRUE(missing->Wait(5s));
  EXPECT_EQ(missing->exit_code(), 127);
  std::filesystem::remove_all(dir);
}

TEST(ProcessTest, PauseResumeTerminateKill) {
  const auto log =
      std::filesystem::path(::testing::TempDir()) / "lab_sleep.log";
  auto p = Process::Spawn({"sleep", "1000"}, log);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(p->Running());
  EXPECT_TRUE(p->Pause());
  EXPECT_TRUE(p->paused());
  EXPECT_TRUE(p->Running());
  EXPECT_TRUE(p->Resume());
  EXPECT_FALSE(p->paused());
  EXPECT_TRUE(p->Pause());
  // SIGTERM reaches a stopped child because Terminate() resumes it.
  EXPECT_TRUE(p->Terminate(2s));
  EXPECT_FALSE(p->Running());
  EXPECT_EQ(p->term_signal(), SIGTERM);

  pid_t pid;
  {
    auto q = Process::Spawn({"sleep", "1000"}, log);
    ASSERT_TRUE(q.ok());
    pid = q->pid();
    EXPECT_TRUE(q->Pause());
  }  // Destructor: SIGKILL + reap, even while stopped.
  EXPECT_TRUE(Gone(pid));
  std::filesystem::remove(log);
}

// Data nodes only: quick. Kill + Restart without persistence comes back empty.
TEST(LabDataOnlyTest, KillRestartWithoutPersistenceIsEmpty) {
  LabOptions opts;
  opts.replicas = 0;
  opts.sentinels = 0;
  opts.persistence = false;
  Lab lab(opts);
  ASSERT_TRUE(lab.Start().ok());
  Server& p = lab.primary();
  EXPECT_EQ(lab.CurrentPrimary(), p.address());
  ASSERT_TRUE(lab.WriteKeys("mymaster", 2500, "k:").ok());
  EXPECT_EQ(p.DbSize(), 2500);
  const int port = p.port();
  const pid_t old_pid = p.pid();
  p.Kill();
  EXPECT_FALSE(p.Running());
  EXPECT_FALSE(p.Command({"PING"}, 200ms).ok());
  ASSERT_TRUE(p.Restart().ok());
  EXPECT_NE(p.pid(), old_pid);
  EXPECT_EQ(p.port(), port);
  EXPECT_EQ(p.DbSize(), 0);
  // Stop() is a clean SHUTDOWN.
  ASSERT_TRUE(p.Stop().ok());
  EXPECT_FALSE(p.Running());
  KeepIfFailed(lab);
}

TEST(LabDataOnlyTest, RestartWithPersistenceKeepsData) {
  LabOptions opts;
  opts.replicas = 0;
  opts.sentinels = 0;
  opts.persistence = true;
  Lab lab(opts);
  ASSERT_TRUE(lab.Start().ok());
  ASSERT_TRUE(lab.WriteKeys("mymaster", 100).ok());
  // appendonly + appendfsync everysec: a clean restart (SHUTDOWN NOSAVE still
  // flushes the AOF) keeps the keys.
  ASSERT_TRUE(lab.primary().Restart().ok());
  EXPECT_TRUE(WaitFor([&] { return lab.primary().DbSize() == 100; }, 2s));
  KeepIfFailed(lab);
}

TEST(LabDataOnlyTest, BadOptions) {
  LabOptions opts;
  opts.groups = 0;
  Lab lab(opts);
  Status s = lab.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kConfig);
}

// One 1-primary/2-replica/3-Sentinel lab shared by the read-mostly tests below.
class LabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    LabOptions opts;
    lab_ = std::make_unique<Lab>(opts);
    const auto start = std::chrono::steady_clock::now();
    Status s = lab_->Start();
    start_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    start_error_ = s.ok() ? "" : s.error().message;
  }
  static void TearDownTestSuite() { lab_.reset(); }

  void SetUp() override { ASSERT_EQ(start_error_, "") << "lab start failed"; }
  void TearDown() override { KeepIfFailed(*lab_); }

  static std::unique_ptr<Lab> lab_;
  static std::string start_error_;
  static std::chrono::milliseconds start_time_;
};

std::unique_ptr<Lab> LabTest::lab_;
std::string LabTest::start_error_;
std::chrono::milliseconds LabTest::start_time_{0};

TEST_F(LabTest, ReplicasLinked) {
  std::cerr << "lab start took " << start_time_.count() << " ms\n";
  Lab& lab = *lab_;
  ASSERT_EQ(lab.replicas().size(), 2u);
  for (Server* r : lab.replicas()) {
    auto info = r->Info("replication");
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_EQ(InfoField(*info, "role"), "slave");
    EXPECT_EQ(InfoField(*info, "master_link_status"), "up");
    EXPECT_EQ(InfoField(*info, "master_port"),
              std::to_string(lab.primary().port()));
  }
  auto info = lab.primary().Info("replication");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(InfoField(*info, "role"), "master");
  EXPECT_EQ(InfoField(*info, "connected_slaves"), "2");
  EXPECT_EQ(InfoField(*info, "min_slaves_good_slaves"), "2");
}

TEST_F(LabTest, SentinelsSeeReplicasAndPeers) {
  Lab& lab = *lab_;
  ASSERT_EQ(lab.sentinels().size(), 3u);
  for (Server* s : lab.sentinels()) {
    EXPECT_TRUE(s->is_sentinel());
    auto master = s->Command({"SENTINEL", "MASTER", "mymaster"});
    ASSERT_TRUE(master.ok()) << master.error().message;
    EXPECT_EQ(ReplyField(*master, "flags"), "master");
    EXPECT_EQ(ReplyField(*master, "port"),
              std::to_string(lab.primary().port()));
    EXPECT_EQ(ReplyField(*master, "num-slaves"), "2");
    EXPECT_EQ(ReplyField(*master, "num-other-sentinels"), "2");
    EXPECT_EQ(ReplyField(*master, "quorum"), "2");
    auto reps = s->Command({"SENTINEL", "REPLICAS", "mymaster"});
    ASSERT_TRUE(reps.ok());
    EXPECT_EQ(reps->elements.size(), 2u);
    auto peers = s->Command({"SENTINEL", "SENTINELS", "mymaster"});
    ASSERT_TRUE(peers.ok());
    EXPECT_EQ(peers->elements.size(), 2u);
    auto ck = s->Command({"SENTINEL", "CKQUORUM", "mymaster"});
    ASSERT_TRUE(ck.ok());
    EXPECT_EQ(ck->type, ReplyType::kStatus) << redis::DebugString(*ck);
  }
  EXPECT_EQ(lab.CurrentPrimary("mymaster"), lab.primary().address());
  EXPECT_EQ(lab.CurrentPrimary(0), lab.primary().address());
  EXPECT_EQ(&lab.node(lab.primary().address()), &lab.primary());
  EXPECT_EQ(lab.FindNode("127.0.0.1:1"), nullptr);
  auto masters = lab.SentinelCommand({"SENTINEL", "MASTERS"});
  ASSERT_TRUE(masters.ok());
  EXPECT_EQ(masters->elements.size(), 1u);
  // Each Sentinel has its own config file, which it rewrote with its myid.
  std::set<std::string> configs;
  for (Server* s : lab.sentinels()) {
    const std::string text = ReadFile(s->config_path());
    EXPECT_NE(text.find("sentinel myid"), std::string::npos);
    configs.insert(s->config_path().string());
  }
  EXPECT_EQ(configs.size(), 3u);
}

TEST_F(LabTest, WriteKeysLandsOnReplicas) {
  Lab& lab = *lab_;
  ASSERT_TRUE(lab.WriteKeys("mymaster", 3000, "w:").ok());
  EXPECT_GE(lab.primary().DbSize(), 3000);
  ASSERT_TRUE(lab.WaitForReplicasInSync("mymaster", 5s).ok());
  for (Server* r : lab.replicas()) {
    EXPECT_EQ(r->DbSize(), lab.primary().DbSize());
    auto v = r->Command({"GET", "w:2999"});
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->str, "value-2999");
  }
  // Replicas are read-only.
  auto w = lab.replicas()[0]->Command({"SET", "x", "1"});
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->is_error());
}

TEST_F(LabTest, PauseAndResume) {
  Server& r = *lab_->replicas()[1];
  ASSERT_TRUE(r.Pause());
  EXPECT_TRUE(r.paused());
  auto during = r.Command({"PING"}, 200ms);
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.error().kind, ErrorKind::kTimeout) << during.error().message;
  ASSERT_TRUE(r.Resume());
  auto after = r.Command({"PING"});
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->str, "PONG");
}

TEST_F(LabTest, CommandErrors) {
  auto refused = RunCommand("127.0.0.1", FreePort(), {"PING"}, 500ms);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kConnect);
  auto bad = lab_->primary().Command({"NOSUCHCOMMAND"});
  ASSERT_TRUE(bad.ok());
  EXPECT_TRUE(bad->is_error());
  auto info = lab_->sentinels()[0]->Info("sentinel");
  ASSERT_TRUE(info.ok());
  EXPECT_NE(InfoField(*info, "master0").find("name=mymaster,status=ok"),
            std::string::npos)
      << *info;
}

// Two groups watched by the same Sentinels, and a forced failover.
TEST(LabFailoverTest, TwoGroupsAndForcedFailover) {
  LabOptions opts;
  opts.groups = 2;
  opts.replicas = 1;
  opts.sentinels = 1;
  opts.quorum = 1;
  Lab lab(opts);
  Status s = lab.Start();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(lab.group_name(0), "mymaster");
  EXPECT_EQ(lab.group_name(1), "mymaster-2");
  auto masters = lab.SentinelCommand({"SENTINEL", "MASTERS"});
  ASSERT_TRUE(masters.ok());
  EXPECT_EQ(masters->elements.size(), 2u);
  EXPECT_EQ(lab.CurrentPrimary("mymaster-2"), lab.primary(1).address());
  EXPECT_NE(lab.primary(0).port(), lab.primary(1).port());

  const std::string old = lab.CurrentPrimary("mymaster-2");
  auto f = lab.SentinelCommand({"SENTINEL", "FAILOVER", "mymaster-2"});
  ASSERT_TRUE(f.ok());
  ASSERT_FALSE(f->is_error()) << f->str;
  s = lab.WaitForFailover("mymaster-2", old, 15s);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(lab.CurrentPrimary("mymaster-2"), lab.replicas(1)[0]->address());
  EXPECT_EQ(lab.CurrentPrimary("mymaster"), lab.primary(0).address());
  // The promoted node takes writes once it has a replica again
  // (min-replicas-to-write 1): the old primary is demoted only some 8-10 s
  // after the switch (Sentinel waits 4 hello periods before reconfiguring a
  // node that still claims role:master), too slow for this test.
  auto role = lab.replicas(1)[0]->Info("replication");
  ASSERT_TRUE(role.ok());
  EXPECT_EQ(InfoField(*role, "role"), "master");
  KeepIfFailed(lab);
}

TEST(LabLifetimeTest, DestructorLeavesNoProcessesAndNoDir) {
  std::vector<pid_t> pids;
  std::filesystem::path dir;
  {
    LabOptions opts;
    opts.replicas = 1;
    opts.sentinels = 1;
    opts.quorum = 1;
    Lab lab(opts);
    ASSERT_TRUE(lab.Start().ok());
    dir = lab.dir();
    EXPECT_TRUE(std::filesystem::exists(dir));
    // A Sentinel stops on SHUTDOWN and restarts from its rewritten config (same
    // myid).
    Server& sentinel = *lab.sentinels()[0];
    auto id = sentinel.Command({"SENTINEL", "MYID"});
    ASSERT_TRUE(id.ok());
    const auto stop_start = std::chrono::steady_clock::now();
    ASSERT_TRUE(sentinel.Stop().ok());
    EXPECT_LT(std::chrono::steady_clock::now() - stop_start,
              1s);  // No SIGKILL fallback.
    EXPECT_FALSE(sentinel.Running());
    ASSERT_TRUE(sentinel.Restart().ok());
    auto id2 = sentinel.Command({"SENTINEL", "MYID"});
    ASSERT_TRUE(id2.ok());
    EXPECT_EQ(id2->str, id->str);
    for (Server* n : lab.data_nodes()) pids.push_back(n->pid());
    for (Server* n : lab.sentinels()) pids.push_back(n->pid());
    lab.replicas()[0]->Pause();  // A stopped process must die too.
  }
  ASSERT_EQ(pids.size(), 3u);
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid)) << pid;
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace redis_ha::lab
