// The exporter's own endpoint: the exporter-toolkit web config parser (every field, every
// error naming its key and line), the TLS server context, bcrypt and basic auth, the rate
// limiter, and the HTTP server in process: request limits, keep-alive, authentication on
// every path, TLS with and without client certificates, and web config reloads.
#include "http/web_config.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "http/client.h"
#include "http/server.h"
#include "support/tls_support.h"

namespace redis_ha::http {
namespace {

using namespace std::chrono_literals;
using testing::BasicAuthHeader;
using testing::CertFiles;
using testing::HttpsOptions;
using testing::HttpsRequest;
using testing::TestPki;
namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("rha-web-" + std::to_string(::getpid()) + "-" + name);
  fs::create_directories(p);
  return p;
}

std::string Write(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path.string();
}

std::string ParseError(const std::string& yaml) {
  auto r = ParseWebConfig(yaml, "web.yml", "/etc/rha");
  return r.ok() ? "" : r.error().message;
}

// Low-cost hashes keep the tests fast; the cost is the hash's, not the server's.
const std::string& HashOf(const std::string& password) {
  static auto* cache = new std::map<std::string, std::string>();
  auto it = cache->find(password);
  if (it == cache->end()) {
    auto h = BcryptHash(password, 5);
    EXPECT_TRUE(h.ok());
    it = cache->emplace(password, *h).first;
  }
  return it->second;
}

// ---- Parsing ----

TEST(WebConfigParseTest, EveryField) {
  std::string yaml =
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: /abs/server.key\n"
      "  client_ca_file: ca/clients.pem\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_allowed_sans: [prometheus.example, 10.0.0.7]\n"
      "  min_version: TLS13\n"
      "  max_version: TLS13\n"
      "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n"
      "  curve_preferences: [X25519, CurveP256]\n"
      "  prefer_server_cipher_suites: false\n"
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    Strict-Transport-Security: max-age=31536000\n"
      "    X-Frame-Options: deny\n"
      "basic_auth_users:\n"
      "  alice: " + HashOf("a") + "\n"
      "  bob: " + HashOf("b") + "\n"
      "auth_excluded_paths: [/healthz]\n"
      "rate_limit:\n"
      "  interval: 100ms\n"
      "  burst: 20\n";
  auto r = ParseWebConfig(yaml, "web.yml", "/etc/rha");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const WebConfig& c = *r;
  EXPECT_TRUE(c.tls.enabled());
  EXPECT_EQ(c.tls.cert_file, "/etc/rha/server.crt");  // relative to the file's directory
  EXPECT_EQ(c.tls.key_file, "/abs/server.key");
  EXPECT_EQ(c.tls.client_ca_file, "/etc/rha/ca/clients.pem");
  EXPECT_EQ(c.tls.client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(c.tls.client_allowed_sans,
            (std::vector<std::string>{"prometheus.example", "10.0.0.7"}));
  EXPECT_EQ(c.tls.min_version, TLS1_3_VERSION);
  EXPECT_EQ(c.tls.max_version, TLS1_3_VERSION);
  EXPECT_EQ(c.tls.cipher_suites.size(), 2u);
  EXPECT_EQ(c.tls.curve_preferences, (std::vector<std::string>{"X25519", "CurveP256"}));
  EXPECT_FALSE(c.tls.prefer_server_cipher_suites);
  EXPECT_FALSE(c.http2);
  EXPECT_EQ(c.headers.size(), 2u);
  EXPECT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users.at("alice"), HashOf("a"));
  EXPECT_EQ(c.auth_excluded_paths, std::vector<std::string>{"/healthz"});
  EXPECT_EQ(c.rate_limit_interval, 100ms);
  EXPECT_EQ(c.rate_limit_burst, 20);
}

TEST(WebConfigParseTest, DefaultsAndEmptyFile) {
  auto empty = ParseWebConfig("", "web.yml", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->tls.enabled());
  EXPECT_TRUE(empty->users.empty());
  auto users_only = ParseWebConfig("basic_auth_users:\n  u: " + HashOf("p") + "\n", "w", "");
  ASSERT_TRUE(users_only.ok());
  EXPECT_FALSE(users_only->tls.enabled());
  EXPECT_EQ(users_only->tls.min_version, TLS1_2_VERSION);  // exporter-toolkit's defaults
  EXPECT_EQ(users_only->tls.max_version, TLS1_3_VERSION);
  EXPECT_TRUE(users_only->tls.prefer_server_cipher_suites);
  // Every client_auth_type, including exporter-toolkit's old RequireClientCert.
  for (auto [name, want] : std::vector<std::pair<std::string, ClientAuth>>{
           {"NoClientCert", ClientAuth::kNoClientCert},
           {"RequestClientCert", ClientAuth::kRequestClientCert},
           {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
           {"RequireClientCert", ClientAuth::kRequireAnyClientCert},
           {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
           {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert}}) {
    auto r = ParseWebConfig("tls_server_config:\n  cert_file: c\n  key_file: k\n"
                            "  client_auth_type: " + name + "\n" +
                                (want == ClientAuth::kNoClientCert ? "" : "  client_ca_file: ca\n"),
                            "w", "");
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
    EXPECT_EQ(r->tls.client_auth, want) << name;
  }
}

TEST(WebConfigParseTest, ErrorsNameTheKeyAndLine) {
  struct Case {
    std::string yaml;
    std::string want;
  };
  const std::string tls = "tls_server_config:\n  cert_file: c\n  key_file: k\n";
  std::vector<Case> cases = {
      {"bogus: 1\n", "web.yml:1: bogus: unknown key"},
      {"tls_server_config:\n  cert_fil: c\n", "web.yml:2: tls_server_config.cert_fil: unknown key"},
      {tls + "  client_auth_type: Maybe\n",
       "web.yml:4: tls_server_config.client_auth_type: 'Maybe' is not one of NoClientCert"},
      {tls + "  min_version: TLS14\n", "web.yml:4: tls_server_config.min_version: 'TLS14'"},
      {tls + "  min_version: TLS13\n  max_version: TLS12\n",
       "tls_server_config.min_version: is above max_version"},
      {tls + "  client_ca_file: ca.pem\n",
       "tls_server_config.client_ca_file: a client CA is configured without a client_auth_type"},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       "tls_server_config.client_ca_file: needed to verify client certificates"},
      {tls + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca\n"
             "  client_allowed_sans: [x]\n",
       "tls_server_config.client_allowed_sans: needs client_auth_type RequireAnyClientCert"},
      {"tls_server_config:\n  cert_file: c\n", "tls_server_config.key_file: missing one of key"},
      {"tls_server_config:\n  key_file: k\n", "tls_server_config.cert_file: missing one of cert"},
      {tls + "  cert: inline\n", "tls_server_config.cert: cert and cert_file are mutually"},
      {tls + "  cipher_suites: [TLS_NOPE]\n",
       "web.yml:4: tls_server_config.cipher_suites: unknown cipher suite 'TLS_NOPE'"},
      {tls + "  curve_preferences: [P-256]\n", "tls_server_config.curve_preferences: unknown curve"},
      {tls + "  prefer_server_cipher_suites: yes\n", "'yes' is not true or false"},
      {"basic_auth_users:\n  alice: plaintext-password\n",
       "web.yml:2: basic_auth_users.alice: not a bcrypt hash"},
      {"basic_auth_users:\n  \"a:b\": " + HashOf("p") + "\n",
       "web.yml:2: basic_auth_users.a:b: a user name must be non-empty and have no ':'"},
      {"basic_auth_users: [alice]\n", "web.yml:1: basic_auth_users: must be a map"},
      {"http_server_config:\n  headers:\n    Server: x\n",
       "web.yml:3: http_server_config.headers.Server: this header cannot be configured"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       "http_server_config.headers.X-Frame-Options: 'allow' is not one of deny, sameorigin"},
      {"http_server_config:\n  headers:\n    X-Content-Type-Options: \"\"\n",
       "http_server_config.headers.X-Content-Type-Options: '' is not one of nosniff"},
      {"http_server_config:\n  http3: true\n", "web.yml:2: http_server_config.http3: unknown key"},
      {"rate_limit:\n  interval: 1s\n", "rate_limit.burst: must be at least 1"},
      {"rate_limit:\n  interval: soon\n  burst: 1\n", "web.yml:2: rate_limit.interval: 'soon'"},
      {"rate_limit:\n  burst: -1\n", "web.yml:2: rate_limit.burst: '-1' is not a count"},
      {"auth_excluded_paths: [healthz]\n", "auth_excluded_paths: 'healthz' is not a path"},
      {"tls_server_config: [\n", "web.yml:2: invalid YAML"},
      {"- a\n", "web.yml: the top level must be a map"},
  };
  for (const auto& c : cases) {
    std::string e = ParseError(c.yaml);
    EXPECT_NE(e.find(c.want), std::string::npos) << "yaml:\n" << c.yaml << "error: " << e;
  }
  // A rejected hash is not echoed.
  EXPECT_EQ(ParseError("basic_auth_users:\n  alice: hunter2hunter2\n").find("hunter2"),
            std::string::npos);
}

// ---- Loading with real files ----

struct WebPki {
  fs::path dir = TempDir("pki");
  TestPki ca{dir / "ca"};
  TestPki other{dir / "other", "another-ca"};
  CertFiles server = ca.Issue("server", "IP:127.0.0.1,DNS:localhost");
  CertFiles client = ca.Issue("client", "DNS:prometheus.example");
  CertFiles client2 = ca.Issue("client2", "DNS:someone-else.example");
  CertFiles stranger = other.Issue("stranger", "DNS:prometheus.example");
};
const WebPki& SharedPki() {
  static const WebPki* pki = new WebPki();
  return *pki;
}

TEST(WebConfigLoadTest, BuildsTheServerContextAndNamesFileErrors) {
  const WebPki& pki = SharedPki();
  fs::path dir = TempDir("load");
  std::string good = Write(dir / "good.yml", "tls_server_config:\n  cert_file: " +
                                                 pki.server.cert + "\n  key_file: " +
                                                 pki.server.key + "\n");
  auto r = LoadWebConfig(good);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE((*r)->ssl_ctx, nullptr);
  EXPECT_EQ((*r)->files.size(), 3u);  // the config, the certificate and the key

  auto error = [&](const std::string& yaml) {
    auto l = LoadWebConfig(Write(dir / "bad.yml", yaml));
    return l.ok() ? std::string() : l.error().message;
  };
  EXPECT_NE(error("tls_server_config:\n  cert_file: missing.crt\n  key_file: " + pki.server.key)
                .find("tls_server_config.cert_file: cannot read '" + (dir / "missing.crt").string()),
            std::string::npos);
  EXPECT_NE(error("tls_server_config:\n  cert_file: " + pki.server.cert + "\n  key_file: " +
                  pki.client.key)
                .find("tls_server_config.key_file: does not match the certificate"),
            std::string::npos);
  EXPECT_NE(error("tls_server_config:\n  cert_file: " + pki.server.key + "\n  key_file: " +
                  pki.server.key)
                .find("tls_server_config.cert_file: no usable PEM certificate"),
            std::string::npos);
  EXPECT_NE(error("tls_server_config:\n  cert_file: " + pki.server.cert + "\n  key_file: " +
                  pki.server.key + "\n  client_auth_type: RequireAndVerifyClientCert\n"
                  "  client_ca_file: " + pki.server.key + "\n")
                .find("tls_server_config.client_ca_file: no PEM certificate"),
            std::string::npos);
  EXPECT_NE(LoadWebConfig((dir / "nope.yml").string()).error().message.find("cannot read"),
            std::string::npos);
  // Inline PEM works too.
  std::ifstream cert_in(pki.server.cert), key_in(pki.server.key);
  std::stringstream cert, key;
  cert << cert_in.rdbuf();
  key << key_in.rdbuf();
  auto indent = [](const std::string& s) {
    std::string out;
    for (char ch : s) out += ch == '\n' ? std::string("\n    ") : std::string(1, ch);
    return out;
  };
  std::string inline_yaml = "tls_server_config:\n  cert: |\n    " + indent(cert.str()) +
                            "\n  key: |\n    " + indent(key.str()) + "\n";
  auto inl = LoadWebConfig(Write(dir / "inline.yml", inline_yaml));
  ASSERT_TRUE(inl.ok()) << inl.error().message;
  EXPECT_NE((*inl)->ssl_ctx, nullptr);
}

// ---- bcrypt and basic auth ----

TEST(BcryptTest, HashesVerifyInEveryPrefix) {
  auto h = BcryptHash("correct horse", 5);
  ASSERT_TRUE(h.ok()) << h.error().message;
  int cost = 0;
  ASSERT_TRUE(IsBcryptHash(*h, &cost));
  EXPECT_EQ(cost, 5);
  EXPECT_TRUE(h->starts_with("$2b$05$"));
  EXPECT_TRUE(BcryptMatches("correct horse", *h));
  EXPECT_FALSE(BcryptMatches("correct horse ", *h));
  EXPECT_FALSE(BcryptMatches("", *h));
  // $2y$ (htpasswd, exporter-toolkit's docs) and $2a$ name the same algorithm for ASCII.
  std::string y = *h, a = *h;
  y[2] = 'y';
  a[2] = 'a';
  EXPECT_TRUE(BcryptMatches("correct horse", y));
  EXPECT_TRUE(BcryptMatches("correct horse", a));
  // A NUL would end the C string crypt() sees: never a match.
  EXPECT_FALSE(BcryptMatches(std::string("correct horse\0tail", 18), *h));
  // exporter-toolkit's fixed decoy hash is bcrypt("fakepassword") at cost 10.
  EXPECT_TRUE(BcryptMatches("fakepassword",
                            "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"));
  EXPECT_FALSE(IsBcryptHash("$2x$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"));
  EXPECT_FALSE(IsBcryptHash("$2y$03$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"));
  EXPECT_FALSE(IsBcryptHash("$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeS"));
  EXPECT_FALSE(BcryptMatches("x", "not a hash"));
}

TEST(BasicAuthTest, ParsesTheAuthorizationHeader) {
  std::string user, password;
  ASSERT_TRUE(ParseBasicAuthorization(BasicAuthHeader("alice", "pa:ss word"), &user, &password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "pa:ss word");
  ASSERT_TRUE(ParseBasicAuthorization("basic YTpi", &user, &password));  // scheme is any case
  EXPECT_EQ(user, "a");
  EXPECT_EQ(password, "b");
  EXPECT_TRUE(ParseBasicAuthorization("Basic Og==", &user, &password));  // ":"
  EXPECT_EQ(user, "");
  EXPECT_FALSE(ParseBasicAuthorization("Bearer YTpi", &user, &password));
  EXPECT_FALSE(ParseBasicAuthorization("Basic YWxpY2U=", &user, &password));  // no colon
  EXPECT_FALSE(ParseBasicAuthorization("Basic YT!i", &user, &password));
  EXPECT_FALSE(ParseBasicAuthorization("Basic YTpi=", &user, &password));
  EXPECT_FALSE(ParseBasicAuthorization("Basic", &user, &password));
}

TEST(BasicAuthTest, ChecksUsersAndCachesSuccesses) {
  auto slow = BcryptHash("right", 9);  // slow enough to tell a bcrypt from a cache hit
  ASSERT_TRUE(slow.ok());
  BasicAuth auth({{"alice", *slow}, {"bob", HashOf("bobs")}});
  using Clock = std::chrono::steady_clock;
  auto timed = [&](const std::string& u, const std::string& p, bool* ok) {
    auto t0 = Clock::now();
    *ok = auth.Check(u, p);
    return Clock::now() - t0;
  };
  bool ok = false;
  auto first = timed("alice", "right", &ok);
  EXPECT_TRUE(ok);
  auto cached = timed("alice", "right", &ok);
  EXPECT_TRUE(ok);
  EXPECT_LT(cached * 5, first) << "a cached success costs no bcrypt";
  auto wrong = timed("alice", "wrong", &ok);
  EXPECT_FALSE(ok);
  // An unknown user costs one bcrypt at the highest configured cost, like a known one.
  auto unknown = timed("mallory", "right", &ok);
  EXPECT_FALSE(ok);
  EXPECT_GT(unknown * 3, wrong) << "unknown users must not answer faster";
  EXPECT_GT(wrong * 3, unknown);
  EXPECT_FALSE(auth.Check("alice", "wrong"));  // failures are not cached as successes
  EXPECT_FALSE(auth.Check("bob", "right"));
  EXPECT_TRUE(auth.Check("bob", "bobs"));
  EXPECT_FALSE(auth.Check("", ""));
}

TEST(RateLimiterTest, BurstThenRefill) {
  RateLimiter limiter(50ms, 2);
  EXPECT_TRUE(limiter.Allow());
  EXPECT_TRUE(limiter.Allow());
  EXPECT_FALSE(limiter.Allow());
  std::this_thread::sleep_for(60ms);
  EXPECT_TRUE(limiter.Allow());
  EXPECT_FALSE(limiter.Allow());
}

// ---- The server in process ----

class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions o = {}) {
    o.listen_address = "127.0.0.1:0";
    std::map<std::string, Handler> routes;
    // /metrics and /big answer with text kept elsewhere (shared_body), as the exporter's
    // /metrics does; the others with their own.
    routes["/metrics"] = [](const Request&) {
      Response r = Response::Text(200, "");
      r.shared_body = std::make_shared<const std::string>("metric 1\n");
      return r;
    };
    routes["/healthz"] = [](const Request&) { return Response::Text(200, "ok\n"); };
    routes["/big-own"] = [](const Request&) { return Response::Text(200, BigBody()); };
    routes["/big"] = [big = std::make_shared<const std::string>(BigBody())](const Request&) {
      Response r = Response::Text(200, "");
      r.shared_body = big;
      return r;
    };
    routes["/echo"] = [](const Request& r) {
      return Response::Text(200, r.method + " " + r.path + "?" + r.query + " " + r.body + " " +
                                     r.user);
    };
    auto s = HttpServer::Start(o, routes);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
  }
  // Raw bytes in, raw bytes out, on one plain connection.
  std::string Raw(const std::string& request, std::chrono::milliseconds wait = 1000ms) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{0, static_cast<suseconds_t>(wait.count() * 1000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return "";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string out;
    char buf[8192];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }
  // A plain connection that has had its answer to one /healthz and stays open (reads
  // time out after 10 s); -1 after a failure.
  int KeptAlive() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const std::string request = "GET /healthz HTTP/1.1\r\n\r\n";
    std::string got;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size())) {
      ADD_FAILURE() << "cannot send the request";
      ::close(fd);
      return -1;
    }
    char buf[4096];
    while (!got.ends_with("\r\n\r\nok\n")) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        ADD_FAILURE() << "no whole answer: " << got;
        ::close(fd);
        return -1;
      }
      got.append(buf, static_cast<size_t>(n));
    }
    return fd;
  }
  // Megabytes (as a /metrics scrape at 100 groups), no two lines alike.
  static std::string BigBody() {
    std::string body;
    for (int i = 0; body.size() < 3 * 1024 * 1024; ++i) {
      body += "series_" + std::to_string(i) + "{label=\"value\"} " + std::to_string(i) + "\n";
    }
    return body;
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ServerTest, RoutesMethodsAndLimits) {
  Start();
  EXPECT_FALSE(server_->tls());
  auto r = HttpRequest(server_->port(), "GET", "/echo?a=1&b=%20");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "GET /echo?a=1&b=%20  ");
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/nope").status, 404);
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/").status, 404);  // no files, no listing
  auto del = HttpRequest(server_->port(), "DELETE", "/metrics");
  EXPECT_EQ(del.status, 405);
  EXPECT_EQ(del.headers["allow"], "GET, HEAD, POST");
  EXPECT_EQ(HttpRequest(server_->port(), "POST", "/echo", "body!").body, "POST /echo? body! ");
  EXPECT_EQ(HttpRequest(server_->port(), "POST", "/echo", std::string(64 * 1024 + 1, 'x')).status,
            413);
  // HEAD: the GET's headers, no body.
  std::string head = Raw("HEAD /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("Content-Length: 9\r\n"), std::string::npos);
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
  // Header size, chunked bodies, malformed requests, versions.
  EXPECT_TRUE(Raw("GET /metrics HTTP/1.1\r\nX-Big: " + std::string(17000, 'a') + "\r\n\r\n")
                  .starts_with("HTTP/1.1 431 "));
  EXPECT_TRUE(Raw("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n")
                  .starts_with("HTTP/1.1 411 "));
  EXPECT_TRUE(Raw("GET /metrics\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(Raw("GET /metrics HTTP/2.0\r\n\r\n").starts_with("HTTP/1.1 505 "));
  EXPECT_TRUE(Raw("GET metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(Raw("GET /metrics HTTP/1.1\r\nBad Header: x\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(Raw("GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(Raw("POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
                  .starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(Raw("GET http://exporter:9479/metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
                  .starts_with("HTTP/1.1 200 "));
}

TEST_F(ServerTest, ALargeBodyFollowsItsHeadWholeAndTheNextAnswerFollowsIt) {
  Start();
  const std::string body = BigBody();
  for (const std::string path : {"/big", "/big-own"}) {  // a shared body, and its own
    SCOPED_TRACE(path);
    std::string got = Raw("GET " + path + " HTTP/1.1\r\n\r\nHEAD " + path +
                              " HTTP/1.1\r\n\r\n"
                              "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
                          5000ms);
    const std::string length = "Content-Length: " + std::to_string(body.size()) + "\r\n";
    size_t end = got.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n"));
    EXPECT_NE(got.substr(0, end).find(length), std::string::npos);
    ASSERT_GE(got.size(), end + 4 + body.size());
    EXPECT_TRUE(got.compare(end + 4, body.size(), body) == 0) << "the body, byte for byte";
    // The HEAD answer: the same length, no body; then the next answer.
    std::string rest = got.substr(end + 4 + body.size());
    size_t head_end = rest.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << rest.substr(0, 200);
    EXPECT_TRUE(rest.starts_with("HTTP/1.1 200 OK\r\n"));
    EXPECT_NE(rest.substr(0, head_end).find(length), std::string::npos);
    rest = rest.substr(head_end + 4);
    EXPECT_TRUE(rest.starts_with("HTTP/1.1 200 OK\r\n")) << rest.substr(0, 200);
    EXPECT_TRUE(rest.ends_with("\r\n\r\nok\n")) << rest;
  }
}

TEST_F(ServerTest, KeepAlivePipeliningAndTimeouts) {
  ServerOptions o;
  o.keep_alive_timeout = 300ms;
  o.request_timeout = 500ms;
  Start(o);
  // Two pipelined requests on one connection, the second closes it.
  std::string two = Raw("GET /metrics HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\nContent-Length: 3\r\n"
                        "Connection: close\r\n\r\nabc");
  EXPECT_EQ(two.find("HTTP/1.1 200"), 0u) << two;
  EXPECT_NE(two.find("Connection: keep-alive"), std::string::npos);
  EXPECT_NE(two.find("POST /echo? abc"), std::string::npos) << two;
  EXPECT_NE(two.find("Connection: close"), std::string::npos);
  // HTTP/1.0 closes unless asked; an idle keep-alive connection is closed after the timeout.
  EXPECT_NE(Raw("GET /metrics HTTP/1.0\r\n\r\n", 2000ms).find("Connection: close"),
            std::string::npos);
  auto t0 = std::chrono::steady_clock::now();
  std::string idle = Raw("GET /metrics HTTP/1.1\r\n\r\n", 3000ms);
  EXPECT_EQ(idle.find("HTTP/1.1 200"), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms) << "idle connections are closed";
  // A request that never completes is dropped after the request timeout.
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Raw("GET /metrics HTTP/1.1\r\nX: ", 3000ms), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);
  // Expect: 100-continue gets its interim response.
  std::string cont = Raw("POST /echo HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
                         "Connection: close\r\n\r\n",
                         300ms);
  EXPECT_TRUE(cont.starts_with("HTTP/1.1 100 Continue\r\n\r\n")) << cont;
}

// Times the server's workers went to sleep (voluntary context switches), from /proc.
uint64_t WorkerSleeps() {
  uint64_t total = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "http-worker") continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("voluntary_ctxt_switches:")) total += std::stoull(line.substr(24));
    }
  }
  return total;
}

// A kept-alive connection waiting for its next request sleeps until the request or the
// keep-alive timeout, instead of waking every 100 ms to look for a stop (which cost ~0.9 ms
// of CPU a second per idle connection); a stop still ends the wait at once (the fixture's
// servers are stopped with idle connections open).
TEST_F(ServerTest, AnIdleKeptAliveConnectionDoesNotWakeItsWorker) {
  ServerOptions o;
  o.threads = 1;
  o.keep_alive_timeout = 1500ms;
  Start(o);
  const int fd = KeptAlive();
  ASSERT_GE(fd, 0);
  char buf[64];
  const uint64_t before = WorkerSleeps();
  // Idle until the server closes the connection at the keep-alive timeout.
  EXPECT_EQ(::recv(fd, buf, sizeof(buf), 0), 0) << "closed after the keep-alive timeout";
  ::close(fd);
  const uint64_t after = WorkerSleeps();
  // One sleep until the timeout (and perhaps one more around the close); slicing was 15.
  EXPECT_LE(after - before, 3u);
}

// Stopping the server ends a kept-alive connection's wait for its next request at once,
// not at the keep-alive timeout (a minute here).
TEST_F(ServerTest, AStopEndsAnIdleKeptAliveConnectionsWait) {
  ServerOptions o;
  o.keep_alive_timeout = 60s;
  Start(o);
  const int fd = KeptAlive();
  ASSERT_GE(fd, 0);
  char buf[64];
  const auto t0 = std::chrono::steady_clock::now();
  server_.reset();  // joins the worker waiting on the idle connection
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s) << "the stop waited for the timeout";
  EXPECT_EQ(::recv(fd, buf, sizeof(buf), 0), 0) << "the connection is closed";
  ::close(fd);
}

TEST_F(ServerTest, ManyConcurrentClientsAreServed) {
  ServerOptions o;
  o.threads = 2;
  Start(o);
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      for (int k = 0; k < 20; ++k) {
        if (HttpRequest(server_->port(), "GET", "/metrics").status == 200) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 160);
}

TEST_F(ServerTest, BasicAuthOnEveryPathButTheExcludedOnes) {
  fs::path dir = TempDir("auth");
  std::string file = Write(dir / "web.yml", "basic_auth_users:\n  alice: " + HashOf("s3cret") +
                                                "\nauth_excluded_paths: [/healthz]\n"
                                                "http_server_config:\n  headers:\n"
                                                "    X-Frame-Options: deny\n");
  auto wc = LoadWebConfig(file);
  ASSERT_TRUE(wc.ok()) << wc.error().message;
  ServerOptions o;
  o.web_config = *wc;
  Start(o);
  for (const char* path : {"/metrics", "/echo", "/nope"}) {
    auto r = HttpRequest(server_->port(), "GET", path);
    EXPECT_EQ(r.status, 401) << path;
    EXPECT_EQ(r.headers["www-authenticate"], "Basic realm=\"redis_ha_exporter\"");
    EXPECT_EQ(r.headers["x-frame-options"], "deny");
  }
  auto with = [&](const std::string& method, const std::string& path, const std::string& user,
                  const std::string& pw) {
    return HttpRequest(server_->port(), method, path, "", 5s,
                       {{"Authorization", BasicAuthHeader(user, pw)}});
  };
  EXPECT_EQ(with("GET", "/metrics", "alice", "wrong").status, 401);
  EXPECT_EQ(with("GET", "/metrics", "mallory", "s3cret").status, 401);
  EXPECT_EQ(with("GET", "/metrics", "alice", "s3cret").status, 200);
  EXPECT_EQ(with("GET", "/echo", "alice", "s3cret").body, "GET /echo?  alice");
  EXPECT_EQ(with("GET", "/nope", "alice", "s3cret").status, 404);
  EXPECT_EQ(with("DELETE", "/metrics", "alice", "s3cret").status, 405);
  // Authentication comes first: an unauthenticated client learns nothing about methods.
  EXPECT_EQ(HttpRequest(server_->port(), "DELETE", "/metrics").status, 401);
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/healthz").status, 200);
  // A refused request's body is never read: the connection closes.
  std::string refused = Raw("POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 401 ")) << refused;
  EXPECT_NE(refused.find("Connection: close"), std::string::npos);
}

