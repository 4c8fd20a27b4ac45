// Tests of src/parse/info.h against INFO replies captured from redis-server and
// redis-sentinel 7.0.15 (tests/testdata, see CAPTURES.txt), hand-written Valkey
// 8/9 variants, and malformed input.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "parse/info.h"

#ifndef TESTDATA_DIR
#error "TESTDATA_DIR must name tests/testdata"
#endif

namespace redis_ha::parse {
namespace {

std::string Load(std::string_view name) {
  std::string path = std::string(TESTDATA_DIR) + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string CrlfToLf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '\r') out += c;
  }
  return out;
}

const std::vector<std::string>& DataNodeCaptures() {
  static const std::vector<std::string> kFiles = {
      "redis7_primary_info.txt",
      "redis7_primary_info_everything.txt",
      "redis7_primary_wait_bgsave_info.txt",
      "redis7_primary_diskless_transfer_info.txt",
      "redis7_primary_after_failover_info.txt",
      "redis7_replica_info.txt",
      "redis7_replica_initial_sync_info.txt",
      "redis7_replica_sync_transfer_info.txt",
      "redis7_replica_loading_info.txt",
      "redis7_replica_link_down_info.txt",
      "redis7_replica_priority0_unannounced_info.txt",
  };
  return kFiles;
}

const std::vector<std::string>& SentinelCaptures() {
  static const std::vector<std::string> kFiles = {
      "sentinel7_info.txt",
      "sentinel7_tilt_info.txt",
      "sentinel7_info_odd_group_names.txt",
  };
  return kFiles;
}

// ---------------------------------------------------------------- ParseInfo

TEST(ParseInfoTest, EmptyInput) {
  InfoMap m = ParseInfo("");
  EXPECT_TRUE(m.fields.empty());
  EXPECT_TRUE(m.sections.empty());
  EXPECT_EQ(m.Find("role"), nullptr);
  EXPECT_FALSE(m.HasSection("Keyspace"));
}

TEST(ParseInfoTest, OnlyNewlines) {
  InfoMap m = ParseInfo("\r\n\n\r\n\r\r\n");
  EXPECT_TRUE(m.fields.empty());
  EXPECT_TRUE(m.sections.empty());
}

TEST(ParseInfoTest, SectionsOfInfoEverything) {
  InfoMap m = ParseInfo(Load("redis7_primary_info_everything.txt"));
  std::vector<std::string> expected = {
      "Server",       "Clients", "Memory",  "Persistence",  "Stats",
      "Replication",  "CPU",     "Modules", "Commandstats", "Errorstats",
      "Latencystats", "Cluster", "Keyspace"};
  EXPECT_EQ(m.sections, expected);
  EXPECT_TRUE(m.HasSection("keyspace"));
  EXPECT_TRUE(m.HasSection("REPLICATION"));
  EXPECT_FALSE(m.HasSection("Sentinel"));
  ASSERT_NE(m.Find("redis_version"), nullptr);
  EXPECT_EQ(*m.Find("redis_version"), "7.0.15");
  // Values keep everything after the first ':' (commandstats, paths).
  ASSERT_NE(m.Find("cmdstat_set"), nullptr);
  EXPECT_EQ(m.Find("cmdstat_set")->rfind("calls=", 0), 0u);
  ASSERT_NE(m.Find("executable"), nullptr);
  EXPECT_EQ(m.Find("executable")->front(), '/');
  // No '\r' survives.
  for (const auto& [k, v] : m.fields) {
    EXPECT_EQ(k.find('\r'), std::string::npos) << k;
    EXPECT_EQ(v.find('\r'), std::string::npos) << k;
  }
}

TEST(ParseInfoTest, CrlfAndLfGiveTheSameMap) {
  for (const std::string& file : DataNodeCaptures()) {
    std::string crlf = Load(file);
    ASSERT_NE(crlf.find("\r\n"), std::string::npos) << file;
    InfoMap a = ParseInfo(crlf);
    InfoMap b = ParseInfo(CrlfToLf(crlf));
    EXPECT_EQ(a.fields, b.fields) << file;
    EXPECT_EQ(a.sections, b.sections) << file;
    EXPECT_GT(a.fields.size(), 50u) << file;
  }
}

TEST(ParseInfoTest, DuplicateKeysLastWins) {
  InfoMap m = ParseInfo("role:master\r\nrole:slave\r\nx:1\nx:2\n");
  EXPECT_EQ(*m.Find("role"), "slave");
  EXPECT_EQ(*m.Find("x"), "2");
}

TEST(ParseInfoTest, MalformedLinesAreSkipped) {
  InfoMap m = ParseInfo(
      "#\r\n"              // header without a name
      "#   \r\n"           // header of blanks
      "no colon here\r\n"  // not a field
      ":value without key\r\n"
      "empty_value:\r\n"
      "a:b:c\r\n"    // value keeps later colons
      "#Server\r\n"  // header without a space
      "  # not a header:1\r\n");
  EXPECT_EQ(m.sections, std::vector<std::string>{"Server"});
  EXPECT_EQ(m.fields.size(), 3u);
  EXPECT_EQ(*m.Find("empty_value"), "");
  EXPECT_EQ(*m.Find("a"), "b:c");
  EXPECT_EQ(*m.Find("  # not a header"), "1");
}

TEST(ParseInfoTest, NoFinalNewlineAndStrayCarriageReturns) {
  InfoMap m = ParseInfo("a:1\r\r\nb:2");
  EXPECT_EQ(*m.Find("a"), "1");
  EXPECT_EQ(*m.Find("b"), "2");
}

TEST(ParseInfoTest, EmbeddedNulBytes) {
  std::string text("a:1\r\nb:\0x\r\n\0\0:z\r\n", 17);
  InfoMap m = ParseInfo(text);
  EXPECT_EQ(*m.Find("a"), "1");
  ASSERT_NE(m.Find("b"), nullptr);
  EXPECT_EQ(m.Find("b")->size(), 2u);
  EXPECT_EQ(m.fields.size(), 3u);
}

// ---------------------------------------------------------------- numbers

