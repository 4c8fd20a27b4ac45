#include "parse/info.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <system_error>
#include <type_traits>

#include "util/key_table.h"

namespace redis_ha::parse {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// The N of `<prefix>N` when the rest of `key` is 1..9 decimal digits.
std::optional<int> IndexSuffix(std::string_view key, std::string_view prefix) {
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  std::string_view digits = key.substr(prefix.size());
  if (digits.size() > 9) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::optional<int64_t> v = ParseInt64(digits);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

// Calls on_item(name, value) for each item of `a=1,b=2`; items without '=' are skipped.
template <typename OnItem>
void ForEachKv(std::string_view s, const OnItem& on_item) {
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p < end) {
    const char* comma = static_cast<const char*>(std::memchr(p, ',', static_cast<size_t>(end - p)));
    const char* item_end = comma != nullptr ? comma : end;
    const char* eq =
        static_cast<const char*>(std::memchr(p, '=', static_cast<size_t>(item_end - p)));
    if (eq != nullptr && eq > p) {
      on_item(std::string_view(p, static_cast<size_t>(eq - p)),
              std::string_view(eq + 1, static_cast<size_t>(item_end - eq - 1)));
    }
    p = comma != nullptr ? comma + 1 : end;
  }
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) {
    return std::numeric_limits<int64_t>::max();
  }
  if (b < 0 && a < std::numeric_limits<int64_t>::min() - b) {
    return std::numeric_limits<int64_t>::min();
  }
  return a + b;
}

// Every key ParseDataNodeInfo(const InfoMap&) reads, sorted (plus slaveN, replicaN and
// dbN lines). A full INFO has ~150 fields; building the map of all of them was half of a
// poll cycle's CPU at 300 data nodes.
constexpr auto kDataNodeKeys = std::to_array<std::string_view>({
    "aof_enabled",
    "aof_rewrite_in_progress",
    "async_loading",
    "connected_slaves",
    "instantaneous_ops_per_sec",
    "loading",
    "loading_eta_seconds",
    "loading_loaded_perc",
    "master_failover_state",
    "master_host",
    "master_last_io_seconds_ago",
    "master_link_down_since_seconds",
    "master_link_status",
    "master_port",
    "master_repl_offset",
    "master_replid",
    "master_replid2",
    "master_sync_in_progress",
    "master_sync_last_io_seconds_ago",
    "master_sync_left_bytes",
    "master_sync_perc",
    "master_sync_read_bytes",
    "master_sync_total_bytes",
    "maxmemory",
    "min_slaves_good_slaves",
    "rdb_bgsave_in_progress",
    "rdb_changes_since_last_save",
    "rdb_last_bgsave_status",
    "rdb_last_save_time",
    "redis_mode",
    "redis_version",
    "repl_backlog_active",
    "repl_backlog_first_byte_offset",
    "repl_backlog_histlen",
    "repl_backlog_size",
    "replica_announced",
    "replica_priority",
    "replica_read_only",
    "role",
    "run_id",
    "second_repl_offset",
    "server_mode",
    "server_name",
    "slave_priority",
    "slave_read_only",
    "slave_read_repl_offset",
    "slave_repl_offset",
    "sync_full",
    "sync_partial_err",
    "sync_partial_ok",
    "tcp_port",
    "total_commands_processed",
    "uptime_in_seconds",
    "used_memory",
    "valkey_version",
});

static_assert(std::is_sorted(std::begin(kDataNodeKeys), std::end(kDataNodeKeys)));

// For each first letter, a bit per key length that some key of kDataNodeKeys has: most of
// the ~150 lines of an INFO fail this test and are dropped without a lookup.
constexpr std::array<uint64_t, 26> kDataNodeKeyLengths = [] {
  std::array<uint64_t, 26> masks{};
  for (std::string_view k : kDataNodeKeys) masks[k.front() - 'a'] |= uint64_t{1} << k.size();
  return masks;
}();

