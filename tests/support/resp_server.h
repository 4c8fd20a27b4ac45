// RespServer: a scripted RESP peer on a free loopback port that serves many connections at
// once (one thread each) and hands every complete command to a handler. FakeServer
// (fake_server.h) runs one connection at a time; the exporter opens several per server (the
// poller's and the event subscriber's), so hostile Sentinels and data nodes use this one.
//
//   RespServer s([](RespServer::Conn& c, const std::vector<std::string>& cmd) {
//     if (cmd[0] == "INFO") c.Send(resp::Bulk("role:master\r\n"));
//     else c.Send(resp::Error("ERR unknown command"));
//   });
//
// The handler may block (drip bytes, stall until Stopping()); it must return promptly once
// `c.Stopping()` is true (the destructor joins every connection thread). resp:: builds replies
// and canned Sentinel / data node answers.
//
// Thread-safety: the handler runs on the connection threads, concurrently for different
// connections; counters are atomic.
#ifndef REDIS_HA_TESTS_SUPPORT_RESP_SERVER_H_
#define REDIS_HA_TESTS_SUPPORT_RESP_SERVER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace redis_ha::testing {

namespace resp {

inline std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
inline std::string Simple(std::string_view s) { return "+" + std::string(s) + "\r\n"; }
inline std::string Error(std::string_view s) { return "-" + std::string(s) + "\r\n"; }
inline std::string Integer(long long v) { return ":" + std::to_string(v) + "\r\n"; }
inline std::string Nil() { return "$-1\r\n"; }
// An array of already encoded elements.
inline std::string Array(const std::vector<std::string>& encoded) {
  std::string out = "*" + std::to_string(encoded.size()) + "\r\n";
  for (const auto& e : encoded) out += e;
  return out;
}
// A flat field/value table of bulk strings.
inline std::string Table(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<std::string> e;
  for (const auto& [k, v] : fields) {
    e.push_back(Bulk(k));
    e.push_back(Bulk(v));
  }
  return Array(e);
}

// INFO of a Sentinel on `port` monitoring `groups` groups.
inline std::string SentinelInfo(int port, size_t groups) {
  return "# Server\r\nredis_version:7.0.15\r\nredis_mode:sentinel\r\nos:Linux\r\n"
         "process_id:1\r\nrun_id:fakefakefakefakefakefakefakefakefakefake\r\ntcp_port:" +
         std::to_string(port) +
         "\r\nuptime_in_seconds:1000\r\n\r\n# Sentinel\r\nsentinel_masters:" +
         std::to_string(groups) +
         "\r\nsentinel_tilt:0\r\nsentinel_tilt_since_seconds:-1\r\nsentinel_running_scripts:0\r\n"
         "sentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:0\r\n";
}

// One SENTINEL MASTERS entry: a healthy-looking group whose primary is host:port.
inline std::string PrimaryEntry(const std::string& group, const std::string& host, int port) {
  return Table({{"name", group},
                {"ip", host},
                {"port", std::to_string(port)},
                {"runid", "0123456789012345678901234567890123456789"},
                {"flags", "master"},
                {"link-pending-commands", "0"},
                {"link-refcount", "1"},
                {"last-ping-sent", "0"},
                {"last-ok-ping-reply", "100"},
                {"last-ping-reply", "100"},
                {"down-after-milliseconds", "5000"},
                {"info-refresh", "1000"},
                {"role-reported", "master"},
                {"role-reported-time", "100000"},
                {"config-epoch", "0"},
                {"num-slaves", "0"},
                {"num-other-sentinels", "0"},
                {"quorum", "1"},
                {"failover-timeout", "60000"},
                {"parallel-syncs", "1"}});
}

// One SENTINEL SENTINELS entry.
inline std::string PeerEntry(const std::string& host, int port) {
  return Table({{"name", "peerpeerpeerpeerpeerpeerpeerpeerpeerpeer"},
                {"ip", host},
                {"port", std::to_string(port)},
                {"runid", "peerpeerpeerpeerpeerpeerpeerpeerpeerpeer"},
                {"flags", "sentinel"},
                {"last-hello-message", "100"},
                {"voted-leader", "?"},
                {"voted-leader-epoch", "0"}});
}

inline std::string CkquorumOk() {
  return Simple("OK 1 usable Sentinels. Quorum and failover authorization can be reached");
}

inline std::string PSubscribed() {
  return Array({Bulk("psubscribe"), Bulk("*"), Integer(1)});
}

// INFO of a healthy primary with no replicas and `keys` keys.
inline std::string PrimaryInfo(int port, int keys = 10) {
  return "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n"
         "run_id:1111111111111111111111111111111111111111\r\ntcp_port:" +
         std::to_string(port) +
         "\r\nuptime_in_seconds:1000\r\n\r\n# Persistence\r\nloading:0\r\naof_enabled:0\r\n"
         "rdb_bgsave_in_progress:0\r\nrdb_last_save_time:1700000000\r\n"
         "rdb_changes_since_last_save:0\r\n\r\n# Stats\r\nsync_full:0\r\n"
         "sync_partial_ok:0\r\nsync_partial_err:0\r\n\r\n# Replication\r\nrole:master\r\n"
         "connected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
         "master_replid:2222222222222222222222222222222222222222\r\n"
         "master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:100\r\n"
         "second_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\n"
         "repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n\r\n# Keyspace\r\n"
         "db0:keys=" +
         std::to_string(keys) + ",expires=0,avg_ttl=0\r\n";
}

// CONFIG GET <name> of a data node.
inline std::string ConfigGet(const std::string& name) {
  std::string v = name == "save" ? "3600 1" : name == "appendonly" ? "no" : "0";
  return Array({Bulk(name), Bulk(v)});
}

}  // namespace resp

