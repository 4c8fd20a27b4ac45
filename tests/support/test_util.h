// Small helpers shared by the integration tests: per-test temporary directories and
// running a shell command to completion.
#ifndef REDIS_HA_TESTS_SUPPORT_TEST_UTIL_H_
#define REDIS_HA_TESTS_SUPPORT_TEST_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace redis_ha::testing {

// A fresh directory under $TMPDIR: rha-<suite>-<pid>-<name>.
inline std::filesystem::path TestDir(const std::string& suite, const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("rha-" + suite + "-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::create_directories(p);
  return p;
}

struct CommandResult {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string out;     // standard output (and whatever the command redirects into it)
};

// Runs `cmd` with /bin/sh and waits for it.
inline CommandResult RunShell(const std::string& cmd) {
  CommandResult r;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) r.out.append(buf, n);
  int status = ::pclose(f);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace redis_ha::testing

#endif  // REDIS_HA_TESTS_SUPPORT_TEST_UTIL_H_
