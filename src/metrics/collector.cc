#include "metrics/collector.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "assess/assessment.h"
#include "util/text.h"

namespace redis_ha::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Appended to the help of every family read from the background poll.
constexpr std::string_view kPolled = " (from the background poll)";

template <typename T>
double Or(const std::optional<T>& v) {
  return v ? static_cast<double>(*v) : kNaN;
}

double Bool(bool b) { return b ? 1 : 0; }

// The TYPE line's word for each metric type.
std::string_view TypeName(MetricType type) {
  constexpr std::string_view kNames[] = {"counter", "gauge", "summary", "untyped", "histogram"};
  static_assert(
      static_cast<int>(MetricType::Counter) == 0 && static_cast<int>(MetricType::Gauge) == 1 &&
      static_cast<int>(MetricType::Summary) == 2 && static_cast<int>(MetricType::Untyped) == 3 &&
      static_cast<int>(MetricType::Histogram) == 4);
  return kNames[static_cast<int>(type)];
}

// One label pair, viewing strings that outlive the render (the snapshot's, or
// static names).
struct Label {
  std::string_view name;
  std::string_view value;
};

// The labels of one series: at most kMax pairs, held inline so a series costs
// no allocation.
class LabelSet {
 public:
  static constexpr size_t kMax = 6;
  LabelSet() = default;
  LabelSet(std::initializer_list<Label> labels) {
    for (const auto& l : labels) Add(l);
  }
  LabelSet With(std::string_view name, std::string_view value) const {
    LabelSet copy = *this;
    copy.Add({name, value});
    return copy;
  }
  const Label* begin() const { return labels_.data(); }
  const Label* end() const { return labels_.data() + size_; }
  bool empty() const { return size_ == 0; }

 private:
  void Add(const Label& l) {
    if (size_ == kMax) std::abort();  // a programming error: raise kMax
    labels_[size_++] = l;
  }
  std::array<Label, kMax> labels_{};
  size_t size_ = 0;
};

void AppendDouble(std::string& out, double v);
void AppendEscaped(std::string& out, std::string_view raw);

void AppendLabel(std::string& out, bool& first, std::string_view name, std::string_view value);

// A LabelSet many series share (a node's dozen gauges), its text rendered once:
// `{a="x",b="y"` without the closing brace, so a series may add one more label.
class LabelText {
 public:
  explicit LabelText(const LabelSet& labels) : labels_(labels) {
    bool first = true;
    for (const auto& l : labels_) AppendLabel(text_, first, l.name, l.value);
    if (!text_.empty()) text_.insert(text_.begin(), '{');
  }
  const LabelSet& labels() const { return labels_; }
  std::string_view text() const { return text_; }  // empty for no labels

 private:
  LabelSet labels_;
  std::string text_;
};
void AppendHelpAndType(std::string& out, std::string_view name, std::string_view help,
                       std::string_view more, MetricType type);
void AppendFamily(std::string& out, const MetricFamily& family);

// The two sinks the family builders below write to. Both keep families in the
// order they are declared and series in the order they are set; the text one
// writes each series' line at once instead of building ClientMetric objects (a
// scrape at 100 groups is 20000 series, and building them was most of its CPU).
//
// Gauge() and Counter() take the help text in two parts (the second is kPolled or empty).
class FamilySink {
 public:
  using Family = MetricFamily;
  Family& Gauge(std::string_view name, std::string_view help, std::string_view more = {}) {
    return Add(name, help, more, MetricType::Gauge);
  }
  Family& Counter(std::string_view name, std::string_view help, std::string_view more = {}) {
    return Add(name, help, more, MetricType::Counter);
  }
  void Push(MetricFamily f) { families_.push_back(std::move(f)); }
  std::vector<MetricFamily> Take() {
    return std::vector<MetricFamily>(std::make_move_iterator(families_.begin()),
                                     std::make_move_iterator(families_.end()));
  }

 private:
  Family& Add(std::string_view name, std::string_view help, std::string_view more,
              MetricType type) {
    std::string text(help);
    text += more;
    families_.push_back(MetricFamily{std::string(name), std::move(text), type, {}});
    return families_.back();
  }
  std::deque<MetricFamily> families_;  // stable references while families are added
};

void Set(MetricFamily& f, const LabelSet& labels, double value) {
  ClientMetric m;
  for (const auto& l : labels) m.label.push_back({std::string(l.name), std::string(l.value)});
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}
void Set(MetricFamily& f, const LabelText& labels, double value) { Set(f, labels.labels(), value); }
void Set(MetricFamily& f, const LabelText& labels, std::string_view name, std::string_view value,
         double v) {
  Set(f, labels.labels().With(name, value), v);
}

