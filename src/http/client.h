// A tiny blocking HTTP/1.1 client (one request per connection, Connection: close) over
// plain TCP or TLS, for `check --url` and the tests. Every connect, handshake, write and
// read is bounded by one overall timeout.
//
// TLS verifies the server by default: against `ca_file`, or the system's store when it is
// empty, and the name dialled (or `server_name`) against the certificate's DNS or IP SANs.
// `insecure_skip_verify` turns verification off; nothing else does.
//
// Thread-safety: reentrant.
#ifndef REDIS_HA_HTTP_CLIENT_H_
#define REDIS_HA_HTTP_CLIENT_H_

#include <chrono>
#include <map>
#include <string>

namespace redis_ha::http {

struct HttpResult {
  int status = 0;  // 0: no response; `error` says why
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;
};

struct ClientOptions {
  std::chrono::milliseconds timeout{5000};
  std::map<std::string, std::string> headers;
  std::string body;
  bool tls = false;
  std::string ca_file;    // PEM bundle the server's certificate must chain to
  std::string cert_file;  // client certificate (chain), for servers that ask for one
  std::string key_file;   // its private key
  std::string server_name;  // verified (and sent as SNI) instead of `host`
  bool insecure_skip_verify = false;
};

// One request to `host` (name or address) and `port`.
HttpResult Fetch(const std::string& host, int port, const std::string& method,
                 const std::string& target, const ClientOptions& options = {});

// Plain HTTP to `host` and `port`.
HttpResult HttpRequestTo(const std::string& host, int port, const std::string& method,
                         const std::string& target, const std::string& body = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(5),
                         const std::map<std::string, std::string>& extra_headers = {});

// Plain HTTP to 127.0.0.1:`port`.
HttpResult HttpRequest(int port, const std::string& method, const std::string& target,
                       const std::string& body = "",
                       std::chrono::milliseconds timeout = std::chrono::seconds(5),
                       const std::map<std::string, std::string>& extra_headers = {});

inline HttpResult HttpGet(int port, const std::string& target) {
  return HttpRequest(port, "GET", target);
}

// "Basic base64(user:password)", for an Authorization header.
std::string BasicAuthorization(const std::string& user, const std::string& password);

}  // namespace redis_ha::http

#endif  // REDIS_HA_HTTP_CLIENT_H_
