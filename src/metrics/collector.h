// SnapshotCollector: the prometheus-cpp Collectable that renders the published snapshot.
//
// Contract: every metric the exporter serves is computed here, from the snapshot alone;
// one place to look for any `redis_ha_*` series. Every known target has every one of its
// series on every scrape (NaN where the last poll could not learn the value), so alert
// and gate queries never see an empty result while a target is known. docs/metrics.md
// documents each family.
//
// Thread-safety: Collect() may be called concurrently; it only reads the snapshot it is
// handed by the source function, which must be thread-safe.
#ifndef REDIS_HA_METRICS_COLLECTOR_H_
#define REDIS_HA_METRICS_COLLECTOR_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "assess/gate.h"
#include "model/snapshot.h"

namespace redis_ha::metrics {

class SnapshotCollector : public prometheus::Collectable {
 public:
  using Source = std::function<model::SnapshotPtr()>;
  SnapshotCollector(Source source, assess::GateOptions gate)
      : source_(std::move(source)), gate_(gate) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Source source_;
  assess::GateOptions gate_;
};

// The families for one snapshot (also used by tests and the benchmark). The gate series
// are evaluated at `now`, so a snapshot that stops being refreshed turns them not-ready.
std::vector<prometheus::MetricFamily> BuildFamilies(const model::Snapshot& snapshot,
                                                    const assess::GateOptions& gate,
                                                    model::SysTime now);

// Text exposition format 0.0.4.
std::string Render(const std::vector<prometheus::MetricFamily>& families);

// What /metrics serves: the text of BuildFamilies(snapshot, gate, now), byte for byte,
// written straight from the snapshot without building the families (a fifth of the CPU at
// 100 groups). `size_hint` (say, the previous scrape's size) spares the buffer's regrowth.
std::string RenderSnapshot(const model::Snapshot& snapshot, const assess::GateOptions& gate,
                           model::SysTime now, size_t size_hint = 0);

// MetricsRenderer: RenderSnapshot for /metrics, into buffers kept from one scrape to the
// next. A scrape at 100 groups writes 2.2 MB into some sixty strings and joins them; with
// fresh strings every time, regrowing them and faulting in their memory cost about 1 ms of
// a 5-6 ms scrape (three side-by-side runs against a fleet). The text comes back shared:
// its buffers return to the renderer when the last reference is dropped (once the
// response is sent).
//
// Thread-safety: Render may be called concurrently; each call writes into buffers no other
// call holds, and at most kKept sets are kept between scrapes. The text may outlive the
// renderer (its buffers are then freed).
class MetricsRenderer {
 public:
  static constexpr size_t kKept = 2;
  MetricsRenderer();
  ~MetricsRenderer();
  MetricsRenderer(const MetricsRenderer&) = delete;
  MetricsRenderer& operator=(const MetricsRenderer&) = delete;

  // The same text as RenderSnapshot(snapshot, gate, now).
  std::shared_ptr<const std::string> Render(const model::Snapshot& snapshot,
                                            const assess::GateOptions& gate, model::SysTime now);

 private:
  struct Buffers;
  struct Pool;
  std::shared_ptr<Pool> pool_;
};

}  // namespace redis_ha::metrics

#endif  // REDIS_HA_METRICS_COLLECTOR_H_