TEST_F(ServerTest, RateLimitAnswers429) {
  fs::path dir = TempDir("rate");
  auto wc = LoadWebConfig(Write(dir / "web.yml", "rate_limit:\n  interval: 1h\n  burst: 2\n"));
  ASSERT_TRUE(wc.ok()) << wc.error().message;
  ServerOptions o;
  o.web_config = *wc;
  Start(o);
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/metrics").status, 200);
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/metrics").status, 200);
  EXPECT_EQ(HttpRequest(server_->port(), "GET", "/metrics").status, 429);
}

TEST_F(ServerTest, TlsWithBasicAuth) {
  const WebPki& pki = SharedPki();
  fs::path dir = TempDir("tls");
  auto wc = LoadWebConfig(Write(dir / "web.yml",
                                "tls_server_config:\n  cert_file: " + pki.server.cert +
                                    "\n  key_file: " + pki.server.key +
                                    "\nbasic_auth_users:\n  alice: " + HashOf("s3cret") + "\n"));
  ASSERT_TRUE(wc.ok()) << wc.error().message;
  ServerOptions o;
  o.web_config = *wc;
  Start(o);
  EXPECT_TRUE(server_->tls());
  HttpsOptions h{.ca_file = pki.ca.ca_file()};
  auto r = HttpsRequest(server_->port(), "GET", "/metrics", h);
  EXPECT_EQ(r.status, 401) << r.error;
  h.headers["Authorization"] = BasicAuthHeader("alice", "s3cret");
  r = HttpsRequest(server_->port(), "GET", "/metrics", h);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "metric 1\n");
  h.body = std::string(200000, 'b');  // larger than one TLS record; above the body limit
  EXPECT_EQ(HttpsRequest(server_->port(), "POST", "/echo", h).status, 413);
  h.body = std::string(40000, 'b');
  r = HttpsRequest(server_->port(), "POST", "/echo", h);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body.size(), std::string("POST /echo? ").size() + 40000 + 6);
  // Verification by name works; the wrong CA fails the handshake.
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/healthz",
                         {.ca_file = pki.ca.ca_file(), .server_name = "localhost"})
                .status,
            401);
  auto foreign = HttpsRequest(server_->port(), "GET", "/healthz", {.ca_file = pki.other.ca_file()});
  EXPECT_EQ(foreign.status, 0);
  EXPECT_NE(foreign.error.find("certificate verify failed"), std::string::npos) << foreign.error;
  // Plain HTTP on the TLS port gets a readable refusal.
  auto plain = HttpRequest(server_->port(), "GET", "/metrics");
  EXPECT_EQ(plain.status, 400);
  EXPECT_NE(plain.body.find("HTTP request to an HTTPS server"), std::string::npos);
}

