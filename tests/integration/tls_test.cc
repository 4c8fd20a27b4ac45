// TLS and authentication to real redis-server and redis-sentinel processes.
//
// Every server of the lab listens on its plain port (the lab's own commands and waits use
// it) and on a TLS port with a certificate the test makes (IP SAN 127.0.0.1). The
// exporter is pointed at the Sentinel's TLS port; Sentinel announces the data nodes'
// plain ports, so the exporter's address-map maps each to the node's TLS port.
// Replication and Sentinel's own links stay plain.
//
// Also here: a password that changes on the servers and in the password file is picked up
// by a reload, with `auth` as the poll-error reason until then.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "lab/lab.h"
#include "support/exporter_process.h"
#include "support/metrics_text.h"
#include "support/tls_support.h"

namespace redis_ha {
namespace {

using namespace std::chrono_literals;
using testing::CertFiles;
using testing::ExporterProcess;
using testing::Sample;
using testing::TestPki;
using testing::Value;
namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("rha-it-tls-" + std::to_string(::getpid()) + "-" + name);
  fs::create_directories(p);
  return p;
}

bool Is(const std::optional<double>& v, double want) { return v && *v == want; }

std::string TestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

class TlsLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(TestName());
    pki_ = std::make_unique<TestPki>(dir_ / "pki");
    other_ = std::make_unique<TestPki>(dir_ / "other", "another-ca");
    server_cert_ = pki_->Issue("redis", "IP:127.0.0.1,DNS:localhost");
    client_cert_ = pki_->Issue("exporter", "DNS:exporter");

    std::vector<std::string> tls = {"tls-cert-file " + server_cert_.cert,
                                    "tls-key-file " + server_cert_.key,
                                    "tls-ca-cert-file " + pki_->ca_file(),
                                    "tls-auth-clients no"};
    lab::LabOptions o;
    o.sentinels = 1;
    o.quorum = 1;
    o.replicas = 1;
    o.down_after = 2000ms;
    o.extra_redis_config = tls;
    o.extra_sentinel_config = tls;
    sentinel_tls_port_ = lab::FreePort();
    o.extra_sentinel_config.push_back("tls-port " + std::to_string(sentinel_tls_port_));
    lab_ = std::make_unique<lab::Lab>(o);
    Status s = lab_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
    // Data nodes get their TLS port at run time (each its own).
    for (lab::Server* n : lab_->data_nodes()) {
      int port = lab::FreePort();
      auto r = n->Command({"CONFIG", "SET", "tls-port", std::to_string(port)});
      ASSERT_TRUE(r.ok() && !r->is_error()) << (r.ok() ? r->str : r.error().message);
      tls_address_[n->address()] = "127.0.0.1:" + std::to_string(port);
    }
    std::string map = "address-map:\n";
    for (const auto& [plain, tls_addr] : tls_address_) {
      map += "  \"" + plain + "\": \"" + tls_addr + "\"\n";
    }
    config_ = (dir_ / "config.yml").string();
    std::ofstream(config_) << map;
  }

  void TearDown() override {
    if (HasFailure() && exporter_) std::cerr << "exporter log:\n" << exporter_->Log();
    exporter_.reset();
    lab_.reset();
  }

  std::string SentinelTls() const { return "127.0.0.1:" + std::to_string(sentinel_tls_port_); }

  // The exporter on the TLS ports, with the Sentinel's CA and these data node flags.
  void StartExporter(std::vector<std::string> redis_flags, const std::string& name = "exporter") {
    std::vector<std::string> args = {"--config", config_, "--sentinel", SentinelTls(),
                                     "--poll.interval", "250ms", "--poll.timeout", "200ms",
                                     "--sentinel.tls", "--sentinel.tls-ca-file",
                                     pki_->ca_file()};
    args.insert(args.end(), redis_flags.begin(), redis_flags.end());
    exporter_ = std::make_unique<ExporterProcess>(EXPORTER_BINARY, args,
                                                  dir_ / (name + ".log"));
    Status s = exporter_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }

  bool NodesUp(const std::vector<Sample>& m, double want) {
    for (const auto& [plain, tls_addr] : tls_address_) {
      if (!Is(Value(m, "redis_ha_node_up", {{"node", tls_addr}}), want)) return false;
    }
    return true;
  }
  bool SentinelUp(const std::vector<Sample>& m) {
    return Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", SentinelTls()}}), 1);
  }
  double NodeErrors(const std::vector<Sample>& m, const std::string& reason) {
    auto v = Value(m, "redis_ha_exporter_poll_errors_total", {{"kind", "node"}, {"reason", reason}});
    return v ? *v : -1;
  }

  fs::path dir_;
  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<TestPki> other_;
  CertFiles server_cert_;
  CertFiles client_cert_;
  int sentinel_tls_port_ = 0;
  std::map<std::string, std::string> tls_address_;  // plain -> TLS address
  std::string config_;
  std::unique_ptr<lab::Lab> lab_;
  std::unique_ptr<ExporterProcess> exporter_;
};

