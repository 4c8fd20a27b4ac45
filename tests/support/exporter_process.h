// ExporterProcess: the real redis_ha_exporter binary as a child process on a free port.
#ifndef REDIS_HA_TESTS_SUPPORT_EXPORTER_PROCESS_H_
#define REDIS_HA_TESTS_SUPPORT_EXPORTER_PROCESS_H_

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lab/process.h"
#include "http/client.h"
#include "support/metrics_text.h"
#include "util/status.h"

namespace redis_ha::testing {

class ExporterProcess {
 public:
  // `args` are passed as given, plus --web.listen-address 127.0.0.1:<free port>.
  ExporterProcess(std::string binary, std::vector<std::string> args,
                  std::filesystem::path log_path);
  ~ExporterProcess();

  // Starts it and waits until /healthz answers 200.
  Status Start(std::chrono::milliseconds deadline = std::chrono::seconds(10));
  int port() const { return port_; }
  lab::Process& process() { return process_; }
  std::string Log() const;

  http::HttpResult Get(const std::string& target) const { return http::HttpGet(port_, target); }
  std::vector<Sample> Scrape() const;
  // Scrapes until `pred` holds on the samples or `deadline` passes.
  bool WaitForMetrics(const std::function<bool(const std::vector<Sample>&)>& pred,
                      std::chrono::milliseconds deadline);

 private:
  std::string binary_;
  std::vector<std::string> args_;
  std::filesystem::path log_path_;
  int port_ = 0;
  lab::Process process_;
};

}  // namespace redis_ha::testing

#endif  // REDIS_HA_TESTS_SUPPORT_EXPORTER_PROCESS_H_
