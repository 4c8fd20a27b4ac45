// bench_floor: the floor. A minimal hiredis program that sends the exporter's per-cycle
// commands to every server, pipelined (one write per server, sent at once) and
// concurrently (one epoll(7) set over all sockets, as the exporter's pool), reads the
// replies and does nothing with them. Whatever the exporter costs above this is what it
// adds.
//
//   bench_floor --topology FILE [--interval-ms 1000] [--duration-s T]
//               [--only node|sentinel] --out FILE
//
// --only polls only the data nodes or only the Sentinels (still asking each Sentinel about
// every group): which of the two a cycle's wall time waits for.
//
// Per cycle, like src/poll/poller.cc in the steady state:
//   each Sentinel: INFO, SENTINEL MASTERS, and per group SENTINEL CKQUORUM/REPLICAS/SENTINELS
//   each data node: INFO server persistence stats replication keyspace (what the exporter
//   asks of Redis 7+ and Valkey), and every 30th cycle also 4 x CONFIG GET
// (The exporter's one PSUBSCRIBE per Sentinel is not a per-cycle cost and is left out.)
// Runs until SIGTERM/SIGINT or the duration; then writes every cycle's start and wall time.
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <sys/epoll.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

double MonoNow() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Server {
  std::string host;
  int port = 0;
  bool sentinel = false;
  redisContext* ctx = nullptr;
  int expected = 0;  // replies outstanding this cycle
  bool waiting_to_send = false;
};

bool Open(Server& s, int epfd, size_t index) {
  timeval tv{1, 0};
  s.ctx = redisConnectWithTimeout(s.host.c_str(), s.port, tv);
  if (s.ctx == nullptr || s.ctx->err) {
    if (s.ctx) redisFree(s.ctx);
    s.ctx = nullptr;
    return false;
  }
  // From here on hiredis is driven without blocking: redisBufferWrite/redisBufferRead.
  ::fcntl(s.ctx->fd, F_SETFL, ::fcntl(s.ctx->fd, F_GETFL) | O_NONBLOCK);
  s.ctx->flags &= ~REDIS_BLOCK;
  // Registered once (level-triggered, readable); writable only while a send is unfinished.
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = index;
  ::epoll_ctl(epfd, EPOLL_CTL_ADD, s.ctx->fd, &ev);
  return true;
}