class TextSink {
 public:
  struct Family {
    std::string text;  // HELP and TYPE lines, then one line per series
    std::string_view name;
  };
  // `spare`: strings from an earlier render to write the families into (their capacity
  // kept), taken in family order and handed back by TakeInto.
  explicit TextSink(std::vector<std::string>* spare = nullptr) : spare_(spare) {}
  Family& Gauge(std::string_view name, std::string_view help, std::string_view more = {}) {
    return Add(name, help, more, MetricType::Gauge);
  }
  Family& Counter(std::string_view name, std::string_view help, std::string_view more = {}) {
    return Add(name, help, more, MetricType::Counter);
  }
  void Push(const MetricFamily& f) {
    Family& family = families_.emplace_back(Family{Spare(), {}});
    AppendFamily(family.text, f);
  }
  // The families' text, one after the other, in `out` (its capacity reused); the
  // families' strings go back to `spare`.
  void TakeInto(std::string& out, size_t size_hint = 0) {
    size_t size = 0;
    for (const auto& f : families_) size += f.text.size();
    out.clear();
    out.reserve(std::max(size, size_hint));
    for (const auto& f : families_) out += f.text;
    if (spare_ != nullptr) {
      spare_->resize(std::max(spare_->size(), families_.size()));
      for (size_t i = 0; i < families_.size(); ++i) (*spare_)[i] = std::move(families_[i].text);
    }
  }

 private:
  std::string Spare() {
    if (spare_ == nullptr || next_spare_ >= spare_->size()) return {};
    std::string s = std::move((*spare_)[next_spare_++]);
    s.clear();
    return s;
  }
  Family& Add(std::string_view name, std::string_view help, std::string_view more,
              MetricType type) {
    Family& f = families_.emplace_back(Family{Spare(), name});
    AppendHelpAndType(f.text, name, help, more, type);
    return f;
  }
  std::vector<std::string>* spare_;
  size_t next_spare_ = 0;
  std::deque<Family> families_;  // stable references while families are added
};

// name{a="x",b="y"} value  (as prometheus::TextSerializer writes a gauge or counter)
void Set(TextSink::Family& f, const LabelSet& labels, double value) {
  std::string& out = f.text;
  out += f.name;
  if (!labels.empty()) {
    out += '{';
    bool first = true;
    for (const auto& l : labels) AppendLabel(out, first, l.name, l.value);
    out += '}';
  }
  out += ' ';
  AppendDouble(out, value);
  out += '\n';
}

// name{labels} value, the labels' text rendered beforehand.
void Set(TextSink::Family& f, const LabelText& labels, double value) {
  std::string& out = f.text;
  out += f.name;
  if (!labels.text().empty()) {
    out += labels.text();
    out += '}';
  }
  out += ' ';
  AppendDouble(out, value);
  out += '\n';
}

// name{labels,name="value"} v
void Set(TextSink::Family& f, const LabelText& labels, std::string_view name,
         std::string_view value, double v) {
  std::string& out = f.text;
  out += f.name;
  bool first = labels.text().empty();
  out += first ? std::string_view("{") : labels.text();
  AppendLabel(out, first, name, value);
  out += "} ";
  AppendDouble(out, v);
  out += '\n';
}

MetricFamily HistogramFamily(std::string name, std::string help,
                             const model::DurationHistogram& h) {
  MetricFamily hist{std::move(name), std::move(help), MetricType::Histogram, {}};
  ClientMetric hm;
  hm.histogram.sample_count = h.count;
  hm.histogram.sample_sum = h.sum;
  for (size_t i = 0; i < model::DurationHistogram::kBounds.size(); ++i) {
    hm.histogram.bucket.push_back({h.buckets[i], model::DurationHistogram::kBounds[i]});
  }
  hm.histogram.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
  hist.metric.push_back(std::move(hm));
  return hist;
}

template <typename Sink>
void SentinelFamilies(const model::Snapshot& s, Sink& out) {
  auto& up =
      out.Gauge("redis_ha_sentinel_up", "1 if the last poll of the Sentinel succeeded", kPolled);
  auto& tilt = out.Gauge("redis_ha_sentinel_tilt", "1 while the Sentinel is in TILT mode", kPolled);
  auto& info = out.Gauge("redis_ha_sentinel_info", "Sentinel metadata; always 1", kPolled);
  auto& rtt = out.Gauge("redis_ha_sentinel_poll_round_trip_seconds",
                        "Time to connect and get every reply of the last poll of "
                        "the Sentinel",
                        kPolled);
  for (const auto& st : s.sentinels) {
    const LabelText l({{"sentinel", st.address}});
    Set(up, l, Bool(st.up));
    Set(tilt, l, st.up ? Bool(st.tilt) : kNaN);
    Set(info, l, "version", st.version, 1);
    Set(rtt, l, st.up ? std::chrono::duration<double>(st.round_trip).count() : kNaN);
  }
}

