// The configuration file: the input is written to a file and loaded the way the exporter
// starts (`--config FILE --sentinel a:1`). LoadConfig must return a Config or a kConfig
// Error with a message, never throw (yaml-cpp throws) or crash. When the input starts with
// "--", its lines are the command line instead (each line one argument).
//
// Paths named in the input (password-file) are read as is, so the fuzzer only runs in a
// scratch directory ($TMPDIR): see fuzz/run.sh.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"

namespace {

const std::string& ConfigPath() {
  static const std::string* path = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    return new std::string(dir + "/redis_ha_config_fuzzer." + std::to_string(::getpid()) +
                           ".yml");
  }();
  return *path;
}

void Check(const redis_ha::Result<redis_ha::Loaded>& r) {
  using namespace redis_ha;
  if (!r) {
    FUZZ_CHECK(r.error().kind == ErrorKind::kConfig);
    FUZZ_CHECK(!r.error().message.empty());
    return;
  }
  if (r->mode != Mode::kServe) return;
  const Config& c = r->config;
  FUZZ_CHECK(!c.sentinels.empty());
  FUZZ_CHECK(c.poll_interval.count() > 0 && c.poll_timeout.count() > 0);
  FUZZ_CHECK(c.poll_timeout <= c.poll_interval);
  FUZZ_CHECK(c.max_reply_bytes >= 4096);
  for (const auto& e : c.sentinels) FUZZ_CHECK(e.port >= 1 && e.port <= 65535 && !e.host.empty());
  for (size_t i = 0; i < c.groups.size(); ++i) {
    FUZZ_CHECK(!c.groups[i].name.empty());
    for (size_t k = 0; k < i; ++k) FUZZ_CHECK(c.groups[k].name != c.groups[i].name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace redis_ha;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.starts_with("--")) {
    std::vector<std::string> args;
    while (!in.empty()) {
      size_t nl = in.find('\n');
      args.emplace_back(in.substr(0, nl));
      in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    }
    Check(LoadConfig(args));
    return 0;
  }
  const std::string& path = ConfigPath();
  FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  Check(LoadConfig({"--config", path, "--sentinel", "a:1"}));
  // Seeds from the file alone (no flag), as a file-only deployment would.
  Check(LoadConfig({"--config", path}));
  return 0;
}
