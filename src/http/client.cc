#include "http/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "redis/tls.h"
#include "util/unique_fd.h"

namespace redis_ha::http {

namespace {

using Clock = std::chrono::steady_clock;

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

// Waits until `fd` is ready for `events` or the deadline passes.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return true;
    if (rc == 0 || errno != EINTR) return false;
  }
}

// Byte transport over a connected non-blocking socket, plain or TLS. Each call blocks
// until done or the deadline; on failure `error` says why.
class Transport {
 public:
  Transport(int fd, Clock::time_point deadline) : fd_(fd), deadline_(deadline) {}

  bool StartTls(const std::string& host, const ClientOptions& o) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx_) return Fail("TLS: " + tls::DrainErrors());
    SSL_CTX_set_options(ctx_.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
    if (!o.insecure_skip_verify) {
      const bool loaded = o.ca_file.empty()
                              ? SSL_CTX_set_default_verify_paths(ctx_.get()) == 1
                              : SSL_CTX_load_verify_locations(ctx_.get(), o.ca_file.c_str(),
                                                              nullptr) == 1;
      if (!loaded) {
        return Fail("TLS: cannot load CA " + (o.ca_file.empty() ? "store" : o.ca_file) + ": " +
                    tls::DrainErrors());
      }
      SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    }
    if (!o.cert_file.empty() &&
        (SSL_CTX_use_certificate_chain_file(ctx_.get(), o.cert_file.c_str()) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx_.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(ctx_.get()) != 1)) {
      return Fail("TLS: cannot use client certificate " + o.cert_file + ": " +
                  tls::DrainErrors());
    }
    ssl_.reset(SSL_new(ctx_.get()));
    if (!ssl_) return Fail("TLS: " + tls::DrainErrors());
    BIO* bio = tls::NewSocketBio(fd_);
    SSL_set_bio(ssl_.get(), bio, bio);
    SSL_set_connect_state(ssl_.get());
    const std::string name = o.server_name.empty() ? host : o.server_name;
    in6_addr probe{};
    const bool is_ip = inet_pton(AF_INET, name.c_str(), &probe) == 1 ||
                       inet_pton(AF_INET6, name.c_str(), &probe) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(ssl_.get(), name.c_str());
    if (!o.insecure_skip_verify) {
      X509_VERIFY_PARAM* p = SSL_get0_param(ssl_.get());
      if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(p, name.c_str());
      else X509_VERIFY_PARAM_set1_host(p, name.c_str(), 0);
    }
    return Drive([&] { return SSL_connect(ssl_.get()); }, "TLS handshake") > 0;
  }

  bool WriteAll(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      int n;
      if (ssl_) {
        n = Drive([&] { return SSL_write(ssl_.get(), data.data() + off,
                                         static_cast<int>(data.size() - off)); },
                  "write");
      } else {
        n = Plain([&] { return ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL); },
                  POLLOUT, "write");
      }
      if (n <= 0) return error_.empty() ? Fail("write: connection closed") : false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads until the peer closes; false when it failed before any byte arrived.
  bool ReadAll(std::string& out) {
    char buf[16384];
    for (;;) {
      int n = ssl_ ? Drive([&] { return SSL_read(ssl_.get(), buf, sizeof(buf)); }, "read")
                   : Plain([&] { return ::recv(fd_, buf, sizeof(buf), 0); }, POLLIN, "read");
      if (n < 0) return !out.empty();
      if (n == 0) return true;
      out.append(buf, static_cast<size_t>(n));
    }
  }

  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // One plain socket call, waiting for readiness; bytes moved, 0 at EOF, -1 on failure.
  template <typename Call>
  int Plain(Call&& call, short events, const char* what) {
    for (;;) {
      ssize_t n = call();
      if (n >= 0) return static_cast<int>(n);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        Fail(std::string(what) + ": " + std::strerror(errno));
        return -1;
      }
      if (!WaitFor(fd_, events, deadline_)) {
        Fail(std::string(what) + ": timed out");
        return -1;
      }
    }
  }

  // One OpenSSL call driven to completion; > 0 done, 0 clean close, -1 failure.
  template <typename Call>
  int Drive(Call&& call, const char* what) {
    for (;;) {
      ERR_clear_error();
      int rc = call();
      if (rc > 0) return rc;
      int e = SSL_get_error(ssl_.get(), rc);
      if (e == SSL_ERROR_ZERO_RETURN) return 0;
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (WaitFor(fd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_)) continue;
        Fail(std::string(what) + ": timed out");
        return -1;
      }
      std::string why = tls::DrainErrors("connection closed");
      if (e == SSL_ERROR_SSL && SSL_get_verify_result(ssl_.get()) != X509_V_OK) {
        why += " (" + std::string(X509_verify_cert_error_string(
                          SSL_get_verify_result(ssl_.get()))) + ")";
      }
      Fail(std::string(what) + ": " + why);
      return -1;
    }
  }

  int fd_;
  Clock::time_point deadline_;
  tls::SslCtxPtr ctx_;
  tls::SslPtr ssl_;
  std::string error_;
};

