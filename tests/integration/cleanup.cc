// Keeps /tmp tidy: the directories a passing integration test run made for its logs and
// data (/tmp/rha-*-<pid>-*) are removed when it ends; a failing run's stay for inspection.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

namespace redis_ha {
namespace {

namespace fs = std::filesystem;

std::set<fs::path> OurDirs() {
  std::set<fs::path> out;
  const std::string mark = "-" + std::to_string(::getpid()) + "-";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("rha-") && name.find(mark) != std::string::npos) out.insert(e.path());
  }
  return out;
}

class CleanupListener : public ::testing::EmptyTestEventListener {
  // Suites set up shared labs before their first test, so the whole program is the unit:
  // ctest runs one test per process, and a run of several keeps everything if one fails.
  void OnTestProgramStart(const ::testing::UnitTest&) override { before_ = OurDirs(); }
  void OnTestProgramEnd(const ::testing::UnitTest& unit) override {
    if (!unit.Passed()) return;
    for (const auto& dir : OurDirs()) {
      std::error_code ec;
      if (before_.count(dir) == 0) fs::remove_all(dir, ec);
    }
  }
  std::set<fs::path> before_;
};

// Registered before main() runs the tests; gtest owns the listener.
const bool kRegistered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new CleanupListener);
  return true;
}();

}  // namespace
}  // namespace redis_ha