template <typename Sink>
void ViewFamilies(const model::Snapshot& s, Sink& out) {
  auto& ck = out.Gauge("redis_ha_sentinel_ckquorum_ok",
                       "1 if SENTINEL CKQUORUM said OK on this Sentinel", kPolled);
  auto& usable = out.Gauge("redis_ha_sentinel_usable_sentinels",
                           "Usable Sentinels counted by SENTINEL CKQUORUM", kPolled);
  auto& quorum = out.Gauge("redis_ha_sentinel_quorum", "Configured quorum of the group", kPolled);
  auto& known_s = out.Gauge("redis_ha_sentinel_known_sentinels",
                            "Sentinels this Sentinel knows for the group, itself "
                            "included (num-other-sentinels + 1)",
                            kPolled);
  auto& known_r = out.Gauge("redis_ha_sentinel_known_replicas",
                            "Replicas this Sentinel knows for the group "
                            "(num-slaves)",
                            kPolled);
  auto& flag = out.Gauge("redis_ha_sentinel_primary_flag",
                         "1 if this Sentinel sets the flag on the group's primary", kPolled);
  auto& epoch =
      out.Gauge("redis_ha_sentinel_config_epoch", "Configuration epoch of the group", kPolled);
  auto& pinfo = out.Gauge("redis_ha_sentinel_primary_info",
                          "The primary this Sentinel names for the group; always 1", kPolled);
  auto& down = out.Gauge("redis_ha_sentinel_down_after_seconds",
                         "down-after-milliseconds of the group, in seconds", kPolled);
  auto& fto = out.Gauge("redis_ha_sentinel_failover_timeout_seconds",
                        "failover-timeout of the group, in seconds", kPolled);
  auto& par = out.Gauge("redis_ha_sentinel_parallel_syncs", "parallel-syncs of the group", kPolled);
  auto& ping = out.Gauge("redis_ha_sentinel_primary_last_ok_ping_seconds",
                         "Seconds since this Sentinel's last successful PING of the "
                         "primary",
                         kPolled);
  for (const auto& [name, g] : s.groups) {
    for (const auto& v : g.views) {
      const LabelText l({{"group", name}, {"sentinel", v.sentinel}});
      bool known = v.reachable && v.monitors;
      Set(ck, l, known && v.ckquorum_ok ? Bool(*v.ckquorum_ok) : kNaN);
      Set(usable, l, known ? Or(v.usable_sentinels) : kNaN);
      Set(quorum, l, known ? Or(v.quorum) : kNaN);
      Set(known_s, l, known && v.num_other_sentinels ? *v.num_other_sentinels + 1.0 : kNaN);
      Set(known_r, l, known ? Or(v.num_slaves) : kNaN);
      for (auto f : model::kPrimaryFlags) {
        Set(flag, l, "flag", model::PrimaryFlagName(f), known ? Bool(v.flag(f)) : kNaN);
      }
      Set(epoch, l, known ? Or(v.config_epoch) : kNaN);
      Set(pinfo, l, "address", v.primary, 1);
      Set(down, l, known && v.down_after_ms ? *v.down_after_ms / 1000.0 : kNaN);
      Set(fto, l, known && v.failover_timeout_ms ? *v.failover_timeout_ms / 1000.0 : kNaN);
      Set(par, l, known ? Or(v.parallel_syncs) : kNaN);
      Set(ping, l, known && v.last_ok_ping_reply_ms ? *v.last_ok_ping_reply_ms / 1000.0 : kNaN);
    }
  }
}

bool IsReplica(const model::NodeState& n) {
  return n.role == model::Role::kReplica ||
         (n.role == model::Role::kUnknown && n.sentinel_role == model::Role::kReplica);
}

