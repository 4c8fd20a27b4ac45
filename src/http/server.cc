#include "http/server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "http/web_config.h"
#include "redis/tls.h"
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

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kPollSlice{100};  // a pause after accept(2) fails
constexpr std::chrono::milliseconds kLongestWait{3'600'000};  // fits poll(2)'s int
constexpr std::chrono::seconds kWatchInterval{1};
constexpr std::chrono::milliseconds kDrainTime{1000};
constexpr size_t kCopyBodyBelow = 16 * 1024;  // smaller bodies go out with their head
constexpr char kRealm[] = "Basic realm=\"redis_ha_exporter\"";

const char* StatusText(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c);
}

// One accepted connection: non-blocking reads and writes bounded by deadlines, over the
// socket or over TLS. Every wait also watches the server's stop descriptor, so a stopping
// server is noticed at once and an idle kept-alive connection costs no wake-ups (slicing
// the waits into 100 ms to look at `stopping` had cost ~0.9 ms of CPU a second for each).
class Stream {
 public:
  // `wake_fd`: readable once the server stops.
  Stream(int fd, const std::atomic<bool>& stopping, int wake_fd)
      : fd_(fd), stopping_(stopping), wake_fd_(wake_fd) {}
  ~Stream() {
    if (ssl_ && handshake_done_ && !fatal_ && !shut_down_) {
      ERR_clear_error();
      SSL_shutdown(ssl_.get());  // one non-blocking close_notify, best effort
    }
    ERR_clear_error();
    ssl_.reset();
    ::close(fd_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  SSL* ssl() const { return ssl_.get(); }

  // The first byte without consuming it; -1 on timeout, EOF or error.
  int PeekByte(Clock::time_point deadline) {
    for (;;) {
      unsigned char c;
      ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK);
      if (n == 1) return c;
      if (n == 0) return -1;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (!Wait(POLLIN, deadline)) return -1;
    }
  }

  bool StartTls(SSL_CTX* ctx, Clock::time_point deadline, std::string* why) {
    ERR_clear_error();
    ssl_.reset(SSL_new(ctx));
    BIO* bio = ssl_ ? tls::NewSocketBio(fd_) : nullptr;
    if (bio == nullptr) {
      *why = tls::DrainErrors("out of memory");
      return false;
    }
    SSL_set_bio(ssl_.get(), bio, bio);
    SSL_set_accept_state(ssl_.get());
    for (;;) {
      ERR_clear_error();
      errno = 0;
      int rc = SSL_do_handshake(ssl_.get());
      if (rc == 1) {
        handshake_done_ = true;
        return true;
      }
      int saved = errno;
      int e = SSL_get_error(ssl_.get(), rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!Wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
          *why = "TLS handshake timed out";
          fatal_ = true;
          return false;
        }
        continue;
      }
      fatal_ = true;
      *why = tls::DrainErrors(saved != 0 ? std::strerror(saved) : "connection closed");
      return false;
    }
  }