TEST(InfoNumberTest, ParseInt64) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("-1"), -1);
  EXPECT_EQ(ParseInt64("183813"), 183813);
  EXPECT_EQ(ParseInt64("9223372036854775807"),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseInt64("-9223372036854775808"),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ParseInt64("9223372036854775808"), std::nullopt);
  EXPECT_EQ(ParseInt64("99999999999999999999999999999"), std::nullopt);
  EXPECT_EQ(ParseInt64("-9223372036854775809"), std::nullopt);
  for (std::string_view bad : {"", " 1", "1 ", "+1", "1.5", "0x10", "12abc",
                               "-", "--1", "1e3", "\r"}) {
    EXPECT_EQ(ParseInt64(bad), std::nullopt) << "'" << bad << "'";
  }
}

TEST(InfoNumberTest, ParseDouble) {
  EXPECT_DOUBLE_EQ(*ParseDouble("62.22"), 62.22);
  EXPECT_DOUBLE_EQ(*ParseDouble("-0.00"), 0.0);
  EXPECT_DOUBLE_EQ(*ParseDouble("100"), 100.0);
  for (std::string_view bad :
       {"", "nan", "inf", "-inf", "NaN", "1e400", "1.5x", " 1", "."}) {
    EXPECT_EQ(ParseDouble(bad), std::nullopt) << "'" << bad << "'";
  }
}

TEST(InfoNumberTest, ParsePort) {
  EXPECT_EQ(ParsePort("0"), 0);
  EXPECT_EQ(ParsePort("6379"), 6379);
  EXPECT_EQ(ParsePort("65535"), 65535);
  EXPECT_EQ(ParsePort("65536"), std::nullopt);
  EXPECT_EQ(ParsePort("-1"), std::nullopt);
  EXPECT_EQ(ParsePort("99999999999999999999"), std::nullopt);
  EXPECT_EQ(ParsePort(""), std::nullopt);
}

TEST(SplitHostPortTest, Forms) {
  using HP = std::pair<std::string, int>;
  EXPECT_EQ(SplitHostPort("127.0.0.1:27101"), HP("127.0.0.1", 27101));
  EXPECT_EQ(SplitHostPort("redis-0.redis.svc:6379"),
            HP("redis-0.redis.svc", 6379));
  EXPECT_EQ(SplitHostPort("[::1]:6379"), HP("::1", 6379));
  EXPECT_EQ(SplitHostPort("[fe80::1%eth0]:26379"), HP("fe80::1%eth0", 26379));
  EXPECT_EQ(SplitHostPort("::1:6379"), HP("::1", 6379));
  EXPECT_EQ(SplitHostPort("2001:db8::7:6380"), HP("2001:db8::7", 6380));
  EXPECT_EQ(SplitHostPort("h:0"), HP("h", 0));
  for (std::string_view bad :
       {"", ":", "host", "host:", ":6379", "host:port", "host:65536", "host:-1",
        "[::1]", "[::1]6379", "[::1]:", "[]:6379", "[::1:6379", "host:63 79"}) {
    EXPECT_EQ(SplitHostPort(bad), std::nullopt) << "'" << bad << "'";
  }
}

// ---------------------------------------------------------------- data nodes

TEST(DataNodeInfoTest, Redis7Primary) {
  DataNodeInfo d = ParseDataNodeInfo(Load("redis7_primary_info.txt"));
  EXPECT_EQ(d.server_kind, ServerKind::kRedis);
  EXPECT_EQ(d.version, "7.0.15");
  EXPECT_EQ(d.mode, "standalone");
  EXPECT_EQ(d.run_id, "643d0f18f5370e885cded27c6cb43ae1bd978753");
  EXPECT_EQ(d.uptime_in_seconds, 26);
  EXPECT_EQ(d.tcp_port, 27101);

  EXPECT_EQ(d.role, Role::kPrimary);
  EXPECT_EQ(d.master_host, std::nullopt);
  EXPECT_EQ(d.master_port, std::nullopt);
  EXPECT_EQ(d.master_link_up, std::nullopt);
  EXPECT_EQ(d.master_link_down_since_seconds, std::nullopt);
  EXPECT_EQ(d.slave_priority, std::nullopt);
  EXPECT_EQ(d.connected_slaves, 1);
  EXPECT_EQ(d.min_slaves_good_slaves, 1);
  ASSERT_EQ(d.replicas.size(), 1u);
  EXPECT_EQ(d.replicas[0].index, 0);
  EXPECT_EQ(d.replicas[0].ip, "127.0.0.1");
  EXPECT_EQ(d.replicas[0].port, 27102);
  EXPECT_EQ(d.replicas[0].state, "online");
  EXPECT_EQ(d.replicas[0].offset, 5103);
  EXPECT_EQ(d.replicas[0].lag, 1);
  EXPECT_EQ(d.replicas[0].type, std::nullopt);
  EXPECT_EQ(d.master_failover_state, "no-failover");
  EXPECT_EQ(d.master_replid, "8634a06437ba8eb86a5dad881a65c03befa7126d");
  EXPECT_EQ(d.master_replid2, "0000000000000000000000000000000000000000");
  EXPECT_EQ(d.master_repl_offset, 5359);
  EXPECT_EQ(d.second_repl_offset, -1);
  EXPECT_EQ(d.repl_backlog_active, true);
  EXPECT_EQ(d.repl_backlog_size, 1048576);
  EXPECT_EQ(d.repl_backlog_first_byte_offset, 1);
  EXPECT_EQ(d.repl_backlog_histlen, 5359);

  EXPECT_EQ(d.loading, false);
  EXPECT_EQ(d.async_loading, false);
  EXPECT_EQ(d.loading_loaded_perc, std::nullopt);
  EXPECT_EQ(d.loading_eta_seconds, std::nullopt);
  EXPECT_EQ(d.aof_enabled, false);
  EXPECT_EQ(d.rdb_last_save_time, 1795312692);
  EXPECT_EQ(d.rdb_changes_since_last_save, 62);
  EXPECT_EQ(d.rdb_bgsave_in_progress, false);
  EXPECT_EQ(d.aof_rewrite_in_progress, false);
  EXPECT_EQ(d.rdb_last_bgsave_status, "ok");

  EXPECT_EQ(d.sync_full, 1);
  EXPECT_EQ(d.sync_partial_ok, 0);
  EXPECT_EQ(d.sync_partial_err, 0);
  EXPECT_EQ(d.total_commands_processed, 180);
  EXPECT_EQ(d.instantaneous_ops_per_sec, 3);
  EXPECT_EQ(d.used_memory, 1328656);
  EXPECT_EQ(d.maxmemory, 0);

  EXPECT_TRUE(d.keyspace_section_present);
  ASSERT_EQ(d.keyspace.size(), 2u);
  EXPECT_EQ(d.keyspace[0].index, 0);
  EXPECT_EQ(d.keyspace[0].keys, 60);
  EXPECT_EQ(d.keyspace[0].expires, 10);
  EXPECT_EQ(d.keyspace[0].avg_ttl, 3596348);
  EXPECT_EQ(d.keyspace[0].subexpiry, std::nullopt);
  EXPECT_EQ(d.keyspace[1].index, 3);
  EXPECT_EQ(d.keyspace[1].keys, 2);
  EXPECT_EQ(d.keyspace[1].expires, 0);
  EXPECT_EQ(d.total_keys, 62);
}

