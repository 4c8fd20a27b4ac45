#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include "http/web_config.h"
#include "util/duration.h"
#include "util/log.h"

namespace redis_ha {

namespace {

using Setter = std::function<Status(Config&, const std::string& value, const std::string& where)>;

struct Option {
  OptionInfo info;
  Setter set;
};

Error ConfigError(const std::string& where, const std::string& what) {
  return MakeError(ErrorKind::kConfig, where + ": " + what);
}

Setter DurationSetter(std::chrono::milliseconds Config::*field) {
  return [field](Config& c, const std::string& v, const std::string& where) -> Status {
    auto d = ParseDuration(v);
    if (!d || d->count() <= 0) {
      return ConfigError(where, "'" + v + "' is not a positive duration (e.g. 250ms, 1s, 5m)");
    }
    c.*field = *d;
    return Status::Ok();
  };
}

Setter AuthSetter(AuthConfig Config::*auth, std::string AuthConfig::*field) {
  return [auth, field](Config& c, const std::string& v, const std::string&) -> Status {
    (c.*auth).*field = v;
    return Status::Ok();
  };
}

Status ParseBool(const std::string& v, const std::string& where, bool* out) {
  if (v == "true") {
    *out = true;
  } else if (v == "false") {
    *out = false;
  } else {
    return ConfigError(where, "'" + v + "' is not true or false");
  }
  return Status::Ok();
}

Setter TlsBoolSetter(redis::TlsOptions Config::*role, bool redis::TlsOptions::*field) {
  return [role, field](Config& c, const std::string& v, const std::string& where) -> Status {
    return ParseBool(v, where, &((c.*role).*field));
  };
}

Setter TlsStringSetter(redis::TlsOptions Config::*role, std::string redis::TlsOptions::*field) {
  return [role, field](Config& c, const std::string& v, const std::string& where) -> Status {
    if (v.empty()) return ConfigError(where, "must not be empty");
    (c.*role).*field = v;
    return Status::Ok();
  };
}

// The TLS options of one role ("sentinel": "Sentinels", "redis": "data nodes").
std::vector<Option> TlsOptionsFor(const std::string& role, const std::string& whom,
                                  redis::TlsOptions Config::*field) {
  using redis::TlsOptions;
  return {
      {{role + ".tls", "", "false",
        "Connect to " + whom + " over TLS (certificates verified unless " + role +
            ".tls-insecure-skip-verify)."},
       TlsBoolSetter(field, &TlsOptions::enabled)},
      {{role + ".tls-ca-file", "FILE", "",
        "PEM CA certificates that verify the " + whom + "' certificates (default: the "
        "system's CA store)."},
       TlsStringSetter(field, &TlsOptions::ca_file)},
      {{role + ".tls-cert-file", "FILE", "",
        "PEM client certificate (chain) presented to " + whom +
            " that require one (tls-auth-clients)."},
       TlsStringSetter(field, &TlsOptions::cert_file)},
      {{role + ".tls-key-file", "FILE", "", "Private key of " + role + ".tls-cert-file."},
       TlsStringSetter(field, &TlsOptions::key_file)},
      {{role + ".tls-server-name", "NAME", "",
        "Name to verify in the " + whom + "' certificates (and send as SNI) instead of the "
        "dialled host."},
       TlsStringSetter(field, &TlsOptions::server_name)},
      {{role + ".tls-insecure-skip-verify", "", "false",
        "Do not verify the " + whom + "' certificates. For labs only; logged as a warning."},
       TlsBoolSetter(field, &TlsOptions::insecure_skip_verify)},
  };
}

const std::vector<Option>& Table() {
  static const auto* table = [] {
    auto* t = new std::vector<Option>{
      {{"config", "FILE", "", "YAML configuration file; flags override it."},
       [](Config& c, const std::string& v, const std::string&) -> Status {
         c.config_file = v;
         return Status::Ok();
       }},
      {{"sentinel", "HOST:PORT", "",
        "A Sentinel to discover groups from (repeatable). Every Sentinel it knows of is "
        "then polled too.",
        true},
       [](Config& c, const std::string& v, const std::string& where) -> Status {
         auto e = redis::ParseEndpoint(v);
         if (!e) return ConfigError(where, e.error().message);
         c.sentinels.push_back(*e);
         return Status::Ok();
       }},
      {{"poll.interval", "DURATION", "1s", "How often every Sentinel and data node is polled."},
       DurationSetter(&Config::poll_interval)},
      {{"poll.timeout", "DURATION", "500ms",
        "Deadline for connecting to, writing to and reading from one server in a cycle."},
       DurationSetter(&Config::poll_timeout)},
      {{"poll.max-reply-bytes", "BYTES", "67108864",
        "Largest reply accepted from a server; a larger one marks the target down."},
       [](Config& c, const std::string& v, const std::string& where) -> Status {
         int64_t n = 0;
         auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
         if (ec != std::errc() || p != v.data() + v.size() || n < 4096) {
           return ConfigError(where, "'" + v + "' is not a byte count >= 4096");
         }
         c.max_reply_bytes = n;
         return Status::Ok();
       }},
      {{"risk.key-drop-fraction", "FRACTION", "0.5",
        "A replica whose keys fall below this fraction of what it held is wiped; a primary "
        "below this fraction of a replica's keys holds far fewer."},
       [](Config& c, const std::string& v, const std::string& where) -> Status {
         char* end = nullptr;
         double d = std::strtod(v.c_str(), &end);
         if (v.empty() || end != v.c_str() + v.size() || !(d > 0 && d < 1)) {
           return ConfigError(where, "'" + v + "' is not a fraction between 0 and 1");
         }
         c.key_drop_fraction = d;
         return Status::Ok();
       }},
      {{"risk.wipe-hold", "DURATION", "10m",
        "How long replica_wiped stays raised after a wipe (and how long after a primary "
        "restart a collapse is blamed on it)."},
       DurationSetter(&Config::wipe_hold)},
      {{"risk.imminent-hold", "DURATION", "60s",
        "How long the imminent empty-primary factors stay raised after their condition last "
        "held, so a scrape interval cannot miss a window of a few seconds."},
       DurationSetter(&Config::imminent_hold)},
      {{"risk.rtt-window", "DURATION", "5m",
        "Window of primary round trips and stalls compared with down-after-milliseconds."},
       DurationSetter(&Config::rtt_window)},
      {{"replica.max-lag-bytes", "BYTES", "1048576",
        "A healthy replica (and an eligible failover candidate, unless the gate request says "
        "otherwise) lags the primary by at most this many bytes."},
       [](Config& c, const std::string& v, const std::string& where) -> Status {
         int64_t n = 0;
         auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
         if (ec != std::errc() || p != v.data() + v.size() || n < 0) {
           return ConfigError(where, "'" + v + "' is not a byte count >= 0");
         }
         c.max_lag_bytes = n;
         return Status::Ok();
       }},
      {{"gate.max-staleness", "DURATION", "3 x poll.interval",
        "The gate says no (stale_observation) when the group's last observation is older."},
       DurationSetter(&Config::gate_max_staleness)},
      {{"gate.failover-cooldown", "DURATION", "60s",
        "The gate says no (recent_failover) this long after the primary changed."},
       DurationSetter(&Config::gate_failover_cooldown)},
      {{"web.listen-address", "[HOST]:PORT", ":9479",
        "Address to serve /metrics, the gate, the API and the status page on."},
       [](Config& c, const std::string& v, const std::string& where) -> Status {
         std::string probe = v.starts_with(":") ? "0.0.0.0" + v : v;
         if (probe.ends_with(":0")) probe.back() = '1';  // port 0: any free port
         auto e = redis::ParseEndpoint(probe);
         if (!e) return ConfigError(where, "'" + v + "' is not [host]:port");
         c.listen_address = v;
         return Status::Ok();
       }},
      {{"web.telemetry-path", "PATH", "/metrics", "Path under which metrics are served."},
       [](Config& c, const std::string& v, const std::string& where) -> Status {
         if (v.empty() || v[0] != '/' || v.find_first_of(" ?#") != std::string::npos) {
           return ConfigError(where, "'" + v + "' is not a path starting with /");
         }
         c.telemetry_path = v;
         return Status::Ok();
       }},
      {{"web.config.file", "FILE", "",
        "Web configuration in the Prometheus exporter-toolkit format: TLS (server "
        "certificate, client certificates, versions), basic auth users with bcrypt hashes "
        "on every path, response headers, rate limit. Re-read when it or its files change."},
       [](Config& c, const std::string& v, const std::string& where) -> Status {
         if (v.empty()) return ConfigError(where, "must not be empty");
         c.web_config_file = v;
         return Status::Ok();
       }},
      {{"log.level", "LEVEL", "info", "One of debug, info, warn, error."},
       [](Config& c, const std::string& v, const std::string& where) -> Status {
         log::Level l;
         if (!log::ParseLevel(v, l)) {
           return ConfigError(where, "'" + v + "' is not one of debug, info, warn, error");
         }
         c.log_level = v;
         return Status::Ok();
       }},
      {{"log.format", "FORMAT", "logfmt", "One of logfmt, json."},
       [](Config& c, const std::string& v, const std::string& where) -> Status {
         log::Format f;
         if (!log::ParseFormat(v, f)) return ConfigError(where, "'" + v + "' is not logfmt or json");
         c.log_format = v;
         return Status::Ok();
       }},
      {{"sentinel.username", "NAME", "", "ACL user for Sentinels (empty: default user)."},
       AuthSetter(&Config::sentinel_auth, &AuthConfig::username)},
      {{"sentinel.password-file", "FILE", "",
        "File holding the Sentinel password (else $REDIS_HA_SENTINEL_PASSWORD)."},
       AuthSetter(&Config::sentinel_auth, &AuthConfig::password_file)},
      {{"redis.username", "NAME", "", "ACL user for data nodes (empty: default user)."},
       AuthSetter(&Config::redis_auth, &AuthConfig::username)},
      {{"redis.password-file", "FILE", "",
        "File holding the data nodes' password (else $REDIS_HA_REDIS_PASSWORD)."},
       AuthSetter(&Config::redis_auth, &AuthConfig::password_file)},
    };
    for (auto& o : TlsOptionsFor("sentinel", "Sentinels", &Config::sentinel_tls_options)) {
      t->push_back(std::move(o));
    }
    for (auto& o : TlsOptionsFor("redis", "data nodes", &Config::redis_tls_options)) {
      t->push_back(std::move(o));
    }
    return t;
  }();
  return *table;
}

const Option* FindOption(std::string_view flag) {
  for (const auto& o : Table()) {
    if (o.info.flag == flag) return &o;
  }
  return nullptr;
}

// "file:line" of a node.
std::string Mark(const std::string& file, const YAML::Node& node) {
  return file + ":" + std::to_string(node.Mark().line + 1);
}

std::string Where(const std::string& file, const YAML::Node& node, const std::string& key) {
  std::ostringstream s;
  s << file << ":" << node.Mark().line + 1 << ": " << key;
  return s.str();
}

// Other keys a role section takes besides the credentials (the global sections' TLS
// options): returns nullopt for a key it does not know.
using ExtraKeys = std::function<std::optional<Status>(const std::string& key,
                                                      const std::string& value,
                                                      const std::string& where)>;

Status LoadAuthYaml(const YAML::Node& node, const std::string& file, const std::string& key,
                    AuthConfig& auth, const ExtraKeys& extra = nullptr) {
  if (!node.IsMap()) return ConfigError(Where(file, node, key), "must be a map");
  std::set<std::string> seen;
  for (const auto& kv : node) {
    std::string k = kv.first.as<std::string>();
    const std::string where = Where(file, kv.first, key + "." + k);
    if (!seen.insert(k).second) return ConfigError(where, "duplicate key");
    if (!kv.second.IsScalar()) return ConfigError(where, "must be a string");
    std::string v = kv.second.as<std::string>();
    if (k == "username") {
      auth.username = v;
    } else if (k == "password-file") {
      auth.password_file = v;
      auth.password_file_origin = Mark(file, kv.first);
    } else if (k == "password-env") {
      auth.password_env = v;
      auth.password_env_origin = Mark(file, kv.first);
    }
    else if (k == "password") {
      return ConfigError(where, "passwords are not accepted inline; use password-file or "
                                "password-env");
    } else if (auto s = extra ? extra(k, v, where) : std::nullopt; s.has_value()) {
      if (!*s) return *s;
    } else {
      return ConfigError(where, std::string("unknown key (expected username, password-file, "
                                            "password-env") +
                                    (extra ? ", tls, tls-ca-file, tls-cert-file, tls-key-file, "
                                             "tls-server-name, tls-insecure-skip-verify)"
                                           : ")"));
    }
  }
  return Status::Ok();
}

Status LoadYaml(const std::string& file, Config& c, std::map<std::string, std::string>& set_keys) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    return MakeError(ErrorKind::kConfig, "config: cannot read file '" + file + "'");
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorKind::kConfig, file + ":" + std::to_string(e.mark.line + 1) +
                                             ": invalid YAML: " + e.msg);
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return ConfigError(file, "the top level must be a map");

