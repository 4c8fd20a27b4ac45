// Bad configuration, case by case (issue 8, "Bad configuration"): every invalid value of the
// YAML file is an Error of kind kConfig whose message starts with "<file>:<line>: <key>", for
// each class of mistake: unknown key, wrong type, negative or zero duration, bad address,
// unreadable password file, duplicate group. config_test.cc covers the happy paths and a first
// set of errors; this file is the exhaustive table. The exit code 2 and the absence of network
// I/O are checked on the real binary in tests/integration/bad_config_test.cc.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"

namespace redis_ha {
namespace {

namespace fs = std::filesystem;

class ConfigErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rha-config-errors-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    unsetenv("REDIS_HA_SENTINEL_PASSWORD");
    unsetenv("REDIS_HA_REDIS_PASSWORD");
    unsetenv("RHA_TEST_UNSET_VARIABLE");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The error message for `yaml` in a file named bad.yml (the test fails if it loads).
  std::string ErrorFor(const std::string& yaml) {
    const std::string file = (dir_ / "bad.yml").string();
    std::ofstream(file) << yaml;
    auto r = LoadConfig({"--config", file, "--sentinel", "a:1"});
    if (r.ok()) {
      ADD_FAILURE() << "loaded without error:\n" << yaml;
      return "";
    }
    EXPECT_EQ(r.error().kind, ErrorKind::kConfig);
    // Messages name the file by the path given; the tests match from the base name.
    std::string m = r.error().message;
    auto pos = m.find("bad.yml");
    return pos == std::string::npos ? m : m.substr(pos);
  }

  void ExpectError(const std::string& yaml, const std::string& want_prefix,
                   const std::string& want_also = "") {
    std::string e = ErrorFor(yaml);
    EXPECT_TRUE(e.starts_with(want_prefix)) << "yaml:\n" << yaml << "\nwant prefix: "
                                            << want_prefix << "\ngot: " << e;
    if (!want_also.empty()) {
      EXPECT_NE(e.find(want_also), std::string::npos) << e;
    }
  }