TEST(DataNodeInfoTest, Redis7PrimaryInfoEverythingAgreesWithDefaultInfo) {
  DataNodeInfo a = ParseDataNodeInfo(Load("redis7_primary_info.txt"));
  DataNodeInfo b =
      ParseDataNodeInfo(Load("redis7_primary_info_everything.txt"));
  EXPECT_EQ(a.run_id, b.run_id);
  EXPECT_EQ(a.role, b.role);
  EXPECT_EQ(a.replicas.size(), b.replicas.size());
  EXPECT_EQ(a.total_keys, b.total_keys);
  EXPECT_EQ(a.master_repl_offset, b.master_repl_offset);
}

TEST(DataNodeInfoTest, Redis7ReplicaLinkUp) {
  DataNodeInfo d = ParseDataNodeInfo(Load("redis7_replica_info.txt"));
  EXPECT_EQ(d.role, Role::kReplica);
  EXPECT_EQ(d.tcp_port, 27102);
  EXPECT_EQ(d.master_host, "127.0.0.1");
  EXPECT_EQ(d.master_port, 27101);
  EXPECT_EQ(d.master_link_up, true);
  EXPECT_EQ(d.master_last_io_seconds_ago, 0);
  EXPECT_EQ(d.master_sync_in_progress, false);
  EXPECT_EQ(d.master_sync_total_bytes, std::nullopt);
  EXPECT_EQ(d.master_link_down_since_seconds, std::nullopt);
  EXPECT_EQ(d.slave_read_repl_offset, 5359);
  EXPECT_EQ(d.slave_repl_offset, 5359);
  EXPECT_EQ(d.slave_priority, 100);
  EXPECT_EQ(d.slave_read_only, true);
  EXPECT_EQ(d.replica_announced, true);
  EXPECT_EQ(d.connected_slaves, 0);
  EXPECT_EQ(d.min_slaves_good_slaves, std::nullopt);
  EXPECT_TRUE(d.replicas.empty());
  EXPECT_EQ(d.master_replid, "8634a06437ba8eb86a5dad881a65c03befa7126d");
  EXPECT_EQ(d.repl_backlog_first_byte_offset, 280);
  EXPECT_EQ(d.total_keys, 62);
  // A replica does not track TTLs itself.
  EXPECT_EQ(d.keyspace[0].avg_ttl, 0);
}

TEST(DataNodeInfoTest, Redis7ReplicaLinkDown) {
  DataNodeInfo d = ParseDataNodeInfo(Load("redis7_replica_link_down_info.txt"));
  EXPECT_EQ(d.role, Role::kReplica);
  EXPECT_EQ(d.master_port, 27103);
  EXPECT_EQ(d.master_link_up, false);
  EXPECT_EQ(d.master_last_io_seconds_ago, -1);
  EXPECT_EQ(d.master_sync_in_progress, false);
  EXPECT_EQ(d.master_link_down_since_seconds, 1);
  EXPECT_EQ(d.slave_repl_offset, 156431);
  EXPECT_EQ(d.total_keys, 122);
}

TEST(DataNodeInfoTest, Redis7ReplicaBeforeFirstSync) {
  // Waiting for the primary's diskless-sync delay: not even "in progress" yet,
  // never linked (-1), offsets 1, and an empty keyspace section.
  DataNodeInfo d =
      ParseDataNodeInfo(Load("redis7_replica_initial_sync_info.txt"));
  EXPECT_EQ(d.role, Role::kReplica);
  EXPECT_EQ(d.master_link_up, false);
  EXPECT_EQ(d.master_sync_in_progress, false);
  EXPECT_EQ(d.master_link_down_since_seconds, -1);
  EXPECT_EQ(d.slave_repl_offset, 1);
  EXPECT_EQ(d.master_repl_offset, 0);
  EXPECT_EQ(d.repl_backlog_active, false);
  EXPECT_TRUE(d.keyspace_section_present);
  EXPECT_TRUE(d.keyspace.empty());
  EXPECT_EQ(d.total_keys, 0);
}

TEST(DataNodeInfoTest, Redis7PrimaryWithReplicaWaitingForBgsave) {
  DataNodeInfo d =
      ParseDataNodeInfo(Load("redis7_primary_wait_bgsave_info.txt"));
  EXPECT_EQ(d.connected_slaves, 2);
  EXPECT_EQ(d.min_slaves_good_slaves, 1);
  ASSERT_EQ(d.replicas.size(), 2u);
  EXPECT_EQ(d.replicas[0].state, "online");
  EXPECT_EQ(d.replicas[1].index, 1);
  EXPECT_EQ(d.replicas[1].port, 27103);
  EXPECT_EQ(d.replicas[1].state, "wait_bgsave");
  EXPECT_EQ(d.replicas[1].offset, 0);
  EXPECT_EQ(d.sync_full, 2);
}