template <typename Sink>
void NodeFamilies(const model::Snapshot& s, Sink& out) {
  auto& up =
      out.Gauge("redis_ha_node_up", "1 if the last poll of the data node succeeded", kPolled);
  auto& primary =
      out.Gauge("redis_ha_node_is_primary", "1 if the node reports role master", kPolled);
  auto& uptime =
      out.Gauge("redis_ha_node_uptime_seconds", "uptime_in_seconds of the node", kPolled);
  auto& loading =
      out.Gauge("redis_ha_node_loading", "1 while the node is loading its dataset", kPolled);
  auto& keys = out.Gauge("redis_ha_node_keys", "Keys summed over all databases", kPolled);
  auto& offset = out.Gauge("redis_ha_node_repl_offset_bytes",
                           "Replication offset: master_repl_offset on a primary, "
                           "slave_repl_offset on a replica",
                           kPolled);
  auto& conn = out.Gauge("redis_ha_node_connected_replicas",
                         "connected_slaves reported by the node", kPolled);
  auto& backlog =
      out.Gauge("redis_ha_node_repl_backlog_size_bytes", "repl_backlog_size of the node", kPolled);
  auto& persist = out.Gauge("redis_ha_node_persistence_enabled",
                            "1 if RDB snapshots (save) or AOF are configured; NaN "
                            "when CONFIG GET is not allowed",
                            kPolled);
  auto& changes = out.Gauge("redis_ha_node_rdb_changes_since_last_save",
                            "Writes not yet in an RDB snapshot", kPolled);
  auto& sync_full = out.Counter("redis_ha_node_sync_full_total",
                                "Full resynchronisations served by the node, as the "
                                "node counts them (sync_full)",
                                kPolled);
  auto& rtt = out.Gauge("redis_ha_node_poll_round_trip_seconds",
                        "Time to connect and get every reply of the last poll of "
                        "the node",
                        kPolled);
  auto& info = out.Gauge("redis_ha_node_info",
                         "Node metadata: version and server (redis or valkey); "
                         "always 1",
                         kPolled);
  auto& link =
      out.Gauge("redis_ha_replica_link_up", "1 if the replica's master_link_status is up", kPolled);
  auto& syncing = out.Gauge("redis_ha_replica_sync_in_progress",
                            "1 while the replica is in a full sync", kPolled);
  auto& lag = out.Gauge("redis_ha_replica_lag_bytes",
                        "The group primary's offset minus this replica's offset, "
                        "from the same cycle",
                        kPolled);
  auto& prio =
      out.Gauge("redis_ha_replica_priority", "replica-priority (0: never promoted)", kPolled);
  auto& lastio = out.Gauge("redis_ha_replica_last_io_seconds",
                           "Seconds since the replica last heard from its primary", kPolled);
  auto& linkdown = out.Gauge("redis_ha_replica_link_down_seconds",
                             "Seconds the replica's link has been down (0 while up)", kPolled);
  for (const auto& [name, g] : s.groups) {
    const model::NodeState* p = g.Primary();
    const bool have_primary_offset = p != nullptr && p->up && p->role == model::Role::kPrimary &&
                                     p->master_repl_offset.has_value();
    const int64_t primary_offset = have_primary_offset ? *p->master_repl_offset : 0;
    for (const auto& n : g.nodes) {
      const LabelText l({{"group", name}, {"node", n.address}});
      Set(up, l, Bool(n.up));
      Set(primary, l, n.up ? Bool(n.role == model::Role::kPrimary) : kNaN);
      Set(uptime, l, n.up ? Or(n.uptime_seconds) : kNaN);
      Set(loading, l, n.up ? Bool(n.loading) : kNaN);
      Set(keys, l, n.up ? Or(n.keys) : kNaN);
      Set(offset, l, n.up ? Or(n.Offset()) : kNaN);
      Set(conn, l, n.up ? Or(n.connected_replicas) : kNaN);
      Set(backlog, l, n.up ? Or(n.repl_backlog_size) : kNaN);
      double persistent = kNaN;
      if (n.up && !n.config_unavailable && n.config_save && n.config_appendonly) {
        persistent = Bool(!n.config_save->empty() || *n.config_appendonly);
      } else if (n.up && n.aof_enabled && *n.aof_enabled) {
        persistent = 1;
      }
      Set(persist, l, persistent);
      Set(changes, l, n.up ? Or(n.rdb_changes_since_last_save) : kNaN);
      Set(sync_full, l, n.up ? Or(n.sync_full) : kNaN);
      Set(rtt, l, n.up ? std::chrono::duration<double>(n.round_trip).count() : kNaN);
      Set(info,
          {{"group", name}, {"node", n.address}, {"version", n.version}, {"server", n.server}}, 1);
      if (!IsReplica(n)) continue;
      Set(link, l, n.up && n.link_up ? Bool(*n.link_up) : kNaN);
      Set(syncing, l, n.up ? Bool(n.sync_in_progress) : kNaN);
      double lag_bytes = kNaN;
      if (n.up && have_primary_offset && n.slave_repl_offset) {
        lag_bytes =
            static_cast<double>(std::max<int64_t>(0, primary_offset - *n.slave_repl_offset));
      }
      Set(lag, l, lag_bytes);
      Set(prio, l, n.up ? Or(n.priority) : kNaN);
      Set(lastio, l, n.up ? Or(n.last_io_seconds) : kNaN);
      double down_s = kNaN;
      if (n.up && n.link_up) down_s = *n.link_up ? 0 : Or(n.link_down_since_seconds);
      Set(linkdown, l, down_s);
    }
  }
}

