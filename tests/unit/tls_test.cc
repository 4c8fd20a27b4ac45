// TLS to Redis and Sentinel: the client context's configuration errors, Connection's TLS
// transport against an in-process TLS RESP peer (verification, names, client
// certificates, large replies and commands, a plain port), the pool with TLS credentials,
// and the TLS flags and keys of the configuration.
#include "redis/tls.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "redis/connection.h"
#include "redis/pool.h"
#include "support/fake_server.h"
#include "support/tls_support.h"

namespace redis_ha {
namespace {

using namespace std::chrono_literals;
using testing::CertFiles;
using testing::FakeServer;
using testing::TestPki;
namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("rha-tls-" + std::to_string(::getpid()) + "-" + name);
  fs::create_directories(p);
  return p;
}

// A PKI shared by the tests of this file: a CA, a server certificate for 127.0.0.1 and
// localhost, a client certificate, and a second, unrelated CA.
struct Pki {
  fs::path dir = TempDir("pki");
  TestPki ca{dir / "ca"};
  TestPki other{dir / "other", "another-ca"};
  CertFiles server = ca.Issue("server", "IP:127.0.0.1,DNS:localhost");
  CertFiles client = ca.Issue("client", "DNS:exporter");
  CertFiles stranger = other.Issue("stranger", "DNS:exporter");
};
const Pki& SharedPki() {
  static const Pki* pki = new Pki();
  return *pki;
}

// A TLS peer speaking enough RESP: PING, AUTH, ECHO s, BIG n (a bulk string of n bytes),
// LEN s (the length of s).
struct PeerOptions {
  bool require_client_cert = false;
  bool tls = true;  // false: a plain-text Redis that answers a ClientHello with an error
};

FakeServer::Script TlsRespPeer(const Pki& pki, PeerOptions o) {
  return [&pki, o](int fd, const std::atomic<bool>& stop) {
    if (!o.tls) {
      char buf[512];
      ::recv(fd, buf, sizeof(buf), 0);
      FakeServer::SendAll(fd, "-ERR unknown command\r\n");
      return;
    }
    timeval tv{0, 50 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    tls::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    SSL_CTX_use_certificate_chain_file(ctx.get(), pki.server.cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx.get(), pki.server.key.c_str(), SSL_FILETYPE_PEM);
    if (o.require_client_cert) {
      SSL_CTX_load_verify_locations(ctx.get(), pki.ca.ca_file().c_str(), nullptr);
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    tls::SslPtr ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), fd);
    for (;;) {
      int rc = SSL_accept(ssl.get());
      if (rc == 1) break;
      if (SSL_get_error(ssl.get(), rc) != SSL_ERROR_WANT_READ || stop) return;
    }
    std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(),
                                                                redisReaderFree);
    char buf[65536];
    while (!stop) {
      int n = SSL_read(ssl.get(), buf, sizeof(buf));
      if (n <= 0) {
        int e = SSL_get_error(ssl.get(), n);
        if (e == SSL_ERROR_WANT_READ) continue;
        return;
      }
      redisReaderFeed(reader.get(), buf, static_cast<size_t>(n));
      void* obj = nullptr;
      while (redisReaderGetReply(reader.get(), &obj) == REDIS_OK && obj != nullptr) {
        auto* cmd = static_cast<redisReply*>(obj);
        std::string out;
        std::string name = cmd->element[0]->str;
        if (name == "PING") {
          out = "+PONG\r\n";
        } else if (name == "AUTH") {
          out = "+OK\r\n";
        } else if (name == "ECHO") {
          out = "$" + std::to_string(cmd->element[1]->len) + "\r\n" +
                std::string(cmd->element[1]->str, cmd->element[1]->len) + "\r\n";
        } else if (name == "BIG") {
          size_t len = std::stoul(cmd->element[1]->str);
          out = "$" + std::to_string(len) + "\r\n" + std::string(len, 'x') + "\r\n";
        } else if (name == "LEN") {
          out = ":" + std::to_string(cmd->element[1]->len) + "\r\n";
        } else {
          out = "-ERR unknown\r\n";
        }
        freeReplyObject(cmd);
        size_t off = 0;
        while (off < out.size()) {
          int w = SSL_write(ssl.get(), out.data() + off, static_cast<int>(out.size() - off));
          if (w <= 0) return;
          off += static_cast<size_t>(w);
        }
      }
    }
  };
}