TEST(DataNodeInfoTest, Redis7DisklessTransfer) {
  DataNodeInfo p =
      ParseDataNodeInfo(Load("redis7_primary_diskless_transfer_info.txt"));
  ASSERT_EQ(p.replicas.size(), 2u);
  // A diskless transfer stays in wait_bgsave on 7.0 (no send_bulk).
  EXPECT_EQ(p.replicas[1].state, "wait_bgsave");
  EXPECT_EQ(p.rdb_bgsave_in_progress, true);

  DataNodeInfo r =
      ParseDataNodeInfo(Load("redis7_replica_sync_transfer_info.txt"));
  EXPECT_EQ(r.master_link_up, false);
  EXPECT_EQ(r.master_sync_in_progress, true);
  EXPECT_EQ(r.master_sync_total_bytes,
            -1);  // size unknown for a diskless stream
  EXPECT_EQ(r.master_sync_read_bytes, 0);
  EXPECT_EQ(r.master_sync_left_bytes, -1);
  ASSERT_TRUE(r.master_sync_perc.has_value());
  EXPECT_DOUBLE_EQ(*r.master_sync_perc, 0.0);  // printed "-0.00"
  EXPECT_EQ(r.master_sync_last_io_seconds_ago, 2);
  EXPECT_EQ(r.master_link_down_since_seconds, -1);
  EXPECT_EQ(r.total_keys, 0);
}

TEST(DataNodeInfoTest, Redis7ReplicaLoading) {
  DataNodeInfo d = ParseDataNodeInfo(Load("redis7_replica_loading_info.txt"));
  EXPECT_EQ(d.loading, true);
  EXPECT_EQ(d.async_loading, false);
  ASSERT_TRUE(d.loading_loaded_perc.has_value());
  EXPECT_DOUBLE_EQ(*d.loading_loaded_perc, 62.22);
  EXPECT_EQ(d.loading_eta_seconds, 13);
  // Loading after a sync still counts as "sync in progress", with odd byte
  // counts.
  EXPECT_EQ(d.master_sync_in_progress, true);
  EXPECT_EQ(d.master_sync_total_bytes, 0);
  EXPECT_EQ(d.master_sync_left_bytes, -3330);
  EXPECT_EQ(d.master_link_up, false);
  ASSERT_EQ(d.keyspace.size(), 1u);
  EXPECT_EQ(d.total_keys, 73);  // partially loaded
}

TEST(DataNodeInfoTest, Redis7PromotedReplica) {
  DataNodeInfo d =
      ParseDataNodeInfo(Load("redis7_primary_after_failover_info.txt"));
  EXPECT_EQ(d.role, Role::kPrimary);
  EXPECT_EQ(d.master_replid2, "a7329954eb36532a16fdbd602020647a2bd12149");
  EXPECT_EQ(d.second_repl_offset, 156432);
  EXPECT_EQ(d.min_slaves_good_slaves, std::nullopt);
  ASSERT_EQ(d.replicas.size(), 2u);
  EXPECT_EQ(d.replicas[0].port, 27103);
  EXPECT_EQ(d.replicas[1].port, 27101);
  EXPECT_EQ(d.sync_partial_err, 1);
}

TEST(DataNodeInfoTest, Redis7ReplicaPriorityZeroNotAnnounced) {
  DataNodeInfo d =
      ParseDataNodeInfo(Load("redis7_replica_priority0_unannounced_info.txt"));
  EXPECT_EQ(d.slave_priority, 0);
  EXPECT_EQ(d.replica_announced, false);
  EXPECT_EQ(d.maxmemory, 104857600);
}

TEST(DataNodeInfoTest, InfoMapOverloadMatchesText) {
  // The text overload reads each line once into a table indexed by key; it must give what
  // the map of every line gives, on every captured INFO and on repeated or odd lines.
  std::vector<std::string> texts;
  for (const char* name :
       {"redis7_primary_info.txt", "redis7_primary_info_everything.txt",
        "redis7_primary_after_failover_info.txt", "redis7_primary_diskless_transfer_info.txt",
        "redis7_primary_wait_bgsave_info.txt", "redis7_replica_info.txt",
        "redis7_replica_initial_sync_info.txt", "redis7_replica_link_down_info.txt",
        "redis7_replica_loading_info.txt", "redis7_replica_priority0_unannounced_info.txt",
        "redis7_replica_sync_transfer_info.txt"}) {
    texts.push_back(Load(name));
  }
  texts.push_back(
      "role:slave\r\nrole:master\r\nused_memory:1\r\nused_memory:x\r\n"
      "slave10:ip=a,port=1,state=online,offset=1,lag=0\r\n"
      "slave2:ip=b,port=2,state=online,offset=1,lag=0\r\nslave2:ip=c,port=3\r\n"
      "db0:keys=1,expires=0,avg_ttl=0\r\nslave_priority:\r\nreplica_priority:7\r\n"
      "Role:replica\r\nslave:1\r\ndb:2\r\n:x\r\nnocolon\r\n# Keyspace\r\n");
  for (size_t i = 0; i < texts.size(); ++i) {
    DataNodeInfo a = ParseDataNodeInfo(texts[i]);
    DataNodeInfo b = ParseDataNodeInfo(ParseInfo(texts[i]));
    EXPECT_TRUE(a == b) << "text " << i;
    EXPECT_EQ(a.run_id, b.run_id) << i;
    EXPECT_EQ(a.replicas.size(), b.replicas.size()) << i;
  }
  DataNodeInfo odd = ParseDataNodeInfo(texts.back());
  EXPECT_EQ(odd.role, Role::kPrimary);  // the last role line
  EXPECT_EQ(odd.used_memory, std::nullopt);  // the last used_memory line does not parse
  ASSERT_EQ(odd.replicas.size(), 2u);
  EXPECT_EQ(odd.replicas[0].index, 2);
  EXPECT_EQ(odd.replicas[0].ip, "c");
  EXPECT_EQ(odd.slave_priority, 7);
  EXPECT_EQ(odd.total_keys, 1);
}