  try {
    // Flatten nested maps into dotted keys and look each up in the option table.
    std::function<Status(const YAML::Node&, const std::string&)> walk =
        [&](const YAML::Node& map, const std::string& prefix) -> Status {
      std::set<std::string> seen;  // yaml-cpp keeps both of two equal keys: refuse them
      for (const auto& kv : map) {
        const std::string k = kv.first.as<std::string>();
        const std::string key = prefix.empty() ? k : prefix + "." + k;
        const std::string where = Where(file, kv.first, key);
        if (!seen.insert(k).second) return ConfigError(where, "duplicate key");
        const YAML::Node& v = kv.second;
        if (key == "sentinels") {
          if (!v.IsSequence()) return ConfigError(where, "must be a list of host:port");
          for (const auto& item : v) {
            if (!item.IsScalar()) return ConfigError(where, "must be a list of host:port");
            auto e = redis::ParseEndpoint(item.as<std::string>());
            if (!e) return ConfigError(Where(file, item, key), e.error().message);
            c.sentinels.push_back(*e);
          }
        } else if (key == "sentinel" || key == "redis") {
          if (!v.IsMap()) return ConfigError(where, "must be a map");
          ExtraKeys tls_keys = [&](const std::string& k, const std::string& value,
                                   const std::string& kw) -> std::optional<Status> {
            const Option* o = k.starts_with("tls") ? FindOption(key + "." + k) : nullptr;
            if (o == nullptr) return std::nullopt;
            if (Status s = o->set(c, value, kw); !s) return s;
            set_keys[key + "." + k] = kw;
            return Status::Ok();
          };
          if (Status s = LoadAuthYaml(v, file, key,
                                      key == "sentinel" ? c.sentinel_auth : c.redis_auth,
                                      tls_keys);
              !s) {
            return s;
          }
        } else if (key == "groups") {
          if (!v.IsSequence()) return ConfigError(where, "must be a list");
          for (const auto& item : v) {
            GroupConfig g;
            const std::string iw = Where(file, item, "groups");
            if (item.IsScalar()) {
              g.name = item.as<std::string>();
            } else if (item.IsMap()) {
              for (const auto& gkv : item) {
                std::string gk = gkv.first.as<std::string>();
                const std::string gw = Where(file, gkv.first, "groups." + gk);
                if (gk == "name") {
                  if (!gkv.second.IsScalar()) return ConfigError(gw, "must be a string");
                  g.name = gkv.second.as<std::string>();
                } else if (gk == "sentinel" || gk == "redis") {
                  AuthConfig a;
                  if (Status s = LoadAuthYaml(gkv.second, file, "groups." + gk, a); !s) return s;
                  (gk == "sentinel" ? g.sentinel_auth : g.redis_auth) = a;
                } else {
                  return ConfigError(gw, "unknown key (expected name, sentinel, redis)");
                }
              }
            } else {
              return ConfigError(iw, "each group is a name or a map with a name");
            }
            if (g.name.empty()) return ConfigError(iw, "a group needs a name");
            if (c.FindGroup(g.name) != nullptr) {
              return ConfigError(iw, "duplicate group '" + g.name + "'");
            }
            c.groups.push_back(std::move(g));
          }
        } else if (key == "address-map") {
          if (!v.IsMap()) return ConfigError(where, "must be a map of announced -> dialled");
          for (const auto& m : v) {
            std::string from = m.first.as<std::string>();
            const std::string mw = Where(file, m.first, "address-map." + from);
            if (!m.second.IsScalar()) return ConfigError(mw, "must be host:port");
            std::string to = m.second.as<std::string>();
            if (auto e = redis::ParseEndpoint(from); !e) return ConfigError(mw, e.error().message);
            if (auto e = redis::ParseEndpoint(to); !e) return ConfigError(mw, e.error().message);
            c.address_map[from] = to;
          }
        } else if (v.IsMap()) {
          if (Status s = walk(v, key); !s) return s;
        } else {
          const Option* o = FindOption(key);
          if (o == nullptr || key == "config" || key == "sentinel") {
            return ConfigError(where, "unknown key");
          }
          if (!v.IsScalar()) return ConfigError(where, "must be a single value");
          if (Status s = o->set(c, v.as<std::string>(), where); !s) return s;
          set_keys[key] = where;
        }
      }
      return Status::Ok();
    };
    return walk(root, "");
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorKind::kConfig, file + ":" + std::to_string(e.mark.line + 1) +
                                             ": " + e.msg);
  }
}