template <typename Sink>
void RiskFamilies(const model::Snapshot& s, Sink& out) {
  auto& sb = out.Gauge("redis_ha_split_brain_risk",
                       "Split-brain risk: 0 none, 1 latent, 2 imminent, 3 active", kPolled);
  auto& ep = out.Gauge("redis_ha_empty_primary_risk",
                       "Empty-primary risk: 0 none, 1 latent, 2 imminent, 3 active", kPolled);
  auto& sbf = out.Gauge("redis_ha_split_brain_risk_factor",
                        "1 while the split-brain factor holds (docs/risks.md)", kPolled);
  auto& epf = out.Gauge("redis_ha_empty_primary_risk_factor",
                        "1 while the empty-primary factor holds (docs/risks.md)", kPolled);
  auto& prim = out.Gauge("redis_ha_group_primaries",
                         "Reachable data nodes of the group reporting role master", kPolled);
  auto& views = out.Gauge("redis_ha_group_primary_views",
                          "Distinct primaries named by the group's reachable "
                          "Sentinels",
                          kPolled);
  auto& unavailable = out.Gauge("redis_ha_check_unavailable",
                                "1 when a check could not be made (CONFIG GET denied "
                                "or renamed)",
                                kPolled);
  auto& healthy = out.Gauge("redis_ha_group_healthy_replicas",
                            "Replicas with link up, not syncing or loading, "
                            "priority above 0 and lag within "
                            "--replica.max-lag-bytes",
                            kPolled);
  auto& headroom = out.Gauge("redis_ha_replication_backlog_headroom_seconds",
                             "repl-backlog-size over the primary's write rate: how "
                             "long a replica may be cut off and still partially "
                             "resync (+Inf without writes)",
                             kPolled);
  auto& rate = out.Gauge("redis_ha_primary_write_rate_bytes_per_second",
                         "Smoothed growth of the primary's replication offset", kPolled);
  auto& p99 = out.Gauge("redis_ha_primary_round_trip_p99_seconds",
                        "p99 of the exporter's poll round trips to the primary over "
                        "--risk.rtt-window",
                        kPolled);
  auto& stall = out.Gauge("redis_ha_primary_max_stall_seconds",
                          "Longest time the primary went without answering, beyond "
                          "one poll interval, over --risk.rtt-window",
                          kPolled);
  auto& failovers = out.Counter("redis_ha_failovers_total",
                                "Changes of the primary named by the Sentinel "
                                "majority",
                                kPolled);
  auto& last_fo = out.Gauge("redis_ha_group_last_failover_timestamp_seconds",
                            "When the exporter last saw the primary change (0: "
                            "never)",
                            kPolled);
  auto& restarts = out.Counter("redis_ha_node_restarts_total",
                               "Restarts of the node: run id changed or uptime went "
                               "back",
                               kPolled);
  auto& wipes = out.Counter("redis_ha_dataset_wipes_total",
                            "Times a replica's dataset collapsed after a full sync "
                            "from a restarted primary",
                            kPolled);
  for (const auto& [name, g] : s.groups) {
    const auto& a = g.assessment;
    const LabelText gl({{"group", name}});
    Set(sb, gl, static_cast<double>(a.split_brain.level));
    Set(ep, gl, static_cast<double>(a.empty_primary.level));
    for (size_t i = 0; i < assess::kSplitBrainFactorCount; ++i) {
      Set(sbf, gl, "factor", assess::SplitBrainFactors()[i].name,
          Bool(a.split_brain.factors[i].active));
    }
    for (size_t i = 0; i < assess::kEmptyPrimaryFactorCount; ++i) {
      Set(epf, gl, "factor", assess::EmptyPrimaryFactors()[i].name,
          Bool(a.empty_primary.factors[i].active));
    }
    Set(prim, gl, a.primaries);
    Set(views, gl, a.primary_views);
    for (size_t i = 0; i < assess::kCheckCount; ++i) {
      Set(unavailable, gl, "check", assess::CheckName(static_cast<assess::Check>(i)),
          Bool(a.check_unavailable[i]));
    }
    Set(healthy, gl, a.healthy_replicas);
    Set(headroom, gl, Or(a.backlog_headroom_seconds));
    Set(rate, gl, Or(g.history.primary_write_rate_bytes_per_second));
    Set(p99, gl, Or(g.history.primary_rtt_p99_seconds));
    Set(stall, gl, Or(g.history.primary_max_stall_seconds));
    Set(failovers, gl, static_cast<double>(g.history.failovers));
    Set(last_fo, gl,
        g.history.last_failover_at ? model::ToUnixSeconds(*g.history.last_failover_at) : 0);
    for (const auto& n : g.nodes) {
      const auto* h = g.history.Node(n.address);
      const LabelText nl({{"group", name}, {"node", n.address}});
      Set(restarts, nl, h ? static_cast<double>(h->restarts) : 0);
      Set(wipes, nl, h ? static_cast<double>(h->wipes) : 0);
    }
  }
}

