// bench_detect: one detection-latency trial. Subscribes to every Sentinel's +sdown and
// +switch-master, kills (SIGKILL; or stops, see --signal) the primary of one group, and
// timestamps on one monotonic clock:
//   sdown_ms        the first Sentinel's +sdown for that primary
//   switch_ms       the first Sentinel's +switch-master for the group
//   gate_sdown_ms   the exporter's /gate?group=G&action=failover first naming blocker
//                   primary_down (a Sentinel's s_down/o_down flag in its snapshot)
//   api_view_switch_ms  /api/v1/groups first showing a Sentinel's view of the group with the
//                   new primary of the +switch-master message
//   api_switch_ms   /api/v1/groups first naming another primary for the group (the
//                   majority of Sentinels has switched)
//   api_down_ms     /api/v1/groups first showing the killed node "up":false (our own poll)
//   gate_switch_ms  the gate first naming recent_failover (informational: it can also come
//                   from a Sentinel's epoch/role clock before the switch)
// All relative to the kill. The gate is polled back to back (at most every 1 ms),
// /api/v1/groups every 50 ms until api_down and back to back once +switch-master is out.
// Times are response-arrival times, so each includes one request's latency (reported): an
// upper bound on when the exporter had it.
//
//   bench_detect --sentinels A,B,C --group G --primary ADDR --pid PID --exporter HOST:PORT
//                [--timeout-s 60] [--quickack 1] [--signal kill|stop]   prints one JSON line
// --signal stop: SIGSTOP instead of SIGKILL, a primary that hangs (its sockets stay open and
// accept, nothing answers) rather than dies; it is sent SIGCONT when the trial ends.
// --quickack 1: the HTTP client acknowledges at once (see http.h), so a server-side Nagle
// stall does not add to the times: they then say when the snapshot had it.
//
// --signal restart-empty --replicas R1,R2 [--seed-keys 2000]: the empty-primary trial. Writes
// the seed keys to the primary, waits until every replica holds them and the exporter's
// /api/v1/groups shows their key counts, SIGKILLs the primary and prints the line "killed";
// the caller then starts it again (same port, no persistence: it comes back empty).
// Timestamps, relative to the kill like the above:
//   restart_ms      the restarted primary first answering PING (probed every 2 ms)
//   gate_empty_ms   the gate first naming blocker empty_primary_risk
//   api_fewer_keys_ms, api_syncing_ms, api_wiped_ms  /api/v1/groups (every 20 ms) first
//                   showing factor primary_restarted_with_fewer_keys,
//                   replica_syncing_from_empty_primary, replica_wiped active
//   wipe_ms         a replica first answering DBSIZE with less than half what it had (the
//                   data is gone; probed every 5 ms)
//   sdown_ms, reboot_ms  a Sentinel's +sdown or +reboot for the primary, if any
#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "http.h"