  // >0 bytes read; 0 on EOF, timeout, stop or error.
  size_t Read(char* buf, size_t len, Clock::time_point deadline) {
    for (;;) {
      if (ssl_) {
        ERR_clear_error();
        size_t n = 0;
        if (SSL_read_ex(ssl_.get(), buf, len, &n) == 1) return n;
        int e = SSL_get_error(ssl_.get(), 0);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          if (!Wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return 0;
          continue;
        }
        if (e != SSL_ERROR_ZERO_RETURN) fatal_ = true;
        return 0;
      }
      ssize_t n = ::recv(fd_, buf, len, 0);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) return 0;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return 0;
      if (!Wait(POLLIN, deadline)) return 0;
    }
  }

  // Before closing a connection whose client may still be sending (a refused body, an
  // oversized head): say goodbye, then read and drop what arrives for a moment, so the
  // close does not turn into a reset that destroys the response in flight.
  void Drain(Clock::time_point deadline, size_t limit) {
    if (ssl_ && handshake_done_ && !fatal_) {
      ERR_clear_error();
      SSL_shutdown(ssl_.get());
      ERR_clear_error();
      shut_down_ = true;
    }
    ::shutdown(fd_, SHUT_WR);
    char buf[8192];
    size_t total = 0;
    while (total < limit) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        total += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) return;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !Wait(POLLIN, deadline)) return;
    }
  }

  // `more`: more data follows at once (plain TCP: MSG_MORE, so a head and its body share
  // segments without being copied into one buffer first).
  bool WriteAll(std::string_view data, Clock::time_point deadline, bool more = false) {
    while (!data.empty()) {
      if (ssl_) {
        ERR_clear_error();
        size_t n = 0;
        if (SSL_write_ex(ssl_.get(), data.data(), data.size(), &n) == 1) {
          data.remove_prefix(n);
          continue;
        }
        int e = SSL_get_error(ssl_.get(), 0);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          if (!Wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return false;
          continue;
        }
        fatal_ = true;
        return false;
      }
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | (more ? MSG_MORE : 0));
      if (n >= 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      if (!Wait(POLLOUT, deadline)) return false;
    }
    return true;
  }

 private:
  // Waits for `events` until the deadline; false on timeout, stop, or a dead socket
  // (POLLERR/POLLHUP still let a read see the EOF).
  bool Wait(short events, Clock::time_point deadline) {
    for (;;) {
      if (stopping_.load()) return false;
      auto now = Clock::now();
      if (now >= deadline) return false;
      auto wait =
          std::min(std::chrono::ceil<std::chrono::milliseconds>(deadline - now), kLongestWait);
      pollfd p[2] = {{fd_, events, 0}, {wake_fd_, POLLIN, 0}};
      int rc = ::poll(p, 2, static_cast<int>(wait.count()));
      if (rc > 0) return p[0].revents != 0 && p[1].revents == 0;
      if (rc < 0 && errno != EINTR) return false;
    }
  }

  int fd_;
  const std::atomic<bool>& stopping_;
  int wake_fd_;
  tls::SslPtr ssl_;
  bool handshake_done_ = false;
  bool fatal_ = false;
  bool shut_down_ = false;
};

struct ParsedHead {
  std::string method;
  std::string target;
  bool http11 = true;
  std::map<std::string, std::string> headers;
  size_t content_length = 0;
  bool keep_alive = true;
  bool expect_continue = false;
};

// Parses the request line and headers (without the final empty line). 0 when fine, else
// the status to answer with.
int ParseHead(std::string_view head, ParsedHead* out) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    auto eol = head.find("\r\n");
    lines.push_back(head.substr(0, eol));
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  }
  if (lines.empty()) return 400;
  for (auto line : lines) {
    for (char c : line) {
      if (c == '\r' || c == '\n' || c == '\0') return 400;  // no bare CR/LF, no NUL
    }
  }
  std::string_view rl = lines[0];
  auto sp1 = rl.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || rl.find(' ', sp2 + 1) != std::string_view::npos) {
    return 400;
  }
  std::string_view method = rl.substr(0, sp1);
  std::string_view target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = rl.substr(sp2 + 1);
  if (method.empty() || method.size() > 16 ||
      !std::all_of(method.begin(), method.end(), IsTokenChar)) {
    return 400;
  }
  if (version == "HTTP/1.1") {
    out->http11 = true;
  } else if (version == "HTTP/1.0") {
    out->http11 = false;
  } else {
    return version.starts_with("HTTP/") ? 505 : 400;
  }
  // absolute-form (a proxy-style request): keep the path and query only.
  if (target.starts_with("http://") || target.starts_with("https://")) {
    auto slash = target.find('/', target.find("://") + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target.empty() || target[0] != '/') return 400;
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return 400;
  }
  out->method = std::string(method);
  out->target = std::string(target);
  out->keep_alive = out->http11;

  bool have_length = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') return 400;  // obsolete line folding
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return 400;
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar)) return 400;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    std::string key = Lower(name);
    if (key == "content-length") {
      size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || value.size() > 15 || ec != std::errc() ||
          p != value.data() + value.size()) {
        return 400;
      }
      if (have_length && n != out->content_length) return 400;
      have_length = true;
      out->content_length = n;
    } else if (key == "transfer-encoding") {
      return 411;  // chunked request bodies are not supported: send a Content-Length
    } else if (key == "connection") {
      std::string v = Lower(value);
      if (v.find("close") != std::string::npos) out->keep_alive = false;
      else if (v.find("keep-alive") != std::string::npos) out->keep_alive = true;
    } else if (key == "expect") {
      if (Lower(value) == "100-continue") out->expect_continue = true;
    }
    auto [it, inserted] = out->headers.emplace(key, std::string(value));
    if (!inserted) it->second += ", " + std::string(value);
  }
  return 0;
}