  fs::path dir_;
};

TEST_F(ConfigErrorsTest, UnknownKeys) {
  ExpectError("nope: 1\n", "bad.yml:1: nope: unknown key");
  ExpectError("poll:\n  interval: 1s\n  intervall: 2s\n", "bad.yml:3: poll.intervall: unknown key");
  ExpectError("web:\n  listen: \":9100\"\n", "bad.yml:2: web.listen: unknown key");
  ExpectError("groups:\n  - name: a\n    colour: red\n", "bad.yml:3: groups.colour: unknown key");
  ExpectError("redis:\n  user: x\n", "bad.yml:2: redis.user: unknown key");
  ExpectError("sentinel:\n  username: a\n  pasword-file: /x\n",
              "bad.yml:3: sentinel.pasword-file: unknown key");
  // Flags that only exist on the command line are unknown keys in the file.
  ExpectError("config: other.yml\n", "bad.yml:1: config: unknown key");
  ExpectError("sentinel: [\"a:1\"]\n", "bad.yml:1: sentinel: must be a map");
}

TEST_F(ConfigErrorsTest, WrongTypes) {
  ExpectError("sentinels: \"a:1\"\n", "bad.yml:1: sentinels: must be a list");
  ExpectError("sentinels:\n  - [a, b]\n", "bad.yml:1: sentinels: must be a list");
  ExpectError("groups: mymaster\n", "bad.yml:1: groups: must be a list");
  ExpectError("groups:\n  - [a]\n", "bad.yml:2: groups: each group is a name or a map");
  ExpectError("groups:\n  - name: [a]\n", "bad.yml:2: groups.name: must be a string");
  ExpectError("address-map: [a]\n", "bad.yml:1: address-map: must be a map");
  ExpectError("address-map:\n  \"10.0.0.1:1\": [\"127.0.0.1:2\"]\n",
              "bad.yml:2: address-map.10.0.0.1:1: must be host:port");
  ExpectError("redis: x\n", "bad.yml:1: redis: must be a map");
  ExpectError("redis:\n  username: [a]\n", "bad.yml:2: redis.username: must be a string");
  ExpectError("poll:\n  interval: [1s]\n", "bad.yml:2: poll.interval: must be a single value");
  ExpectError("log:\n  level: [debug]\n", "bad.yml:2: log.level: must be a single value");
  ExpectError("poll: 5\n", "bad.yml:1: poll: unknown key");
  ExpectError("poll:\n  max-reply-bytes: lots\n", "bad.yml:2: poll.max-reply-bytes: 'lots'");
  ExpectError("poll:\n  max-reply-bytes: 100\n", "bad.yml:2: poll.max-reply-bytes: '100'");
  ExpectError("replica:\n  max-lag-bytes: 1.5\n", "bad.yml:2: replica.max-lag-bytes: '1.5'");
  ExpectError("risk:\n  key-drop-fraction: half\n", "bad.yml:2: risk.key-drop-fraction: 'half'");
  ExpectError("risk:\n  key-drop-fraction: 1\n", "bad.yml:2: risk.key-drop-fraction: '1'");
  ExpectError("log:\n  format: xml\n", "bad.yml:2: log.format: 'xml'");
  ExpectError("web:\n  telemetry-path: metrics\n", "bad.yml:2: web.telemetry-path: 'metrics'");
  // A number without a unit is not a duration.
  ExpectError("poll:\n  interval: 5\n", "bad.yml:2: poll.interval: '5' is not a positive duration");
}

TEST_F(ConfigErrorsTest, NegativeZeroAndOverflowingDurations) {
  for (const char* key : {"interval", "timeout"}) {
    for (const char* v : {"0s", "0", "0ms", "-1s", "-250ms", "1.5s", "1s-", "s", "99999999999999999999y"}) {
      ExpectError(std::string("poll:\n  ") + key + ": \"" + v + "\"\n",
                  std::string("bad.yml:2: poll.") + key + ": '" + v + "'");
    }
  }
  for (const auto& [section, key] : std::vector<std::pair<std::string, std::string>>{
           {"risk", "wipe-hold"}, {"risk", "imminent-hold"}, {"risk", "rtt-window"},
           {"gate", "max-staleness"}, {"gate", "failover-cooldown"}}) {
    ExpectError(section + ":\n  " + key + ": 0s\n",
                "bad.yml:2: " + section + "." + key + ": '0s' is not a positive duration");
    ExpectError(section + ":\n  " + key + ": -5m\n", "bad.yml:2: " + section + "." + key + ": '-5m'");
  }
}

TEST_F(ConfigErrorsTest, BadAddresses) {
  for (const char* a : {"nope", "h:0", "h:65536", "h:-1", ":6379", "h:", "h:80x", "[::1:5",
                        "::1:26379", "[]:1"}) {
    ExpectError(std::string("sentinels:\n  - \"") + a + "\"\n",
                "bad.yml:2: sentinels: ", std::string("'") + a + "'");
  }
  ExpectError("sentinels:\n  - \"a:1\"\n  - \"b:2\"\n  - \"c\"\n", "bad.yml:4: sentinels: address 'c'");
  for (const char* a : {"nope", "127.0.0.1", "host:99999", "[::1]"}) {
    ExpectError(std::string("web:\n  listen-address: \"") + a + "\"\n",
                "bad.yml:2: web.listen-address: '" + std::string(a) + "'");
  }
  ExpectError("address-map:\n  \"bad\": \"127.0.0.1:1\"\n", "bad.yml:2: address-map.bad: address");
  ExpectError("address-map:\n  \"10.0.0.1:1\": \"x\"\n", "bad.yml:2: address-map.10.0.0.1:1: address 'x'");
}

TEST_F(ConfigErrorsTest, InlinePasswordsAreRefusedWithTheirLine) {
  ExpectError("redis:\n  password: x\n", "bad.yml:2: redis.password: passwords are not accepted");
  ExpectError("groups:\n  - name: a\n    redis: {password: x}\n",
              "bad.yml:3: groups.redis.password: passwords are not accepted");
  // The refused value is not echoed.
  EXPECT_EQ(ErrorFor("sentinel:\n  password: hunter2-secret\n").find("hunter2"), std::string::npos);
}

TEST_F(ConfigErrorsTest, DuplicateGroups) {
  ExpectError("groups:\n  - a\n  - a\n", "bad.yml:3: groups: duplicate group 'a'");
  ExpectError("groups:\n  - a\n  - b\n  - name: a\n", "bad.yml:4: groups: duplicate group 'a'");
  ExpectError("groups:\n  - name: a\n    redis: {username: x}\n  - name: a\n",
              "bad.yml:4: groups: duplicate group 'a'");
  ExpectError("groups:\n  - name: \"\"\n", "bad.yml:2: groups: a group needs a name");
}

TEST_F(ConfigErrorsTest, UnreadablePasswordFilesNameTheKey) {
  const std::string missing = (dir_ / "missing").string();
  // Named key (and file) for the global and per-group credentials; a directory reads empty.
  EXPECT_NE(ErrorFor("redis:\n  password-file: " + missing + "\n").find("redis.password-file"),
            std::string::npos);
  EXPECT_NE(ErrorFor("sentinel:\n  password-file: " + missing + "\n").find("sentinel.password-file"),
            std::string::npos);
  EXPECT_NE(ErrorFor("groups:\n  - name: g\n    redis:\n      password-file: " + missing + "\n")
                .find("groups[g].redis.password-file"),
            std::string::npos);
  EXPECT_NE(ErrorFor("redis:\n  password-file: " + dir_.string() + "\n").find("redis.password-file"),
            std::string::npos);
  EXPECT_NE(ErrorFor("sentinel:\n  password-env: RHA_TEST_UNSET_VARIABLE\n")
                .find("sentinel.password-env: $RHA_TEST_UNSET_VARIABLE is not set"),
            std::string::npos);
  // The same from a flag names the flag.
  auto r = LoadConfig({"--sentinel", "a:1", "--redis.password-file", missing});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("redis.password-file"), std::string::npos);
}

