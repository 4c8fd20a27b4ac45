// The exporter binary behind --web.config.file: basic auth on every path, HTTPS with and
// without client certificates, invalid web configs refused at start (exit 2 naming the
// key), and web config changes applied while running.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/client.h"
#include "http/web_config.h"
#include "lab/lab.h"
#include "lab/process.h"
#include "support/test_util.h"
#include "support/tls_support.h"

namespace redis_ha {
namespace {

using namespace std::chrono_literals;
using testing::BasicAuthHeader;
using testing::CertFiles;
using testing::HttpsOptions;
using testing::HttpsRequest;
using testing::TestPki;
namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("rha-it-web-" + std::to_string(::getpid()) + "-" + name);
  fs::create_directories(p);
  return p;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string& Hash(const std::string& password) {
  static auto* cache = new std::map<std::string, std::string>();
  auto it = cache->find(password);
  if (it == cache->end()) {
    auto h = http::BcryptHash(password, 6);
    EXPECT_TRUE(h.ok());
    it = cache->emplace(password, *h).first;
  }
  return it->second;
}

// The exporter with a web config, on a free port, polling an unreachable seed (it serves
// anyway). Start() waits until the port accepts connections.
class WebExporter {
 public:
  WebExporter(const fs::path& dir, const std::string& web_config,
              std::string seed = "127.0.0.1:1")
      : dir_(dir), seed_(std::move(seed)) {
    web_config_ = (dir / "web.yml").string();
    std::ofstream(web_config_) << web_config;
  }
  ~WebExporter() { process_.Terminate(2s); }

  ::testing::AssertionResult Start() {
    port_ = lab::FreePort();
    auto p = lab::Process::Spawn({EXPORTER_BINARY, "--sentinel", seed_,
                                  "--web.listen-address", "127.0.0.1:" + std::to_string(port_),
                                  "--web.config.file", web_config_},
                                 dir_ / "exporter.log");
    if (!p) return ::testing::AssertionFailure() << p.error().message;
    process_ = std::move(*p);
    bool up = lab::WaitFor(
        [&] { return !process_.Running() || ReadAll(dir_ / "exporter.log").find("listening") !=
                                                std::string::npos; },
        10s);
    if (!up || !process_.Running()) {
      return ::testing::AssertionFailure() << "exporter did not start:\n" << Log();
    }
    return ::testing::AssertionSuccess();
  }
  void Rewrite(const std::string& web_config) { std::ofstream(web_config_) << web_config; }
  int port() const { return port_; }
  std::string Log() const { return ReadAll(dir_ / "exporter.log"); }

  http::HttpResult Get(const std::string& target, const std::string& authorization = "",
                       const std::string& method = "GET") const {
    std::map<std::string, std::string> headers;
    if (!authorization.empty()) headers["Authorization"] = authorization;
    return http::HttpRequest(port_, method, target, "", 5s, headers);
  }

