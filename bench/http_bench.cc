// bench_http: the benchmark's HTTP clients. Writes one JSON document to --out.
//
//   bench_http scrape --urls FILE --interval-ms 1000 --duration-s T [--grep PREFIX]...
//       Plays Prometheus: every interval, GETs every URL of FILE (one a line) at once, each
//       on its own keep-alive connection, and waits for all of them. A round that is not
//       done when the next is due delays it (an overrun). Records every round (start,
//       wall time, errors, bytes) and every request's latency; lines of the bodies that
//       start with a --grep prefix are kept (with the response time).
//
//   bench_http rate --url URL --rps R --duration-s T [--conns C] [--quickack 1]
//                   [--also-path PATH]
//       Open-loop load at R requests per second over C keep-alive connections. Latency is
//       measured from when a request was due (queueing behind a busy connection counts),
//       so a stall cannot hide itself (no coordinated omission). --quickack 1 re-arms
//       TCP_QUICKACK before every receive (see http.h): a diagnostic run. With --also-path,
//       every second request goes to PATH on the same server instead, and its latencies
//       are kept apart ("also_latencies_ms"): two answers compared in the same window,
//       under the same load and the same scheduling, which separate phases are not.
//
//   bench_http wake --rps R --duration-s T
//       No HTTP: one thread sleeps until each of R deadlines a second and records how late
//       it woke. Every HTTP answer needs at least two such wake-ups (the server's worker,
//       then the client), so under the same load this is the machine's floor for any
//       latency the rate mode measures.
#include <poll.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "http.h"

namespace {

using bench::HttpConn;
using bench::MonoNow;

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

void SleepUntil(double t) {
  const double now = MonoNow();
  if (t <= now) return;
  const double d = t - now;
  timespec ts{static_cast<time_t>(d), static_cast<long>((d - static_cast<double>(static_cast<time_t>(d))) * 1e9)};
  ::nanosleep(&ts, nullptr);
}

int Scrape(const std::vector<std::string>& urls, int interval_ms, double duration_s,
           const std::vector<std::string>& greps, const std::string& out_path) {
  struct Target {
    std::unique_ptr<HttpConn> conn;
    std::string path;
  };
  std::vector<Target> targets;
  for (const auto& u : urls) {
    auto p = bench::ParseUrl(u);
    if (!p) {
      std::fprintf(stderr, "bench_http: bad url %s\n", u.c_str());
      return 2;
    }
    targets.push_back({std::make_unique<HttpConn>(p->host, p->port), p->path});
  }
  std::ostringstream rounds, lat, grep_out;
  bool first_round = true, first_lat = true, first_grep = true;
  const double t0 = MonoNow();
  const double interval = interval_ms / 1000.0;
  double due = t0;
  int overruns = 0;
  uint64_t total_errors = 0;
  std::vector<double> started(targets.size());
  std::vector<pollfd> fds;
  std::vector<size_t> idx;
  while (due < t0 + duration_s) {
    SleepUntil(due);
    const double start = MonoNow();
    size_t pending = 0;
    int errors = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < targets.size(); ++i) {
      started[i] = MonoNow();
      if (targets[i].conn->Get(targets[i].path)) ++pending;
      else ++errors;
    }
    while (pending > 0) {
      fds.clear();
      idx.clear();
      for (size_t i = 0; i < targets.size(); ++i) {
        if (!targets[i].conn->busy() || targets[i].conn->fd() < 0) continue;
        fds.push_back({targets[i].conn->fd(), targets[i].conn->Events(), 0});
        idx.push_back(i);
      }
      if (fds.empty()) break;
      if (MonoNow() - start > 30) {  // hard stop for a hung target
        for (size_t i : idx) {
          targets[i].conn->Close();
          ++errors;
        }
        break;
      }
      const int rc = ::poll(fds.data(), fds.size(), 100);
      if (rc <= 0) continue;
      for (size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].revents == 0) continue;
        const size_t i = idx[k];
        HttpConn& c = *targets[i].conn;
        const int r = c.Handle(fds[k].revents);
        if (r == 0) continue;
        --pending;
        const double done = MonoNow();
        if (r < 0 || c.status() != 200) {
          ++errors;
          continue;
        }
        bytes += c.response_bytes();
        lat << (first_lat ? "" : ",") << (done - started[i]) * 1000.0;
        first_lat = false;
        if (!greps.empty()) {
          std::string lines;
          size_t pos = 0;
          const std::string& body = c.body();
          while (pos < body.size()) {
            size_t eol = body.find('\n', pos);
            if (eol == std::string::npos) eol = body.size();
            for (const auto& g : greps) {
              if (body.compare(pos, g.size(), g) == 0) {
                lines += body.substr(pos, eol - pos);
                lines += '\n';
                break;
              }
            }
            pos = eol + 1;
          }
          grep_out << (first_grep ? "" : ",") << "{\"t\":" << done << ",\"ms\":"
                   << (done - started[i]) * 1000.0 << ",\"bytes\":" << c.body().size()
                   << ",\"lines\":\"" << JsonEscape(lines) << "\"}";
          first_grep = false;
        }
      }
    }
    const double end = MonoNow();
    total_errors += static_cast<uint64_t>(errors);
    rounds << (first_round ? "" : ",") << "{\"start\":" << start << ",\"end\":" << end
           << ",\"wall_ms\":" << (end - start) * 1000.0 << ",\"errors\":" << errors
           << ",\"bytes\":" << bytes << "}";
    first_round = false;
    due += interval;
    if (end > due) {
      ++overruns;
      due = end;
    }
  }
  std::ofstream out(out_path);
  out << std::fixed;
  out.precision(6);
  out << "{\"mode\":\"scrape\",\"targets\":" << targets.size() << ",\"overruns\":" << overruns
      << ",\"errors\":" << total_errors << ",\"rounds\":[" << rounds.str()
      << "],\"latencies_ms\":[" << lat.str() << "],\"grep\":[" << grep_out.str() << "]}\n";
  return out ? 0 : 1;
}