namespace {

using bench::MonoNow;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// "up" of the node entry {"address":ADDR,"announced":...,"up":X} in /api/v1/groups.
std::optional<bool> NodeUp(const std::string& body, const std::string& addr) {
  const std::string key = "\"address\":\"" + addr + "\",\"announced\":";
  size_t pos = 0;
  while ((pos = body.find(key, pos)) != std::string::npos) {
    pos += key.size();
    const auto up = body.find("\"up\":", pos);
    const auto comma = body.find(",\"", body.find('"', pos + 1) + 1);
    if (up != std::string::npos && up <= comma + 1) {
      return body.compare(up + 5, 4, "true") == 0;
    }
  }
  return std::nullopt;
}

// The group's object in /api/v1/groups: from {"name":G to the next group's.
std::string_view GroupJson(const std::string& body, const std::string& group) {
  const std::string key = "{\"name\":\"" + group + "\",\"primary\":\"";
  const auto pos = body.find(key);
  if (pos == std::string::npos) return {};
  const auto end = body.find("{\"name\":\"", pos + 1);
  return std::string_view(body).substr(pos, end == std::string::npos ? end : end - pos);
}

std::string GroupPrimary(const std::string& body, const std::string& group) {
  const std::string_view g = GroupJson(body, group);
  const std::string key = "\"primary\":\"";
  if (g.empty()) return "";
  const auto start = g.find(key) + key.size();
  return std::string(g.substr(start, g.find('"', start) - start));
}

// True if some Sentinel's view of the group (sentinel_views[].primary) names `addr`.
bool AnyViewNames(const std::string& body, const std::string& group, const std::string& addr) {
  const std::string_view g = GroupJson(body, group);
  return !addr.empty() &&
         g.find("\"monitors\":true,\"primary\":\"" + addr + "\"") != std::string_view::npos;
}

// The `field` (a number) of the data node with address `addr` in /api/v1/groups (its
// "nodes" array; the Sentinels' views list the same addresses before it), or -1.
int64_t NodeNumber(const std::string& body, const std::string& addr, const std::string& field) {
  const std::string key = "\"address\":\"" + addr + "\",\"announced\":";
  const auto nodes = body.find("\"nodes\":[");
  if (nodes == std::string::npos) return -1;
  const auto pos = body.find(key, nodes);
  if (pos == std::string::npos) return -1;
  const auto end = body.find("\"address\":\"", pos + key.size());
  const auto f = body.find("\"" + field + "\":", pos);
  if (f == std::string::npos || (end != std::string::npos && f > end)) return -1;
  return std::atoll(body.c_str() + f + field.size() + 3);
}

bool FactorActive(const std::string& body, const std::string& factor) {
  return body.find("\"factor\":\"" + factor + "\",\"active\":true") != std::string::npos;
}

std::string Num(const std::optional<double>& v) {
  if (!v) return "null";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", *v);
  return buf;
}

struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisPtr = std::unique_ptr<redisContext, RedisFree>;

RedisPtr Connect(const std::string& addr, double timeout_s) {
  const auto colon = addr.rfind(':');
  const timeval tv{static_cast<time_t>(timeout_s),
                   static_cast<suseconds_t>((timeout_s - static_cast<double>(
                                                             static_cast<time_t>(timeout_s))) *
                                            1e6)};
  RedisPtr c(redisConnectWithTimeout(addr.substr(0, colon).c_str(),
                                     std::atoi(addr.c_str() + colon + 1), tv));
  if (!c || c->err) return nullptr;
  redisSetTimeout(c.get(), tv);
  return c;
}

// DBSIZE on `c`: the count, -2 for an error reply (say -LOADING), -1 when the connection
// failed (it is then closed).
int64_t DbSize(RedisPtr& c) {
  if (!c) return -1;
  auto* r = static_cast<redisReply*>(redisCommand(c.get(), "DBSIZE"));
  if (r == nullptr) {
    c.reset();
    return -1;
  }
  const int64_t n = r->type == REDIS_REPLY_INTEGER ? r->integer : -2;
  freeReplyObject(r);
  return n;
}

// One wait of at most 1 ms on the Sentinel subscriptions and the two HTTP connections
// (while busy). Each message a subscription delivered goes to on_message(channel, payload,
// at), `at` being when the wait ended; `gate_done`/`api_done` say whether that connection's
// response completed.
struct Woken {
  double at = 0;
  bool gate_done = false;
  bool api_done = false;
};
template <typename OnMessage>
Woken WaitOnce(std::vector<redisContext*>& subs, bench::HttpConn& gate, bench::HttpConn& api,
               OnMessage on_message) {
  std::vector<pollfd> fds;
  for (auto* c : subs) fds.push_back({c->fd, POLLIN, 0});
  const size_t gi = fds.size();
  if (gate.busy() && gate.fd() >= 0) fds.push_back({gate.fd(), gate.Events(), 0});
  const size_t ai = fds.size();
  if (api.busy() && api.fd() >= 0) fds.push_back({api.fd(), api.Events(), 0});
  ::poll(fds.data(), fds.size(), 1);
  Woken w;
  w.at = MonoNow();
  for (size_t k = 0; k < subs.size(); ++k) {
    if (fds[k].revents == 0) continue;
    if (redisBufferRead(subs[k]) != REDIS_OK) continue;
    void* rv = nullptr;
    while (redisGetReplyFromReader(subs[k], &rv) == REDIS_OK && rv != nullptr) {
      auto* r = static_cast<redisReply*>(rv);
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
        on_message(std::string(r->element[1]->str, r->element[1]->len),
                   std::string(r->element[2]->str, r->element[2]->len), w.at);
      }
      freeReplyObject(r);
    }
  }
  w.gate_done = gi < fds.size() && fds[gi].fd == gate.fd() && fds[gi].revents != 0 &&
                gate.Handle(fds[gi].revents) == 1;
  w.api_done = ai < fds.size() && fds[ai].fd == api.fd() && fds[ai].revents != 0 &&
               api.Handle(fds[ai].revents) == 1;
  return w;
}

