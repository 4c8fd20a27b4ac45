// poll/observe: which INFO a data node is asked, and that the sections asked of Redis 7+
// and Valkey hold everything the exporter reads from a whole INFO.
#include "poll/observe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#ifndef TESTDATA_DIR
#error "TESTDATA_DIR must name tests/testdata"
#endif

namespace redis_ha::poll {
namespace {

std::string Load(const char* name) {
  std::ifstream in(std::filesystem::path(TESTDATA_DIR) / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << name;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// What `INFO <sections...>` answers: the whole INFO's text with only those sections left.
std::string KeepSections(const std::string& info, const std::set<std::string>& sections) {
  std::string out;
  bool keep = false;
  std::istringstream in(info);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# ")) {
      std::string name(line, 2);
      if (!name.empty() && name.back() == '\r') name.pop_back();
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      keep = sections.count(name) > 0;
    }
    if (keep) {
      out.append(line);
      out.push_back('\n');
    }
  }
  return out;
}

TEST(NodeInfoCommandTest, AllOfInfoOrTheSectionsThatAreRead) {
  EXPECT_EQ(NodeInfoCommand(false), std::vector<std::string>{"INFO"});
  EXPECT_EQ(NodeInfoCommand(true),
            (std::vector<std::string>{"INFO", "server", "persistence", "stats", "replication",
                                      "keyspace"}));
}

TEST(NodeInfoCommandTest, SectionsAreAskedOfRedis7AndLaterAndOfValkey) {
  auto takes = [](const char* server, const char* version) {
    model::NodeState n;
    n.server.assign(server);
    n.version.assign(version);
    return TakesInfoSections(n);
  };
  EXPECT_TRUE(takes("redis", "7.0.15"));
  EXPECT_TRUE(takes("redis", "7.4.1"));
  EXPECT_TRUE(takes("redis", "10.0.0"));
  EXPECT_TRUE(takes("valkey", "8.0.1"));
  EXPECT_TRUE(takes("valkey", ""));
  EXPECT_FALSE(takes("redis", "6.2.14"));
  EXPECT_FALSE(takes("redis", "5.0.7"));
  EXPECT_FALSE(takes("redis", ""));         // never answered an INFO
  EXPECT_FALSE(takes("redis", "unknown"));  // not a version
}

TEST(NodeInfoCommandTest, TheSectionsHoldEverythingReadFromAWholeInfo) {
  // The same node read from its whole INFO and from the sections the exporter asks for
  // (taken out of that same text) must come out the same, field for field.
  const std::vector<std::string> asked = NodeInfoCommand(true);
  const std::set<std::string> sections(asked.begin() + 1, asked.end());
  for (const char* capture :
       {"redis7_primary_info.txt", "redis7_replica_info.txt", "redis7_replica_loading_info.txt",
        "redis7_replica_link_down_info.txt", "redis7_primary_wait_bgsave_info.txt",
        "redis7_replica_priority0_unannounced_info.txt"}) {
    SCOPED_TRACE(capture);
    const std::string whole = Load(capture);
    const std::string part = KeepSections(whole, sections);
    ASSERT_LT(part.size(), whole.size());
    model::NodeState from_whole, from_part;
    ASSERT_TRUE(ObserveNodeInfo(redis::Reply::String(whole), from_whole).ok());
    ASSERT_TRUE(ObserveNodeInfo(redis::Reply::String(part), from_part).ok());
    EXPECT_EQ(from_whole, from_part);
    EXPECT_FALSE(from_part.version.empty());
    EXPECT_TRUE(from_part.keys.has_value());
  }
}

}  // namespace
}  // namespace redis_ha::poll