TEST_F(TlsLabTest, VerifiedTlsEndToEndIncludingSentinelEvents) {
  StartExporter({"--redis.tls", "--redis.tls-ca-file", pki_->ca_file()});
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) { return SentinelUp(m) && NodesUp(m, 1); }, 15s));
  auto m = exporter_->Scrape();
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_is_primary",
                       {{"node", tls_address_[lab_->primary().address()]}}),
                 1));
  EXPECT_TRUE(Is(Value(m, "redis_ha_replica_link_up",
                       {{"node", tls_address_[lab_->replicas()[0]->address()]}}),
                 1));
  EXPECT_EQ(NodeErrors(m, "connect"), 0);
  // Sentinel events arrive over the TLS pub/sub connection: a failover is counted.
  const std::string old_primary = lab_->primary().address();
  auto r = lab_->SentinelCommand({"SENTINEL", "FAILOVER", "mymaster"});
  ASSERT_TRUE(r.ok() && !r->is_error());
  ASSERT_TRUE(lab_->WaitForFailover("mymaster", old_primary, 30s).ok());
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) {
        auto v = Value(m, "redis_ha_sentinel_events_total",
                       {{"sentinel", SentinelTls()}, {"event", "+switch-master"}});
        return v && *v >= 1 &&
               Is(Value(m, "redis_ha_node_is_primary",
                        {{"node", tls_address_[lab_->CurrentPrimary("mymaster")]}}),
                  1);
      },
      20s));
}

TEST_F(TlsLabTest, WrongCaIsDownWithAVerifyErrorAndSkipVerifyWorks) {
  StartExporter({"--redis.tls", "--redis.tls-ca-file", other_->ca_file()}, "wrong-ca");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) {
        return SentinelUp(m) && NodesUp(m, 0) && NodeErrors(m, "connect") >= 2;
      },
      15s));
  auto groups = exporter_->Get("/api/v1/groups");
  EXPECT_NE(groups.body.find("certificate verify failed"), std::string::npos) << groups.body;

  // The same wrong CA, verification off: up, with a warning in the log.
  StartExporter({"--redis.tls", "--redis.tls-ca-file", other_->ca_file(),
                 "--redis.tls-insecure-skip-verify"},
                "skip-verify");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) { return SentinelUp(m) && NodesUp(m, 1); }, 15s));
  EXPECT_NE(exporter_->Log().find("--redis.tls-insecure-skip-verify"), std::string::npos);
  EXPECT_NE(exporter_->Log().find("level=warn"), std::string::npos);
}

TEST_F(TlsLabTest, ServerNameIsVerified) {
  StartExporter({"--redis.tls", "--redis.tls-ca-file", pki_->ca_file(),
                 "--redis.tls-server-name", "redis.wrong.example"},
                "wrong-name");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) { return SentinelUp(m) && NodesUp(m, 0); }, 15s));
  EXPECT_NE(exporter_->Get("/api/v1/groups").body.find("hostname mismatch"), std::string::npos);
  StartExporter({"--redis.tls", "--redis.tls-ca-file", pki_->ca_file(),
                 "--redis.tls-server-name", "localhost"},
                "right-name");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) { return SentinelUp(m) && NodesUp(m, 1); }, 15s));
}

TEST_F(TlsLabTest, ClientCertificateRequiredByTheServers) {
  for (lab::Server* n : lab_->data_nodes()) {
    auto r = n->Command({"CONFIG", "SET", "tls-auth-clients", "yes"});
    ASSERT_TRUE(r.ok() && !r->is_error());
  }
  StartExporter({"--redis.tls", "--redis.tls-ca-file", pki_->ca_file()}, "no-cert");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) {
        return SentinelUp(m) && NodesUp(m, 0) && NodeErrors(m, "connect") >= 2;
      },
      15s));
  EXPECT_NE(exporter_->Get("/api/v1/groups").body.find("refused by the server"),
            std::string::npos);

  StartExporter({"--redis.tls", "--redis.tls-ca-file", pki_->ca_file(), "--redis.tls-cert-file",
                 client_cert_.cert, "--redis.tls-key-file", client_cert_.key},
                "with-cert");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) { return SentinelUp(m) && NodesUp(m, 1); }, 15s));
  EXPECT_EQ(NodeErrors(exporter_->Scrape(), "connect"), 0);
}