Status ResolvePassword(AuthConfig& auth, const std::string& what, const char* default_env) {
  if (!auth.password_file.empty()) {
    std::ifstream in(auth.password_file);
    const std::string where =
        (auth.password_file_origin.empty() ? "" : auth.password_file_origin + ": ") + what +
        ".password-file";
    if (!in) {
      return MakeError(ErrorKind::kConfig, where + ": cannot read '" + auth.password_file + "'");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auth.password = ss.str();
    while (!auth.password.empty() &&
           (auth.password.back() == '\n' || auth.password.back() == '\r')) {
      auth.password.pop_back();
    }
    if (auth.password.empty()) {
      return MakeError(ErrorKind::kConfig, where + ": '" + auth.password_file + "' is empty");
    }
    return Status::Ok();
  }
  if (!auth.password_env.empty()) {
    const char* v = std::getenv(auth.password_env.c_str());
    if (v == nullptr) {
      return MakeError(ErrorKind::kConfig,
                       (auth.password_env_origin.empty() ? "" : auth.password_env_origin + ": ") +
                           what + ".password-env: $" + auth.password_env + " is not set");
    }
    auth.password = v;
    return Status::Ok();
  }
  if (default_env != nullptr) {
    if (const char* v = std::getenv(default_env); v != nullptr) auth.password = v;
  }
  return Status::Ok();
}

// Builds the role's TLS context from its options ("--redis" names them in errors).
Status BuildTls(const redis::TlsOptions& o, const std::string& role,
                std::shared_ptr<const redis::TlsContext>* out) {
  out->reset();
  const std::string prefix = "--" + role;
  if (!o.enabled) {
    const std::pair<bool, const char*> set[] = {
        {!o.ca_file.empty(), "tls-ca-file"},         {!o.cert_file.empty(), "tls-cert-file"},
        {!o.key_file.empty(), "tls-key-file"},       {!o.server_name.empty(), "tls-server-name"},
        {o.insecure_skip_verify, "tls-insecure-skip-verify"}};
    for (const auto& [is_set, name] : set) {
      if (is_set) {
        return MakeError(ErrorKind::kConfig, prefix + "." + name + ": set, but " + prefix +
                                                 ".tls is off (add " + prefix + ".tls)");
      }
    }
    return Status::Ok();
  }
  auto ctx = redis::TlsContext::Create(o, prefix);
  if (!ctx) return ctx.error();
  *out = *ctx;
  if (o.insecure_skip_verify) {
    log::Warn("TLS certificates are not verified (" + prefix +
              ".tls-insecure-skip-verify): anyone on the path can impersonate the servers; "
              "use it only in a lab");
  }
  return Status::Ok();
}

}  // namespace

