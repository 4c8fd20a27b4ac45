// HttpServer: a small CivetWeb-backed HTTP server with exact-path routes.
//
// Contract: handlers get a parsed request and return a whole response; they run on
// CivetWeb's worker threads and must only read immutable, published state. Only GET,
// HEAD and POST are served (405 otherwise); unknown paths are 404; request bodies above
// `max_body_bytes` are refused with 413; no directory or file is ever served.
//
// Thread-safety: Start/stop from one thread; handlers are called concurrently.
#ifndef REDIS_HA_HTTP_SERVER_H_
#define REDIS_HA_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

struct mg_context;
struct mg_connection;

namespace redis_ha::http {

struct Request {
  std::string method;
  std::string path;
  std::string query;  // raw, still percent-encoded
  std::string body;
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

  static Response Text(int status, std::string body);
  static Response Json(int status, std::string body);
  static Response Html(int status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string listen_address = ":9479";  // [host]:port
  int threads = 8;
  size_t max_body_bytes = 64 * 1024;
  int request_timeout_ms = 10000;
};

class HttpServer {
 public:
  // Binds and starts serving. Routes are exact paths ("/metrics").
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                   std::map<std::string, Handler> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

 private:
  HttpServer() = default;
  static int Dispatch(::mg_connection* conn, void* self);

  ServerOptions options_;
  std::map<std::string, Handler> routes_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

// Percent-decoding of a query component ('+' is a space).
std::string UrlDecode(std::string_view s);

}  // namespace redis_ha::http

#endif  // REDIS_HA_HTTP_SERVER_H_