 private:
  fs::path dir_;
  std::string seed_;
  std::string web_config_;
  int port_ = 0;
  lab::Process process_;
};

TEST(WebAuthTest, BasicAuthGuardsEveryPath) {
  WebExporter e(TempDir("basic"), "basic_auth_users:\n  prometheus: " + Hash("scrape-pw") +
                                      "\n  operator: " + Hash("op-pw") + "\n");
  ASSERT_TRUE(e.Start());
  const std::string right = BasicAuthHeader("prometheus", "scrape-pw");
  for (const char* path : {"/metrics", "/healthz", "/api/v1/groups", "/", "/group?name=x",
                           "/gate?group=x&action=failover", "/api/v1/gate?group=x", "/nope"}) {
    auto none = e.Get(path);
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_EQ(none.headers["www-authenticate"], "Basic realm=\"redis_ha_exporter\"") << path;
    EXPECT_EQ(none.body.find("redis_ha"), std::string::npos) << path;  // nothing leaks
    EXPECT_EQ(e.Get(path, BasicAuthHeader("prometheus", "wrong")).status, 401) << path;
    EXPECT_EQ(e.Get(path, BasicAuthHeader("nobody", "scrape-pw")).status, 401) << path;
    EXPECT_EQ(e.Get(path, "Bearer xyz").status, 401) << path;
    EXPECT_NE(e.Get(path, right).status, 401) << path;
  }
  auto metrics = e.Get("/metrics", right);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("redis_ha_exporter_build_info"), std::string::npos);
  EXPECT_EQ(e.Get("/healthz", BasicAuthHeader("operator", "op-pw")).status, 200);
  EXPECT_EQ(e.Get("/nope", right).status, 404);
  EXPECT_EQ(e.Get("/-/reload", "", "POST").status, 401);
  EXPECT_EQ(e.Get("/-/reload", right, "POST").status, 200);
  EXPECT_TRUE(lab::WaitFor(
      [&] { return e.Log().find("configuration reloaded") != std::string::npos; }, 5s));
  // Passwords never reach the log.
  EXPECT_EQ(e.Log().find("scrape-pw"), std::string::npos);
}

TEST(WebAuthTest, ExcludedPathsAndChangesWhileRunning) {
  WebExporter e(TempDir("reload"), "basic_auth_users:\n  a: " + Hash("pw-a") +
                                       "\nauth_excluded_paths: [/healthz]\n");
  ASSERT_TRUE(e.Start());
  EXPECT_EQ(e.Get("/healthz").status, 200);
  EXPECT_EQ(e.Get("/metrics").status, 401);
  EXPECT_EQ(e.Get("/metrics", BasicAuthHeader("b", "pw-b")).status, 401);
  e.Rewrite("basic_auth_users:\n  b: " + Hash("pw-b") + "\n");
  EXPECT_TRUE(lab::WaitFor(
      [&] { return e.Get("/metrics", BasicAuthHeader("b", "pw-b")).status == 200; }, 5s, 100ms));
  EXPECT_EQ(e.Get("/metrics", BasicAuthHeader("a", "pw-a")).status, 401);
  EXPECT_EQ(e.Get("/healthz").status, 401);
  EXPECT_NE(e.Log().find("web config reloaded"), std::string::npos);
}

TEST(WebAuthTest, HttpsWithBasicAuth) {
  fs::path dir = TempDir("https");
  TestPki pki(dir / "pki");
  CertFiles server = pki.Issue("exporter", "IP:127.0.0.1,DNS:localhost");
  // Relative names are relative to the web config's directory.
  fs::copy_file(server.cert, dir / "server.crt", fs::copy_options::overwrite_existing);
  fs::copy_file(server.key, dir / "server.key", fs::copy_options::overwrite_existing);
  WebExporter e(dir, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                     "basic_auth_users:\n  prometheus: " + Hash("scrape-pw") + "\n");
  ASSERT_TRUE(e.Start());
  HttpsOptions o{.ca_file = pki.ca_file()};
  auto r = HttpsRequest(e.port(), "GET", "/metrics", o);
  EXPECT_EQ(r.status, 401) << r.error;
  o.headers["Authorization"] = BasicAuthHeader("prometheus", "wrong");
  EXPECT_EQ(HttpsRequest(e.port(), "GET", "/metrics", o).status, 401);
  o.headers["Authorization"] = BasicAuthHeader("prometheus", "scrape-pw");
  r = HttpsRequest(e.port(), "GET", "/metrics", o);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_NE(r.body.find("redis_ha_exporter_build_info"), std::string::npos);
  EXPECT_EQ(HttpsRequest(e.port(), "GET", "/api/v1/groups", o).status, 200);
  // Plain HTTP is refused in words; an unknown CA fails the handshake.
  auto plain = e.Get("/metrics");
  EXPECT_EQ(plain.status, 400);
  EXPECT_NE(plain.body.find("HTTPS"), std::string::npos);
  TestPki other(dir / "other", "another-ca");
  auto foreign = HttpsRequest(e.port(), "GET", "/metrics", {.ca_file = other.ca_file()});
  EXPECT_EQ(foreign.status, 0);
  EXPECT_NE(foreign.error.find("certificate verify failed"), std::string::npos) << foreign.error;
  EXPECT_NE(e.Log().find("tls=on"), std::string::npos);
}

// `check --url https://...` with the exporter's CA and basic auth, against a lab; every
// way it can go wrong exits 2 and says why.
TEST(WebAuthTest, CheckOverHttpsWithBasicAuth) {
  fs::path dir = TempDir("check-https");
  lab::Lab lab{lab::LabOptions{}};
  ASSERT_TRUE(lab.Start().ok());
  TestPki pki(dir / "pki");
  CertFiles server = pki.Issue("exporter", "IP:127.0.0.1,DNS:localhost");
  WebExporter e(dir,
                "tls_server_config:\n  cert_file: " + server.cert + "\n  key_file: " +
                    server.key + "\nbasic_auth_users:\n  deployer: " + Hash("gate-pw") + "\n",
                lab.sentinels()[0]->address());
  ASSERT_TRUE(e.Start());
  const std::string pw_file = (dir / "pw").string();
  std::ofstream(pw_file) << "gate-pw\n";
  const std::string base = std::string(EXPORTER_BINARY) +
                           " check --group mymaster --action failover --url https://127.0.0.1:" +
                           std::to_string(e.port());
  auto run = [](const std::string& cmd) { return testing::RunShell(cmd + " 2>&1"); };
  // Through TLS and basic auth to the gate: ready once the exporter has polled the lab.
  auto ok = run(base + " --wait 30s --url.ca-file " + pki.ca_file() +
                " --url.username deployer --url.password-file " + pw_file);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("\"ready\":true"), std::string::npos) << ok.out;
  auto env = run("REDIS_HA_CHECK_PASSWORD=gate-pw " + base + " --url.ca-file=" + pki.ca_file() +
                 " --url.username=deployer");
  EXPECT_EQ(env.exit_code, 0) << env.out;
  auto skip = run("REDIS_HA_CHECK_PASSWORD=gate-pw " + base +
                  " --url.insecure-skip-verify --url.username deployer");
  EXPECT_EQ(skip.exit_code, 0) << skip.out;
  // A group the exporter does not know: its JSON error, exit 2.
  auto unknown = run("REDIS_HA_CHECK_PASSWORD=gate-pw " + std::string(EXPORTER_BINARY) +
                     " check --group nope --action failover --url https://localhost:" +
                     std::to_string(e.port()) + " --url.ca-file " + pki.ca_file() +
                     " --url.username deployer");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("unknown group 'nope'"), std::string::npos) << unknown.out;
  // Wrong password, no credentials, unknown CA, plain HTTP: exit 2 with the reason.
  auto wrong = run("REDIS_HA_CHECK_PASSWORD=nope " + base + " --url.ca-file " + pki.ca_file() +
                   " --url.username deployer");
  EXPECT_EQ(wrong.exit_code, 2) << wrong.out;
  EXPECT_NE(wrong.out.find("answered 401"), std::string::npos) << wrong.out;
  auto anonymous = run(base + " --url.ca-file " + pki.ca_file());
  EXPECT_EQ(anonymous.exit_code, 2) << anonymous.out;
  auto untrusted = run("REDIS_HA_CHECK_PASSWORD=gate-pw " + base + " --url.username deployer");
  EXPECT_EQ(untrusted.exit_code, 2) << untrusted.out;
  EXPECT_NE(untrusted.out.find("certificate verify failed"), std::string::npos) << untrusted.out;
  auto plain = run(std::string(EXPORTER_BINARY) +
                   " check --group g --action failover --url http://127.0.0.1:" +
                   std::to_string(e.port()));
  EXPECT_EQ(plain.exit_code, 2) << plain.out;
  // Flag errors: the password never on the command line; TLS flags need https.
  auto inline_pw = run(base + " --url.password gate-pw");
  EXPECT_EQ(inline_pw.exit_code, 2);
  EXPECT_NE(inline_pw.out.find("never go on the command line"), std::string::npos) << inline_pw.out;
  EXPECT_EQ(inline_pw.out.find("gate-pw"), std::string::npos) << inline_pw.out;
  auto tls_on_http = run(std::string(EXPORTER_BINARY) +
                         " check --group g --action failover --url http://127.0.0.1:1"
                         " --url.ca-file " + pki.ca_file());
  EXPECT_EQ(tls_on_http.exit_code, 2);
  EXPECT_NE(tls_on_http.out.find("need an https:// --url"), std::string::npos) << tls_on_http.out;
  auto missing = run(base + " --url.ca-file /nonexistent/ca.pem");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.out.find("--url.ca-file: cannot read"), std::string::npos) << missing.out;
}