int Rate(const std::string& url, const std::string& also_path, double rps, double duration_s,
         int nconns, const std::string& out_path) {
  auto u = bench::ParseUrl(url);
  if (!u) {
    std::fprintf(stderr, "bench_http: bad url %s\n", url.c_str());
    return 2;
  }
  std::vector<std::unique_ptr<HttpConn>> conns;
  for (int i = 0; i < nconns; ++i) conns.push_back(std::make_unique<HttpConn>(u->host, u->port));
  // Warm the connections up (connect + one request each), outside the measurement.
  for (auto& c : conns) c->GetBlocking(u->path, std::chrono::milliseconds(2000));
  std::vector<double> due_of(conns.size(), 0), sent_of(conns.size(), 0);
  std::vector<bool> also_of(conns.size(), false);
  std::vector<double> latency, service, also_latency, also_service;
  std::deque<std::pair<double, bool>> backlog;  // due times not yet sent, and which path
  const double t0 = MonoNow();
  const double step = 1.0 / rps;
  const uint64_t total = static_cast<uint64_t>(rps * duration_s);
  uint64_t issued = 0, errors = 0, non200 = 0;
  std::vector<pollfd> fds;
  std::vector<size_t> idx;
  for (;;) {
    const double now = MonoNow();
    while (issued < total && t0 + static_cast<double>(issued) * step <= now) {
      backlog.emplace_back(t0 + static_cast<double>(issued) * step,
                           !also_path.empty() && issued % 2 == 1);
      ++issued;
    }
    for (size_t i = 0; i < conns.size() && !backlog.empty(); ++i) {
      if (conns[i]->busy()) continue;
      due_of[i] = backlog.front().first;
      also_of[i] = backlog.front().second;
      backlog.pop_front();
      sent_of[i] = MonoNow();
      if (!conns[i]->Get(also_of[i] ? also_path : u->path)) ++errors;
    }
    bool any_busy = false;
    fds.clear();
    idx.clear();
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!conns[i]->busy() || conns[i]->fd() < 0) continue;
      any_busy = true;
      fds.push_back({conns[i]->fd(), conns[i]->Events(), 0});
      idx.push_back(i);
    }
    if (issued >= total && backlog.empty() && !any_busy) break;
    if (now - t0 > duration_s + 30) break;
    double wait = 0.05;
    if (issued < total) wait = std::max(0.0, t0 + static_cast<double>(issued) * step - MonoNow());
    if (!backlog.empty()) wait = 0.05;  // wait for a connection to free up
    timespec ts{static_cast<time_t>(wait), static_cast<long>((wait - static_cast<double>(static_cast<time_t>(wait))) * 1e9)};
    const int rc = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
    if (rc <= 0) continue;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      const size_t i = idx[k];
      const int r = conns[i]->Handle(fds[k].revents);
      if (r == 0) continue;
      const double done = MonoNow();
      if (r < 0) {
        ++errors;
        continue;
      }
      if (conns[i]->status() != 200 && conns[i]->status() != 503) ++non200;
      (also_of[i] ? also_latency : latency).push_back((done - due_of[i]) * 1000.0);
      (also_of[i] ? also_service : service).push_back((done - sent_of[i]) * 1000.0);
    }
  }
  const double elapsed = MonoNow() - t0;
  std::ofstream out(out_path);
  out << std::fixed;
  out.precision(4);
  auto list = [&out](const char* name, const std::vector<double>& v) {
    out << ",\"" << name << "\":[";
    for (size_t i = 0; i < v.size(); ++i) out << (i ? "," : "") << v[i];
    out << "]";
  };
  out << "{\"mode\":\"rate\",\"rps\":" << rps << ",\"elapsed_s\":" << elapsed
      << ",\"requests\":" << latency.size() + also_latency.size() << ",\"errors\":" << errors
      << ",\"unexpected_status\":" << non200;
  list("latencies_ms", latency);
  list("service_ms", service);
  if (!also_path.empty()) {
    list("also_latencies_ms", also_latency);
    list("also_service_ms", also_service);
  }
  out << "}\n";
  return out ? 0 : 1;
}