constexpr size_t kDataNodeKeyCount = kDataNodeKeys.size();
constexpr KeyTable<kDataNodeKeyCount> kDataNodeKeyTable(kDataNodeKeys);
constexpr size_t kNoKey = kDataNodeKeyTable.kNotFound;  // not one of kDataNodeKeys

// A field name as written in the source (f.Int("used_memory")), with its place in
// kDataNodeKeys found by the compiler: a DataNodeView answers it with one array read.
struct Key {
  consteval Key(const char* literal) : name(literal), index(kDataNodeKeyTable.Find(literal)) {}
  std::string_view name;
  size_t index;
};

// The index in kDataNodeKeys of an INFO line's key, or kNoKey. Most of the ~150 lines of
// an INFO fail the letter-and-length test and are dropped without hashing.
size_t FindDataNodeKey(std::string_view key) {
  const char first = key.front();
  if (first < 'a' || first > 'z' || key.size() >= 64 ||
      (kDataNodeKeyLengths[first - 'a'] >> key.size() & 1) == 0) {
    return kNoKey;
  }
  return kDataNodeKeyTable.Find(key);
}

// slaveN, replicaN (a connected replica) and dbN (a keyspace line).
bool IsIndexedDataNodeKey(std::string_view key) {
  switch (key.front()) {
    case 's': return IndexSuffix(key, "slave").has_value();
    case 'r': return IndexSuffix(key, "replica").has_value();
    case 'd': return IndexSuffix(key, "db").has_value();
    default: return false;
  }
}

// The lines of one INFO text as views into it, sorted by key, one per key (the last
// wins, as in InfoMap): what ParseSentinelInfo(text) reads, without a map or a copy.
struct InfoView {
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  std::vector<std::string_view> sections;

  const std::string_view* Find(std::string_view key) const {
    auto it = std::lower_bound(fields.begin(), fields.end(), key,
                               [](const auto& f, std::string_view k) { return f.first < k; });
    return it != fields.end() && it->first == key ? &it->second : nullptr;
  }
  bool HasSection(std::string_view name) const {
    return std::any_of(sections.begin(), sections.end(),
                       [&](std::string_view s) { return EqualsIgnoreCase(s, name); });
  }
};

// What ParseDataNodeInfo(text) reads of an INFO text, as views into it: the value of each of
// kDataNodeKeys by its index (the last line wins, as in InfoMap), and, as an InfoView, the
// slaveN, replicaN and dbN lines and the section names. No map, sort of every line or copy:
// this runs for every data node on every poll.
struct DataNodeView : InfoView {
  std::array<std::optional<std::string_view>, kDataNodeKeyCount> values{};

  const std::string_view* Find(const Key& key) const {
    if (key.index == kNoKey) return InfoView::Find(key.name);
    const std::optional<std::string_view>& v = values[key.index];
    return v ? &*v : nullptr;
  }
};

// Typed lookups on an InfoMap, an InfoView or a DataNodeView.
template <typename Map>
class FieldsT {
 public:
  explicit FieldsT(const Map& info) : info_(info) {}

  std::optional<std::string> Str(const Key& key) const {
    const auto* v = Lookup(key);
    if (v == nullptr) return std::nullopt;
    return std::string(*v);
  }
  std::optional<int64_t> Int(const Key& key) const {
    const auto* v = Lookup(key);
    if (v == nullptr) return std::nullopt;
    return ParseInt64(*v);
  }
  std::optional<double> Double(const Key& key) const {
    const auto* v = Lookup(key);
    if (v == nullptr) return std::nullopt;
    return ParseDouble(*v);
  }
  // 0 / 1 (any other integer counts as true).
  std::optional<bool> Bool(const Key& key) const {
    std::optional<int64_t> v = Int(key);
    if (!v) return std::nullopt;
    return *v != 0;
  }
  std::optional<int> Port(const Key& key) const {
    const auto* v = Lookup(key);
    if (v == nullptr) return std::nullopt;
    return ParsePort(*v);
  }
  template <typename T>
  static std::optional<T> Or(std::optional<T> a, std::optional<T> b) {
    return a ? a : b;
  }