redis::Credentials AuthConfig::Resolve() const { return {username, password, nullptr}; }

bool Config::WatchesGroup(const std::string& name) const {
  return groups.empty() || FindGroup(name) != nullptr;
}

const GroupConfig* Config::FindGroup(const std::string& name) const {
  for (const auto& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

redis::Credentials Config::SentinelCredentials(const std::string& group) const {
  const GroupConfig* g = FindGroup(group);
  redis::Credentials c = g != nullptr && g->sentinel_auth ? g->sentinel_auth->Resolve()
                                                          : sentinel_auth.Resolve();
  c.tls = sentinel_tls;
  return c;
}

redis::Credentials Config::RedisCredentials(const std::string& group) const {
  const GroupConfig* g = FindGroup(group);
  redis::Credentials c =
      g != nullptr && g->redis_auth ? g->redis_auth->Resolve() : redis_auth.Resolve();
  c.tls = redis_tls;
  return c;
}

std::string Config::MapAddress(const std::string& announced) const {
  auto it = address_map.find(announced);
  return it == address_map.end() ? announced : it->second;
}

const std::vector<OptionInfo>& Options() {
  static const auto* infos = [] {
    auto* v = new std::vector<OptionInfo>();
    for (const auto& o : Table()) v->push_back(o.info);
    return v;
  }();
  return *infos;
}

Result<Loaded> LoadConfig(const std::vector<std::string>& args) {
  Loaded out;
  // Split "--name=value" / "--name value" pairs first, so --config can be applied first.
  std::vector<std::pair<std::string, std::string>> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.mode = Mode::kHelp;
      return out;
    }
    if (a == "--version") {
      out.mode = Mode::kVersion;
      return out;
    }
    if (a == "--man") {
      out.mode = Mode::kMan;
      return out;
    }
    if (a == "--config-reference") {
      out.mode = Mode::kConfigReference;
      return out;
    }
    if (!a.starts_with("--")) {
      return MakeError(ErrorKind::kConfig, "unexpected argument '" + a + "' (see --help)");
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name.ends_with("password")) {
      return MakeError(ErrorKind::kConfig,
                       "--" + name + ": passwords are not accepted on the command line; use " +
                           "a password file or the environment");
    }
    // Booleans: --flag, --flag=true|false, --no-flag.
    if (const Option* o = name.starts_with("no-") ? FindOption(name.substr(3)) : nullptr;
        o != nullptr && o->info.value_name.empty() && FindOption(name) == nullptr) {
      if (has_value) {
        return MakeError(ErrorKind::kConfig, "--" + name + ": takes no value");
      }
      flags.emplace_back(name.substr(3), "false");
      continue;
    }
    const Option* option = FindOption(name);
    if (option == nullptr) {
      return MakeError(ErrorKind::kConfig, "--" + name + ": unknown flag (see --help)");
    }
    if (!has_value && option->info.value_name.empty()) {
      value = "true";
      has_value = true;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return MakeError(ErrorKind::kConfig, "--" + name + ": needs a value");
      }
      value = args[++i];
    }
    flags.emplace_back(name, value);
  }

  Config& c = out.config;
  for (const auto& [name, value] : flags) {
    if (name == "config") c.config_file = value;
  }
  std::map<std::string, std::string> set_keys;  // key -> where it was set
  if (!c.config_file.empty()) {
    if (Status s = LoadYaml(c.config_file, c, set_keys); !s) return s.error();
  }
  bool flag_seeds = false;
  for (const auto& [name, value] : flags) {
    if (name == "config") continue;
    if (name == "sentinel" && !flag_seeds) {
      c.sentinels.clear();  // seeds on the command line replace the file's
      flag_seeds = true;
    }
    if (Status s = FindOption(name)->set(c, value, "--" + name); !s) return s.error();
    set_keys[name] = "--" + name;
    if (name == "sentinel.password-file") c.sentinel_auth.password_file_origin.clear();
    if (name == "redis.password-file") c.redis_auth.password_file_origin.clear();
  }
  if (!set_keys.count("poll.timeout") && c.poll_timeout > c.poll_interval) {
    c.poll_timeout = c.poll_interval;  // the default never exceeds a short interval
  }
  if (c.poll_timeout > c.poll_interval) {
    auto interval_at = set_keys.find("poll.interval");
    return MakeError(ErrorKind::kConfig,
                     set_keys["poll.timeout"] + " (" + FormatDuration(c.poll_timeout) +
                         ") must not exceed " +
                         (interval_at == set_keys.end() ? std::string("poll.interval")
                                                        : interval_at->second) +
                         " (" + FormatDuration(c.poll_interval) + ")");
  }
  if (c.sentinels.empty()) {
    return MakeError(ErrorKind::kConfig,
                     "--sentinel: at least one Sentinel address is needed (flag or "
                     "`sentinels:` in --config)");
  }
  if (Status s = ResolvePassword(c.sentinel_auth, "sentinel", "REDIS_HA_SENTINEL_PASSWORD"); !s) {
    return s.error();
  }
  if (Status s = ResolvePassword(c.redis_auth, "redis", "REDIS_HA_REDIS_PASSWORD"); !s) {
    return s.error();
  }
  if (Status s = BuildTls(c.sentinel_tls_options, "sentinel", &c.sentinel_tls); !s) {
    return s.error();
  }
  if (Status s = BuildTls(c.redis_tls_options, "redis", &c.redis_tls); !s) return s.error();
  if (!c.web_config_file.empty()) {
    auto web = http::LoadWebConfig(c.web_config_file);
    if (!web) return MakeError(ErrorKind::kConfig, "--web.config.file: " + web.error().message);
    c.web_config = *web;
  }
  for (auto& g : c.groups) {
    if (g.sentinel_auth) {
      if (Status s = ResolvePassword(*g.sentinel_auth, "groups[" + g.name + "].sentinel", nullptr);
          !s) {
        return s.error();
      }
    }
    if (g.redis_auth) {
      if (Status s = ResolvePassword(*g.redis_auth, "groups[" + g.name + "].redis", nullptr); !s) {
        return s.error();
      }
    }
  }
  return out;
}