TEST_F(TlsLabTest, PlainExporterOnATlsPortIsAClearError) {
  // TLS for the Sentinel, none for the data nodes: their TLS ports see plain RESP.
  StartExporter({}, "plain-to-tls");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) { return SentinelUp(m) && NodesUp(m, 0); }, 15s));
  // And TLS to the plain ports (no address map): down too. (Whether Redis answers the
  // ClientHello with an error or waits for a newline depends on its random bytes, so the
  // reason is a handshake error or a timeout.)
  std::ofstream(config_) << "";
  StartExporter({"--redis.tls", "--redis.tls-ca-file", pki_->ca_file()}, "tls-to-plain");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](const std::vector<Sample>& m) {
        return SentinelUp(m) &&
               Is(Value(m, "redis_ha_node_up", {{"node", lab_->primary().address()}}), 0) &&
               NodeErrors(m, "connect") + NodeErrors(m, "timeout") >= 2;
      },
      15s));
}

// ---- Passwords re-read on reload ----

TEST(PasswordReloadTest, ChangedPasswordIsAnAuthErrorUntilTheReload) {
  lab::LabOptions o;
  o.sentinels = 1;
  o.quorum = 1;
  o.replicas = 1;
  o.password = "first-secret";
  o.down_after = 60000ms;  // no failover while the password changes
  lab::Lab lab(o);
  ASSERT_TRUE(lab.Start().ok());
  fs::path dir = TempDir("password");
  fs::path pw = dir / "redis-password";
  std::ofstream(pw) << "first-secret\n";
  ExporterProcess exporter(EXPORTER_BINARY,
                           {"--sentinel", lab.sentinels()[0]->address(), "--poll.interval",
                            "250ms", "--redis.password-file", pw.string()},
                           dir / "exporter.log");
  ASSERT_TRUE(exporter.Start().ok());
  auto all_up = [&](const std::vector<Sample>& m, double want) {
    for (lab::Server* n : lab.data_nodes()) {
      if (!Is(Value(m, "redis_ha_node_up", {{"node", n->address()}}), want)) return false;
    }
    return true;
  };
  ASSERT_TRUE(exporter.WaitForMetrics([&](auto& m) { return all_up(m, 1); }, 15s))
      << exporter.Log();

  // Rotate the password on the servers; the exporter's open connections stay
  // authenticated until they are killed, then its old password is refused.
  for (lab::Server* n : lab.data_nodes()) {
    for (const std::vector<std::string>& cmd :
         std::vector<std::vector<std::string>>{{"CONFIG", "SET", "masterauth", "second-secret"},
                                               {"CONFIG", "SET", "requirepass", "second-secret"}}) {
      auto r = n->Command(cmd);
      ASSERT_TRUE(r.ok() && !r->is_error()) << (r.ok() ? r->str : r.error().message);
    }
    n->set_password("second-secret");
  }
  auto set = lab.SentinelCommand({"SENTINEL", "SET", "mymaster", "auth-pass", "second-secret"});
  ASSERT_TRUE(set.ok() && !set->is_error());
  for (lab::Server* n : lab.data_nodes()) {
    ASSERT_TRUE(n->Command({"CLIENT", "KILL", "TYPE", "normal"}).ok());
  }
  ASSERT_TRUE(exporter.WaitForMetrics(
      [&](const std::vector<Sample>& m) {
        auto auth = Value(m, "redis_ha_exporter_poll_errors_total",
                          {{"kind", "node"}, {"reason", "auth"}});
        return all_up(m, 0) && auth && *auth >= 2;
      },
      15s))
      << exporter.Log();
  EXPECT_NE(exporter.Get("/api/v1/groups").body.find("WRONGPASS"), std::string::npos);

  // The new password in the file, then a reload: back up, and no secret anywhere.
  std::ofstream(pw) << "second-secret\n";
  EXPECT_EQ(http::HttpRequest(exporter.port(), "POST", "/-/reload").status, 200);
  ASSERT_TRUE(exporter.WaitForMetrics([&](auto& m) { return all_up(m, 1); }, 15s))
      << exporter.Log();
  for (const std::string& text : {exporter.Get("/metrics").body,
                                  exporter.Get("/api/v1/groups").body, exporter.Log()}) {
    EXPECT_EQ(text.find("first-secret"), std::string::npos);
    EXPECT_EQ(text.find("second-secret"), std::string::npos);
  }
}

}  // namespace
}  // namespace redis_ha