int Wake(double rps, double duration_s, const std::string& out_path) {
  const double step = 1.0 / rps;
  const auto total = static_cast<uint64_t>(rps * duration_s);
  std::vector<double> late;
  late.reserve(total);
  timespec t0{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const double start = static_cast<double>(t0.tv_sec) + static_cast<double>(t0.tv_nsec) / 1e9;
  for (uint64_t i = 1; i <= total; ++i) {
    const double due = start + static_cast<double>(i) * step;
    timespec ts{static_cast<time_t>(due),
                static_cast<long>((due - static_cast<double>(static_cast<time_t>(due))) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    late.push_back(
        (static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9 - due) * 1e3);
  }
  std::ofstream out(out_path);
  out << std::fixed;
  out.precision(4);
  out << "{\"mode\":\"wake\",\"rps\":" << rps << ",\"latencies_ms\":[";
  for (size_t i = 0; i < late.size(); ++i) out << (i ? "," : "") << late[i];
  out << "]}\n";
  return out ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_http scrape|rate|wake ...\n");
    return 2;
  }
  const std::string mode = argv[1];
  std::string urls_file, url, also_path, out = "/dev/stdout";
  int interval_ms = 1000, conns = 4;
  double duration = 10, rps = 1000;
  std::vector<std::string> greps;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench_http: %s needs a value\n", a.c_str());
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--urls") urls_file = v;
    else if (a == "--url") url = v;
    else if (a == "--also-path") also_path = v;
    else if (a == "--out") out = v;
    else if (a == "--interval-ms") interval_ms = std::atoi(v.c_str());
    else if (a == "--duration-s") duration = std::atof(v.c_str());
    else if (a == "--rps") rps = std::atof(v.c_str());
    else if (a == "--conns") conns = std::atoi(v.c_str());
    else if (a == "--grep") greps.push_back(v);
    else if (a == "--quickack") bench::g_quickack = v == "1";
    else {
      std::fprintf(stderr, "bench_http: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (mode == "scrape") {
    std::ifstream in(urls_file);
    std::vector<std::string> urls;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) urls.push_back(line);
    }
    if (urls.empty()) {
      std::fprintf(stderr, "bench_http: no urls in %s\n", urls_file.c_str());
      return 2;
    }
    return Scrape(urls, interval_ms, duration, greps, out);
  }
  if (mode == "rate") return Rate(url, also_path, rps, duration, std::max(1, conns), out);
  if (mode == "wake") return Wake(rps, duration, out);
  std::fprintf(stderr, "bench_http: unknown mode %s\n", mode.c_str());
  return 2;
}
