// HttpServer: the exporter's small HTTP/1.1 server (plain or TLS) with exact-path routes.
//
// Contract: handlers get a parsed request and return a whole response; they run on the
// server's worker threads and must only read immutable, published state. Only GET, HEAD
// and POST are served (405 otherwise); unknown paths are 404; request heads above
// `max_header_bytes` are refused with 431 and bodies above `max_body_bytes` with 413;
// chunked request bodies with 411; no directory or file is ever served.
//
// With a web config (`--web.config.file`, exporter-toolkit format, http/web_config.h):
// TLS on the listening port (client certificates as configured), basic auth on every
// path but `auth_excluded_paths` (401 with `WWW-Authenticate: Basic
// realm="redis_ha_exporter"`, checked before the method, the path or the body), a rate
// limit (429) and extra response headers. The file and the files it names are watched:
// a change is loaded at the next connection (at most one check a second); a file that
// no longer loads is logged and the running web config kept. TLS itself cannot be
// switched on or off without a restart.
//
// Limits: `threads` connections are served at once, each by one worker; up to
// `max_pending_connections` more wait for a worker, beyond that new connections are
// closed at once. A connection idle for `keep_alive_timeout` between requests, or slower
// than `request_timeout` for one request (TLS handshake included), is closed. A kept-alive
// connection is released after its response when others are waiting.
//
// Why not CivetWeb: Debian's libcivetweb 1.15 loads OpenSSL with dlopen("libssl.so") and
// resolves SSL_get_peer_certificate, which OpenSSL 3 no longer exports (a macro now), so
// its HTTPS crashes on the first connection; it is also built without IPv6.
//
// Thread-safety: Start/destruction from one thread; handlers are called concurrently.
#ifndef REDIS_HA_HTTP_SERVER_H_
#define REDIS_HA_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace redis_ha::http {

struct WebConfig;

struct Request {
  std::string method;
  std::string path;   // raw, still percent-encoded
  std::string query;  // raw, still percent-encoded
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string user;                            // the basic-auth user; "" without authentication
  std::string Param(const std::string& name) const;  // decoded, "" when absent
  bool HasParam(const std::string& name) const;
  // Every name=value pair in order (decoded).
  std::vector<std::pair<std::string, std::string>> Params() const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // A body kept elsewhere, sent instead of `body` when set: the text stays where it was
  // written (say, a /metrics buffer reused by the next scrape once this reference is gone).
  std::shared_ptr<const std::string> shared_body;

  std::string_view Body() const { return shared_body ? std::string_view(*shared_body) : body; }

  static Response Text(int status, std::string body);
  static Response Json(int status, std::string body);
  static Response Html(int status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string listen_address = ":9479";  // [host]:port; ":port" is every address
  int threads = 8;
  size_t max_pending_connections = 64;
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;  // request line and headers
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds keep_alive_timeout{5000};
  int max_requests_per_connection = 1000;
  // TLS, basic auth, headers, rate limit; null: plain HTTP, no authentication.
  std::shared_ptr<const WebConfig> web_config;
};

class HttpServer {
 public:
  // Binds and starts serving. Routes are exact paths ("/metrics").
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                   std::map<std::string, Handler> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  bool tls() const;

  struct State;

 private:
  HttpServer() = default;
  std::unique_ptr<State> state_;
};

// Percent-decoding of a query component ('+' is a space).
std::string UrlDecode(std::string_view s);

}  // namespace redis_ha::http

#endif  // REDIS_HA_HTTP_SERVER_H_