TEST_F(ServerTest, ClientCertificates) {
  const WebPki& pki = SharedPki();
  fs::path dir = TempDir("mtls");
  auto start = [&](const std::string& extra) {
    server_.reset();
    auto wc = LoadWebConfig(Write(dir / "web.yml",
                                  "tls_server_config:\n  cert_file: " + pki.server.cert +
                                      "\n  key_file: " + pki.server.key + "\n  client_ca_file: " +
                                      pki.ca.ca_file() + "\n" + extra));
    ASSERT_TRUE(wc.ok()) << wc.error().message;
    ServerOptions o;
    o.web_config = *wc;
    Start(o);
  };
  const HttpsOptions none{.ca_file = pki.ca.ca_file()};
  const HttpsOptions mine{.ca_file = pki.ca.ca_file(), .cert_file = pki.client.cert,
                          .key_file = pki.client.key};
  const HttpsOptions other_san{.ca_file = pki.ca.ca_file(), .cert_file = pki.client2.cert,
                               .key_file = pki.client2.key};
  const HttpsOptions foreign{.ca_file = pki.ca.ca_file(), .cert_file = pki.stranger.cert,
                             .key_file = pki.stranger.key};

  start("  client_auth_type: RequireAndVerifyClientCert\n");
  auto r = HttpsRequest(server_->port(), "GET", "/metrics", none);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error, "");  // the alert, or a reset if it came while the client still wrote
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", foreign).status, 0);
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", mine).status, 200);

  start("  client_auth_type: VerifyClientCertIfGiven\n");
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", none).status, 200);
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", mine).status, 200);
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", foreign).status, 0);

  start("  client_auth_type: RequireAnyClientCert\n");
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", none).status, 0);
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", foreign).status, 200);

  start("  client_auth_type: RequestClientCert\n");
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", none).status, 200);
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", foreign).status, 200);

  start("  client_auth_type: RequireAndVerifyClientCert\n"
        "  client_allowed_sans: [prometheus.example]\n");
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", mine).status, 200);
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", other_san).status, 0);

  start("  min_version: TLS13\n  client_auth_type: RequireAndVerifyClientCert\n");
  EXPECT_EQ(HttpsRequest(server_->port(), "GET", "/metrics", mine).status, 200);
}