// Connects a non-blocking socket to the first address of `host` that answers.
int Connect(const std::string& host, int port, Clock::time_point deadline, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  // Bracketed IPv6 ("[::1]") is dialled without its brackets.
  std::string name = host;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  if (int rc = getaddrinfo(name.c_str(), std::to_string(port).c_str(), &hints, &raw);
      rc != 0 || raw == nullptr) {
    error = "resolve " + host + ": " + gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> res(raw);
  error = "connect " + host + ":" + std::to_string(port) + ": no address";
  for (addrinfo* a = res.get(); a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) return fd;
    if (errno == EINPROGRESS && WaitFor(fd, POLLOUT, deadline)) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) return fd;
      errno = err;
    } else if (errno == EINPROGRESS) {
      errno = ETIMEDOUT;
    }
    error = "connect " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
  }
  return -1;
}

void ParseResponse(const std::string& raw, HttpResult& result) {
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 7, "HTTP/1.") != 0 || raw.size() < 12) {
    result.error = "no HTTP response";
    return;
  }
  result.status = std::atoi(raw.c_str() + 9);
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      result.headers[name] = value;
    }
    pos = eol + 2;
  }
  result.body = raw.substr(head_end + 4);
}

}  // namespace

HttpResult Fetch(const std::string& host, int port, const std::string& method,
                 const std::string& target, const ClientOptions& o) {
  HttpResult result;
  const auto deadline = Clock::now() + o.timeout;
  UniqueFd fd(Connect(host, port, deadline, result.error));
  if (fd.get() < 0) return result;
  Transport t(fd.get(), deadline);
  if (o.tls && !t.StartTls(host, o)) {
    result.error = t.error();
    return result;
  }
  const bool bare_v6 = host.find(':') != std::string::npos && host.front() != '[';
  const std::string authority =
      (bare_v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + authority + "\r\n" +
                    "Connection: close\r\nContent-Length: " + std::to_string(o.body.size()) +
                    "\r\n";
  for (const auto& [k, v] : o.headers) req += k + ": " + v + "\r\n";
  req += "\r\n" + o.body;
  std::string raw;
  if (!t.WriteAll(req) || !t.ReadAll(raw)) {
    result.error = t.error();
    return result;
  }
  ParseResponse(raw, result);
  return result;
}

HttpResult HttpRequestTo(const std::string& host, int port, const std::string& method,
                         const std::string& target, const std::string& body,
                         std::chrono::milliseconds timeout,
                         const std::map<std::string, std::string>& extra_headers) {
  ClientOptions o;
  o.timeout = timeout;
  o.headers = extra_headers;
  o.body = body;
  return Fetch(host, port, method, target, o);
}

HttpResult HttpRequest(int port, const std::string& method, const std::string& target,
                       const std::string& body, std::chrono::milliseconds timeout,
                       const std::map<std::string, std::string>& extra_headers) {
  return HttpRequestTo("127.0.0.1", port, method, target, body, timeout, extra_headers);
}

std::string BasicAuthorization(const std::string& user, const std::string& password) {
  const std::string in = user + ":" + password;
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return "Basic " + out;
}

}  // namespace redis_ha::http