 private:
  auto Lookup(const Key& key) const {
    if constexpr (std::is_same_v<Map, DataNodeView>) {
      return info_.Find(key);
    } else {
      return info_.Find(key.name);
    }
  }

  const Map& info_;
};
using Fields = FieldsT<InfoMap>;

struct ServerFields {
  std::optional<ServerKind> kind;
  std::optional<std::string> version;
  std::optional<std::string> mode;
};

template <typename Map>
ServerFields ParseServerFields(const FieldsT<Map>& f) {
  ServerFields out;
  std::optional<std::string> server_name = f.Str("server_name");
  std::optional<std::string> valkey_version = f.Str("valkey_version");
  std::optional<std::string> redis_version = f.Str("redis_version");
  bool valkey = valkey_version.has_value() ||
                (server_name && EqualsIgnoreCase(*server_name, "valkey"));
  if (valkey) {
    out.kind = ServerKind::kValkey;
    out.version = valkey_version ? valkey_version : redis_version;
  } else if (redis_version) {
    out.kind = ServerKind::kRedis;
    out.version = redis_version;
  }
  out.mode = Fields::Or(f.Str("server_mode"), f.Str("redis_mode"));
  return out;
}

std::optional<ReplicaLine> ParseReplicaLine(int index, std::string_view value) {
  ReplicaLine line;
  line.index = index;
  ForEachKv(value, [&line](std::string_view k, std::string_view v) {
    if (k == "ip") {
      line.ip = std::string(v);
    } else if (k == "port") {
      line.port = ParsePort(v);
    } else if (k == "state") {
      line.state = std::string(v);
    } else if (k == "offset") {
      line.offset = ParseInt64(v);
    } else if (k == "lag") {
      line.lag = ParseInt64(v);
    } else if (k == "type") {
      line.type = std::string(v);
    }
  });
  if (line.ip.empty()) return std::nullopt;
  return line;
}

std::optional<KeyspaceDb> ParseKeyspaceLine(int index, std::string_view value) {
  KeyspaceDb db;
  db.index = index;
  std::optional<int64_t> keys;
  ForEachKv(value, [&db, &keys](std::string_view k, std::string_view v) {
    if (k == "keys") {
      keys = ParseInt64(v);
    } else if (k == "expires") {
      db.expires = ParseInt64(v).value_or(0);
    } else if (k == "avg_ttl") {
      db.avg_ttl = ParseInt64(v);
    } else if (k == "subexpiry") {
      db.subexpiry = ParseInt64(v);
    }
  });
  if (!keys || *keys < 0) return std::nullopt;
  db.keys = *keys;
  return db;
}

// Cuts a fixed-format field value at the first ',' (they never contain one).
std::string_view UpToComma(std::string_view s) {
  return s.substr(0, s.find(','));
}

}  // namespace

