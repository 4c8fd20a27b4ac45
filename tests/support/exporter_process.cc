#include "support/exporter_process.h"

#include <fstream>
#include <sstream>

#include "lab/lab.h"

namespace redis_ha::testing {

ExporterProcess::ExporterProcess(std::string binary, std::vector<std::string> args,
                                 std::filesystem::path log_path)
    : binary_(std::move(binary)), args_(std::move(args)), log_path_(std::move(log_path)) {}

ExporterProcess::~ExporterProcess() { process_.Terminate(std::chrono::seconds(2)); }

Status ExporterProcess::Start(std::chrono::milliseconds deadline) {
  port_ = lab::FreePort();
  std::vector<std::string> argv = {binary_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  argv.push_back("--web.listen-address");
  argv.push_back("127.0.0.1:" + std::to_string(port_));
  auto p = lab::Process::Spawn(argv, log_path_);
  if (!p) return p.error();
  process_ = std::move(*p);
  bool ok = lab::WaitFor([&] { return !process_.Running() || Get("/healthz").status == 200; },
                         deadline);
  if (!ok || !process_.Running()) {
    return MakeError(ErrorKind::kConnect, "exporter did not come up; log:\n" + Log());
  }
  return Status::Ok();
}

std::string ExporterProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
}

std::vector<Sample> ExporterProcess::Scrape() const {
  http::HttpResult r = Get("/metrics");
  if (r.status != 200) return {};
  return ParseMetricsText(r.body);
}

bool ExporterProcess::WaitForMetrics(
    const std::function<bool(const std::vector<Sample>&)>& pred,
    std::chrono::milliseconds deadline) {
  return lab::WaitFor([&] { return pred(Scrape()); }, deadline, std::chrono::milliseconds(50));
}

}  // namespace redis_ha::testing
