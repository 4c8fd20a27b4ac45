// FakeServer: a scripted TCP peer on a free loopback port, for what a real Redis cannot
// be made to do (garbage, stalls, huge or endless replies, resets). Each accepted
// connection runs `script(fd, request_bytes_so_far)` on the server thread.
#ifndef REDIS_HA_TESTS_SUPPORT_FAKE_SERVER_H_
#define REDIS_HA_TESTS_SUPPORT_FAKE_SERVER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace redis_ha::testing {

class FakeServer {
 public:
  // Called for each connection with the socket; return to close it.
  using Script = std::function<void(int fd, const std::atomic<bool>& stop)>;

  explicit FakeServer(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(listen_fd_, 16);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

  // Helpers for scripts.
  static void SendAll(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads until `count` RESP commands (lines starting with '*') have arrived, or stop.
  static std::string ReadCommands(int fd, int count, const std::atomic<bool>& stop) {
    std::string got;
    int seen = 0;
    while (seen < count && !stop) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return got;
      got.append(buf, static_cast<size_t>(n));
      seen = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        if (got[i] == '*' && (i == 0 || got[i - 1] == '\n')) ++seen;
      }
    }
    return got;
  }
  static void WaitForStop(const std::atomic<bool>& stop) {
    while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // The commonest script: read `commands` commands, send `reply` (raw bytes), then hold the
  // connection open until the server stops.
  static Script Answer(int commands, std::string reply) {
    return [commands, reply = std::move(reply)](int fd, const std::atomic<bool>& stop) {
      ReadCommands(fd, commands, stop);
      SendAll(fd, reply);
      WaitForStop(stop);
    };
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      script_(fd, stop_);
      ::close(fd);
    }
  }

  Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace redis_ha::testing

#endif  // REDIS_HA_TESTS_SUPPORT_FAKE_SERVER_H_