constexpr std::string_view kValkey8Primary =
    "# Server\n"
    "redis_version:7.2.4\n"
    "server_name:valkey\n"
    "valkey_version:8.1.1\n"
    "server_mode:standalone\n"
    "run_id:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "tcp_port:6379\n"
    "uptime_in_seconds:1000\n"
    "\n"
    "# Persistence\n"
    "loading:0\n"
    "async_loading:0\n"
    "rdb_changes_since_last_save:5\n"
    "rdb_bgsave_in_progress:1\n"
    "rdb_last_save_time:1700000000\n"
    "rdb_last_bgsave_status:err\n"
    "aof_enabled:1\n"
    "aof_rewrite_in_progress:1\n"
    "\n"
    "# Replication\n"
    "role:master\n"
    "connected_slaves:3\n"
    "slave0:ip=10.0.0.2,port=6379,state=online,offset=1000,lag=0,type=main-"
    "channel\n"
    "slave1:ip=10.0.0.3,port=6379,state=bg_transfer,offset=0,lag=0,"
    "type=rdb-channel\n"
    "slave2:ip=fe80::1,port=6380,state=send_bulk,offset=7,lag=2\n"
    "master_failover_state:no-failover\n"
    "master_replid:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
    "master_repl_offset:1000\n"
    "\n"
    "# Keyspace\n"
    "db0:keys=5,expires=1,avg_ttl=100,subexpiry=1\n"
    "db15:keys=7,expires=0,avg_ttl=0,subexpiry=0\n";

TEST(DataNodeInfoTest, Valkey8Primary) {
  DataNodeInfo d = ParseDataNodeInfo(kValkey8Primary);
  EXPECT_EQ(d.server_kind, ServerKind::kValkey);
  EXPECT_EQ(d.version, "8.1.1");  // not the compatibility redis_version
  EXPECT_EQ(d.mode, "standalone");
  EXPECT_EQ(d.tcp_port, 6379);
  EXPECT_EQ(d.role, Role::kPrimary);
  EXPECT_EQ(d.rdb_bgsave_in_progress, true);
  EXPECT_EQ(d.rdb_last_bgsave_status, "err");
  EXPECT_EQ(d.aof_enabled, true);
  EXPECT_EQ(d.aof_rewrite_in_progress, true);
  ASSERT_EQ(d.replicas.size(), 3u);
  EXPECT_EQ(d.replicas[0].type, "main-channel");
  EXPECT_EQ(d.replicas[1].state, "bg_transfer");
  EXPECT_EQ(d.replicas[1].type, "rdb-channel");
  EXPECT_EQ(d.replicas[2].ip, "fe80::1");
  EXPECT_EQ(d.replicas[2].port, 6380);
  EXPECT_EQ(d.replicas[2].state, "send_bulk");
  EXPECT_EQ(d.replicas[2].type, std::nullopt);
  ASSERT_EQ(d.keyspace.size(), 2u);
  EXPECT_EQ(d.keyspace[0].subexpiry, 1);
  EXPECT_EQ(d.keyspace[1].index, 15);
  EXPECT_EQ(d.keyspace[1].subexpiry, 0);
  EXPECT_EQ(d.total_keys, 12);
}

TEST(DataNodeInfoTest, ValkeyDetectedByVersionOrName) {
  EXPECT_EQ(ParseDataNodeInfo("valkey_version:9.0.0\r\n").server_kind,
            ServerKind::kValkey);
  DataNodeInfo only_name =
      ParseDataNodeInfo("redis_version:7.2.4\r\nserver_name:valkey\r\n");
  EXPECT_EQ(only_name.server_kind, ServerKind::kValkey);
  EXPECT_EQ(only_name.version, "7.2.4");  // falls back to redis_version
  DataNodeInfo redis =
      ParseDataNodeInfo("redis_version:7.2.4\r\nredis_mode:cluster\r\n");
  EXPECT_EQ(redis.server_kind, ServerKind::kRedis);
  EXPECT_EQ(redis.mode, "cluster");
  EXPECT_EQ(ParseDataNodeInfo("role:master\r\n").server_kind, std::nullopt);
}

TEST(DataNodeInfoTest, Valkey9ReplicaWithReplicaPrefixedNames) {
  DataNodeInfo d = ParseDataNodeInfo(
      "# Server\r\n"
      "server_name:valkey\r\n"
      "valkey_version:9.0.0\r\n"
      "server_mode:standalone\r\n"
      "redis_mode:standalone\r\n"
      "# Replication\r\n"
      "role:slave\r\n"
      "master_host:primary.example\r\n"
      "master_port:6379\r\n"
      "master_link_status:up\r\n"
      "replica_priority:10\r\n"
      "replica_read_only:0\r\n"
      "replica_announced:1\r\n"
      "# Keyspace\r\n");
  EXPECT_EQ(d.role, Role::kReplica);
  EXPECT_EQ(d.master_host, "primary.example");
  EXPECT_EQ(d.slave_priority, 10);
  EXPECT_EQ(d.slave_read_only, false);
  EXPECT_EQ(d.total_keys, 0);
}

TEST(DataNodeInfoTest, RoleValues) {
  EXPECT_EQ(ParseDataNodeInfo("role:master").role, Role::kPrimary);
  EXPECT_EQ(ParseDataNodeInfo("role:slave").role, Role::kReplica);
  EXPECT_EQ(ParseDataNodeInfo("role:sentinel").role, Role::kUnknown);
  EXPECT_EQ(ParseDataNodeInfo("role:").role, Role::kUnknown);
  EXPECT_EQ(ParseDataNodeInfo("").role, Role::kUnknown);
}

TEST(DataNodeInfoTest, LinkStatusOtherThanUpOrDownIsUnset) {
  EXPECT_EQ(ParseDataNodeInfo("master_link_status:up").master_link_up, true);
  EXPECT_EQ(ParseDataNodeInfo("master_link_status:down").master_link_up, false);
  EXPECT_EQ(ParseDataNodeInfo("master_link_status:UP?").master_link_up,
            std::nullopt);
}