template <typename Sink>
void EventFamilies(const model::Snapshot& s, Sink& out) {
  auto& events = out.Counter("redis_ha_sentinel_events_total",
                             "Sentinel pub/sub events received, by group (empty for events "
                             "without one, such as +tilt) and event");
  // Every (group, Sentinel, event) of the fixed set at 0, merged with the counts seen,
  // in key order. Both come sorted: the fixed set is built in order (groups by name,
  // each group's Sentinels sorted, events sorted; the empty group, for TILT, first: no
  // watched group is named "", config and discovery refuse it) and the counts are a map;
  // where both have a key, the count is served.
  using Key = std::tuple<std::string_view, std::string_view, std::string_view>;
  static const std::vector<std::string_view> kGroupEvents = [] {
    std::vector<std::string_view> v;
    for (const char* e : model::kCountedEvents) {
      const std::string_view ev = e;
      if (ev != "+tilt" && ev != "-tilt") v.push_back(ev);
    }
    std::sort(v.begin(), v.end());
    return v;
  }();
  std::vector<Key> fixed;
  fixed.reserve(s.sentinels.size() * 2 + s.groups.size() * 3 * kGroupEvents.size());
  std::vector<std::string_view> sentinels;
  // Sorted, each once (a Sentinel listed twice would break the order below).
  auto sort_unique = [](std::vector<std::string_view>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  for (const auto& st : s.sentinels) sentinels.push_back(st.address);
  sort_unique(sentinels);
  for (const auto sentinel : sentinels) {
    fixed.push_back(Key{"", sentinel, "+tilt"});
    fixed.push_back(Key{"", sentinel, "-tilt"});
  }
  for (const auto& [name, g] : s.groups) {
    sentinels.clear();
    for (const auto& v : g.views) sentinels.push_back(v.sentinel);
    sort_unique(sentinels);
    for (const auto sentinel : sentinels) {
      for (const auto ev : kGroupEvents) fixed.push_back(Key{name, sentinel, ev});
    }
  }
  auto emit = [&](const Key& key, uint64_t count) {
    const auto& [group, sentinel, event] = key;
    Set(events, {{"group", group}, {"sentinel", sentinel}, {"event", event}},
        static_cast<double>(count));
  };
  auto seen = s.event_counts.begin();
  const auto seen_end = s.event_counts.end();
  auto skip_unwatched = [&] {  // counts of groups the exporter does not watch are left out
    while (seen != seen_end && !seen->first.group.empty() &&
           s.groups.count(seen->first.group) == 0) {
      ++seen;
    }
  };
  skip_unwatched();
  size_t i = 0;
  while (i < fixed.size() || seen != seen_end) {
    if (seen == seen_end) {
      emit(fixed[i++], 0);
      continue;
    }
    const Key key{seen->first.group, seen->first.sentinel, seen->first.event};
    if (i < fixed.size() && fixed[i] < key) {
      emit(fixed[i++], 0);
      continue;
    }
    if (i < fixed.size() && fixed[i] == key) ++i;
    emit(key, seen->second);
    ++seen;
    skip_unwatched();
  }
}

template <typename Sink>
void GateFamilies(const model::Snapshot& s, const assess::GateOptions& opts, model::SysTime now,
                  Sink& out) {
  auto& ready = out.Gauge("redis_ha_rollout_ready",
                          "1 when the gate would answer ready for the action (and node) now, "
                          "with default parameters");
  auto& blocker = out.Gauge("redis_ha_rollout_blocker",
                            "1 while the blocker holds for the action (and node); every blocker "
                            "that applies to the action is always present");
  auto& candidate = out.Gauge("redis_ha_failover_candidate_info",
                              "The replica Sentinel would promote now; always 1");
  auto emit = [&](const model::GroupSnapshot& g, assess::Action action, const std::string& node) {
    assess::GateRequest req;
    req.action = action;
    req.node = node;
    assess::GateResult r = assess::EvaluateGate(s, &g, req, opts, now);
    const std::string_view a = assess::ActionName(action);
    const LabelText l({{"group", g.name}, {"action", a}, {"node", node}});
    Set(ready, l, Bool(r.ready));
    for (size_t i = 0; i < assess::kBlockerCount; ++i) {
      auto b = static_cast<assess::Blocker>(i);
      if (!assess::BlockerApplies(action, b)) continue;
      Set(blocker, l, "blocker", assess::BlockerName(b), Bool(r.Has(b)));
    }
    if (action == assess::Action::kFailover && r.candidate) {
      Set(candidate, {{"group", g.name}, {"node", r.candidate->node}}, 1);
    }
  };
  for (const auto& [name, g] : s.groups) {
    emit(g, assess::Action::kFailover, "");
    for (const auto& n : g.nodes) {
      if (n.address == g.primary) continue;
      emit(g, assess::Action::kRestartReplica, n.address);
    }
    for (const auto& v : g.views) emit(g, assess::Action::kRestartSentinel, v.sentinel);
  }
}

template <typename Sink>
void ExporterFamilies(const model::Snapshot& s, Sink& out) {
  auto& build = out.Gauge("redis_ha_exporter_build_info", "redis_ha_exporter version; always 1");
  Set(build, {{"version", REDIS_HA_VERSION}}, 1);

  out.Push(
      HistogramFamily("redis_ha_exporter_poll_duration_seconds",
                      "Wall time of whole poll cycles (every Sentinel and node of every group)",
                      s.stats.poll_duration));

  auto& errors = out.Counter("redis_ha_exporter_poll_errors_total",
                             "Failed polls of a Sentinel or data node, by reason");
  for (const auto& [key, count] : s.stats.poll_errors) {
    Set(errors, {{"kind", key.first}, {"reason", key.second}}, static_cast<double>(count));
  }
  // The exporter's own unlabelled counters.
  const struct {
    const char* name;
    const char* help;
    uint64_t value;
  } counters[] = {
      {"redis_ha_exporter_poll_cycles_total", "Poll cycles completed", s.stats.cycles},
      {"redis_ha_exporter_poll_overruns_total",
       "Poll cycles that took longer than the poll interval", s.stats.overruns},
      {"redis_ha_exporter_event_polls_total",
       "Polls of single groups prompted by Sentinel events (+sdown, +switch-master, ...), "
       "between or during poll cycles",
       s.stats.event_polls},
      {"redis_ha_exporter_events_applied_total",
       "Snapshots of a group renewed from a Sentinel event's payload alone (+switch-master, "
       "+/-sdown and +/-odown of the primary, +try-failover and its end, +reset-master), before "
       "a poll could show it",
       s.stats.events_applied},
      {"redis_ha_exporter_connections_lost_total",
       "Connections a data node closed while idle or right behind an answer (it exited, "
       "crashed or was restarted); the first in a poll interval gets its group polled at once",
       s.stats.connections_lost},
  };
  for (const auto& c : counters) Set(out.Counter(c.name, c.help), {}, static_cast<double>(c.value));
  auto& last = out.Gauge("redis_ha_exporter_last_poll_timestamp_seconds",
                         "When the group was last observed by a successful Sentinel poll");
  for (const auto& [name, g] : s.groups) {
    Set(last, {{"group", name}},
        g.last_success_at == model::SysTime{} ? 0 : model::ToUnixSeconds(g.last_success_at));
  }
  auto& conns =
      out.Gauge("redis_ha_exporter_connections", "Open connections to Sentinels and data nodes");
  Set(conns, {}, static_cast<double>(s.stats.open_connections));
  auto& sent =
      out.Counter("redis_ha_exporter_sent_bytes_total", "Bytes sent to Sentinels and data nodes");
  Set(sent, {}, static_cast<double>(s.stats.bytes_sent));
  auto& recv = out.Counter("redis_ha_exporter_received_bytes_total",
                           "Bytes received from Sentinels and data nodes");
  Set(recv, {}, static_cast<double>(s.stats.bytes_received));
}

template <typename Sink>
void AllFamilies(const model::Snapshot& s, const assess::GateOptions& gate, model::SysTime now,
                 Sink& out) {
  SentinelFamilies(s, out);
  ViewFamilies(s, out);
  NodeFamilies(s, out);
  RiskFamilies(s, out);
  EventFamilies(s, out);
  GateFamilies(s, gate, now, out);
  ExporterFamilies(s, out);
}

}  // namespace

