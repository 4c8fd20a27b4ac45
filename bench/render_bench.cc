// bench_render: CPU of one /metrics render, in process, on hand-built fleets of healthy
// groups (tests/support/group_fixture.h), for the direct text renderer that /metrics
// serves and for the prometheus-cpp families (the Collectable) rendered to the same text.
//
//   bench_render [--groups 1,10,100,300] [--repeat 50] [--default-malloc]
//
// The allocator is tuned as the exporter tunes it (src/util/malloc_tuning.h) unless
// --default-malloc is given.
//
// Prints a table: series, bytes, and the median and p90 thread CPU per render.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/collector.h"
#include "support/group_fixture.h"
#include "util/malloc_tuning.h"

namespace {

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct Stat {
  double p50 = 0, p90 = 0;
};

template <typename F>
Stat Measure(int repeat, F f) {
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const double t0 = ThreadCpuMs();
    f();
    ms.push_back(ThreadCpuMs() - t0);
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 9 / 10]};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> groups = {1, 10, 100, 300};
  int repeat = 50;
  bool tune = true;
  auto usage = [] {
    std::fprintf(stderr,
                 "usage: bench_render [--groups 1,10,100] [--repeat 50] [--default-malloc]\n");
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--default-malloc") {
      tune = false;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const char* value = argv[++i];
    if (flag == "--groups") {
      groups.clear();
      std::stringstream in(value);
      for (std::string g; std::getline(in, g, ',');) groups.push_back(std::atoi(g.c_str()));
    } else if (flag == "--repeat") {
      repeat = std::max(1, std::atoi(value));
    } else {
      return usage();
    }
  }
  if (tune) redis_ha::TuneMalloc();
  std::printf("allocator: %s\n\n", tune ? "tuned as the exporter's" : "glibc defaults");
  namespace fx = redis_ha::testing::fixture;
  redis_ha::assess::GateOptions gate;
  gate.max_staleness = std::chrono::seconds(3);
  std::printf(
      "| groups | series | bytes | direct p50 ms | direct p90 ms | families p50 ms | "
      "families p90 ms |\n| --- | --- | --- | --- | --- | --- | --- |\n");
  for (int g : groups) {
    const redis_ha::model::Snapshot s = fx::Fleet(g);
    const auto now = fx::kNow + std::chrono::milliseconds(500);
    const std::string text = redis_ha::metrics::RenderSnapshot(s, gate, now);
    size_t series = 0;
    for (size_t p = 0; (p = text.find('\n', p)) != std::string::npos; ++p) {
      if (p + 1 < text.size() && text[p + 1] != '#') ++series;
    }
    size_t sink = 0;
    const Stat direct = Measure(repeat, [&] {
      sink += redis_ha::metrics::RenderSnapshot(s, gate, now, text.size()).size();
    });
    const Stat families = Measure(repeat, [&] {
      sink += redis_ha::metrics::Render(redis_ha::metrics::BuildFamilies(s, gate, now)).size();
    });
    std::printf("| %d | %zu | %zu | %.3f | %.3f | %.3f | %.3f |\n", g, series, text.size(),
                direct.p50, direct.p90, families.p50, families.p90);
    if (sink == 0) return 1;
  }
  return 0;
}