TEST(DataNodeInfoTest, NoKeyspaceSectionMeansUnknownTotal) {
  DataNodeInfo d = ParseDataNodeInfo("# Replication\r\nrole:master\r\n");
  EXPECT_FALSE(d.keyspace_section_present);
  EXPECT_EQ(d.total_keys, std::nullopt);
  // db lines without the header still count.
  DataNodeInfo e = ParseDataNodeInfo("db2:keys=4,expires=0,avg_ttl=0\r\n");
  EXPECT_FALSE(e.keyspace_section_present);
  EXPECT_EQ(e.total_keys, 4);
}

TEST(DataNodeInfoTest, UnparsableNumbersLeaveFieldsUnset) {
  DataNodeInfo d = ParseDataNodeInfo(
      "uptime_in_seconds:abc\r\n"
      "tcp_port:70000\r\n"
      "master_port:-5\r\n"
      "connected_slaves:99999999999999999999999\r\n"
      "master_repl_offset:12 \r\n"
      "loading:yes\r\n"
      "loading_loaded_perc:nan\r\n"
      "used_memory:\r\n");
  EXPECT_EQ(d.uptime_in_seconds, std::nullopt);
  EXPECT_EQ(d.tcp_port, std::nullopt);
  EXPECT_EQ(d.master_port, std::nullopt);
  EXPECT_EQ(d.connected_slaves, std::nullopt);
  EXPECT_EQ(d.master_repl_offset, std::nullopt);
  EXPECT_EQ(d.loading, std::nullopt);
  EXPECT_EQ(d.loading_loaded_perc, std::nullopt);
  EXPECT_EQ(d.used_memory, std::nullopt);
}

