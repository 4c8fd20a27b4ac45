// TLS helpers for the tests: a throw-away PKI made with the OpenSSL API (no openssl
// command needed), and a blocking HTTPS client with optional client certificate.
//
//   testing::TestPki pki(dir);                       // dir/ca.crt, dir/ca.key
//   auto server = pki.Issue("server", "IP:127.0.0.1,DNS:localhost");
//   auto client = pki.Issue("client", "DNS:exporter-client");
//
// Thread-safety: TestPki is not thread-safe; HttpsRequest is reentrant.
#ifndef REDIS_HA_TESTS_SUPPORT_TLS_SUPPORT_H_
#define REDIS_HA_TESTS_SUPPORT_TLS_SUPPORT_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "http/client.h"

namespace redis_ha::testing {

struct CertFiles {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key (unencrypted)
};

class TestPki {
 public:
  // Creates a CA named `ca_name` with its files in `dir` (created if missing).
  explicit TestPki(std::filesystem::path dir, std::string ca_name = "redis-ha-test-ca");
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& ca_file() const { return ca_file_; }
  // A P-256 certificate for `name` signed by the CA, valid for a day, for server and
  // client use, with subjectAltName `sans` ("IP:127.0.0.1,DNS:localhost"; may be empty).
  // Files: dir/<name>.crt and dir/<name>.key.
  CertFiles Issue(const std::string& name, const std::string& sans);

 private:
  struct KeyDeleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  struct CertDeleter {
    void operator()(X509* x) const { X509_free(x); }
  };
  std::filesystem::path dir_;
  std::string ca_file_;
  std::unique_ptr<EVP_PKEY, KeyDeleter> ca_key_;
  std::unique_ptr<X509, CertDeleter> ca_cert_;
};

using HttpsResult = http::HttpResult;

struct HttpsOptions {
  std::string ca_file;       // empty: do not verify the server
  std::string cert_file;     // client certificate, optional
  std::string key_file;
  std::string server_name = "127.0.0.1";  // verified name (IP or DNS)
  std::map<std::string, std::string> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
};

// One request on a fresh TLS connection to 127.0.0.1:port (Connection: close), with the
// exporter's own client (src/http/client.h).
HttpsResult HttpsRequest(int port, const std::string& method, const std::string& target,
                         const HttpsOptions& options = {});

// "Basic base64(user:password)" for an Authorization header.
inline std::string BasicAuthHeader(const std::string& user, const std::string& password) {
  return http::BasicAuthorization(user, password);
}

}  // namespace redis_ha::testing

#endif  // REDIS_HA_TESTS_SUPPORT_TLS_SUPPORT_H_