const std::string* InfoMap::Find(std::string_view key) const {
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

bool InfoMap::HasSection(std::string_view name) const {
  return std::any_of(
      sections.begin(), sections.end(),
      [&](const std::string& s) { return EqualsIgnoreCase(s, name); });
}

namespace {

// Calls on_section(name) for each `# Name` header of an INFO text and on_field(key, value)
// for each `key:value` line (LF or CRLF; empty lines and lines without a key are skipped).
template <typename OnSection, typename OnField>
void ForEachInfoLine(std::string_view text, const OnSection& on_section,
                     const OnField& on_field) {
  // Pointers, not string_view::substr: this runs for each of ~200 lines of every INFO.
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = nl != nullptr ? nl : end;
    const char* const line = p;
    p = nl != nullptr ? nl + 1 : end;
    while (line_end > line && line_end[-1] == '\r') --line_end;
    if (line_end == line) continue;
    const size_t len = static_cast<size_t>(line_end - line);
    if (*line == '#') {
      std::string_view name = Trim(std::string_view(line + 1, len - 1));
      if (!name.empty()) on_section(name);
      continue;
    }
    const char* colon = static_cast<const char*>(std::memchr(line, ':', len));
    if (colon == nullptr || colon == line) continue;
    on_field(std::string_view(line, static_cast<size_t>(colon - line)),
             std::string_view(colon + 1, static_cast<size_t>(line_end - colon - 1)));
  }
}

// Sorts fields by key and keeps the last of equal keys (as InfoMap's insert_or_assign does).
void SortKeepLast(std::vector<std::pair<std::string_view, std::string_view>>& fields) {
  std::stable_sort(fields.begin(), fields.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t w = 0;
  for (size_t r = 0; r < fields.size(); ++r) {
    if (r + 1 < fields.size() && fields[r + 1].first == fields[r].first) continue;
    fields[w++] = fields[r];
  }
  fields.resize(w);
}

// Every line, as views (see InfoView).
InfoView ViewInfo(std::string_view text) {
  InfoView out;
  out.fields.reserve(96);
  ForEachInfoLine(
      text, [&](std::string_view name) { out.sections.push_back(name); },
      [&](std::string_view key, std::string_view value) { out.fields.emplace_back(key, value); });
  SortKeepLast(out.fields);
  return out;
}

// The lines ParseDataNodeInfo(text) reads, as a DataNodeView.
DataNodeView ViewDataNodeInfo(std::string_view text) {
  DataNodeView out;
  ForEachInfoLine(
      text, [&](std::string_view name) { out.sections.push_back(name); },
      [&](std::string_view key, std::string_view value) {
        if (const size_t i = FindDataNodeKey(key); i != kNoKey) {
          out.values[i] = value;
        } else if (IsIndexedDataNodeKey(key)) {
          out.fields.emplace_back(key, value);
        }
      });
  SortKeepLast(out.fields);
  return out;
}

}  // namespace

InfoMap ParseInfo(std::string_view text) {
  InfoMap out;
  ForEachInfoLine(
      text, [&](std::string_view name) { out.sections.emplace_back(name); },
      [&](std::string_view key, std::string_view value) {
        out.fields.insert_or_assign(std::string(key), std::string(value));
      });
  return out;
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int> ParsePort(std::string_view s) {
  std::optional<int64_t> v = ParseInt64(s);
  if (!v || *v < 0 || *v > 65535) return std::nullopt;
  return static_cast<int>(*v);
}

std::optional<std::pair<std::string, int>> SplitHostPort(std::string_view s) {
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() ||
        s[close + 1] != ':') {
      return std::nullopt;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  std::optional<int> p = ParsePort(port);
  if (host.empty() || !p) return std::nullopt;
  return std::make_pair(std::string(host), *p);
}

namespace {

template <typename Map>
DataNodeInfo BuildDataNodeInfo(const Map& info) {
  FieldsT<Map> f(info);
  DataNodeInfo d;

  ServerFields server = ParseServerFields(f);
  d.server_kind = server.kind;
  d.version = std::move(server.version);
  d.mode = std::move(server.mode);
  d.run_id = f.Str("run_id");
  d.uptime_in_seconds = f.Int("uptime_in_seconds");
  d.tcp_port = f.Port("tcp_port");

  if (std::optional<std::string> role = f.Str("role")) {
    if (*role == "master" || *role == "primary") {
      d.role = Role::kPrimary;
    } else if (*role == "slave" || *role == "replica") {
      d.role = Role::kReplica;
    }
  }
  d.master_host = f.Str("master_host");
  d.master_port = f.Port("master_port");
  if (std::optional<std::string> link = f.Str("master_link_status")) {
    if (*link == "up") {
      d.master_link_up = true;
    } else if (*link == "down") {
      d.master_link_up = false;
    }
  }
  d.master_last_io_seconds_ago = f.Int("master_last_io_seconds_ago");
  d.master_sync_in_progress = f.Bool("master_sync_in_progress");
  d.master_sync_total_bytes = f.Int("master_sync_total_bytes");
  d.master_sync_read_bytes = f.Int("master_sync_read_bytes");
  d.master_sync_left_bytes = f.Int("master_sync_left_bytes");
  d.master_sync_perc = f.Double("master_sync_perc");
  d.master_sync_last_io_seconds_ago = f.Int("master_sync_last_io_seconds_ago");
  d.master_link_down_since_seconds = f.Int("master_link_down_since_seconds");
  d.slave_read_repl_offset = f.Int("slave_read_repl_offset");
  d.slave_repl_offset = f.Int("slave_repl_offset");
  d.slave_priority =
      Fields::Or(f.Int("slave_priority"), f.Int("replica_priority"));
  d.slave_read_only =
      Fields::Or(f.Bool("slave_read_only"), f.Bool("replica_read_only"));
  d.replica_announced = f.Bool("replica_announced");
  d.connected_slaves = f.Int("connected_slaves");
  d.min_slaves_good_slaves = f.Int("min_slaves_good_slaves");
  d.master_failover_state = f.Str("master_failover_state");
  d.master_replid = f.Str("master_replid");
  d.master_replid2 = f.Str("master_replid2");
  d.master_repl_offset = f.Int("master_repl_offset");
  d.second_repl_offset = f.Int("second_repl_offset");
  d.repl_backlog_active = f.Bool("repl_backlog_active");
  d.repl_backlog_size = f.Int("repl_backlog_size");
  d.repl_backlog_first_byte_offset = f.Int("repl_backlog_first_byte_offset");
  d.repl_backlog_histlen = f.Int("repl_backlog_histlen");

  d.loading = f.Bool("loading");
  d.async_loading = f.Bool("async_loading");
  d.loading_loaded_perc = f.Double("loading_loaded_perc");
  d.loading_eta_seconds = f.Int("loading_eta_seconds");
  d.aof_enabled = f.Bool("aof_enabled");
  d.rdb_last_save_time = f.Int("rdb_last_save_time");
  d.rdb_changes_since_last_save = f.Int("rdb_changes_since_last_save");
  d.rdb_bgsave_in_progress = f.Bool("rdb_bgsave_in_progress");
  d.aof_rewrite_in_progress = f.Bool("aof_rewrite_in_progress");
  d.rdb_last_bgsave_status = f.Str("rdb_last_bgsave_status");

  d.sync_full = f.Int("sync_full");
  d.sync_partial_ok = f.Int("sync_partial_ok");
  d.sync_partial_err = f.Int("sync_partial_err");
  d.total_commands_processed = f.Int("total_commands_processed");
  d.instantaneous_ops_per_sec = f.Int("instantaneous_ops_per_sec");

  d.used_memory = f.Int("used_memory");
  d.maxmemory = f.Int("maxmemory");

  for (const auto& [key, value] : info.fields) {
    if (key.empty()) continue;
    if (key[0] == 's' || key[0] == 'r') {
      std::optional<int> n = IndexSuffix(key, "slave");
      if (!n) n = IndexSuffix(key, "replica");
      if (n) {
        if (std::optional<ReplicaLine> r = ParseReplicaLine(*n, value)) {
          d.replicas.push_back(std::move(*r));
        }
      }
    } else if (key[0] == 'd') {
      if (std::optional<int> n = IndexSuffix(key, "db")) {
        if (std::optional<KeyspaceDb> db = ParseKeyspaceLine(*n, value)) {
          d.keyspace.push_back(*db);
        }
      }
    }
  }
  // Keys of the map sort as strings ("slave10" < "slave2"): order by number.
  std::sort(d.replicas.begin(), d.replicas.end(),
            [](const ReplicaLine& a, const ReplicaLine& b) {
              return a.index < b.index;
            });
  std::sort(d.keyspace.begin(), d.keyspace.end(),
            [](const KeyspaceDb& a, const KeyspaceDb& b) {
              return a.index < b.index;
            });

  d.keyspace_section_present = info.HasSection("Keyspace");
  if (d.keyspace_section_present || !d.keyspace.empty()) {
    int64_t total = 0;
    for (const KeyspaceDb& db : d.keyspace)
      total = SaturatingAdd(total, db.keys);
    d.total_keys = total;
  }
  return d;
}

}  // namespace

DataNodeInfo ParseDataNodeInfo(std::string_view info_text) {
  return BuildDataNodeInfo(ViewDataNodeInfo(info_text));
}

DataNodeInfo ParseDataNodeInfo(const InfoMap& info) { return BuildDataNodeInfo(info); }

std::optional<SentinelInfoGroup> ParseSentinelInfoGroup(
    std::string_view value) {
  static constexpr std::string_view kName = "name=";
  if (value.substr(0, kName.size()) != kName) return std::nullopt;
  SentinelInfoGroup g;
  // Search the fixed markers from the right, each left of the one found before.
  std::string_view rest = value;
  auto take =
      [&rest](std::string_view marker) -> std::optional<std::string_view> {
    size_t pos = rest.rfind(marker);
    if (pos == std::string_view::npos || pos < kName.size())
      return std::nullopt;
    std::string_view v = UpToComma(rest.substr(pos + marker.size()));
    rest = rest.substr(0, pos);
    return v;
  };
  std::optional<std::string_view> sentinels = take(",sentinels=");
  std::optional<std::string_view> slaves = take(",slaves=");
  std::optional<std::string_view> address = take(",address=");
  std::optional<std::string_view> status = take(",status=");
  if (!status) return std::nullopt;
  g.name = std::string(rest.substr(kName.size()));
  g.status = std::string(*status);
  if (address) {
    g.address = std::string(*address);
    if (auto hp = SplitHostPort(*address)) {
      g.host = std::move(hp->first);
      g.port = hp->second;
    }
  }
  if (slaves) g.slaves = ParseInt64(*slaves);
  if (sentinels) g.sentinels = ParseInt64(*sentinels);
  return g;
}

namespace {

template <typename Map>
SentinelInfo BuildSentinelInfo(const Map& info) {
  FieldsT<Map> f(info);
  SentinelInfo s;
  ServerFields server = ParseServerFields(f);
  s.server_kind = server.kind;
  s.version = std::move(server.version);
  s.mode = std::move(server.mode);
  s.run_id = f.Str("run_id");
  s.uptime_in_seconds = f.Int("uptime_in_seconds");
  s.tcp_port = f.Port("tcp_port");

  s.sentinel_masters = f.Int("sentinel_masters");
  s.tilt = f.Bool("sentinel_tilt");
  s.tilt_since_seconds = f.Int("sentinel_tilt_since_seconds");
  s.total_tilt = f.Int("sentinel_total_tilt");
  s.running_scripts = f.Int("sentinel_running_scripts");
  s.scripts_queue_length = f.Int("sentinel_scripts_queue_length");
  s.simulate_failure_flags = f.Int("sentinel_simulate_failure_flags");

  for (const auto& [key, value] : info.fields) {
    std::optional<int> n = IndexSuffix(key, "master");
    if (!n) continue;
    if (std::optional<SentinelInfoGroup> g = ParseSentinelInfoGroup(value)) {
      g->index = *n;
      s.groups.push_back(std::move(*g));
    }
  }
  std::sort(s.groups.begin(), s.groups.end(),
            [](const SentinelInfoGroup& a, const SentinelInfoGroup& b) {
              return a.index < b.index;
            });
  return s;
}

}  // namespace

// As views, not a map: a Sentinel's INFO has a line per group (100 groups, 100 lines).
SentinelInfo ParseSentinelInfo(std::string_view info_text) {
  return BuildSentinelInfo(ViewInfo(info_text));
}

SentinelInfo ParseSentinelInfo(const InfoMap& info) { return BuildSentinelInfo(info); }

}  // namespace redis_ha::parse