struct FileStamp {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

std::vector<FileStamp> StampFiles(const std::vector<std::string>& files) {
  std::vector<FileStamp> out;
  for (const auto& f : files) {
    struct stat st {};
    FileStamp s;
    if (::stat(f.c_str(), &st) == 0) {
      s.exists = true;
      s.dev = st.st_dev;
      s.ino = st.st_ino;
      s.size = st.st_size;
      s.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    }
    out.push_back(s);
  }
  return out;
}

// What a loaded web config needs at run time besides itself.
struct WebState {
  std::shared_ptr<const WebConfig> config;
  std::shared_ptr<BasicAuth> auth;        // null: no users, no authentication
  std::shared_ptr<RateLimiter> limiter;   // null: no rate limit
  std::vector<FileStamp> stamps;
};

std::shared_ptr<WebState> MakeWebState(std::shared_ptr<const WebConfig> config) {
  auto s = std::make_shared<WebState>();
  s->config = std::move(config);
  if (s->config) {
    if (!s->config->users.empty()) s->auth = std::make_shared<BasicAuth>(s->config->users);
    if (s->config->rate_limit_interval.count() > 0) {
      s->limiter = std::make_shared<RateLimiter>(s->config->rate_limit_interval,
                                                 s->config->rate_limit_burst);
    }
    s->stamps = StampFiles(s->config->files);
  }
  return s;
}

Result<int> Listen(const std::string& address) {
  std::string host, port;
  if (address.starts_with(":")) {
    port = address.substr(1);
  } else if (address.starts_with("[")) {
    auto close = address.find("]:");
    if (close == std::string::npos) return MakeError(ErrorKind::kConfig, "not [host]:port");
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) return MakeError(ErrorKind::kConfig, "not [host]:port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  auto bind_listen = [](int family, const sockaddr* addr, socklen_t len,
                        bool dual_stack) -> Result<int> {
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return MakeError(ErrorKind::kConfig, std::strerror(errno));
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET6 && dual_stack) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (::bind(fd, addr, len) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      return MakeError(ErrorKind::kConfig, why);
    }
    return fd;
  };
  if (host.empty()) {
    // Every address: IPv6 and IPv4 on one dual-stack socket, or IPv4 alone.
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535) {
      return MakeError(ErrorKind::kConfig, "bad port '" + port + "'");
    }
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_addr = in6addr_any;
    v6.sin6_port = htons(static_cast<uint16_t>(p));
    auto fd = bind_listen(AF_INET6, reinterpret_cast<sockaddr*>(&v6), sizeof(v6), true);
    if (fd) return fd;
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_addr.s_addr = htonl(INADDR_ANY);
    v4.sin_port = htons(static_cast<uint16_t>(p));
    return bind_listen(AF_INET, reinterpret_cast<sockaddr*>(&v4), sizeof(v4), false);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) return MakeError(ErrorKind::kConfig, gai_strerror(rc));
  Result<int> out = MakeError(ErrorKind::kConfig, "no address");
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    out = bind_listen(ai->ai_family, ai->ai_addr, ai->ai_addrlen, false);
    if (out) break;
  }
  freeaddrinfo(res);
  return out;
}

}  // namespace

struct HttpServer::State {
  ServerOptions options;
  std::map<std::string, Handler> routes;
  int listen_fd = -1;
  int wake_fd = -1;
  int port = 0;
  bool tls = false;
  std::atomic<bool> stopping{false};

  std::mutex mu;  // guards pending
  std::condition_variable cv;
  std::deque<int> pending;

  std::mutex web_mu;  // guards web, last_check, reloading
  std::shared_ptr<WebState> web;
  Clock::time_point last_check;
  bool reloading = false;

  std::thread acceptor;
  std::vector<std::thread> workers;

  void Accept();
  void Work();
  void Serve(int fd);
  std::shared_ptr<WebState> CurrentWeb();
  bool OthersWaiting() {
    std::lock_guard lock(mu);
    return !pending.empty();
  }
};