std::vector<MetricFamily> BuildFamilies(const model::Snapshot& snapshot,
                                        const assess::GateOptions& gate, model::SysTime now) {
  FamilySink out;
  AllFamilies(snapshot, gate, now, out);
  return out.Take();
}

std::string RenderSnapshot(const model::Snapshot& snapshot, const assess::GateOptions& gate,
                           model::SysTime now, size_t size_hint) {
  TextSink out;
  AllFamilies(snapshot, gate, now, out);
  std::string text;
  out.TakeInto(text, size_hint);
  return text;
}

struct MetricsRenderer::Buffers {
  std::vector<std::string> families;
  std::string text;
};

struct MetricsRenderer::Pool {
  std::mutex mu;
  std::vector<std::unique_ptr<Buffers>> free;  // guarded by mu
};

MetricsRenderer::MetricsRenderer() : pool_(std::make_shared<Pool>()) {
  pool_->free.reserve(kKept);  // so returning buffers (in a deleter) never allocates
}
MetricsRenderer::~MetricsRenderer() = default;

std::shared_ptr<const std::string> MetricsRenderer::Render(const model::Snapshot& snapshot,
                                                           const assess::GateOptions& gate,
                                                           model::SysTime now) {
  std::unique_ptr<Buffers> buffers;
  {
    std::lock_guard lock(pool_->mu);
    if (!pool_->free.empty()) {
      buffers = std::move(pool_->free.back());
      pool_->free.pop_back();
    }
  }
  if (!buffers) buffers = std::make_unique<Buffers>();
  TextSink out(&buffers->families);
  AllFamilies(snapshot, gate, now, out);
  out.TakeInto(buffers->text);
  // The buffers go back to the pool when the last reference to the text is dropped,
  // unless the renderer is gone, kKept sets are kept already, or they are much larger
  // than this render needed (the fleet shrank).
  std::shared_ptr<Buffers> owner(buffers.release(),
                                 [weak = std::weak_ptr<Pool>(pool_)](Buffers* raw) {
                                   std::unique_ptr<Buffers> b(raw);
                                   const std::shared_ptr<Pool> pool = weak.lock();
                                   if (!pool || b->text.capacity() > 2 * b->text.size() + (1 << 20))
                                     return;
                                   std::lock_guard lock(pool->mu);
                                   if (pool->free.size() < kKept)
                                     pool->free.push_back(std::move(b));
                                 });
  return std::shared_ptr<const std::string>(owner, &owner->text);
}

std::vector<MetricFamily> SnapshotCollector::Collect() const {
  model::SnapshotPtr s = source_();
  if (!s) return {};
  return BuildFamilies(*s, gate_, std::chrono::system_clock::now());
}

