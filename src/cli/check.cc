#include "cli/check.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "assess/gate.h"
#include "config/config.h"
#include "http/client.h"
#include "http/gate_http.h"
#include "http/server.h"
#include "poll/poller.h"
#include "util/duration.h"
#include "util/log.h"

namespace redis_ha::cli {

namespace {

constexpr int kReady = 0;
constexpr int kNotReady = 1;
constexpr int kError = 2;

constexpr const char* kUsage =
    "usage: redis_ha_exporter check --sentinel HOST:PORT --group G --action "
    "failover|restart-replica|restart-sentinel [--node HOST:PORT] [--wait DURATION] "
    "[--max-lag-bytes B] [--require-version V] [exporter flags]\n"
    "   or: redis_ha_exporter check --url http[s]://HOST:PORT[/PATH] --group G --action A "
    "[--node N] [--wait D] [--max-lag-bytes B] [--require-version V] [--url.ca-file FILE] "
    "[--url.cert-file FILE --url.key-file FILE] [--url.server-name NAME] "
    "[--url.insecure-skip-verify] [--url.username USER [--url.password-file FILE]]\n";

constexpr const char* kHelp =
    "Asks the gate whether the action may be done now; prints the gate's JSON and exits\n"
    "0 ready, 1 not ready, 2 error (docs/gate.md). Without --url it polls the Sentinels\n"
    "itself, once (or until --wait runs out); with --url it asks a running exporter.\n"
    "\n"
    "  --url.ca-file FILE            CA bundle (PEM) the exporter's certificate must chain to\n"
    "                                (default: the system's store).\n"
    "  --url.cert-file, --url.key-file FILE\n"
    "                                Client certificate and key, for exporters that ask for one.\n"
    "  --url.server-name NAME        Verify the certificate for NAME instead of the URL's host.\n"
    "  --url.insecure-skip-verify    Do not verify the exporter's certificate.\n"
    "  --url.username USER           Basic auth user; the password comes from\n"
    "                                --url.password-file or $REDIS_HA_CHECK_PASSWORD.\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "redis_ha_exporter check: %s\n", message.c_str());
  std::fprintf(stderr, "%s", kUsage);
  return kError;
}

struct CheckArgs {
  std::string group, action, node, url, max_lag, require_version;
  std::string ca_file, cert_file, key_file, server_name, username, password_file;
  bool insecure_skip_verify = false;
  std::chrono::milliseconds wait{0};
  std::vector<std::string> rest;  // exporter flags
};

// --url http[s]://host:port[/prefix]
bool SplitUrl(const std::string& url, bool& tls, std::string& host, int& port,
              std::string& prefix) {
  std::string rest;
  if (url.starts_with("http://")) {
    tls = false;
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    tls = true;
    rest = url.substr(8);
  } else {
    return false;
  }
  auto slash = rest.find('/');
  prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  auto e = redis::ParseEndpoint(rest.substr(0, slash));
  if (!e) return false;
  host = e->host;
  port = e->port;
  return true;
}

// The client options for --url; an error names the flag.
Result<http::ClientOptions> UrlClientOptions(const CheckArgs& a, bool tls) {
  http::ClientOptions o;
  o.tls = tls;
  o.ca_file = a.ca_file;
  o.cert_file = a.cert_file;
  o.key_file = a.key_file;
  o.server_name = a.server_name;
  o.insecure_skip_verify = a.insecure_skip_verify;
  const bool tls_flags = !a.ca_file.empty() || !a.cert_file.empty() || !a.key_file.empty() ||
                         !a.server_name.empty() || a.insecure_skip_verify;
  if (!tls && tls_flags) {
    return MakeError(ErrorKind::kConfig,
                     "--url.ca-file, --url.cert-file, --url.key-file, --url.server-name and "
                     "--url.insecure-skip-verify need an https:// --url");
  }
  if (a.cert_file.empty() != a.key_file.empty()) {
    return MakeError(ErrorKind::kConfig,
                     "--url.cert-file and --url.key-file go together");
  }
  for (const auto& [flag, file] : {std::pair<const char*, const std::string&>{"--url.ca-file", a.ca_file},
                                   {"--url.cert-file", a.cert_file},
                                   {"--url.key-file", a.key_file}}) {
    if (!file.empty() && ::access(file.c_str(), R_OK) != 0) {
      return MakeError(ErrorKind::kConfig,
                       std::string(flag) + ": cannot read " + file + ": " + std::strerror(errno));
    }
  }
  if (a.username.empty()) {
    if (!a.password_file.empty()) {
      return MakeError(ErrorKind::kConfig, "--url.password-file needs --url.username");
    }
    return o;
  }
  std::string password;
  if (!a.password_file.empty()) {
    std::ifstream in(a.password_file);
    if (!in) {
      return MakeError(ErrorKind::kConfig,
                       "--url.password-file: cannot read " + a.password_file);
    }
    std::getline(in, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
  } else if (const char* v = std::getenv("REDIS_HA_CHECK_PASSWORD"); v != nullptr) {
    password = v;
  } else {
    return MakeError(ErrorKind::kConfig,
                     "--url.username needs --url.password-file or $REDIS_HA_CHECK_PASSWORD");
  }
  o.headers["Authorization"] = http::BasicAuthorization(a.username, password);
  return o;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string Query(const CheckArgs& a) {
  std::string q = "group=" + UrlEncode(a.group) + "&action=" + UrlEncode(a.action);
  if (!a.node.empty()) q += "&node=" + UrlEncode(a.node);
  if (!a.max_lag.empty()) q += "&max_lag_bytes=" + UrlEncode(a.max_lag);
  if (!a.require_version.empty()) q += "&require_version=" + UrlEncode(a.require_version);
  return q;
}

int ViaUrl(const CheckArgs& a) {
  std::string host, prefix;
  int port = 0;
  bool tls = false;
  if (!SplitUrl(a.url, tls, host, port, prefix)) {
    return Usage("--url must be http://HOST:PORT[/PATH] or https://HOST:PORT[/PATH]");
  }
  auto options = UrlClientOptions(a, tls);
  if (!options) return Usage(options.error().message);
  const auto deadline = std::chrono::steady_clock::now() + a.wait;
  for (;;) {
    auto r = http::Fetch(host, port, "GET", prefix + "/api/v1/gate?" + Query(a), *options);
    if (r.status != 200) {
      std::fprintf(stderr, "redis_ha_exporter check: %s: %s\n", a.url.c_str(),
                   r.status == 0 ? r.error.c_str()
                                 : ("answered " + std::to_string(r.status) +
                                    (r.status == 401 ? " (basic auth: see --url.username)" : ""))
                                       .c_str());
      return kError;
    }
    if (r.body.find("\"error\":") != std::string::npos) {
      std::cout << r.body << "\n";
      return kError;
    }
    const bool ready = r.body.find("\"ready\":true") != std::string::npos;
    if (ready || std::chrono::steady_clock::now() >= deadline) {
      std::cout << r.body << "\n";
      return ready ? kReady : kNotReady;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int Local(const CheckArgs& a) {
  auto loaded = LoadConfig(a.rest);
  if (!loaded) return Usage(loaded.error().message);
  if (loaded->mode != Mode::kServe) return Usage("--help and --version are not check flags");
  Config config = loaded->config;
  log::Level level = log::Level::kWarn;
  log::ParseLevel(config.log_level == "info" ? "warn" : config.log_level, level);
  log::Configure(level, log::Format::kLogfmt);

  http::Request req;
  req.query = Query(a);
  auto parsed = http::ParseGateQuery(req);
  if (!parsed) return Usage(parsed.error().message);
  const assess::GateOptions options = http::GateOptionsFrom(config);

  poll::Poller poller(config);
  const auto deadline = std::chrono::steady_clock::now() + a.wait;
  for (;;) {
    auto snap = poller.PollOnce();
    const model::GroupSnapshot* g = snap->FindGroup(parsed->group);
    const bool last = std::chrono::steady_clock::now() >= deadline;
    if (g == nullptr && last) {
      bool any_up = false;
      for (const auto& s : snap->sentinels) any_up = any_up || s.up;
      std::fprintf(stderr, "redis_ha_exporter check: %s\n",
                   any_up ? ("no reachable Sentinel monitors group '" + parsed->group + "'").c_str()
                          : "no Sentinel could be reached");
      return kError;
    }
    if (g != nullptr) {
      auto r = assess::EvaluateGate(*snap, g, parsed->request, options,
                                    std::chrono::system_clock::now());
      if (r.ready || last) {
        std::cout << assess::GateJson(r) << "\n";
        return r.ready ? kReady : kNotReady;
      }
    }
    std::this_thread::sleep_for(config.poll_interval);
  }
}

}  // namespace

int RunCheck(const std::vector<std::string>& args) {
  CheckArgs a;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    bool inline_value = false;
    if (auto eq = name.find('='); name.starts_with("--") && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    auto take = [&](std::string& out) -> bool {
      if (inline_value) {
        out = value;
        return true;
      }
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string* field = nullptr;
    if (name == "--group") field = &a.group;
    else if (name == "--action") field = &a.action;
    else if (name == "--node") field = &a.node;
    else if (name == "--url") field = &a.url;
    else if (name == "--max-lag-bytes") field = &a.max_lag;
    else if (name == "--require-version") field = &a.require_version;
    else if (name == "--url.ca-file") field = &a.ca_file;
    else if (name == "--url.cert-file") field = &a.cert_file;
    else if (name == "--url.key-file") field = &a.key_file;
    else if (name == "--url.server-name") field = &a.server_name;
    else if (name == "--url.username") field = &a.username;
    else if (name == "--url.password-file") field = &a.password_file;
    else if (name == "--url.password") {
      return Usage("--url.password: passwords never go on the command line; use "
                   "--url.password-file or $REDIS_HA_CHECK_PASSWORD");
    }
    if (field != nullptr) {
      if (!take(*field)) return Usage(name + ": needs a value");
      continue;
    }
    if (name == "--url.insecure-skip-verify") {
      if (inline_value && value != "true" && value != "false") {
        return Usage("--url.insecure-skip-verify: '" + value + "' is not true or false");
      }
      a.insecure_skip_verify = !inline_value || value == "true";
      continue;
    }
    if (name == "--wait") {
      std::string w;
      if (!take(w)) return Usage("--wait: needs a value");
      auto d = ParseDuration(w);
      if (!d) return Usage("--wait: '" + w + "' is not a duration (e.g. 30s, 5m)");
      a.wait = *d;
      continue;
    }
    if (name == "--help" || name == "-h") {
      std::cout << kUsage << "\n" << kHelp;
      return kReady;
    }
    a.rest.push_back(args[i]);
  }
  if (a.group.empty()) return Usage("--group is required");
  if (a.action.empty()) return Usage("--action is required");
  if (!a.url.empty()) {
    if (!a.rest.empty()) return Usage("with --url, only check flags are accepted: " + a.rest.front());
    return ViaUrl(a);
  }
  if (!a.ca_file.empty() || !a.cert_file.empty() || !a.key_file.empty() ||
      !a.server_name.empty() || !a.username.empty() || !a.password_file.empty() ||
      a.insecure_skip_verify) {
    return Usage("--url.* flags need --url");
  }
  return Local(a);
}

}  // namespace redis_ha::cli