TEST(DataNodeInfoTest, HugeValues) {
  DataNodeInfo d = ParseDataNodeInfo(
      "master_repl_offset:9223372036854775807\r\n"
      "# Keyspace\r\n"
      "db0:keys=9223372036854775807,expires=0\r\n"
      "db1:keys=5,expires=0\r\n");
  EXPECT_EQ(d.master_repl_offset, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(d.total_keys, std::numeric_limits<int64_t>::max());  // saturates
}

TEST(DataNodeInfoTest, MalformedReplicaAndKeyspaceLines) {
  DataNodeInfo d = ParseDataNodeInfo(
      "role:master\r\n"
      "slave0:garbage\r\n"                           // no fields: skipped
      "slave1:port=6379,state=online\r\n"            // no ip: skipped
      "slave2:ip=10.0.0.9,port=x,offset=-,lag=\r\n"  // ip only
      "slave10:ip=10.0.0.10,port=1,state=online,offset=5,lag=0\r\n"
      "slave_x:ip=1.1.1.1\r\n"           // not slaveN
      "slave99999999999:ip=1.1.1.1\r\n"  // index too long
      "slave-1:ip=1.1.1.1\r\n"
      "dbx:keys=1\r\n"
      "db1:expires=3\r\n"          // no keys: skipped
      "db2:keys=-4,expires=0\r\n"  // negative: skipped
      "db3:keys=4,expires=zz,avg_ttl=q\r\n"
      "db4:keys=1,keys=2\r\n");  // last wins
  ASSERT_EQ(d.replicas.size(), 2u);
  EXPECT_EQ(d.replicas[0].index, 2);
  EXPECT_EQ(d.replicas[0].ip, "10.0.0.9");
  EXPECT_EQ(d.replicas[0].port, std::nullopt);
  EXPECT_EQ(d.replicas[0].offset, std::nullopt);
  EXPECT_EQ(d.replicas[0].lag, std::nullopt);
  EXPECT_EQ(d.replicas[1].index,
            10);  // numeric order, not "slave10" < "slave2"
  ASSERT_EQ(d.keyspace.size(), 2u);
  EXPECT_EQ(d.keyspace[0].index, 3);
  EXPECT_EQ(d.keyspace[0].keys, 4);
  EXPECT_EQ(d.keyspace[0].expires, 0);
  EXPECT_EQ(d.keyspace[0].avg_ttl, std::nullopt);
  EXPECT_EQ(d.keyspace[1].keys, 2);
  EXPECT_EQ(d.total_keys, 6);
}

TEST(DataNodeInfoTest, ManyReplicasSortNumerically) {
  std::string text = "role:master\r\n";
  for (int i = 11; i >= 0; --i) {
    text += "slave" + std::to_string(i) + ":ip=10.0.0." + std::to_string(i) +
            ",port=6379,state=online,offset=1,lag=0\r\n";
  }
  DataNodeInfo d = ParseDataNodeInfo(text);
  ASSERT_EQ(d.replicas.size(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(d.replicas[i].index, i);
}

// ---------------------------------------------------------------- Sentinel
// INFO

TEST(SentinelInfoTest, Redis7Sentinel) {
  SentinelInfo s = ParseSentinelInfo(Load("sentinel7_info.txt"));
  EXPECT_EQ(s.server_kind, ServerKind::kRedis);
  EXPECT_EQ(s.version, "7.0.15");
  EXPECT_EQ(s.mode, "sentinel");
  EXPECT_EQ(s.run_id, "c061f05d331e8921f1834887e724537f829accae");
  EXPECT_EQ(s.uptime_in_seconds, 25);
  EXPECT_EQ(s.tcp_port, 27111);
  EXPECT_EQ(s.sentinel_masters, 1);
  EXPECT_EQ(s.tilt, false);
  EXPECT_EQ(s.tilt_since_seconds, -1);
  EXPECT_EQ(s.total_tilt, std::nullopt);  // not printed by 7.0
  EXPECT_EQ(s.running_scripts, 0);
  EXPECT_EQ(s.scripts_queue_length, 0);
  EXPECT_EQ(s.simulate_failure_flags, 0);
  ASSERT_EQ(s.groups.size(), 1u);
  const SentinelInfoGroup& g = s.groups[0];
  EXPECT_EQ(g.index, 0);
  EXPECT_EQ(g.name, "g1");
  EXPECT_EQ(g.status, "ok");
  EXPECT_EQ(g.address, "127.0.0.1:27101");
  EXPECT_EQ(g.host, "127.0.0.1");
  EXPECT_EQ(g.port, 27101);
  EXPECT_EQ(g.slaves, 1);
  EXPECT_EQ(g.sentinels, 2);
}

TEST(SentinelInfoTest, Redis7SentinelInTilt) {
  SentinelInfo s = ParseSentinelInfo(Load("sentinel7_tilt_info.txt"));
  EXPECT_EQ(s.tilt, true);
  EXPECT_EQ(s.tilt_since_seconds, 1);
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].port, 27102);
  EXPECT_EQ(s.groups[0].slaves, 2);
}

TEST(SentinelInfoTest, Redis7OddGroupNames) {
  // Real reply for groups named "g2,status=ok" and "odd,name=x y".
  SentinelInfo s =
      ParseSentinelInfo(Load("sentinel7_info_odd_group_names.txt"));
  EXPECT_EQ(s.sentinel_masters, 3);
  ASSERT_EQ(s.groups.size(), 3u);
  EXPECT_EQ(s.groups[0].name, "g2,status=ok");
  EXPECT_EQ(s.groups[0].status, "ok");
  EXPECT_EQ(s.groups[0].port, 27102);
  EXPECT_EQ(s.groups[0].sentinels, 1);
  EXPECT_EQ(s.groups[1].name, "g1");
  EXPECT_EQ(s.groups[1].sentinels, 2);
  EXPECT_EQ(s.groups[2].name, "odd,name=x y");
  EXPECT_EQ(s.groups[2].slaves, 2);
}

TEST(SentinelInfoTest, Valkey9Sentinel) {
  SentinelInfo s = ParseSentinelInfo(
      "# Server\r\n"
      "redis_version:7.2.4\r\n"
      "server_name:valkey\r\n"
      "valkey_version:9.0.0\r\n"
      "server_mode:sentinel\r\n"
      "tcp_port:26379\r\n"
      "\r\n"
      "# Sentinel\r\n"
      "sentinel_masters:2\r\n"
      "sentinel_tilt:0\r\n"
      "sentinel_tilt_since_seconds:-1\r\n"
      "sentinel_total_tilt:4\r\n"
      "sentinel_running_scripts:1\r\n"
      "sentinel_scripts_queue_length:2\r\n"
      "sentinel_simulate_failure_flags:3\r\n"
      "master0:name=a,status=odown,address=[::1]:7001,slaves=0,sentinels=3\r\n"
      "master1:name=b,status=sdown,address=::1:7002,slaves=2,sentinels=1\r\n");
  EXPECT_EQ(s.server_kind, ServerKind::kValkey);
  EXPECT_EQ(s.version, "9.0.0");
  EXPECT_EQ(s.mode, "sentinel");
  EXPECT_EQ(s.total_tilt, 4);
  EXPECT_EQ(s.running_scripts, 1);
  EXPECT_EQ(s.scripts_queue_length, 2);
  EXPECT_EQ(s.simulate_failure_flags, 3);
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_EQ(s.groups[0].status, "odown");
  EXPECT_EQ(s.groups[0].host, "::1");
  EXPECT_EQ(s.groups[0].port, 7001);
  EXPECT_EQ(s.groups[1].status, "sdown");
  EXPECT_EQ(s.groups[1].host, "::1");
  EXPECT_EQ(s.groups[1].port, 7002);
}

TEST(SentinelInfoTest, GroupLineForms) {
  auto g = ParseSentinelInfoGroup(
      "name=a,sentinels=9,status=ok,address=h:1,slaves=2,sentinels=3");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->name, "a,sentinels=9");
  EXPECT_EQ(g->sentinels, 3);
  g = ParseSentinelInfoGroup(
      "name=,status=ok,address=h:1,slaves=2,sentinels=3");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->name, "");
  // Truncated: what is there is kept.
  g = ParseSentinelInfoGroup("name=g1,status=ok,address=127.0.0.1:27");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->name, "g1");
  EXPECT_EQ(g->status, "ok");
  EXPECT_EQ(g->port, 27);
  EXPECT_EQ(g->slaves, std::nullopt);
  g = ParseSentinelInfoGroup("name=g1,status=ok,addr");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->status, "ok");
  EXPECT_EQ(g->address, "");
  EXPECT_EQ(g->port, std::nullopt);
  // Unusable.
  EXPECT_FALSE(ParseSentinelInfoGroup("").has_value());
  EXPECT_FALSE(ParseSentinelInfoGroup("name=g1").has_value());
  EXPECT_FALSE(ParseSentinelInfoGroup("name=g1,stat").has_value());
  EXPECT_FALSE(ParseSentinelInfoGroup("status=ok,name=g1").has_value());
  EXPECT_FALSE(ParseSentinelInfoGroup("garbage").has_value());
  // Bad numbers.
  g = ParseSentinelInfoGroup(
      "name=x,status=ok,address=h:p,slaves=-,sentinels=");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->address, "h:p");
  EXPECT_EQ(g->host, std::nullopt);
  EXPECT_EQ(g->slaves, std::nullopt);
  EXPECT_EQ(g->sentinels, std::nullopt);
}

TEST(SentinelInfoTest, MasterKeysThatAreNotGroupLines) {
  SentinelInfo s = ParseSentinelInfo(
      "master_host:1.2.3.4\r\n"
      "master0:bad\r\n"
      "masterx:name=a,status=ok,address=h:1,slaves=0,sentinels=1\r\n"
      "master2:name=b,status=ok,address=h:2,slaves=0,sentinels=1\r\n");
  ASSERT_EQ(s.groups.size(), 1u);
  EXPECT_EQ(s.groups[0].index, 2);
  EXPECT_EQ(s.groups[0].name, "b");
}

// ---------------------------------------------------------------- robustness