TEST(WebAuthTest, ClientCertificateRequired) {
  fs::path dir = TempDir("mtls");
  TestPki pki(dir / "pki");
  CertFiles server = pki.Issue("exporter", "IP:127.0.0.1");
  CertFiles client = pki.Issue("prometheus", "DNS:prometheus.monitoring");
  TestPki other(dir / "other", "another-ca");
  CertFiles stranger = other.Issue("stranger", "DNS:prometheus.monitoring");
  WebExporter e(dir, "tls_server_config:\n  cert_file: " + server.cert + "\n  key_file: " +
                         server.key + "\n  client_ca_file: " + pki.ca_file() +
                         "\n  client_auth_type: RequireAndVerifyClientCert\n"
                         "  client_allowed_sans: [prometheus.monitoring]\n");
  ASSERT_TRUE(e.Start());
  auto without = HttpsRequest(e.port(), "GET", "/metrics", {.ca_file = pki.ca_file()});
  EXPECT_EQ(without.status, 0);
  EXPECT_NE(without.error, "");
  auto wrong = HttpsRequest(e.port(), "GET", "/metrics",
                            {.ca_file = pki.ca_file(), .cert_file = stranger.cert,
                             .key_file = stranger.key});
  EXPECT_EQ(wrong.status, 0);
  auto with = HttpsRequest(e.port(), "GET", "/metrics",
                           {.ca_file = pki.ca_file(), .cert_file = client.cert,
                            .key_file = client.key});
  EXPECT_EQ(with.status, 200) << with.error;
}

