#include "http/server.h"

#include <civetweb.h>

#include <cstring>
#include <mutex>

#include "util/log.h"

namespace redis_ha::http {

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Request::Params() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(UrlDecode(part), "");
    } else {
      out.emplace_back(UrlDecode(part.substr(0, eq)), UrlDecode(part.substr(eq + 1)));
    }
  }
  return out;
}

std::string Request::Param(const std::string& name) const {
  for (auto& [k, v] : Params()) {
    if (k == name) return v;
  }
  return "";
}

bool Request::HasParam(const std::string& name) const {
  for (auto& [k, v] : Params()) {
    if (k == name) return true;
  }
  return false;
}

Response Response::Text(int status, std::string body) {
  return Response{status, "text/plain; charset=utf-8", std::move(body), {}};
}
Response Response::Json(int status, std::string body) {
  return Response{status, "application/json", std::move(body), {}};
}
Response Response::Html(int status, std::string body) {
  return Response{status, "text/html; charset=utf-8", std::move(body), {}};
}

namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

void Send(mg_connection* conn, const Response& r, bool head_only) {
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + StatusText(r.status) +
                     "\r\nContent-Type: " + r.content_type +
                     "\r\nContent-Length: " + std::to_string(r.body.size()) +
                     "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  mg_write(conn, head.data(), head.size());
  if (!head_only && !r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

std::once_flag g_init_once;

}  // namespace

int HttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<HttpServer*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  Request req;
  req.method = info->request_method ? info->request_method : "";
  req.path = info->local_uri_raw ? info->local_uri_raw : (info->local_uri ? info->local_uri : "");
  req.query = info->query_string ? info->query_string : "";
  const bool head = req.method == "HEAD";
  if (req.method != "GET" && req.method != "POST" && !head) {
    Response r = Response::Text(405, "method not allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD, POST");
    Send(conn, r, false);
    return 405;
  }
  if (req.method == "POST") {
    if (info->content_length > static_cast<long long>(self->options_.max_body_bytes)) {
      Send(conn, Response::Text(413, "request body too large\n"), false);
      return 413;
    }
    char buf[4096];
    for (;;) {
      int n = mg_read(conn, buf, sizeof(buf));
      if (n <= 0) break;
      req.body.append(buf, static_cast<size_t>(n));
      if (req.body.size() > self->options_.max_body_bytes) {
        Send(conn, Response::Text(413, "request body too large\n"), false);
        return 413;
      }
    }
  }
  auto it = self->routes_.find(req.path);
  Response r;
  if (it == self->routes_.end()) {
    r = Response::Text(404, "not found\n");
  } else {
    try {
      r = it->second(req);
    } catch (const std::exception& e) {
      log::Error("handler failed", {{"path", req.path}, {"err", e.what()}});
      r = Response::Text(500, "internal error\n");
    }
  }
  Send(conn, r, head);
  return r.status;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                      std::map<std::string, Handler> routes) {
  std::call_once(g_init_once, [] { mg_init_library(0); });
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->options_ = options;
  s->routes_ = std::move(routes);
  std::string ports = options.listen_address;
  if (ports.starts_with(":")) ports = ports.substr(1);
  std::string threads = std::to_string(options.threads);
  std::string timeout = std::to_string(options.request_timeout_ms);
  const char* opts[] = {"listening_ports", ports.c_str(),
                        "num_threads", threads.c_str(),
                        "request_timeout_ms", timeout.c_str(),
                        "enable_keep_alive", "yes",
                        "keep_alive_timeout_ms", "5000",
                        "enable_directory_listing", "no",
                        nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char* message) -> int {
    log::Warn("http", {{"err", message}});
    return 1;
  };
  s->ctx_ = mg_start(&callbacks, s.get(), opts);
  if (s->ctx_ == nullptr) {
    return MakeError(ErrorKind::kConfig, "--web.listen-address: cannot listen on '" +
                                             options.listen_address + "'");
  }
  mg_set_request_handler(s->ctx_, "/", &HttpServer::Dispatch, s.get());
  mg_server_port bound[4];
  int n = mg_get_server_ports(s->ctx_, 4, bound);
  if (n > 0) s->port_ = bound[0].port;
  return s;
}

HttpServer::~HttpServer() {
  if (ctx_ != nullptr) mg_stop(ctx_);
}

}  // namespace redis_ha::http
