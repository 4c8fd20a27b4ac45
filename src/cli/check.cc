#include "cli/check.h"

#include <chrono>
#include <cstdio>
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
    "[--max-lag-bytes B] [--require-version V] [--url http://HOST:PORT] [exporter flags]\n";

int Usage(const std::string& message) {
  std::fprintf(stderr, "redis_ha_exporter check: %s\n", message.c_str());
  std::fprintf(stderr, "%s", kUsage);
  return kError;
}

struct CheckArgs {
  std::string group, action, node, url, max_lag, require_version;
  std::chrono::milliseconds wait{0};
  std::vector<std::string> rest;  // exporter flags
};

// --url http://host:port[/prefix]
bool SplitUrl(const std::string& url, std::string& host, int& port, std::string& prefix) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) return false;
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  auto e = redis::ParseEndpoint(rest.substr(0, slash));
  if (!e) return false;
  host = e->host;
  port = e->port;
  return true;
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
  if (!SplitUrl(a.url, host, port, prefix)) return Usage("--url must be http://HOST:PORT[/PATH]");
  const auto deadline = std::chrono::steady_clock::now() + a.wait;
  for (;;) {
    auto r = http::HttpRequestTo(host, port, "GET", prefix + "/api/v1/gate?" + Query(a));
    if (r.status != 200) {
      std::fprintf(stderr, "redis_ha_exporter check: %s answered %d\n", a.url.c_str(), r.status);
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
    if (field != nullptr) {
      if (!take(*field)) return Usage(name + ": needs a value");
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
      std::cout << kUsage
                << "Prints the gate's JSON; exits 0 ready, 1 not ready, 2 error. See docs/gate.md.\n";
      return kReady;
    }
    a.rest.push_back(args[i]);
  }
  if (a.group.empty()) return Usage("--group is required");
  if (a.action.empty()) return Usage("--action is required");
  if (!a.url.empty()) {
    if (!a.rest.empty()) return Usage("with --url, only check flags are accepted");
    return ViaUrl(a);
  }
  return Local(a);
}

}  // namespace redis_ha::cli