std::shared_ptr<WebState> HttpServer::State::CurrentWeb() {
  std::shared_ptr<WebState> current;
  {
    std::lock_guard lock(web_mu);
    current = web;
    const auto now = Clock::now();
    if (!current->config || reloading || now - last_check < kWatchInterval) return current;
    last_check = now;
    if (StampFiles(current->config->files) == current->stamps) return current;
    reloading = true;
  }
  // Something changed: load outside the lock (bcrypt and file reads take a while).
  const std::string path = current->config->path;
  auto loaded = LoadWebConfig(path);
  std::shared_ptr<WebState> next;
  if (!loaded) {
    log::Error("web config reload failed; keeping the running one",
               {{"file", path}, {"err", loaded.error().message}});
  } else if ((*loaded)->tls.enabled() != tls) {
    log::Error("web config reload: TLS cannot be switched on or off without a restart; "
               "keeping the running one",
               {{"file", path}});
  } else {
    next = MakeWebState(*loaded);
    log::Info("web config reloaded", {{"file", path}});
  }
  std::lock_guard lock(web_mu);
  reloading = false;
  if (next) {
    web = next;
  } else {
    // Remember the failed files' stamps so the failure is reported once per change.
    auto copy = std::make_shared<WebState>(*web);
    copy->stamps = StampFiles(web->config->files);
    web = copy;
  }
  return web;
}

void HttpServer::State::Accept() {
  ::pthread_setname_np(::pthread_self(), "http-accept");
  pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  while (!stopping.load()) {
    fds[0].revents = fds[1].revents = 0;
    int rc = ::poll(fds, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      log::Error("http: poll failed", {{"err", std::strerror(errno)}});
      std::this_thread::sleep_for(kPollSlice);
      continue;
    }
    if (fds[1].revents != 0 || stopping.load()) break;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        log::Warn("http: cannot accept", {{"err", std::strerror(errno)}});
        std::this_thread::sleep_for(kPollSlice);  // do not spin on a full table
      }
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard lock(mu);
    if (pending.size() >= options.max_pending_connections) {
      ::close(fd);  // every worker busy and the queue full: refuse rather than pile up
      continue;
    }
    pending.push_back(fd);
    cv.notify_one();
  }
}

void HttpServer::State::Work() {
  ::pthread_setname_np(::pthread_self(), "http-worker");
  for (;;) {
    int fd = -1;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping.load() || !pending.empty(); });
      if (stopping.load()) return;
      fd = pending.front();
      pending.pop_front();
    }
    try {
      Serve(fd);
    } catch (const std::exception& e) {
      log::Error("http: connection failed", {{"err", e.what()}});
    }
  }
}

namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The route's headers and then the web config's replace defaults of the same name.
std::string RenderHead(const Response& r, bool keep_alive, const HeaderList& extra) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", r.content_type},
      {"Content-Length", std::to_string(r.Body().size())},
      {"Cache-Control", "no-store"},
      {"X-Content-Type-Options", "nosniff"},
      {"Connection", keep_alive ? "keep-alive" : "close"},
  };
  for (const auto* list : {&r.headers, &extra}) {
    for (const auto& header : *list) {
      const std::string& k = header.first;
      const std::string& v = header.second;
      auto same = [&](const auto& h) { return Lower(h.first) == Lower(k); };
      auto it = std::find_if(headers.begin(), headers.end(), same);
      if (it != headers.end()) {
        it->second = v;
      } else {
        headers.emplace_back(k, v);
      }
    }
  }
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + StatusText(r.status) + "\r\n";
  for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
  head += "\r\n";
  return head;
}

}  // namespace

