// redis_ha_exporter: wires config -> poller -> HTTP.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/check.h"
#include "config/config.h"
#include "http/api.h"
#include "http/gate_http.h"
#include "http/page.h"
#include "http/server.h"
#include "metrics/collector.h"
#include "poll/poller.h"
#include "util/log.h"
#include "util/malloc_tuning.h"

namespace redis_ha {
namespace {

constexpr int kExitConfig = 2;

void ConfigureLogging(const Config& c) {
  log::Level level = log::Level::kInfo;
  log::Format format = log::Format::kLogfmt;
  log::ParseLevel(c.log_level, level);
  log::ParseFormat(c.log_format, format);
  log::Configure(level, format);
}

int Serve(const std::vector<std::string>& args, Config config) {
  TuneMalloc();
  // Signals are taken synchronously by this thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ConfigureLogging(config);
  poll::Poller poller(config);
  auto source = [&poller] { return poller.Latest(); };
  const assess::GateOptions gate_options = http::GateOptionsFrom(config);
  // Each scrape writes into the buffers of an earlier one (shared by the handler's copies).
  auto renderer = std::make_shared<metrics::MetricsRenderer>();

  std::map<std::string, http::Handler> routes;
  routes[config.telemetry_path] = [source, gate_options, renderer](const http::Request&) {
    http::Response r = http::Response::Text(200, "");
    if (model::SnapshotPtr s = source()) {
      r.shared_body = renderer->Render(*s, gate_options, std::chrono::system_clock::now());
    }
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  };
  routes["/healthz"] = [](const http::Request&) { return http::Response::Text(200, "ok\n"); };
  routes["/api/v1/groups"] = [source](const http::Request& req) {
    return http::Response::Json(200, http::GroupsJson(*source(), req.Param("group")));
  };
  routes["/gate"] = [source, gate_options](const http::Request& req) {
    return http::HandleGate(req, *source(), gate_options, std::chrono::system_clock::now(),
                            /*always_200=*/false);
  };
  routes["/api/v1/gate"] = [source, gate_options](const http::Request& req) {
    return http::HandleGate(req, *source(), gate_options, std::chrono::system_clock::now(),
                            /*always_200=*/true);
  };
  routes["/"] = [source, gate_options](const http::Request& req) {
    return http::HandleFleetPage(req, *source(), gate_options, std::chrono::system_clock::now());
  };
  routes["/group"] = [source, gate_options](const http::Request& req) {
    return http::HandleGroupPage(req, *source(), gate_options, std::chrono::system_clock::now());
  };
  routes["/-/reload"] = [](const http::Request& req) {
    if (req.method != "POST") {
      http::Response r = http::Response::Text(405, "use POST\n");
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    ::kill(::getpid(), SIGHUP);  // handled by the main thread like a real SIGHUP
    return http::Response::Text(200, "reloading\n");
  };

  http::ServerOptions options;
  options.listen_address = config.listen_address;
  options.web_config = config.web_config;  // TLS, basic auth; the server watches its files
  auto server = http::HttpServer::Start(options, routes);
  if (!server) {
    log::Error("cannot start HTTP server", {{"err", server.error().message}});
    return 1;
  }
  log::Info("listening", {{"address", config.listen_address},
                          {"port", std::to_string((*server)->port())},
                          {"version", REDIS_HA_VERSION}});
  poller.Start();

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      auto reloaded = LoadConfig(args);
      if (!reloaded) {
        log::Error("reload failed; keeping the running configuration",
                   {{"err", reloaded.error().message}});
        continue;
      }
      if (reloaded->config.listen_address != config.listen_address ||
          reloaded->config.telemetry_path != config.telemetry_path ||
          reloaded->config.web_config_file != config.web_config_file ||
          reloaded->config.EffectiveMaxStaleness() != config.EffectiveMaxStaleness() ||
          reloaded->config.gate_failover_cooldown != config.gate_failover_cooldown ||
          reloaded->config.max_lag_bytes != config.max_lag_bytes) {
        log::Warn("web.*, gate.* and replica.max-lag-bytes changes take effect on restart");
      }
      ConfigureLogging(reloaded->config);
      poller.Reload(reloaded->config);
      continue;
    }
    log::Info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    break;
  }
  poller.Stop();
  server->reset();
  return 0;
}

}  // namespace
}  // namespace redis_ha

int main(int argc, char** argv) {
  using namespace redis_ha;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "check") {
    return cli::RunCheck(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  auto loaded = LoadConfig(args);
  if (!loaded) {
    std::fprintf(stderr, "redis_ha_exporter: %s\n", loaded.error().message.c_str());
    return kExitConfig;
  }
  switch (loaded->mode) {
    case Mode::kHelp:
      std::cout << HelpText("redis_ha_exporter");
      return 0;
    case Mode::kVersion:
      std::cout << "redis_ha_exporter " << REDIS_HA_VERSION << "\n";
      return 0;
    case Mode::kMan:
      std::cout << ManPage();
      return 0;
    case Mode::kConfigReference:
      std::cout << ConfigReference();
      return 0;
    case Mode::kServe:
      break;
  }
  return Serve(args, std::move(loaded->config));
}