class RespServer {
 public:
  class Conn {
   public:
    Conn(int fd, const std::atomic<bool>& stop) : fd_(fd), stop_(stop) {}
    int fd() const { return fd_; }
    bool Stopping() const { return stop_.load(); }
    bool closed() const { return closed_; }
    // Sends everything (blocking, giving up when the peer is gone or the server stops).
    bool Send(std::string_view data) {
      size_t off = 0;
      while (off < data.size() && !closed_) {
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, 20) <= 0) {
          if (Stopping()) return false;
          continue;
        }
        ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
          closed_ = true;
          return false;
        }
        off += static_cast<size_t>(n);
      }
      return !closed_;
    }
    // Closes with a TCP reset (SO_LINGER 0), e.g. in the middle of a reply.
    void Reset() {
      linger lg{1, 0};
      setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      closed_ = true;  // the connection thread closes the socket
    }
    // Closes normally once the handler returns.
    void Close() { closed_ = true; }
    // Sleeps up to `d`, returning early (false) when the server stops or the peer is gone.
    bool Sleep(std::chrono::milliseconds d) {
      auto end = std::chrono::steady_clock::now() + d;
      while (std::chrono::steady_clock::now() < end) {
        if (Stopping() || PeerGone()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return true;
    }
    // Holds the connection open, reading and discarding input, until the peer closes or
    // the server stops.
    void Hold() {
      while (!Stopping() && !PeerGone()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      closed_ = true;
    }
    bool PeerGone() {
      if (closed_) return true;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) return false;
      if (p.revents & (POLLERR | POLLHUP)) return closed_ = true;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return closed_ = true;
      if (n > 0) discarded_.append(buf, static_cast<size_t>(n));
      return false;
    }
    std::string& pending_input() { return discarded_; }

   private:
    int fd_;
    const std::atomic<bool>& stop_;
    bool closed_ = false;
    std::string discarded_;
  };
  using Handler = std::function<void(Conn&, const std::vector<std::string>& cmd)>;

  explicit RespServer(Handler handler) : handler_(std::move(handler)) {
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
    ::listen(listen_fd_, 64);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~RespServer() {
    stop_ = true;
    accept_thread_.join();
    std::list<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
    ::close(listen_fd_);
  }
  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  int commands() const { return commands_.load(); }

  // RESP arrays of bulk strings (what clients send) at the front of `buf`: each complete
  // command is removed from `buf` and returned. Inline commands are split on spaces.
  static std::vector<std::vector<std::string>> TakeCommands(std::string& buf) {
    std::vector<std::vector<std::string>> out;
    for (;;) {
      size_t pos = 0;
      std::vector<std::string> cmd;
      if (buf.empty()) break;
      if (buf[0] != '*') {
        size_t nl = buf.find("\r\n");
        if (nl == std::string::npos) break;
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 2);
        size_t start = 0;
        while (start < line.size()) {
          size_t sp = line.find(' ', start);
          if (sp == std::string::npos) sp = line.size();
          if (sp > start) cmd.push_back(line.substr(start, sp - start));
          start = sp + 1;
        }
        if (!cmd.empty()) out.push_back(std::move(cmd));
        continue;
      }
      size_t nl = buf.find("\r\n", pos);
      if (nl == std::string::npos) break;
      long n = std::strtol(buf.c_str() + 1, nullptr, 10);
      pos = nl + 2;
      bool complete = true;
      for (long i = 0; i < n; ++i) {
        if (pos >= buf.size()) {
          complete = false;
          break;
        }
        if (buf[pos] != '$') {  // not a client command: drop what we have
          buf.clear();
          complete = false;
          break;
        }
        size_t l = buf.find("\r\n", pos);
        if (l == std::string::npos) {
          complete = false;
          break;
        }
        long len = std::strtol(buf.c_str() + pos + 1, nullptr, 10);
        if (len < 0 || buf.size() < l + 2 + static_cast<size_t>(len) + 2) {
          complete = false;
          break;
        }
        cmd.push_back(buf.substr(l + 2, static_cast<size_t>(len)));
        pos = l + 2 + static_cast<size_t>(len) + 2;
      }
      if (!complete) break;
      buf.erase(0, pos);
      out.push_back(std::move(cmd));
    }
    return out;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard lock(mu_);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    Conn conn(fd, stop_);
    std::string buf;
    while (!stop_ && !conn.closed()) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char chunk[16384];
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      for (auto& cmd : TakeCommands(buf)) {
        if (cmd.empty()) continue;
        ++commands_;
        for (auto& c : cmd[0]) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        handler_(conn, cmd);
        if (conn.closed()) break;
      }
    }
    ::close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> commands_{0};
  std::mutex mu_;
  std::list<std::thread> threads_;
  std::thread accept_thread_;
};

}  // namespace redis_ha::testing

#endif  // REDIS_HA_TESTS_SUPPORT_RESP_SERVER_H_
