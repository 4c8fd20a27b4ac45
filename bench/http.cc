#include "http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <strings.h>

namespace bench {

bool g_quickack = false;

double MonoNow() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::optional<Url> ParseUrl(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  text.remove_prefix(kScheme.size());
  Url u;
  const auto slash = text.find('/');
  std::string_view hostport = text.substr(0, slash);
  u.path = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  const auto colon = hostport.rfind(':');
  if (colon == std::string_view::npos) {
    u.host = std::string(hostport);
  } else {
    u.host = std::string(hostport.substr(0, colon));
    u.port = std::atoi(std::string(hostport.substr(colon + 1)).c_str());
  }
  if (u.host == "localhost") u.host = "127.0.0.1";
  if (u.port <= 0 || u.port > 65535) return std::nullopt;
  return u;
}

HttpConn::~HttpConn() { Close(); }

void HttpConn::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  connecting_ = false;
  busy_ = false;
}

bool HttpConn::Connect() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  if (::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
    Close();
    return false;
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) {
      Close();
      return false;
    }
    connecting_ = true;
  }
  return true;
}

bool HttpConn::Get(const std::string& path) {
  reused_ = fd_ >= 0;
  if (fd_ < 0 && !Connect()) return false;
  out_ = "GET " + path + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) +
         "\r\nUser-Agent: redis-ha-bench\r\nAccept: */*\r\n\r\n";
  out_pos_ = 0;
  in_.clear();
  headers_done_ = false;
  body_start_ = 0;
  content_length_ = -1;
  chunked_ = false;
  close_after_ = false;
  chunk_pos_ = 0;
  status_ = 0;
  body_.clear();
  response_bytes_ = 0;
  busy_ = true;
  return true;
}

short HttpConn::Events() const {
  if (connecting_ || out_pos_ < out_.size()) return POLLOUT;
  return POLLIN;
}

int HttpConn::Parse(bool eof) {
  if (!headers_done_) {
    const auto end = in_.find("\r\n\r\n");
    if (end == std::string::npos) return eof ? -1 : 0;
    headers_done_ = true;
    body_start_ = end + 4;
    // Status line: HTTP/1.1 200 OK
    const auto sp = in_.find(' ');
    if (sp == std::string::npos || sp > end) return -1;
    status_ = std::atoi(in_.c_str() + sp + 1);
    size_t pos = in_.find("\r\n") + 2;
    while (pos < end) {
      const auto eol = in_.find("\r\n", pos);
      std::string_view line(in_.data() + pos, eol - pos);
      const auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name(line.substr(0, colon));
        std::string value(line.substr(colon + 1));
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (strcasecmp(name.c_str(), "content-length") == 0) {
          content_length_ = std::atoll(value.c_str());
        } else if (strcasecmp(name.c_str(), "transfer-encoding") == 0) {
          chunked_ = strcasestr(value.c_str(), "chunked") != nullptr;
        } else if (strcasecmp(name.c_str(), "connection") == 0) {
          close_after_ = strcasestr(value.c_str(), "close") != nullptr;
        }
      }
      pos = eol + 2;
    }
    chunk_pos_ = body_start_;
  }
  if (chunked_) {
    for (;;) {
      const auto eol = in_.find("\r\n", chunk_pos_);
      if (eol == std::string::npos) return eof ? -1 : 0;
      const long size = std::strtol(in_.c_str() + chunk_pos_, nullptr, 16);
      if (size < 0) return -1;
      if (size == 0) {
        // Last chunk; no trailers expected: "0\r\n\r\n".
        if (in_.size() < eol + 4) return eof ? -1 : 0;
        response_bytes_ = in_.size();
        return 1;
      }
      const size_t need = eol + 2 + static_cast<size_t>(size) + 2;
      if (in_.size() < need) return eof ? -1 : 0;
      body_.append(in_, eol + 2, static_cast<size_t>(size));
      chunk_pos_ = need;
    }
  }
  if (content_length_ >= 0) {
    if (in_.size() - body_start_ < static_cast<size_t>(content_length_)) return eof ? -1 : 0;
    body_.assign(in_, body_start_, static_cast<size_t>(content_length_));
    response_bytes_ = in_.size();
    return 1;
  }
  if (!eof) return 0;
  body_.assign(in_, body_start_);
  response_bytes_ = in_.size();
  return 1;
}

int HttpConn::Handle(short revents) {
  if (fd_ < 0) return -1;
  if (connecting_) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      Close();
      return -1;
    }
    connecting_ = false;
  }
  if ((revents & POLLOUT) && out_pos_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      Close();
      return -1;
    }
    if (n > 0) out_pos_ += static_cast<size_t>(n);
  }
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char buf[65536];
    bool eof = false;
    for (;;) {
      if (g_quickack) {
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
      }
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof(buf)) break;
        continue;
      }
      if (n == 0) {
        eof = true;
        break;
      }
      if (in_.empty() && reused_) break;  // reset of an idle keep-alive: retried below
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Close();
      return -1;
    }
    if (in_.empty() && reused_ && (eof || (revents & (POLLHUP | POLLERR)))) {
      // The server closed the idle keep-alive connection: send again on a new one.
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
      reused_ = false;
      if (!Connect()) {
        Close();
        return -1;
      }
      out_pos_ = 0;
      return 0;
    }
    const int r = Parse(eof);
    if (r != 0) {
      busy_ = false;
      if (r < 0 || eof || close_after_) {
        const int s = status_;
        Close();
        if (r < 0) return -1;
        status_ = s;
      }
      return r;
    }
    if (eof) {
      Close();
      return -1;
    }
  }
  return 0;
}

int HttpConn::GetBlocking(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  if (!Get(path)) return -1;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || fd_ < 0) {
      Close();
      return -1;
    }
    pollfd p{fd_, Events(), 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno != EINTR) {
      Close();
      return -1;
    }
    if (rc <= 0) continue;
    const int r = Handle(p.revents);
    if (r == 1) return status_;
    if (r < 0) return -1;
  }
}

}  // namespace bench