// Where to cut a capture: every byte of the sections the exporter reads most
// (Replication, Keyspace, Sentinel), every 29th byte elsewhere.
std::vector<size_t> CutPoints(const std::string& text) {
  std::vector<std::pair<size_t, size_t>> dense;
  for (std::string_view header :
       {"# Replication", "# Keyspace", "# Sentinel"}) {
    size_t begin = text.find(header);
    if (begin == std::string::npos) continue;
    size_t end = text.find("\r\n\r\n", begin);
    dense.emplace_back(begin, end == std::string::npos ? text.size() : end + 4);
  }
  std::vector<size_t> cuts;
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    bool in_dense = false;
    for (const auto& [b, e] : dense) {
      in_dense = in_dense || (cut >= b && cut <= e);
    }
    if (in_dense || cut % 29 == 0 || cut == text.size()) cuts.push_back(cut);
  }
  return cuts;
}

// Every prefix of a capture parses to a subset of the full parse: each key has
// the full value, except the one line that was cut, whose value is a prefix of
// it.
void CheckPrefixesAreConsistent(const std::string& file) {
  std::string text = Load(file);
  InfoMap full = ParseInfo(text);
  DataNodeInfo full_node = ParseDataNodeInfo(full);
  SentinelInfo full_sentinel = ParseSentinelInfo(full);
  for (size_t cut : CutPoints(text)) {
    std::string_view prefix(text.data(), cut);
    InfoMap part = ParseInfo(prefix);
    int cut_values = 0;
    for (const auto& [k, v] : part.fields) {
      const std::string* fv = full.Find(k);
      ASSERT_NE(fv, nullptr) << file << " cut " << cut << " key " << k;
      if (*fv != v) {
        ASSERT_EQ(fv->rfind(v, 0), 0u)
            << file << " cut " << cut << " key " << k;
        ++cut_values;
      }
    }
    ASSERT_LE(cut_values, 1) << file << " cut " << cut;
    ASSERT_LE(part.sections.size(), full.sections.size());

    DataNodeInfo node = ParseDataNodeInfo(part);
    ASSERT_LE(node.replicas.size(), full_node.replicas.size());
    ASSERT_LE(node.keyspace.size(), full_node.keyspace.size());
    if (node.total_keys && full_node.total_keys) {
      ASSERT_LE(*node.total_keys, *full_node.total_keys)
          << file << " cut " << cut;
    }
    SentinelInfo sentinel = ParseSentinelInfo(part);
    ASSERT_LE(sentinel.groups.size(), full_sentinel.groups.size());
  }
  // The whole text, cut or not, is fine with LF too.
  std::string lf = CrlfToLf(text);
  for (size_t cut = 0; cut <= lf.size(); cut += 61) {
    ParseDataNodeInfo(std::string_view(lf.data(), cut));
    ParseSentinelInfo(std::string_view(lf.data(), cut));
  }
}

TEST(InfoRobustnessTest, PrefixesOfEveryDataNodeCapture) {
  for (const std::string& file : DataNodeCaptures()) {
    SCOPED_TRACE(file);
    CheckPrefixesAreConsistent(file);
  }
}

TEST(InfoRobustnessTest, PrefixesOfEverySentinelCapture) {
  for (const std::string& file : SentinelCaptures()) {
    SCOPED_TRACE(file);
    CheckPrefixesAreConsistent(file);
  }
}

TEST(InfoRobustnessTest, PrefixesGiveSanePartialResults) {
  std::string text = Load("redis7_primary_info.txt");
  // Cut right after the replication section's slave0 line: the role and the
  // replica are known, the keyspace is not.
  size_t end = text.find("master_failover_state:");
  ASSERT_NE(end, std::string::npos);
  DataNodeInfo d = ParseDataNodeInfo(std::string_view(text.data(), end));
  EXPECT_EQ(d.role, Role::kPrimary);
  ASSERT_EQ(d.replicas.size(), 1u);
  EXPECT_EQ(d.replicas[0].lag, 1);
  EXPECT_EQ(d.master_repl_offset, std::nullopt);
  EXPECT_FALSE(d.keyspace_section_present);
  EXPECT_EQ(d.total_keys, std::nullopt);
}

TEST(InfoRobustnessTest, RandomGarbage) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> len(0, 600);
  for (int i = 0; i < 3000; ++i) {
    std::string s(static_cast<size_t>(len(rng)), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    ParseDataNodeInfo(s);
    ParseSentinelInfo(s);
    SplitHostPort(s);
    ParseSentinelInfoGroup(s);
  }
}

TEST(InfoRobustnessTest, RandomGarbageFromInfoAlphabet) {
  // Garbage made of the characters INFO uses hits the parsers' branches harder.
  const std::string alphabet = "slavedbmstr0123456789:=,#\r\n -[]_kyexpio";
  std::mt19937 rng(54321);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> len(0, 400);
  for (int i = 0; i < 5000; ++i) {
    std::string s;
    int n = len(rng);
    for (int j = 0; j < n; ++j) s += alphabet[pick(rng)];
    DataNodeInfo d = ParseDataNodeInfo(s);
    for (const KeyspaceDb& db : d.keyspace) EXPECT_GE(db.keys, 0);
    if (d.total_keys) {
      EXPECT_GE(*d.total_keys, 0);
    }
    ParseSentinelInfo(s);
    ParseSentinelInfoGroup(s);
  }
}

TEST(InfoRobustnessTest, MutatedCaptures) {
  // Flip bytes of a real capture at random positions.
  std::string text = Load("redis7_primary_info.txt");
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pos(0, text.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 2000; ++i) {
    std::string m = text;
    for (int j = 0; j < 8; ++j) m[pos(rng)] = static_cast<char>(byte(rng));
    DataNodeInfo d = ParseDataNodeInfo(m);
    EXPECT_LE(d.replicas.size(), 2u);
  }
}

TEST(InfoRobustnessTest, VeryLongLinesAndManyLines) {
  std::string long_value(1 << 20, '9');
  DataNodeInfo d =
      ParseDataNodeInfo("master_repl_offset:" + long_value + "\r\n");
  EXPECT_EQ(d.master_repl_offset, std::nullopt);
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "k" + std::to_string(i) + ":v\r\n";
  EXPECT_EQ(ParseInfo(many).fields.size(), 20000u);
}

}  // namespace
}  // namespace redis_ha::parse