std::shared_ptr<const redis::TlsContext> Context(redis::TlsOptions o) {
  o.enabled = true;
  auto ctx = redis::TlsContext::Create(o, "--redis");
  EXPECT_TRUE(ctx.ok()) << ctx.error().message;
  return ctx.ok() ? *ctx : nullptr;
}

// Runs `commands` on a new connection with `tls`, driving it with poll(2).
Result<std::vector<redis::Reply>> Exchange(int port, std::shared_ptr<const redis::TlsContext> tls,
                                           const std::vector<std::vector<std::string>>& commands,
                                           const std::string& host = "127.0.0.1") {
  redis::Connection c(redis::Endpoint{host, port}, redis::Credentials{"", "", std::move(tls)});
  if (Status s = c.BeginConnect(); !s) return s.error();
  for (const auto& cmd : commands) c.Queue(cmd);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (c.PendingReplies() < commands.size()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return MakeError(ErrorKind::kTimeout, "no replies in time");
    }
    if (c.Events() == 0) return MakeError(ErrorKind::kProtocol, "nothing to wait for");
    pollfd p{c.fd(), c.Events(), 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (Status s = c.HandleEvents(p.revents); !s) return s.error();
    if (c.eof() && c.PendingReplies() < commands.size()) {
      return MakeError(ErrorKind::kProtocol, "closed by the peer");
    }
  }
  std::vector<redis::Reply> out;
  while (c.HasReply()) out.push_back(c.PopReply());
  return out;
}

// ---- TlsContext configuration errors ----

TEST(TlsContextTest, FileErrorsNameTheOption) {
  const Pki& pki = SharedPki();
  auto error = [](redis::TlsOptions o) {
    o.enabled = true;
    auto ctx = redis::TlsContext::Create(o, "--redis");
    return ctx.ok() ? std::string() : ctx.error().message;
  };
  EXPECT_NE(error({.ca_file = "/nonexistent/ca.crt"}).find("--redis.tls-ca-file: cannot read"),
            std::string::npos);
  std::string junk = (TempDir("junk") / "junk.pem").string();
  std::ofstream(junk) << "not a certificate\n";
  EXPECT_NE(error({.ca_file = junk}).find("--redis.tls-ca-file: cannot load"), std::string::npos);
  EXPECT_NE(error({.cert_file = pki.client.cert}).find("--redis.tls-key-file: needed"),
            std::string::npos);
  EXPECT_NE(error({.key_file = pki.client.key}).find("--redis.tls-cert-file: needed"),
            std::string::npos);
  std::string mismatch = error({.cert_file = pki.client.cert, .key_file = pki.stranger.key});
  EXPECT_NE(mismatch.find("--redis.tls-key-file: "), std::string::npos) << mismatch;
  EXPECT_NE(error({.cert_file = junk, .key_file = pki.client.key}).find("--redis.tls-cert-file"),
            std::string::npos);
  EXPECT_EQ(error({.ca_file = pki.ca.ca_file(), .cert_file = pki.client.cert,
                   .key_file = pki.client.key}),
            "");
  EXPECT_EQ(error({}), "");  // the system store
}

// ---- Connection over TLS ----

