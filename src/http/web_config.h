// WebConfig: the exporter's own endpoint protection, from `--web.config.file` in the
// Prometheus exporter-toolkit format (the same file node_exporter & co. take):
//
//   tls_server_config:            # HTTPS instead of HTTP
//     cert_file: server.crt       # relative names are relative to this file's directory
//     key_file: server.key
//     client_ca_file: ca.crt      # with client_auth_type, to ask for client certificates
//     client_auth_type: RequireAndVerifyClientCert
//     min_version: TLS12          # TLS10..TLS13; max_version too
//   http_server_config:
//     headers: {Strict-Transport-Security: max-age=31536000}
//   basic_auth_users:             # every path needs one of these users
//     prometheus: $2y$10$...      # bcrypt hash
//   rate_limit: {interval: 100ms, burst: 20}
//   auth_excluded_paths: [/healthz]
//
// `LoadWebConfig` reads and validates the file and builds the server's SSL_CTX, so a bad
// file, key or certificate is an error naming the key before anything listens.
// BasicAuth checks user/password pairs against the bcrypt hashes (libcrypt), in constant
// time and with one bcrypt for unknown users too, and remembers successful checks.
//
// Thread-safety: WebConfig is immutable once loaded. BasicAuth and RateLimiter are safe
// to call from many threads.
#ifndef REDIS_HA_HTTP_WEB_CONFIG_H_
#define REDIS_HA_HTTP_WEB_CONFIG_H_

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "util/status.h"

namespace redis_ha::http {

enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

struct TlsServerConfig {
  std::string cert_file;       // made absolute against the web config's directory
  std::string key_file;
  std::string client_ca_file;
  std::string cert;            // inline PEM alternatives to the three files
  std::string key;
  std::string client_ca;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::vector<std::string> client_allowed_sans;  // exact DNS/IP/e-mail/URI SAN values
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::vector<std::string> cipher_suites;        // IANA names, as exporter-toolkit takes
  std::vector<std::string> curve_preferences;    // CurveP256, CurveP384, CurveP521, X25519
  bool prefer_server_cipher_suites = true;

  // Whether TLS is configured at all (any certificate, key, CA or client auth type set).
  bool enabled() const;
};

struct WebConfig {
  std::string path;
  TlsServerConfig tls;
  bool http2 = true;  // accepted for compatibility; only HTTP/1.1 is served
  std::vector<std::pair<std::string, std::string>> headers;  // added to every response
  std::map<std::string, std::string> users;                   // user -> bcrypt hash
  std::vector<std::string> auth_excluded_paths;               // exact paths without auth
  std::chrono::milliseconds rate_limit_interval{0};           // 0: no rate limit
  int rate_limit_burst = 0;

  // Built by LoadWebConfig when TLS is enabled.
  std::shared_ptr<SSL_CTX> ssl_ctx;
  // The file itself and every file it names, for change detection.
  std::vector<std::string> files;
};

// Parses the YAML text of a web config. `name` prefixes errors ("web.yml:3: key: ...");
// `dir` resolves relative file names. Checks the shape, the enumerations, the hashes and
// the combinations exporter-toolkit refuses; does not read the named files.
Result<WebConfig> ParseWebConfig(std::string_view yaml, const std::string& name,
                                 const std::string& dir);

// Reads `path`, parses it, and builds the TLS server context from the certificate, key
// and client CA it names.
Result<std::shared_ptr<const WebConfig>> LoadWebConfig(const std::string& path);

// After a handshake under client_allowed_sans: whether the peer's certificate carries one
// of the allowed SANs. `why` explains a refusal.
bool ClientCertificateAllowed(SSL* ssl, const TlsServerConfig& tls, std::string* why);

// bcrypt ($2a$, $2b$, $2y$) through libcrypt.
bool IsBcryptHash(std::string_view hash, int* cost = nullptr);
// A new hash of `password` with `cost` (4..31) and a random salt.
Result<std::string> BcryptHash(std::string_view password, int cost);
// Whether `password` hashes to `hash`; the comparison takes constant time.
bool BcryptMatches(std::string_view password, const std::string& hash);

// "Basic <base64(user:password)>" -> user and password. False when malformed.
bool ParseBasicAuthorization(std::string_view header, std::string* user,
                             std::string* password);

class BasicAuth {
 public:
  // `users` maps user names to bcrypt hashes. Computes one dummy hash, at the highest
  // cost among them, that unknown users are checked against.
  explicit BasicAuth(std::map<std::string, std::string> users);

  bool Check(const std::string& user, const std::string& password);

  static constexpr size_t kMaxCached = 1024;

 private:
  std::map<std::string, std::string> users_;
  std::string dummy_hash_;
  std::mutex bcrypt_mu_;  // one bcrypt at a time: they are CPU-bound by design
  std::mutex cache_mu_;
  // SHA-256 of (user, hash, password) of successful checks; never the password itself.
  std::unordered_set<std::string> cache_;
};

// A token bucket: `burst` requests at once, refilled at one per `interval`.
class RateLimiter {
 public:
  RateLimiter(std::chrono::milliseconds interval, int burst);
  bool Allow();

 private:
  std::mutex mu_;
  std::chrono::steady_clock::duration interval_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace redis_ha::http

#endif  // REDIS_HA_HTTP_WEB_CONFIG_H_