TEST_F(ServerTest, WebConfigChangesApplyWithoutARestart) {
  fs::path dir = TempDir("reload");
  std::string file = Write(dir / "web.yml", "basic_auth_users:\n  alice: " + HashOf("one") + "\n");
  auto wc = LoadWebConfig(file);
  ASSERT_TRUE(wc.ok());
  ServerOptions o;
  o.web_config = *wc;
  Start(o);
  auto as = [&](const std::string& user, const std::string& pw) {
    return HttpRequest(server_->port(), "GET", "/metrics", "", 5s,
                       {{"Authorization", BasicAuthHeader(user, pw)}})
        .status;
  };
  EXPECT_EQ(as("alice", "one"), 200);
  EXPECT_EQ(as("bob", "two"), 401);
  Write(dir / "web.yml", "basic_auth_users:\n  bob: " + HashOf("two") + "\n");
  bool switched = false;
  for (int i = 0; i < 40 && !switched; ++i) {
    std::this_thread::sleep_for(100ms);
    switched = as("bob", "two") == 200;
  }
  EXPECT_TRUE(switched);
  EXPECT_EQ(as("alice", "one"), 401);
  // A broken file keeps the running config; so does switching TLS on.
  Write(dir / "web.yml", "basic_auth_users:\n  bob: not-a-hash\n");
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(as("bob", "two"), 200);
  const WebPki& pki = SharedPki();
  Write(dir / "web.yml", "tls_server_config:\n  cert_file: " + pki.server.cert +
                             "\n  key_file: " + pki.server.key + "\n");
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(as("bob", "two"), 200);
  EXPECT_FALSE(server_->tls());
}

TEST(ServerListenTest, BadAddressesAreConfigErrors) {
  auto taken = HttpServer::Start({.listen_address = "127.0.0.1:0"}, {});
  ASSERT_TRUE(taken.ok());
  auto again = HttpServer::Start(
      {.listen_address = "127.0.0.1:" + std::to_string((*taken)->port())}, {});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("--web.listen-address: cannot listen on"),
            std::string::npos);
  EXPECT_FALSE(HttpServer::Start({.listen_address = "no-such-host.invalid:0"}, {}).ok());
  auto any = HttpServer::Start({.listen_address = ":0"}, {});
  ASSERT_TRUE(any.ok()) << any.error().message;
  EXPECT_EQ(HttpRequest((*any)->port(), "GET", "/x").status, 404);  // reachable on 127.0.0.1
  auto v6 = HttpServer::Start({.listen_address = "[::1]:0"}, {});
  if (v6.ok()) {
    auto r = HttpRequestTo("::1", (*v6)->port(), "GET", "/x");
    EXPECT_TRUE(r.status == 404 || r.status == 0);  // the client may not speak IPv6
  }
}

}  // namespace
}  // namespace redis_ha::http