// Sends what is queued; false on error. `done` false: the socket is full, wait for POLLOUT.
bool Send(Server& s, int epfd, size_t index) {
  int done = 0;
  while (!done) {
    const size_t before = sdslen(s.ctx->obuf);
    if (redisBufferWrite(s.ctx, &done) != REDIS_OK) return false;
    if (!done && sdslen(s.ctx->obuf) == before) break;  // EAGAIN
  }
  epoll_event ev{};
  ev.events = done ? EPOLLIN : EPOLLIN | EPOLLOUT;
  ev.data.u64 = index;
  if (!done || s.waiting_to_send) ::epoll_ctl(epfd, EPOLL_CTL_MOD, s.ctx->fd, &ev);
  s.waiting_to_send = !done;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string topology, out_path = "/dev/stdout";
  int interval_ms = 1000;
  double duration = 1e9;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--topology") topology = v;
    else if (a == "--interval-ms") interval_ms = std::atoi(v.c_str());
    else if (a == "--duration-s") duration = std::atof(v.c_str());
    else if (a == "--out") out_path = v;
    else if (a == "--only") {
      if (v != "node" && v != "sentinel") {
        std::fprintf(stderr, "bench_floor: --only takes node or sentinel, not %s\n", v.c_str());
        return 2;
      }
      only = v;
    }
    else {
      std::fprintf(stderr, "bench_floor: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  std::vector<Server> servers;
  std::vector<std::string> groups;
  {
    std::ifstream in(topology);
    for (std::string line; std::getline(in, line);) {
      std::istringstream ls(line);
      std::string kind, a, b;
      ls >> kind >> a >> b;
      std::string addr;
      if (kind == "sentinel") {
        addr = a;
      } else if (kind == "node") {
        addr = b;
        if (groups.empty() || groups.back() != a) groups.push_back(a);
      } else {
        continue;
      }
      if (!only.empty() && only != kind) continue;
      Server s;
      s.sentinel = kind == "sentinel";
      s.host = addr.substr(0, addr.rfind(':'));
      s.port = std::atoi(addr.c_str() + addr.rfind(':') + 1);
      servers.push_back(s);
    }
  }
  if (servers.empty()) {
    std::fprintf(stderr, "bench_floor: no servers in %s\n", topology.c_str());
    return 2;
  }
  ::signal(SIGTERM, OnSignal);
  ::signal(SIGINT, OnSignal);
  ::signal(SIGPIPE, SIG_IGN);

  std::ostringstream cycles;
  cycles << std::fixed;
  cycles.precision(6);
  uint64_t n = 0, failures = 0;
  const double t0 = MonoNow();
  double due = t0;
  const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    std::perror("bench_floor: epoll_create1");
    return 1;
  }
  std::vector<epoll_event> events(256);
  auto drop = [&](size_t i) {  // closing the socket also takes it out of the epoll set
    redisFree(servers[i].ctx);
    servers[i].ctx = nullptr;
    servers[i].expected = 0;
    servers[i].waiting_to_send = false;
    ++failures;
  };
  while (!g_stop && MonoNow() < t0 + duration) {
    const double start = MonoNow();
    const bool with_config = n % 30 == 0;
    size_t waiting = 0;
    for (size_t i = 0; i < servers.size(); ++i) {
      Server& s = servers[i];
      s.expected = 0;
      if (s.ctx == nullptr && !Open(s, epfd, i)) {
        ++failures;
        continue;
      }
      if (s.sentinel) {
        redisAppendCommand(s.ctx, "INFO");
        redisAppendCommand(s.ctx, "SENTINEL MASTERS");
        s.expected = 2;
        for (const auto& g : groups) {
          redisAppendCommand(s.ctx, "SENTINEL CKQUORUM %s", g.c_str());
          redisAppendCommand(s.ctx, "SENTINEL REPLICAS %s", g.c_str());
          redisAppendCommand(s.ctx, "SENTINEL SENTINELS %s", g.c_str());
          s.expected += 3;
        }
      } else {
        redisAppendCommand(s.ctx, "INFO server persistence stats replication keyspace");
        s.expected = 1;
        if (with_config) {
          redisAppendCommand(s.ctx, "CONFIG GET save");
          redisAppendCommand(s.ctx, "CONFIG GET appendonly");
          redisAppendCommand(s.ctx, "CONFIG GET min-replicas-to-write");
          redisAppendCommand(s.ctx, "CONFIG GET min-replicas-max-lag");
          s.expected += 4;
        }
      }
      if (!Send(s, epfd, i)) {
        drop(i);
        continue;
      }
      ++waiting;
    }
    const double deadline = start + 0.5;
    while (waiting > 0) {
      const double left = deadline - MonoNow();
      if (left <= 0) {
        for (size_t i = 0; i < servers.size(); ++i) {
          if (servers[i].ctx != nullptr && servers[i].expected > 0) drop(i);
        }
        break;
      }
      const int ready = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()),
                                     static_cast<int>(left * 1000) + 1);
      for (int k = 0; k < ready; ++k) {
        const size_t i = events[static_cast<size_t>(k)].data.u64;
        Server& s = servers[i];
        if (s.ctx == nullptr || s.expected == 0) continue;
        const uint32_t e = events[static_cast<size_t>(k)].events;
        bool bad = false;
        if ((e & EPOLLOUT) && !Send(s, epfd, i)) bad = true;
        if (!bad && (e & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
          if (redisBufferRead(s.ctx) != REDIS_OK) bad = true;
          void* reply = nullptr;
          while (!bad && s.expected > 0) {
            if (redisGetReplyFromReader(s.ctx, &reply) != REDIS_OK) {
              bad = true;
              break;
            }
            if (reply == nullptr) break;
            freeReplyObject(reply);
            --s.expected;
          }
          if (!bad && s.expected == 0) --waiting;
        }
        if (bad) {
          drop(i);
          --waiting;
        }
      }
    }
    const double end = MonoNow();
    cycles << (n ? "," : "") << "{\"start\":" << start << ",\"wall_ms\":" << (end - start) * 1000.0
           << "}";
    ++n;
    due += interval_ms / 1000.0;
    // One sleep to the next cycle (a signal cuts it short).
    if (const double d = due - MonoNow(); d > 0 && !g_stop) {
      timespec ts{static_cast<time_t>(d), static_cast<long>((d - static_cast<double>(static_cast<time_t>(d))) * 1e9)};
      ::nanosleep(&ts, nullptr);
    }
    if (MonoNow() > due) due = MonoNow();
  }
  for (auto& s : servers) {
    if (s.ctx) redisFree(s.ctx);
  }
  ::close(epfd);
  std::ofstream out(out_path);
  out << "{\"cycles\":[" << cycles.str() << "],\"failures\":" << failures << "}\n";
  return 0;
}