TEST(WebAuthTest, InvalidWebConfigExitsTwoNamingTheKey) {
  fs::path dir = TempDir("invalid");
  TestPki pki(dir / "pki");
  CertFiles server = pki.Issue("exporter", "IP:127.0.0.1");
  CertFiles other = pki.Issue("other", "IP:127.0.0.1");
  struct Case {
    std::string yaml;
    std::string want;
  };
  std::vector<Case> cases = {
      {"tls_server_config:\n  cert_file: " + server.cert + "\n  key_file: " + server.key +
           "\n  client_auth_type: Sometimes\n",
       "web.yml:4: tls_server_config.client_auth_type: 'Sometimes' is not one of"},
      {"tls_server_config:\n  cert_file: " + server.cert + "\n  key_file: " + other.key + "\n",
       "tls_server_config.key_file: does not match the certificate"},
      {"tls_server_config:\n  cert_file: nope.crt\n  key_file: " + server.key + "\n",
       "tls_server_config.cert_file: cannot read"},
      {"basic_auth_users:\n  alice: secret\n", "web.yml:2: basic_auth_users.alice: not a bcrypt"},
      {"basic_auth_user:\n  alice: x\n", "web.yml:1: basic_auth_user: unknown key"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    fs::path sub = dir / std::to_string(i);
    fs::create_directories(sub);
    std::ofstream(sub / "web.yml") << cases[i].yaml;
    auto p = lab::Process::Spawn({EXPORTER_BINARY, "--sentinel", "127.0.0.1:1",
                                  "--web.listen-address", "127.0.0.1:0", "--web.config.file",
                                  (sub / "web.yml").string()},
                                 sub / "out.log");
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(p->Wait(5s)) << cases[i].yaml;
    EXPECT_EQ(p->exit_code(), 2) << cases[i].yaml;
    std::string out = ReadAll(sub / "out.log");
    EXPECT_NE(out.find("--web.config.file: "), std::string::npos) << out;
    EXPECT_NE(out.find(cases[i].want), std::string::npos) << out;
  }
  auto missing = lab::Process::Spawn({EXPORTER_BINARY, "--sentinel", "127.0.0.1:1",
                                      "--web.config.file", (dir / "absent.yml").string()},
                                     dir / "missing.log");
  ASSERT_TRUE(missing.ok());
  ASSERT_TRUE(missing->Wait(5s));
  EXPECT_EQ(missing->exit_code(), 2);
  EXPECT_NE(ReadAll(dir / "missing.log").find("--web.config.file: cannot read"),
            std::string::npos);
}

}  // namespace
}  // namespace redis_ha
