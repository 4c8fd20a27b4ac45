// bench_fleet: the benchmark's fleet. Starts a lab of G groups (1 primary + R replicas
// each) watched by S Sentinels, writes its topology to a file, keeps every primary busy
// with a low-rate writer, and takes commands on stdin until "quit" or EOF:
//
//   bench_fleet --groups G [--replicas 2] [--sentinels 3] [--down-after-ms 2000]
//               [--writes-per-second 10] --topology FILE
//
// stdin commands (one per line; each answered with one line "ok ..." or "err ..."):
//   restart HOST:PORT   start a killed data node again (same port, dir and config)
//   topology            rewrite the topology file (pids may have changed)
//   quit
//
// Topology file, one line each:  sentinel ADDR PID  |  node GROUP ADDR PID ROLE_AS_STARTED
//
// The writer: every 100 ms, one SET of a 64-byte value per group (keys cycle over 1000
// names, so memory stays flat) to the node it believes is the primary; a READONLY or
// failed write moves it to the group's next node, so it follows failovers.
#include <signal.h>
#include <sys/prctl.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "lab/lab.h"
#include "redis/pool.h"

namespace {

using redis_ha::lab::Lab;
using redis_ha::lab::LabOptions;
using redis_ha::lab::Server;

struct Flags {
  int groups = 1;
  int replicas = 2;
  int sentinels = 3;
  int down_after_ms = 2000;
  int writes_per_second = 10;
  std::string topology;
};

bool WriteTopology(Lab& lab, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    for (Server* s : lab.sentinels()) out << "sentinel " << s->address() << " " << s->pid() << "\n";
    for (int g = 0; g < lab.groups(); ++g) {
      for (Server* n : lab.data_nodes(g)) {
        out << "node " << lab.group_name(g) << " " << n->address() << " " << n->pid() << " "
            << (n == &lab.primary(g) ? "primary" : "replica") << "\n";
      }
    }
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Follows each group's primary and writes to it at a fixed low rate.
void Writer(std::stop_token stop, std::vector<std::vector<redis_ha::redis::Endpoint>> groups,
            int writes_per_second) {
  using namespace std::chrono;
  redis_ha::redis::ConnectionPool pool;
  std::vector<size_t> target(groups.size(), 0);
  const int per_tick = std::max(1, writes_per_second / 10);
  const std::string value(64, 'v');
  uint64_t seq = 0;
  auto next = steady_clock::now();
  while (!stop.stop_requested()) {
    std::vector<redis_ha::redis::Request> reqs;
    for (size_t g = 0; g < groups.size(); ++g) {
      redis_ha::redis::Request r{groups[g][target[g]], {}, {}};
      for (int i = 0; i < per_tick; ++i) {
        r.commands.push_back({"SET", "bench:" + std::to_string((seq + i) % 1000), value});
      }
      reqs.push_back(std::move(r));
    }
    seq += per_tick;
    auto resps = pool.Execute(reqs, 500ms, stop);
    for (size_t g = 0; g < groups.size(); ++g) {
      bool ok = resps[g].status.ok() && !resps[g].replies.empty() &&
                !resps[g].replies.front().is_error();
      if (!ok) target[g] = (target[g] + 1) % groups[g].size();
    }
    // A fixed schedule: a late tick is made up at once, so the write rate (and the
    // replication traffic it causes) is the same in every phase however busy the machine
    // is; only after a stall of over a second is the schedule reset.
    next += 100ms;
    const auto now = steady_clock::now();
    if (now - next > 1s) next = now;
    std::this_thread::sleep_until(next);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_fleet: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--groups") f.groups = std::atoi(next().c_str());
    else if (a == "--replicas") f.replicas = std::atoi(next().c_str());
    else if (a == "--sentinels") f.sentinels = std::atoi(next().c_str());
    else if (a == "--down-after-ms") f.down_after_ms = std::atoi(next().c_str());
    else if (a == "--writes-per-second") f.writes_per_second = std::atoi(next().c_str());
    else if (a == "--topology") f.topology = next();
    else {
      std::fprintf(stderr, "bench_fleet: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (f.topology.empty() || f.groups < 1) {
    std::fprintf(stderr, "usage: bench_fleet --groups G --topology FILE [...]\n");
    return 2;
  }
  // Die with the harness; our servers die with us (PR_SET_PDEATHSIG in the lab).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);

  LabOptions o;
  o.group = "bench";
  o.groups = f.groups;
  o.replicas = f.replicas;
  o.sentinels = f.sentinels;
  o.quorum = f.sentinels / 2 + 1;
  o.down_after = std::chrono::milliseconds(f.down_after_ms);
  o.failover_timeout = std::chrono::milliseconds(20000);
  o.persistence = false;  // no fsync noise from hundreds of AOFs
  // Startup is sequential (about 20 ms a server) and Sentinels learn replicas from INFO
  // every 10 s.
  o.start_deadline = std::chrono::milliseconds(30000 + 150 * f.groups * (1 + f.replicas));
  Lab lab(o);
  const auto t0 = std::chrono::steady_clock::now();
  if (auto s = lab.Start(); !s.ok()) {
    std::fprintf(stderr, "bench_fleet: lab did not start: %s\n", s.error().message.c_str());
    return 1;
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0);
  if (!WriteTopology(lab, f.topology)) {
    std::fprintf(stderr, "bench_fleet: cannot write %s\n", f.topology.c_str());
    return 1;
  }
  std::vector<std::vector<redis_ha::redis::Endpoint>> groups;
  for (int g = 0; g < lab.groups(); ++g) {
    std::vector<redis_ha::redis::Endpoint> nodes;
    for (Server* n : lab.data_nodes(g)) nodes.push_back({"127.0.0.1", n->port()});
    groups.push_back(std::move(nodes));
  }
  std::jthread writer;
  if (f.writes_per_second > 0) {
    writer = std::jthread(Writer, groups, f.writes_per_second);
  }
  std::cout << "ready " << took.count() << " ms" << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "quit") break;
    if (line == "topology") {
      std::cout << (WriteTopology(lab, f.topology) ? "ok" : "err write") << std::endl;
    } else if (line.rfind("restart ", 0) == 0) {
      const std::string addr = line.substr(8);
      Server* s = lab.FindNode(addr);
      if (s == nullptr) {
        std::cout << "err unknown " << addr << std::endl;
        continue;
      }
      auto st = s->Restart();
      WriteTopology(lab, f.topology);
      std::cout << (st.ok() ? "ok " + std::to_string(s->pid()) : "err " + st.error().message)
                << std::endl;
    } else {
      std::cout << "err unknown command" << std::endl;
    }
  }
  if (writer.joinable()) {
    writer.request_stop();
    writer.join();
  }
  lab.Stop();
  return 0;
}
