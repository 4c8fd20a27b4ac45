// A tiny blocking HTTP/1.1 client (plain HTTP, Connection: close), for `check --url`
// and the tests. Every connect, write and read is bounded by the timeout.
// Thread-safety: reentrant.
#ifndef REDIS_HA_HTTP_CLIENT_H_
#define REDIS_HA_HTTP_CLIENT_H_

#include <chrono>
#include <map>
#include <string>

namespace redis_ha::http {

struct HttpResult {
  int status = 0;  // 0: no response (connect failed, timeout)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// To `host` (name or address) and `port`.
HttpResult HttpRequestTo(const std::string& host, int port, const std::string& method,
                         const std::string& target, const std::string& body = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(5),
                         const std::map<std::string, std::string>& extra_headers = {});

// To 127.0.0.1:`port`.
HttpResult HttpRequest(int port, const std::string& method, const std::string& target,
                       const std::string& body = "",
                       std::chrono::milliseconds timeout = std::chrono::seconds(5),
                       const std::map<std::string, std::string>& extra_headers = {});

inline HttpResult HttpGet(int port, const std::string& target) {
  return HttpRequest(port, "GET", target);
}

}  // namespace redis_ha::http

#endif  // REDIS_HA_HTTP_CLIENT_H_
