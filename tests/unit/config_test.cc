// Flags, the YAML file, passwords from files and the environment, and every error path.
#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace redis_ha {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rha-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    unsetenv("REDIS_HA_SENTINEL_PASSWORD");
    unsetenv("REDIS_HA_REDIS_PASSWORD");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) {
    auto p = dir_ / name;
    std::ofstream(p) << content;
    return p.string();
  }
  fs::path dir_;
};

std::string ErrorOf(const std::vector<std::string>& args) {
  auto r = LoadConfig(args);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

TEST_F(ConfigTest, Defaults) {
  auto r = LoadConfig({"--sentinel", "127.0.0.1:26379"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r->config;
  EXPECT_EQ(c.poll_interval, milliseconds(1000));
  EXPECT_EQ(c.poll_timeout, milliseconds(500));
  EXPECT_EQ(c.listen_address, ":9479");
  EXPECT_EQ(c.telemetry_path, "/metrics");
  ASSERT_EQ(c.sentinels.size(), 1u);
  EXPECT_EQ(c.sentinels[0].port, 26379);
  EXPECT_TRUE(c.WatchesGroup("anything"));
}

TEST_F(ConfigTest, FlagsInBothForms) {
  auto r = LoadConfig({"--sentinel=a:1", "--sentinel", "b:2", "--poll.interval=250ms",
                       "--poll.timeout", "100ms", "--web.listen-address", "127.0.0.1:0",
                       "--log.level=debug", "--log.format=json"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config.sentinels.size(), 2u);
  EXPECT_EQ(r->config.poll_interval, milliseconds(250));
  EXPECT_EQ(r->config.poll_timeout, milliseconds(100));
  EXPECT_EQ(r->config.log_format, "json");
}

TEST_F(ConfigTest, HelpAndVersionNeedNothingElse) {
  EXPECT_EQ(LoadConfig({"--help"})->mode, Mode::kHelp);
  EXPECT_EQ(LoadConfig({"--version"})->mode, Mode::kVersion);
  std::string help = HelpText("redis_ha_exporter");
  for (const auto& o : Options()) {
    if (o.yaml_only) continue;
    EXPECT_NE(help.find("--" + o.flag), std::string::npos) << o.flag;
  }
}

TEST_F(ConfigTest, BadFlagsNameTheFlag) {
  EXPECT_NE(ErrorOf({"--sentinel", "x:1", "--bogus", "1"}).find("--bogus"), std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", "nope"}).find("--sentinel"), std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", "a:1", "--poll.interval", "0s"}).find("--poll.interval"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", "a:1", "--poll.interval", "-1s"}).find("--poll.interval"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", "a:1", "--poll.timeout", "5s"}).find("--poll.timeout"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", "a:1", "--log.level", "loud"}).find("--log.level"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", "a:1", "--web.listen-address", "nope"})
                .find("--web.listen-address"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sentinel", "a:1", "--web.telemetry-path", "metrics"})
                .find("--web.telemetry-path"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--poll.interval"}).find("needs a value"), std::string::npos);
  EXPECT_NE(ErrorOf({}).find("--sentinel"), std::string::npos);
  EXPECT_NE(ErrorOf({"stray"}).find("stray"), std::string::npos);
}

TEST_F(ConfigTest, PasswordsAreRefusedOnTheCommandLine) {
  std::string e = ErrorOf({"--sentinel", "a:1", "--redis.password", "hunter2"});
  EXPECT_NE(e.find("not accepted"), std::string::npos);
  EXPECT_EQ(e.find("hunter2"), std::string::npos);
}

TEST_F(ConfigTest, YamlFileWithNestedKeysGroupsAndAddressMap) {
  std::string pw = Write("pw", "s3cret\n");
  std::string file = Write("c.yml", "sentinels: [\"10.0.0.1:26379\", \"10.0.0.2:26379\"]\n"
                                    "poll:\n  interval: 2s\n  timeout: 300ms\n"
                                    "web:\n  listen-address: \"127.0.0.1:9100\"\n"
                                    "redis:\n  username: mon\n  password-file: " + pw + "\n"
                                    "groups:\n  - mymaster\n  - name: other\n"
                                    "    redis:\n      password-env: OTHER_PW\n"
                                    "address-map:\n  \"10.0.0.5:6379\": \"127.0.0.1:7005\"\n");
  setenv("OTHER_PW", "otherpw", 1);
  auto r = LoadConfig({"--config", file});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = r->config;
  EXPECT_EQ(c.sentinels.size(), 2u);
  EXPECT_EQ(c.poll_interval, milliseconds(2000));
  EXPECT_EQ(c.poll_timeout, milliseconds(300));
  EXPECT_EQ(c.listen_address, "127.0.0.1:9100");
  EXPECT_EQ(c.RedisCredentials("mymaster").password, "s3cret");
  EXPECT_EQ(c.RedisCredentials("mymaster").username, "mon");
  EXPECT_EQ(c.RedisCredentials("other").password, "otherpw");
  EXPECT_TRUE(c.WatchesGroup("mymaster"));
  EXPECT_FALSE(c.WatchesGroup("third"));
  EXPECT_EQ(c.MapAddress("10.0.0.5:6379"), "127.0.0.1:7005");
  EXPECT_EQ(c.MapAddress("10.0.0.6:6379"), "10.0.0.6:6379");
  unsetenv("OTHER_PW");
}

TEST_F(ConfigTest, DefaultTimeoutFollowsAShortInterval) {
  auto r = LoadConfig({"--sentinel", "a:1", "--poll.interval", "200ms"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config.poll_timeout, milliseconds(200));
}

TEST_F(ConfigTest, FlagsOverrideTheFile) {
  std::string file = Write("c.yml", "sentinels: [\"10.0.0.1:26379\"]\npoll:\n  interval: 2s\n");
  auto r = LoadConfig({"--config", file, "--poll.interval", "3s", "--sentinel", "h:1"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config.poll_interval, milliseconds(3000));
  ASSERT_EQ(r->config.sentinels.size(), 1u);
  EXPECT_EQ(r->config.sentinels[0].host, "h");
}

TEST_F(ConfigTest, FileErrorsNameTheKeyAndLine) {
  auto check = [&](const std::string& yaml, const std::string& want) {
    std::string file = Write("bad.yml", yaml);
    std::string e = ErrorOf({"--config", file, "--sentinel", "a:1"});
    EXPECT_NE(e.find(want), std::string::npos) << "got: " << e;
  };
  check("poll:\n  interval: soon\n", "bad.yml:2: poll.interval");
  check("poll:\n  intervall: 1s\n", "bad.yml:2: poll.intervall: unknown key");
  check("sentinels: [\"nope\"]\n", "sentinels");
  check("groups:\n  - a\n  - a\n", "duplicate group 'a'");
  check("groups:\n  - name: a\n    redis:\n      password: x\n", "not accepted inline");
  check("redis:\n  password-file: /nonexistent/pw\n", "redis.password-file");
  check("poll: [1, 2\n", "invalid YAML");
  check("address-map:\n  \"bad\": \"127.0.0.1:1\"\n", "address-map.bad");
  check("poll:\n  interval: [1s]\n", "poll.interval: must be a single value");
  check("- just\n- a list\n", "top level must be a map");
  EXPECT_NE(ErrorOf({"--config", (dir_ / "missing.yml").string()}).find("cannot read"),
            std::string::npos);
}

TEST_F(ConfigTest, PasswordsFromEnvironment) {
  setenv("REDIS_HA_SENTINEL_PASSWORD", "spw", 1);
  setenv("REDIS_HA_REDIS_PASSWORD", "rpw", 1);
  auto r = LoadConfig({"--sentinel", "a:1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.SentinelCredentials("g").password, "spw");
  EXPECT_EQ(r->config.RedisCredentials("g").password, "rpw");
}

TEST_F(ConfigTest, EmptyPasswordFileIsAnError) {
  std::string pw = Write("pw", "\n");
  EXPECT_NE(ErrorOf({"--sentinel", "a:1", "--sentinel.password-file", pw})
                .find("sentinel.password-file"),
            std::string::npos);
}

}  // namespace
}  // namespace redis_ha