// Password files are resolved after the YAML walk; their errors still name the file line.
TEST_F(ConfigErrorsTest, UnreadablePasswordFilesNameTheLine) {
  const std::string missing = (dir_ / "missing").string();
  ExpectError("poll:\n  interval: 1s\nredis:\n  password-file: " + missing + "\n",
              "bad.yml:4: redis.password-file");
  ExpectError("groups:\n  - name: g\n    redis:\n      password-file: " + missing + "\n",
              "bad.yml:4: groups");
  ExpectError("sentinel:\n  password-env: RHA_TEST_UNSET_VARIABLE\n",
              "bad.yml:2: sentinel.password-env");
}

// Checks across keys name where each key was set.
TEST_F(ConfigErrorsTest, TimeoutOverIntervalFromTheFileNamesTheLine) {
  ExpectError("poll:\n  interval: 1s\n  timeout: 2s\n", "bad.yml:3: poll.timeout");
}

// yaml-cpp keeps both of two equal keys; a repeated key is almost always a mistake (two
// `poll:` sections, the second silently replacing the first), so it is refused.
TEST_F(ConfigErrorsTest, DuplicateKeysAreErrors) {
  ExpectError("poll:\n  interval: 1s\n  interval: 2s\n", "bad.yml:3: poll.interval: duplicate");
  ExpectError("poll:\n  interval: 1s\npoll:\n  timeout: 100ms\n", "bad.yml:3: poll: duplicate");
}

TEST_F(ConfigErrorsTest, InvalidYamlNamesTheLine) {
  ExpectError("poll:\n  interval: 1s\n timeout: 2s\n", "bad.yml:3: invalid YAML");
  ExpectError("poll: [1, 2\n", "bad.yml:");
  ExpectError("a: &x [*x]\nb: *y\n", "bad.yml:");
  ExpectError("\"unterminated\n", "bad.yml:");
  // A key that is not a scalar: the line at least.
  ExpectError("? [a]\n: 1\n", "bad.yml:1:");
  ExpectError("- a\n- b\n", "bad.yml: the top level must be a map");
}

TEST_F(ConfigErrorsTest, FlagErrorsNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  } cases[] = {
      {{"--sentinel", "a:1", "--poll.interval", "0s"}, "--poll.interval: '0s'"},
      {{"--sentinel", "a:1", "--poll.interval=-1s"}, "--poll.interval: '-1s'"},
      {{"--sentinel", "a:1", "--poll.timeout", "0"}, "--poll.timeout: '0'"},
      {{"--sentinel", "a:1", "--risk.wipe-hold", "0s"}, "--risk.wipe-hold: '0s'"},
      {{"--sentinel", "a:1", "--gate.failover-cooldown", "-1m"}, "--gate.failover-cooldown"},
      {{"--sentinel", "h:0"}, "--sentinel: address 'h:0'"},
      {{"--sentinel", "a:1", "--web.listen-address", "x"}, "--web.listen-address: 'x'"},
      {{"--sentinel", "a:1", "--poll.max-reply-bytes", "1k"}, "--poll.max-reply-bytes: '1k'"},
      {{"--sentinel", "a:1", "--replica.max-lag-bytes", "-5"}, "--replica.max-lag-bytes: '-5'"},
      {{"--sentinel", "a:1", "--log.format", "xml"}, "--log.format: 'xml'"},
      {{"--sentinel", "a:1", "--unknown.flag", "1"}, "--unknown.flag: unknown flag"},
      {{"--sentinel", "a:1", "--sentinel.password", "x"}, "--sentinel.password: passwords"},
      {{"--sentinel", "a:1", "--poll.interval"}, "--poll.interval: needs a value"},
  };
  for (const auto& c : cases) {
    auto r = LoadConfig(c.args);
    ASSERT_FALSE(r.ok()) << c.want;
    EXPECT_EQ(r.error().kind, ErrorKind::kConfig);
    EXPECT_NE(r.error().message.find(c.want), std::string::npos)
        << "want: " << c.want << "\ngot: " << r.error().message;
  }
}

}  // namespace
}  // namespace redis_ha