// The empty-primary trial (see the top of the file). Returns the process exit code.
int EmptyRestartTrial(std::vector<redisContext*>& subs, const std::string& group,
                      const std::string& primary, pid_t pid,
                      const std::vector<std::string>& replicas, int seed,
                      const bench::Url& ex, double timeout_s) {
  // Seed the primary and wait until the replicas and the exporter have the keys.
  {
    RedisPtr p = Connect(primary, 2.0);
    if (!p) {
      std::fprintf(stderr, "bench_detect: cannot connect to %s\n", primary.c_str());
      return 1;
    }
    const std::string value(64, 'x');
    for (int i = 0; i < seed; ++i) {
      redisAppendCommand(p.get(), "SET bench:empty:%d %b", i, value.data(), value.size());
    }
    for (int i = 0; i < seed; ++i) {
      void* r = nullptr;
      if (redisGetReply(p.get(), &r) != REDIS_OK) {
        std::fprintf(stderr, "bench_detect: seeding %s failed\n", primary.c_str());
        return 1;
      }
      freeReplyObject(r);
    }
  }
  std::vector<RedisPtr> reps;
  std::vector<int64_t> had;
  for (const auto& r : replicas) reps.push_back(Connect(r, 0.2));
  const double seeded_by = MonoNow() + 30;
  for (;;) {
    had.clear();
    for (auto& c : reps) had.push_back(DbSize(c));
    if (std::all_of(had.begin(), had.end(), [&](int64_t n) { return n >= seed; })) break;
    if (MonoNow() > seeded_by) {
      std::fprintf(stderr, "bench_detect: replicas did not get the seed keys\n");
      return 1;
    }
    ::usleep(20000);
  }
  const std::string gate_path = "/gate?group=" + group + "&action=failover";
  const std::string api_path = "/api/v1/groups?group=" + group;
  bench::HttpConn gate(ex.host, ex.port), api(ex.host, ex.port);
  for (;;) {  // the exporter has seen the replicas' keys
    if (api.GetBlocking(api_path, std::chrono::milliseconds(5000)) != 200) {
      std::fprintf(stderr, "bench_detect: /api/v1/groups failed\n");
      return 1;
    }
    bool seen = true;
    for (const auto& r : replicas) seen = seen && NodeNumber(api.body(), r, "keys") >= seed;
    if (seen) break;
    if (MonoNow() > seeded_by) {
      std::fprintf(stderr, "bench_detect: the exporter did not see the seed keys\n");
      return 1;
    }
    ::usleep(50000);
  }
  if (gate.GetBlocking(gate_path, std::chrono::milliseconds(5000)) < 0 ||
      gate.body().find("\"empty_primary_risk\"") != std::string::npos) {
    std::fprintf(stderr, "bench_detect: gate failed or already blocked before the kill: %s\n",
                 gate.body().c_str());
    return 1;
  }
  std::optional<double> restarted, gate_empty, fewer, syncing, wiped, wipe, sdown, reboot;
  int64_t primary_keys = -1;
  const double t0 = MonoNow();
  ::kill(pid, SIGKILL);
  std::printf("killed\n");
  std::fflush(stdout);
  auto rel = [&](double t) { return (t - t0) * 1000.0; };
  double gate_sent = 0, next_api = 0, next_probe = 0, next_dbsize = 0;
  while (MonoNow() - t0 < timeout_s) {
    if (restarted && gate_empty && wipe && wiped && fewer && syncing && reboot) break;
    const double now = MonoNow();
    if (!restarted && now >= next_probe) {
      next_probe = now + 0.002;
      if (RedisPtr p = Connect(primary, 0.1)) {
        if (auto* r = static_cast<redisReply*>(redisCommand(p.get(), "PING"))) {
          restarted = rel(MonoNow());
          freeReplyObject(r);
          primary_keys = DbSize(p);
        }
      }
    }
    if (restarted && !wipe && now >= next_dbsize) {
      next_dbsize = now + 0.005;
      for (size_t i = 0; i < reps.size() && !wipe; ++i) {
        if (!reps[i]) reps[i] = Connect(replicas[i], 0.2);
        const int64_t n = DbSize(reps[i]);
        if (n >= 0 && n < had[i] / 2) wipe = rel(MonoNow());
      }
    }
    if (!gate.busy() && !gate_empty && now - gate_sent >= 0.001) {
      gate_sent = now;
      gate.Get(gate_path);
    }
    if (!api.busy() && (!fewer || !syncing || !wiped) && now >= next_api) {
      next_api = now + 0.02;
      api.Get(api_path);
    }
    const Woken w = WaitOnce(
        subs, gate, api,
        [&](const std::string& channel, const std::string& payload, double at) {
          const bool ours = payload.rfind("master " + group + " ", 0) == 0;
          if (ours && channel == "+sdown" && !sdown) sdown = rel(at);
          if (ours && channel == "+reboot" && !reboot) reboot = rel(at);
        });
    const double at = w.at;
    if (w.gate_done && !gate_empty &&
        gate.body().find("\"empty_primary_risk\"") != std::string::npos) {
      gate_empty = rel(at);
    }
    if (w.api_done) {
      const std::string& b = api.body();
      if (!fewer && FactorActive(b, "primary_restarted_with_fewer_keys")) fewer = rel(at);
      if (!syncing && FactorActive(b, "replica_syncing_from_empty_primary")) syncing = rel(at);
      if (!wiped && FactorActive(b, "replica_wiped")) wiped = rel(at);
    }
  }
  std::printf(
      "{\"group\":\"%s\",\"primary\":\"%s\",\"seed_keys\":%d,\"replica_keys_before\":%lld,"
      "\"primary_keys_after\":%lld,\"restart_ms\":%s,\"gate_empty_ms\":%s,"
      "\"api_fewer_keys_ms\":%s,\"api_syncing_ms\":%s,\"api_wiped_ms\":%s,\"wipe_ms\":%s,"
      "\"sdown_ms\":%s,\"reboot_ms\":%s}\n",
      group.c_str(), primary.c_str(), seed, static_cast<long long>(had.empty() ? -1 : had[0]),
      static_cast<long long>(primary_keys), Num(restarted).c_str(), Num(gate_empty).c_str(),
      Num(fewer).c_str(), Num(syncing).c_str(), Num(wiped).c_str(), Num(wipe).c_str(),
      Num(sdown).c_str(), Num(reboot).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string sentinels_arg, group, primary, exporter;
  pid_t pid = 0;
  double timeout_s = 60;
  bool hang = false, empty = false;
  std::string replicas_arg;
  int seed = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--sentinels") sentinels_arg = v;
    else if (a == "--group") group = v;
    else if (a == "--primary") primary = v;
    else if (a == "--pid") pid = static_cast<pid_t>(std::atoi(v.c_str()));
    else if (a == "--exporter") exporter = v;
    else if (a == "--timeout-s") timeout_s = std::atof(v.c_str());
    else if (a == "--quickack") bench::g_quickack = v == "1";
    else if (a == "--signal" && (v == "kill" || v == "stop" || v == "restart-empty")) {
      hang = v == "stop";
      empty = v == "restart-empty";
    } else if (a == "--replicas") replicas_arg = v;
    else if (a == "--seed-keys") seed = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "bench_detect: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  const auto ex = bench::ParseUrl("http://" + exporter + "/");
  if (!ex || pid <= 0 || group.empty() || primary.empty()) {
    std::fprintf(stderr, "bench_detect: need --sentinels --group --primary --pid --exporter\n");
    return 2;
  }
  std::vector<redisContext*> subs;
  for (const auto& s : Split(sentinels_arg, ',')) {
    const auto colon = s.rfind(':');
    timeval tv{2, 0};
    redisContext* c = redisConnectWithTimeout(s.substr(0, colon).c_str(),
                                              std::atoi(s.c_str() + colon + 1), tv);
    if (c == nullptr || c->err) {
      std::fprintf(stderr, "bench_detect: cannot connect to %s\n", s.c_str());
      return 1;
    }
    auto* r = static_cast<redisReply*>(redisCommand(c, "SUBSCRIBE +sdown +switch-master +reboot"));
    if (r == nullptr) return 1;
    freeReplyObject(r);
    for (int k = 0; k < 2; ++k) {  // the other two subscribe confirmations
      void* r2 = nullptr;
      if (redisGetReply(c, &r2) != REDIS_OK) return 1;
      freeReplyObject(r2);
    }
    subs.push_back(c);
  }
  if (empty) {
    const auto replicas = Split(replicas_arg, ',');
    if (replicas.empty() || seed <= 0) {
      std::fprintf(stderr, "bench_detect: restart-empty needs --replicas and --seed-keys > 0\n");
      return 2;
    }
    const int rc = EmptyRestartTrial(subs, group, primary, pid, replicas, seed, *ex, timeout_s);
    for (auto* c : subs) redisFree(c);
    return rc;
  }
  const std::string gate_path = "/gate?group=" + group + "&action=failover";
  const std::string api_path = "/api/v1/groups?group=" + group;
  bench::HttpConn gate(ex->host, ex->port), api(ex->host, ex->port);
  // Before the kill: the gate must not already show either blocker.
  if (gate.GetBlocking(gate_path, std::chrono::milliseconds(5000)) < 0) {
    std::fprintf(stderr, "bench_detect: gate request failed\n");
    return 1;
  }
  if (gate.body().find("\"primary_down\"") != std::string::npos ||
      gate.body().find("\"recent_failover\"") != std::string::npos) {
    std::fprintf(stderr, "bench_detect: gate already blocked before the kill: %s\n",
                 gate.body().c_str());
    return 1;
  }
  double gate_ms_sum = 0;
  int gate_n = 0;
  std::optional<double> sdown, sw, gate_sdown, gate_switch, api_down, api_switch, api_view;
  std::string new_primary;  // from the +switch-master payload
  double api_ms_max = 0;
  const double t0 = MonoNow();
  ::kill(pid, hang ? SIGSTOP : SIGKILL);
  auto rel = [&](double t) { return (t - t0) * 1000.0; };
  double gate_sent = 0, api_sent = 0, api_ms_sum = 0, next_api = 0;
  int api_n = 0;
  while (MonoNow() - t0 < timeout_s) {
    const bool done =
        sdown && sw && gate_sdown && gate_switch && api_down && api_switch && api_view;
    if (done) break;
    const double now = MonoNow();
    if (!gate.busy() && (!gate_sdown || !gate_switch) && now - gate_sent >= 0.001) {
      gate_sent = now;
      gate.Get(gate_path);
    }
    // /api/v1/groups?group=G (one group's part of the snapshot) is polled every 50 ms until
    // our own poll shows the node down, then not at all until Sentinel publishes
    // +switch-master, then back to back.
    const bool want_api = (!api_down && now >= next_api) || (sw && (!api_switch || !api_view));
    if (!api.busy() && want_api) {
      api_sent = now;
      next_api = now + 0.05;
      api.Get(api_path);
    }
    const Woken w = WaitOnce(
        subs, gate, api,
        [&](const std::string& channel, const std::string& payload, double at) {
          if (channel == "+sdown" && payload.rfind("master " + group + " ", 0) == 0 && !sdown) {
            sdown = rel(at);
          }
          if (channel == "+switch-master" && payload.rfind(group + " ", 0) == 0 && !sw) {
            sw = rel(at);
            // "<group> <old ip> <old port> <new ip> <new port>"
            std::istringstream in(payload);
            std::string g, oip, oport, nip, nport;
            in >> g >> oip >> oport >> nip >> nport;
            new_primary = nip + ":" + nport;
          }
        });
    const double at = w.at;
    if (w.gate_done) {
      gate_ms_sum += (at - gate_sent) * 1000.0;
      ++gate_n;
      const std::string& b = gate.body();
      if (!gate_sdown && b.find("\"primary_down\"") != std::string::npos) gate_sdown = rel(at);
      if (!gate_switch && b.find("\"recent_failover\"") != std::string::npos) {
        gate_switch = rel(at);
      }
    }
    if (w.api_done) {
      api_ms_max = std::max(api_ms_max, (at - api_sent) * 1000.0);
      api_ms_sum += (at - api_sent) * 1000.0;
      ++api_n;
      const std::string& b = api.body();
      const auto up = NodeUp(b, primary);
      if (!api_down && up && !*up) api_down = rel(at);
      const std::string p = GroupPrimary(b, group);
      if (!api_switch && !p.empty() && p != primary) api_switch = rel(at);
      if (!api_view && AnyViewNames(b, group, new_primary)) api_view = rel(at);
    }
  }
  auto num = [](const std::optional<double>& v) {
    if (!v) return std::string("null");
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", *v);
    return std::string(buf);
  };
  std::printf(
      "{\"group\":\"%s\",\"primary\":\"%s\",\"sdown_ms\":%s,\"switch_ms\":%s,"
      "\"gate_sdown_ms\":%s,\"gate_switch_ms\":%s,\"api_down_ms\":%s,\"api_switch_ms\":%s,"
      "\"api_view_switch_ms\":%s,\"new_primary\":\"%s\",\"gate_requests\":%d,"
      "\"gate_mean_ms\":%.3f,\"api_requests\":%d,\"api_mean_ms\":%.3f,\"api_max_ms\":%.3f}\n",
      group.c_str(), primary.c_str(), num(sdown).c_str(), num(sw).c_str(),
      num(gate_sdown).c_str(), num(gate_switch).c_str(), num(api_down).c_str(),
      num(api_switch).c_str(), num(api_view).c_str(), new_primary.c_str(), gate_n,
      gate_n ? gate_ms_sum / gate_n : 0.0, api_n, api_n ? api_ms_sum / api_n : 0.0, api_ms_max);
  for (auto* c : subs) redisFree(c);
  if (hang) ::kill(pid, SIGCONT);
  return 0;
}
