// Config: every setting of the exporter, from flags and an optional YAML file.
//
// One table (`Options()`) names every setting once: its flag, its YAML key (the flag's
// name split on dots: `--poll.interval` is `poll: {interval: ...}`), its default and its
// help. `--help`, the man page and docs/configuration.md are generated from that table,
// so they cannot disagree. Flags override the file. Invalid input yields an Error whose
// message names the flag or key (and the file line), before any network I/O.
//
// Passwords are read from files or environment variables only, never from flags or
// the YAML itself, and never logged.
//
// TLS: `--redis.tls` and `--sentinel.tls` (with CA, client certificate, server name) are
// independent; LoadConfig builds one client TLS context per role from them, and the
// credentials of each role carry it. `--web.config.file` (exporter-toolkit format) is
// read and validated here too, certificates included, so that every mistake is an
// error naming the key before anything listens or connects.
//
// Thread-safety: Config is a plain value; LoadConfig is reentrant.
#ifndef REDIS_HA_CONFIG_CONFIG_H_
#define REDIS_HA_CONFIG_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "redis/connection.h"
#include "redis/tls.h"
#include "util/status.h"

namespace redis_ha {

namespace http {
struct WebConfig;
}

// Where a role's credentials come from. The password is resolved at load time.
struct AuthConfig {
  std::string username;
  std::string password_file;
  std::string password_env;
  // "file:line" when the setting came from the config file (for error messages).
  std::string password_file_origin;
  std::string password_env_origin;
  redis::Credentials Resolve() const;  // uses the loaded password
  std::string password;                // loaded; never printed
};

struct GroupConfig {
  std::string name;
  std::optional<AuthConfig> sentinel_auth;  // overrides the global one for this group
  std::optional<AuthConfig> redis_auth;
};

struct Config {
  std::string config_file;
  std::vector<redis::Endpoint> sentinels;  // seeds
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds poll_timeout{500};
  std::string listen_address = ":9479";
  std::string telemetry_path = "/metrics";
  std::string log_level = "info";
  std::string log_format = "logfmt";
  int64_t max_reply_bytes = 64 << 20;
  // Risk engine (docs/risks.md).
  double key_drop_fraction = 0.5;
  std::chrono::milliseconds wipe_hold{std::chrono::minutes(10)};
  std::chrono::milliseconds rtt_window{std::chrono::minutes(5)};
  std::chrono::milliseconds imminent_hold{std::chrono::seconds(60)};
  int64_t max_lag_bytes = 1 << 20;
  // Rollout gate (docs/gate.md). A zero staleness means 3 poll intervals.
  std::chrono::milliseconds gate_max_staleness{0};
  std::chrono::milliseconds gate_failover_cooldown{60000};

  std::chrono::milliseconds EffectiveMaxStaleness() const {
    return gate_max_staleness.count() > 0 ? gate_max_staleness : 3 * poll_interval;
  }
  AuthConfig sentinel_auth;
  AuthConfig redis_auth;
  std::vector<GroupConfig> groups;  // empty: watch every group the Sentinels know
  // Announced "ip:port" -> dialled "host:port".
  std::map<std::string, std::string> address_map;
  // TLS to Sentinels and to data nodes. The contexts are built by LoadConfig (null: plain
  // TCP) and shared by every connection of the role.
  redis::TlsOptions sentinel_tls_options;
  redis::TlsOptions redis_tls_options;
  std::shared_ptr<const redis::TlsContext> sentinel_tls;
  std::shared_ptr<const redis::TlsContext> redis_tls;
  // --web.config.file, loaded and validated by LoadConfig (null without the flag).
  std::string web_config_file;
  std::shared_ptr<const http::WebConfig> web_config;

  bool WatchesGroup(const std::string& name) const;
  const GroupConfig* FindGroup(const std::string& name) const;
  // The role's user, password and TLS context for a group.
  redis::Credentials SentinelCredentials(const std::string& group) const;
  redis::Credentials RedisCredentials(const std::string& group) const;
  // The address to dial for an announced one (identity when unmapped).
  std::string MapAddress(const std::string& announced) const;
};

// One documented setting.
struct OptionInfo {
  std::string flag;  // without the leading dashes: "poll.interval"
  std::string value_name;  // "DURATION", "HOST:PORT", "" for booleans (--flag, --no-flag)
  std::string default_value;
  std::string help;
  bool repeatable = false;
  bool yaml_only = false;  // documented under the config file only
};
const std::vector<OptionInfo>& Options();

// What the command line asked for besides settings.
enum class Mode { kServe, kHelp, kVersion, kMan, kConfigReference };

struct Loaded {
  Mode mode = Mode::kServe;
  Config config;
};

// Parses `args` (without argv[0]), loading --config FILE first if given, then password
// files and environment. `env` looks up environment variables (getenv by default).
Result<Loaded> LoadConfig(const std::vector<std::string>& args);

// The text of --help.
std::string HelpText(std::string_view program);
// redis_ha_exporter(1) in troff (hidden flag --man), from the same table as --help.
std::string ManPage();
// The flag and key reference of docs/configuration.md (hidden flag --config-reference).
std::string ConfigReference();

}  // namespace redis_ha

#endif  // REDIS_HA_CONFIG_CONFIG_H_