TEST(TlsConnectionTest, VerifiedHandshakeThenCommands) {
  const Pki& pki = SharedPki();
  FakeServer peer(TlsRespPeer(pki, {}));
  auto r = Exchange(peer.port(), Context({.ca_file = pki.ca.ca_file()}),
                    {{"PING"}, {"ECHO", "hello"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].str, "PONG");
  EXPECT_EQ((*r)[1].str, "hello");
}

TEST(TlsConnectionTest, AuthIsSentOverTls) {
  const Pki& pki = SharedPki();
  FakeServer peer(TlsRespPeer(pki, {}));
  redis::Connection c(redis::Endpoint{"127.0.0.1", peer.port()},
                      redis::Credentials{"user", "secret", Context({.ca_file = pki.ca.ca_file()})});
  ASSERT_TRUE(c.BeginConnect().ok());
  c.Queue({"PING"});
  for (int i = 0; i < 100 && !c.HasReply(); ++i) {
    pollfd p{c.fd(), c.Events(), 0};
    if (::poll(&p, 1, 100) > 0) {
      ASSERT_TRUE(c.HandleEvents(p.revents).ok());
    }
  }
  ASSERT_TRUE(c.HasReply());
  EXPECT_EQ(c.PopReply().str, "PONG");  // the AUTH reply was consumed internally
}

TEST(TlsConnectionTest, WrongCaIsAConnectErrorWithTheVerifyReason) {
  const Pki& pki = SharedPki();
  FakeServer peer(TlsRespPeer(pki, {}));
  auto r = Exchange(peer.port(), Context({.ca_file = pki.other.ca_file()}), {{"PING"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kConnect);
  EXPECT_NE(r.error().message.find("TLS handshake with 127.0.0.1:" + std::to_string(peer.port()) +
                                   " failed: certificate verify failed"),
            std::string::npos)
      << r.error().message;
}

TEST(TlsConnectionTest, TheNameIsVerified) {
  const Pki& pki = SharedPki();
  FakeServer peer(TlsRespPeer(pki, {}));
  // The certificate names 127.0.0.1 and localhost.
  auto wrong = Exchange(peer.port(),
                        Context({.ca_file = pki.ca.ca_file(), .server_name = "db.example"}),
                        {{"PING"}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().kind, ErrorKind::kConnect);
  EXPECT_NE(wrong.error().message.find("hostname mismatch"), std::string::npos)
      << wrong.error().message;
  auto by_name = Exchange(peer.port(),
                          Context({.ca_file = pki.ca.ca_file(), .server_name = "localhost"}),
                          {{"PING"}});
  EXPECT_TRUE(by_name.ok()) << by_name.error().message;
  auto dialled_name = Exchange(peer.port(), Context({.ca_file = pki.ca.ca_file()}), {{"PING"}},
                               "localhost");
  EXPECT_TRUE(dialled_name.ok()) << dialled_name.error().message;
  // An IP the certificate does not name.
  auto wrong_ip = Exchange(peer.port(),
                           Context({.ca_file = pki.ca.ca_file(), .server_name = "10.1.2.3"}),
                           {{"PING"}});
  ASSERT_FALSE(wrong_ip.ok());
  EXPECT_NE(wrong_ip.error().message.find("IP address mismatch"), std::string::npos)
      << wrong_ip.error().message;
}

TEST(TlsConnectionTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  const Pki& pki = SharedPki();
  FakeServer peer(TlsRespPeer(pki, {}));
  auto r = Exchange(peer.port(),
                    Context({.ca_file = pki.other.ca_file(), .server_name = "db.example",
                             .insecure_skip_verify = true}),
                    {{"PING"}});
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(TlsConnectionTest, ClientCertificateWhenTheServerRequiresOne) {
  const Pki& pki = SharedPki();
  FakeServer peer(TlsRespPeer(pki, {.require_client_cert = true}));
  auto without = Exchange(peer.port(), Context({.ca_file = pki.ca.ca_file()}), {{"PING"}});
  ASSERT_FALSE(without.ok());
  EXPECT_EQ(without.error().kind, ErrorKind::kConnect) << without.error().message;
  // TLS 1.3: the server's alert comes after our side of the handshake.
  EXPECT_NE(without.error().message.find("refused by the server"), std::string::npos)
      << without.error().message;
  auto foreign = Exchange(peer.port(),
                          Context({.ca_file = pki.ca.ca_file(), .cert_file = pki.stranger.cert,
                                   .key_file = pki.stranger.key}),
                          {{"PING"}});
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().kind, ErrorKind::kConnect) << foreign.error().message;
  auto with = Exchange(peer.port(),
                       Context({.ca_file = pki.ca.ca_file(), .cert_file = pki.client.cert,
                                .key_file = pki.client.key}),
                       {{"PING"}});
  ASSERT_TRUE(with.ok()) << with.error().message;
  EXPECT_EQ((*with)[0].str, "PONG");
}

TEST(TlsConnectionTest, LargeRepliesAndCommandsCrossManyRecords) {
  const Pki& pki = SharedPki();
  FakeServer peer(TlsRespPeer(pki, {}));
  const std::string big_arg(3 << 20, 'a');  // partial SSL_write calls
  auto r = Exchange(peer.port(), Context({.ca_file = pki.ca.ca_file()}),
                    {{"BIG", std::to_string(5 << 20)}, {"LEN", big_arg}, {"BIG", "1"}, {"PING"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].str.size(), size_t(5 << 20));
  EXPECT_EQ((*r)[1].integer, 3 << 20);
  EXPECT_EQ((*r)[2].str, "x");
  EXPECT_EQ((*r)[3].str, "PONG");
}

TEST(TlsConnectionTest, APlainPortIsAClearHandshakeError) {
  const Pki& pki = SharedPki();
  FakeServer peer(TlsRespPeer(pki, {.tls = false}));
  auto r = Exchange(peer.port(), Context({.ca_file = pki.ca.ca_file()}), {{"PING"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kConnect);
  EXPECT_NE(r.error().message.find("TLS handshake with"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("is it a TLS port?"), std::string::npos) << r.error().message;
}

TEST(TlsConnectionTest, PoolReusesTlsConnectionsAndRenewsThemWithANewContext) {
  const Pki& pki = SharedPki();
  FakeServer peer(TlsRespPeer(pki, {}));
  redis::ConnectionPool pool;
  auto ctx = Context({.ca_file = pki.ca.ca_file()});
  redis::Endpoint e{"127.0.0.1", peer.port()};
  for (int i = 0; i < 3; ++i) {
    auto r = pool.Execute({redis::Request{e, {"", "", ctx}, {{"PING"}, {"ECHO", "x"}}}}, 2000ms);
    ASSERT_TRUE(r[0].status.ok()) << r[0].status.error().message;
    EXPECT_EQ(r[0].replies[1].str, "x");
    EXPECT_EQ(r[0].reconnected, i == 0);
  }
  // A reload builds a new context: the connection is re-opened with it.
  auto renewed = Context({.ca_file = pki.ca.ca_file()});
  auto r = pool.Execute({redis::Request{e, {"", "", renewed}, {{"PING"}}}}, 2000ms);
  ASSERT_TRUE(r[0].status.ok()) << r[0].status.error().message;
  EXPECT_TRUE(r[0].reconnected);
}

// ---- Configuration ----

class TlsConfigTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = TempDir("config") / name;
    std::ofstream(p) << text;
    return p.string();
  }
  static std::string ErrorOf(const std::vector<std::string>& args) {
    auto r = LoadConfig(args);
    return r.ok() ? "" : r.error().message;
  }
};

TEST_F(TlsConfigTest, FlagsBuildOneContextPerRole) {
  const Pki& pki = SharedPki();
  auto r = LoadConfig({"--sentinel", "127.0.0.1:26379", "--redis.tls", "--redis.tls-ca-file",
                       pki.ca.ca_file(), "--redis.tls-cert-file=" + pki.client.cert,
                       "--redis.tls-key-file", pki.client.key, "--redis.tls-server-name",
                       "redis.internal", "--sentinel.tls=true",
                       "--sentinel.tls-insecure-skip-verify"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r->config;
  ASSERT_NE(c.redis_tls, nullptr);
  ASSERT_NE(c.sentinel_tls, nullptr);
  EXPECT_NE(c.redis_tls, c.sentinel_tls);
  EXPECT_EQ(c.redis_tls->options().server_name, "redis.internal");
  EXPECT_FALSE(c.redis_tls->options().insecure_skip_verify);
  EXPECT_TRUE(c.sentinel_tls->options().insecure_skip_verify);
  EXPECT_EQ(c.RedisCredentials("any").tls, c.redis_tls);
  EXPECT_EQ(c.SentinelCredentials("any").tls, c.sentinel_tls);
}

TEST_F(TlsConfigTest, TlsIsOffByDefaultAndNoFlagTurnsItOff) {
  auto plain = LoadConfig({"--sentinel", "127.0.0.1:26379"});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->config.redis_tls, nullptr);
  EXPECT_EQ(plain->config.RedisCredentials("g").tls, nullptr);
  auto off = LoadConfig({"--sentinel", "127.0.0.1:26379", "--redis.tls", "--no-redis.tls"});
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ(off->config.redis_tls, nullptr);
  auto also_off = LoadConfig({"--redis.tls=false", "--sentinel", "127.0.0.1:26379"});
  ASSERT_TRUE(also_off.ok()) << also_off.error().message;
  EXPECT_EQ(also_off->config.redis_tls, nullptr);
  // A boolean flag does not swallow the next argument.
  auto next = LoadConfig({"--sentinel.tls", "--sentinel", "127.0.0.1:26379"});
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_NE(next->config.sentinel_tls, nullptr);
  EXPECT_EQ(next->config.sentinels.size(), 1u);
}

TEST_F(TlsConfigTest, YamlKeysUnderTheRoleSections) {
  const Pki& pki = SharedPki();
  std::string file = Write("tls.yml", "sentinels: [\"127.0.0.1:26379\"]\n"
                                      "redis:\n  username: mon\n  tls: true\n"
                                      "  tls-ca-file: " + pki.ca.ca_file() + "\n"
                                      "sentinel:\n  tls: false\n");
  auto r = LoadConfig({"--config", file});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_NE(r->config.redis_tls, nullptr);
  EXPECT_EQ(r->config.redis_tls->options().ca_file, pki.ca.ca_file());
  EXPECT_EQ(r->config.sentinel_tls, nullptr);
  EXPECT_EQ(r->config.RedisCredentials("g").username, "mon");
  // Flags override the file.
  auto off = LoadConfig({"--config", file, "--no-redis.tls", "--redis.tls-ca-file",
                         pki.ca.ca_file()});
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.error().message.find("--redis.tls-ca-file: set, but --redis.tls is off"),
            std::string::npos);
}

TEST_F(TlsConfigTest, ErrorsNameTheFlagOrKey) {
  const Pki& pki = SharedPki();
  const std::string seed = "127.0.0.1:26379";
  EXPECT_NE(ErrorOf({"--sentinel", seed, "--redis.tls-ca-file", pki.ca.ca_file()})
                .find("--redis.tls-ca-file: set, but --redis.tls is off"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", seed, "--sentinel.tls-insecure-skip-verify"})
                .find("--sentinel.tls-insecure-skip-verify: set, but --sentinel.tls is off"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", seed, "--redis.tls=yes"}).find("--redis.tls: 'yes' is not"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", seed, "--no-redis.tls=true"}).find("takes no value"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", seed, "--no-redis.tls-ca-file"}).find("unknown flag"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", seed, "--sentinel.tls", "--sentinel.tls-ca-file",
                     "/nonexistent.pem"})
                .find("--sentinel.tls-ca-file: cannot read '/nonexistent.pem'"),
            std::string::npos);
  std::string bad = Write("bad.yml", "sentinels: [\"127.0.0.1:1\"]\nredis:\n  tls: maybe\n");
  std::string e = ErrorOf({"--config", bad});
  EXPECT_NE(e.find("bad.yml:3: redis.tls: 'maybe' is not true or false"), std::string::npos) << e;
  std::string unknown = Write("unknown.yml", "sentinels: [\"127.0.0.1:1\"]\nredis:\n  tlz: true\n");
  e = ErrorOf({"--config", unknown});
  EXPECT_NE(e.find("unknown.yml:3: redis.tlz: unknown key"), std::string::npos) << e;
  // TLS options are global per role, not per group.
  std::string group = Write("group.yml", "sentinels: [\"127.0.0.1:1\"]\ngroups:\n  - name: g\n"
                                         "    redis:\n      tls: true\n");
  e = ErrorOf({"--config", group});
  EXPECT_NE(e.find("groups.redis.tls: unknown key"), std::string::npos) << e;
}

TEST_F(TlsConfigTest, HelpDocumentsTheBooleanForms) {
  std::string help = HelpText("redis_ha_exporter");
  EXPECT_NE(help.find("  --redis.tls "), std::string::npos);
  EXPECT_NE(help.find("--no-redis.tls"), std::string::npos);
  EXPECT_EQ(help.find("--redis.tls="), std::string::npos);
  EXPECT_NE(help.find("--sentinel.tls-ca-file=FILE"), std::string::npos);
  EXPECT_NE(ConfigReference().find("`redis: { tls-insecure-skip-verify: ... }`"),
            std::string::npos);
}

}  // namespace
}  // namespace redis_ha