std::string HelpText(std::string_view program) {
  std::ostringstream s;
  s << "Usage: " << program << " [FLAGS]\n"
    << "       " << program << " check --sentinel HOST:PORT --group G --action A [...]\n\n"
    << "Watches Redis/Valkey Sentinel groups and serves their state, risks and a rollout\n"
    << "gate over HTTP. Every flag can also be set in the --config YAML file, under the\n"
    << "flag's name split on dots (--poll.interval is poll: {interval: ...}).\n\n"
    << "Flags:\n";
  for (const auto& o : Options()) {
    if (o.yaml_only) continue;
    std::string left = "  --" + o.flag + (o.value_name.empty() ? "" : "=" + o.value_name);
    s << left;
    if (left.size() < 34) s << std::string(34 - left.size(), ' ');
    else s << "\n" << std::string(34, ' ');
    s << o.help;
    if (!o.default_value.empty()) s << " (default " << o.default_value << ")";
    if (o.repeatable) s << " [repeatable]";
    s << "\n";
  }
  s << "  --help                          Show this help and exit.\n"
    << "  --version                       Show the version and exit.\n\n"
    << "Boolean flags take no value: --redis.tls turns TLS on, --no-redis.tls turns it off\n"
    << "(in the file: tls: true or false).\n\n"
    << "Environment:\n"
    << "  REDIS_HA_SENTINEL_PASSWORD      Sentinel password when no password file is set.\n"
    << "  REDIS_HA_REDIS_PASSWORD         Data node password when no password file is set.\n";
  return s.str();
}

