// A tiny blocking HTTP/1.1 client for tests (loopback only, Connection: close).
#ifndef REDIS_HA_TESTS_SUPPORT_HTTP_CLIENT_H_
#define REDIS_HA_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <chrono>
#include <map>
#include <string>

namespace redis_ha::testing {

struct HttpResult {
  int status = 0;  // 0: no response (connect failed, timeout)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

HttpResult HttpRequest(int port, const std::string& method, const std::string& target,
                       const std::string& body = "",
                       std::chrono::milliseconds timeout = std::chrono::seconds(5),
                       const std::map<std::string, std::string>& extra_headers = {});

inline HttpResult HttpGet(int port, const std::string& target) {
  return HttpRequest(port, "GET", target);
}

}  // namespace redis_ha::testing

#endif  // REDIS_HA_TESTS_SUPPORT_HTTP_CLIENT_H_