void HttpServer::State::Serve(int fd) {
  Stream stream(fd, stopping, wake_fd);
  std::shared_ptr<WebState> web = CurrentWeb();
  const WebConfig* wc = web->config.get();
  auto start = Clock::now();

  if (tls) {
    // A plain-text request on the TLS port gets a readable answer instead of garbage.
    int first = stream.PeekByte(start + options.request_timeout);
    if (first < 0) return;
    if (first >= 'A' && first <= 'Z') {
      stream.WriteAll("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Connection: close\r\nContent-Length: 48\r\n\r\n"
                      "Client sent an HTTP request to an HTTPS server.\n",
                      start + options.request_timeout);
      return;
    }
    std::string why;
    if (!stream.StartTls(wc->ssl_ctx.get(), start + options.request_timeout, &why)) {
      log::Debug("http: TLS handshake failed", {{"err", why}});
      return;
    }
    if (!ClientCertificateAllowed(stream.ssl(), wc->tls, &why)) {
      log::Debug("http: client certificate refused", {{"err", why}});
      return;
    }
  }

  std::string buf;
  char chunk[8192];
  for (int served = 0; served < options.max_requests_per_connection; ++served) {
    // The head: the first byte within the keep-alive timeout (request timeout for the
    // first request), the whole request within the request timeout from there.
    auto deadline =
        (served == 0 ? start + options.request_timeout : Clock::now() + options.keep_alive_timeout);
    bool started = !buf.empty();
    auto request_start = Clock::now();
    if (started) deadline = request_start + options.request_timeout;
    size_t head_end;
    for (;;) {
      // Empty lines before a request line are ignored (RFC 9112 2.2).
      while (buf.starts_with("\r\n")) buf.erase(0, 2);
      head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos || buf.size() > options.max_header_bytes) break;
      size_t n = stream.Read(chunk, sizeof(chunk), deadline);
      if (n == 0) return;  // EOF, timeout, stop or error: nothing more to say
      buf.append(chunk, n);
      if (!started) {
        started = true;
        request_start = Clock::now();
        deadline = request_start + options.request_timeout;
      }
    }
    const auto write_deadline = Clock::now() + options.request_timeout;
    auto send = [&](const Response& r, bool head_only, bool keep_alive) {
      static const HeaderList kNone;
      std::string out = RenderHead(r, keep_alive, wc != nullptr ? wc->headers : kNone);
      const std::string_view body = r.Body();
      if (head_only || body.empty()) return stream.WriteAll(out, write_deadline);
      // A large body (a /metrics scrape is megabytes) is sent from where it is, not copied
      // behind the head.
      if (body.size() > kCopyBodyBelow) {
        return stream.WriteAll(out, write_deadline, /*more=*/true) &&
               stream.WriteAll(body, write_deadline);
      }
      out += body;
      return stream.WriteAll(out, write_deadline);
    };
    auto refuse = [&](const Response& r, bool head_only) {
      if (send(r, head_only, false)) {
        stream.Drain(Clock::now() + kDrainTime, options.max_body_bytes * 16);
      }
    };
    if (head_end == std::string::npos || head_end + 4 > options.max_header_bytes) {
      refuse(Response::Text(431, "request header fields too large\n"), false);
      return;
    }

    ParsedHead h;
    int bad = ParseHead(std::string_view(buf).substr(0, head_end), &h);
    buf.erase(0, head_end + 4);
    if (bad != 0) {
      refuse(Response::Text(bad, std::string(StatusText(bad)) + "\n"), false);
      return;
    }
    Request req;
    req.method = h.method;
    auto q = h.target.find('?');
    req.path = h.target.substr(0, q);
    req.query = q == std::string::npos ? "" : h.target.substr(q + 1);
    if (auto hash = req.query.find('#'); hash != std::string::npos) req.query.resize(hash);
    if (auto hash = req.path.find('#'); hash != std::string::npos) req.path.resize(hash);
    req.headers = std::move(h.headers);
    const bool head_only = req.method == "HEAD";
    // Let this connection go after its response when others wait for a worker.
    bool keep_alive = h.keep_alive && !stopping.load() && !OthersWaiting() &&
                      served + 1 < options.max_requests_per_connection;

    // Checks before the body is read; a refused request with a body ends the connection.
    std::optional<Response> early;
    if (web->limiter && !web->limiter->Allow()) {
      early = Response::Text(429, "too many requests\n");
    }
    if (!early && web->auth &&
        std::find(wc->auth_excluded_paths.begin(), wc->auth_excluded_paths.end(), req.path) ==
            wc->auth_excluded_paths.end()) {
      std::string user, password;
      auto auth = req.headers.find("authorization");
      bool ok = auth != req.headers.end() && ParseBasicAuthorization(auth->second, &user, &password) &&
                web->auth->Check(user, password);
      OPENSSL_cleanse(password.data(), password.size());
      if (ok) {
        req.user = user;
      } else {
        early = Response::Text(401, "Unauthorized\n");
        early->headers.emplace_back("WWW-Authenticate", kRealm);
      }
    }
    if (!early && req.method != "GET" && req.method != "POST" && !head_only) {
      early = Response::Text(405, "method not allowed\n");
      early->headers.emplace_back("Allow", "GET, HEAD, POST");
    }
    if (!early && h.content_length > options.max_body_bytes) {
      early = Response::Text(413, "request body too large\n");
    }
    if (early) {
      if (h.content_length > 0) {
        refuse(*early, head_only);
        return;
      }
      if (!send(*early, head_only, keep_alive) || !keep_alive) return;
      continue;
    }

    // The body.
    if (h.content_length > 0) {
      if (h.expect_continue && buf.empty() &&
          !stream.WriteAll("HTTP/1.1 100 Continue\r\n\r\n", write_deadline)) {
        return;
      }
      while (buf.size() < h.content_length) {
        size_t n = stream.Read(chunk, std::min(sizeof(chunk), h.content_length - buf.size()),
                               request_start + options.request_timeout);
        if (n == 0) return;
        buf.append(chunk, n);
      }
      req.body = buf.substr(0, h.content_length);
      buf.erase(0, h.content_length);
    }

    auto it = routes.find(req.path);
    Response r;
    if (it == routes.end()) {
      r = Response::Text(404, "not found\n");
    } else {
      try {
        r = it->second(req);
      } catch (const std::exception& e) {
        log::Error("handler failed", {{"path", req.path}, {"err", e.what()}});
        r = Response::Text(500, "internal error\n");
      }
    }
    if (!send(r, head_only, keep_alive) || !keep_alive) return;
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                      std::map<std::string, Handler> routes) {
  // Like CivetWeb did: a client that goes away must not kill the process. Our own writes
  // use MSG_NOSIGNAL; this covers any other socket code in the process.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { ::signal(SIGPIPE, SIG_IGN); });

  std::unique_ptr<HttpServer> s(new HttpServer());
  s->state_ = std::make_unique<State>();
  State& st = *s->state_;
  st.options = options;
  st.routes = std::move(routes);
  st.web = MakeWebState(options.web_config);
  st.tls = options.web_config != nullptr && options.web_config->tls.enabled();
  st.last_check = Clock::now();

  auto fd = Listen(options.listen_address);
  if (!fd) {
    return MakeError(ErrorKind::kConfig, "--web.listen-address: cannot listen on '" +
                                             options.listen_address + "': " + fd.error().message);
  }
  st.listen_fd = *fd;
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (getsockname(st.listen_fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
    st.port = bound.ss_family == AF_INET6
                  ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                  : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  st.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (st.wake_fd < 0) {
    return MakeError(ErrorKind::kIo, std::string("eventfd: ") + std::strerror(errno));
  }
  if (options.web_config != nullptr) {
    const WebConfig& wc = *options.web_config;
    log::Info("web config", {{"file", wc.path},
                             {"tls", st.tls ? "on" : "off"},
                             {"basic_auth_users", std::to_string(wc.users.size())},
                             {"rate_limit", wc.rate_limit_interval.count() > 0 ? "on" : "off"}});
  }
  st.acceptor = std::thread([&st] { st.Accept(); });
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    st.workers.emplace_back([&st] { st.Work(); });
  }
  return s;
}

HttpServer::~HttpServer() {
  if (!state_) return;
  State& st = *state_;
  st.stopping.store(true);
  if (st.wake_fd >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(st.wake_fd, &one, sizeof(one));
  }
  {
    std::lock_guard lock(st.mu);
    st.cv.notify_all();
  }
  if (st.acceptor.joinable()) st.acceptor.join();
  for (auto& w : st.workers) {
    if (w.joinable()) w.join();
  }
  for (int fd : st.pending) ::close(fd);
  if (st.listen_fd >= 0) ::close(st.listen_fd);
  if (st.wake_fd >= 0) ::close(st.wake_fd);
}

int HttpServer::port() const { return state_->port; }
bool HttpServer::tls() const { return state_->tls; }

}  // namespace redis_ha::http