namespace {

// The text format exactly as prometheus::TextSerializer writes it (tests
// compare the two), into one string with std::to_chars instead of an ostream:
// at 100 groups that is 2.6 MB and the ostream path (locale-aware double
// formatting) was most of a scrape's CPU.
void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
  } else if (v == 0) {
    out += '0';  // most series are 0/1 gauges
  } else if (v == 1) {
    out += '1';
  } else {
    char buf[64];
    // ostream << double with precision max_digits10 - 1 and the default float
    // field.
    auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general,
                           std::numeric_limits<double>::max_digits10 - 1);
    out.append(buf, r.ptr);
  }
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendEscaped(std::string& out, std::string_view raw) {
  // Nearly every value is plain ASCII with nothing to escape: appended as is.
  size_t plain = 0;
  while (plain < raw.size()) {
    const auto c = static_cast<unsigned char>(raw[plain]);
    if (c >= 0x80 || c == '\\' || c == '"' || c == '\n') break;
    ++plain;
  }
  if (plain == raw.size()) {
    out += raw;
    return;
  }
  // Label values come from servers: a name that is not UTF-8 would make
  // Prometheus reject the whole scrape, so invalid bytes become U+FFFD.
  std::string repaired;
  if (!text::IsValidUtf8(raw)) repaired = text::ToValidUtf8(raw);
  const std::string_view v = repaired.empty() ? raw : std::string_view(repaired);
  size_t start = 0;  // appended in runs between the characters that need a backslash
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out.append(v, start, i - start);
    out += c == '\n' ? "\\n" : c == '\\' ? "\\\\" : "\\\"";
    start = i + 1;
  }
  out.append(v.substr(start));
}

// [,]name="escaped value"
void AppendLabel(std::string& out, bool& first, std::string_view name, std::string_view value) {
  if (!first) out += ',';
  first = false;
  out += name;
  out += "=\"";
  AppendEscaped(out, value);
  out += '"';
}

// name{labels[,extra="value"]}<space>
template <typename Extra>
void AppendHead(std::string& out, const MetricFamily& family, const ClientMetric& metric,
                std::string_view suffix, std::string_view extra_name, const Extra& extra) {
  out += family.name;
  out += suffix;
  if (!metric.label.empty() || !extra_name.empty()) {
    out += '{';
    bool first = true;
    for (const auto& lp : metric.label) AppendLabel(out, first, lp.name, lp.value);
    if (!extra_name.empty()) {
      if (!first) out += ',';
      out += extra_name;
      out += "=\"";
      if constexpr (std::is_same_v<Extra, double>) {
        AppendDouble(out, extra);
      } else {
        out += extra;
      }
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

void AppendHead(std::string& out, const MetricFamily& family, const ClientMetric& metric,
                std::string_view suffix = {}) {
  AppendHead(out, family, metric, suffix, {}, std::string_view{});
}

void AppendTail(std::string& out, const ClientMetric& metric) {
  if (metric.timestamp_ms != 0) {
    out += ' ';
    out += std::to_string(metric.timestamp_ms);
  }
  out += '\n';
}

// # HELP name help+more (left out when both are empty), then # TYPE name type.
void AppendHelpAndType(std::string& out, std::string_view name, std::string_view help,
                       std::string_view more, MetricType type) {
  if (!help.empty() || !more.empty()) {
    out.append("# HELP ").append(name).append(" ").append(help).append(more).append("\n");
  }
  out.append("# TYPE ").append(name).append(" ").append(TypeName(type)).append("\n");
}

void AppendFamily(std::string& out, const MetricFamily& family) {
  AppendHelpAndType(out, family.name, family.help, {}, family.type);
  for (const auto& m : family.metric) {
    // name<suffix>{labels} value[ timestamp]
    auto line = [&](std::string_view suffix, auto value) {
      AppendHead(out, family, m, suffix);
      if constexpr (std::is_integral_v<decltype(value)>) {
        AppendUint(out, value);
      } else {
        AppendDouble(out, value);
      }
      AppendTail(out, m);
    };
    switch (family.type) {
      case MetricType::Counter:
        line("", m.counter.value);
        break;
      case MetricType::Gauge:
        line("", m.gauge.value);
        break;
      case MetricType::Untyped:
        line("", m.untyped.value);
        break;
      case MetricType::Summary:
        line("_count", m.summary.sample_count);
        line("_sum", m.summary.sample_sum);
        for (const auto& q : m.summary.quantile) {
          AppendHead(out, family, m, "", "quantile", q.quantile);
          AppendDouble(out, q.value);
          AppendTail(out, m);
        }
        break;
      case MetricType::Histogram: {
        line("_count", m.histogram.sample_count);
        line("_sum", m.histogram.sample_sum);
        double last = -std::numeric_limits<double>::infinity();
        for (const auto& b : m.histogram.bucket) {
          AppendHead(out, family, m, "_bucket", "le", b.upper_bound);
          last = b.upper_bound;
          AppendUint(out, b.cumulative_count);
          AppendTail(out, m);
        }
        if (last != std::numeric_limits<double>::infinity()) {
          AppendHead(out, family, m, "_bucket", "le", std::string_view("+Inf"));
          AppendUint(out, m.histogram.sample_count);
          AppendTail(out, m);
        }
        break;
      }
    }
  }
}

}  // namespace

std::string Render(const std::vector<MetricFamily>& families) {
  std::string out;
  size_t series = 0;
  for (const auto& f : families) series += f.metric.size();
  out.reserve(series * 128);
  for (const auto& family : families) AppendFamily(out, family);
  return out;
}

}  // namespace redis_ha::metrics