namespace {
std::string Troff(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}
}  // namespace

std::string ManPage() {
  std::ostringstream s;
  s << ".TH REDIS_HA_EXPORTER 1 \"\" \"redis_ha_exporter " << REDIS_HA_VERSION
    << "\" \"User Commands\"\n"
    << ".SH NAME\nredis_ha_exporter \\- Prometheus exporter and rollout gate for Redis/Valkey "
       "Sentinel high availability\n"
    << ".SH SYNOPSIS\n.B redis_ha_exporter\n[\\fIFLAGS\\fR]\n.br\n.B redis_ha_exporter check\n"
       "\\-\\-sentinel \\fIHOST:PORT\\fR \\-\\-group \\fIG\\fR \\-\\-action \\fIA\\fR "
       "[\\fIOPTIONS\\fR]\n"
    << ".SH DESCRIPTION\nWatches every Sentinel and data node of each Sentinel group, derives "
       "split-brain and empty-primary risks and a rollout gate, and serves them over HTTP "
       "(/metrics, /gate, /api/v1/groups, /). Every flag can also be set in the YAML file "
       "given with \\-\\-config, under the flag's name split on dots. Boolean flags such as "
       "\\-\\-redis.tls take no value; \\-\\-no\\-redis.tls turns one off (in the file: "
       "true or false).\n"
    << ".SH OPTIONS\n";
  for (const auto& o : Options()) {
    if (o.yaml_only) continue;
    s << ".TP\n.B \\-\\-" << Troff(o.flag);
    if (!o.value_name.empty()) s << " \\fI" << Troff(o.value_name) << "\\fR";
    s << "\n" << Troff(o.help);
    if (!o.default_value.empty()) s << " Default: " << Troff(o.default_value) << ".";
    if (o.repeatable) s << " May be repeated.";
    s << "\n";
  }
  s << ".TP\n.B \\-\\-help\nShow the flags and exit.\n"
    << ".TP\n.B \\-\\-version\nShow the version and exit.\n"
    << ".SH ENVIRONMENT\n.TP\n.B REDIS_HA_SENTINEL_PASSWORD\nSentinel password when no "
       "password file is set.\n.TP\n.B REDIS_HA_REDIS_PASSWORD\nData node password when no "
       "password file is set.\n"
    << ".SH SIGNALS\nSIGHUP (or POST /\\-/reload) reloads the configuration file and password "
       "files. SIGTERM and SIGINT stop the exporter.\n"
    << ".SH EXIT STATUS\n0 on a clean stop; 2 for an invalid flag or configuration. "
       "The check command exits 0 when ready, 1 when not ready, 2 on error.\n"
    << ".SH SEE ALSO\nredis\\-sentinel(1), prometheus(1)\n";
  return s.str();
}

std::string ConfigReference() {
  std::ostringstream s;
  s << "| flag | YAML key | default | meaning |\n|---|---|---|---|\n";
  for (const auto& o : Options()) {
    std::string key = o.flag;
    std::string yaml;
    size_t start = 0;
    int depth = 0;
    for (size_t dot = key.find('.'); ; dot = key.find('.', start)) {
      std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      yaml += (depth ? " { " : "") + part + (dot == std::string::npos ? ": ..." : ":");
      ++depth;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    for (int i = 1; i < depth; ++i) yaml += " }";
    if (o.flag == "sentinel") yaml = "sentinels: [HOST:PORT, ...]";
    if (o.flag == "config") yaml = "(flag only)";
    s << "| `--" << o.flag << (o.value_name.empty() ? "" : "=" + o.value_name) << "`"
      << (o.repeatable ? " (repeatable)" : "") << " | `" << yaml << "` | "
      << (o.default_value.empty() ? "" : "`" + o.default_value + "`") << " | " << o.help
      << " |\n";
  }
  return s.str();
}

}  // namespace redis_ha
