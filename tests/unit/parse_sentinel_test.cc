// Tests of src/parse/sentinel.h against raw RESP replies captured from
// redis-sentinel / redis-server 7.0.15 (tests/testdata, see CAPTURES.txt),
// decoded with hiredis' redisReader as the exporter does, plus hand-built
// Valkey variants and malformed replies.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "parse/sentinel.h"

#ifndef TESTDATA_DIR
#error "TESTDATA_DIR must name tests/testdata"
#endif

namespace redis_ha::parse {
namespace {

using redis::Reply;
using redis::ReplyType;

std::string Load(std::string_view name) {
  std::string path = std::string(TESTDATA_DIR) + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Reply FromHiredis(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS:
      return Reply::Status(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      for (size_t i = 0; i < r->elements; ++i) {
        elements.push_back(FromHiredis(r->element[i]));
      }
      return Reply::Array(std::move(elements));
    }
    default:
      return Reply::Nil();
  }
}

// Every complete reply in `bytes`, decoded with hiredis.
std::vector<Reply> DecodeAll(const std::string& bytes) {
  std::vector<Reply> out;
  redisReader* reader = redisReaderCreate();
  EXPECT_EQ(redisReaderFeed(reader, bytes.data(), bytes.size()), REDIS_OK);
  while (true) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
      ADD_FAILURE() << "hiredis protocol error: " << reader->errstr;
      break;
    }
    if (raw == nullptr) break;
    out.push_back(FromHiredis(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  redisReaderFree(reader);
  return out;
}

// The single reply in a capture file.
Reply LoadReply(std::string_view name) {
  std::vector<Reply> all = DecodeAll(Load(name));
  EXPECT_EQ(all.size(), 1u) << name;
  return all.empty() ? Reply::Nil() : all.front();
}

// ---------------------------------------------------------------- field tables

TEST(FieldArrayTest, SentinelMasterCapture) {
  Result<FieldMap> f = ParseFieldArray(LoadReply("sentinel7_master_g1.resp"));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->size(), 20u);
  EXPECT_EQ(f->at("name"), "g1");
  EXPECT_EQ(f->at("flags"), "master");
  EXPECT_EQ(f->count("failover-state"), 0u);
}

TEST(FieldArrayTest, ShapeErrors) {
  auto expect_reply_error = [](const Reply& r) {
    Result<FieldMap> f = ParseFieldArray(r);
    ASSERT_FALSE(f.ok()) << redis::DebugString(r);
    EXPECT_EQ(f.error().kind, ErrorKind::kReply);
    EXPECT_FALSE(f.error().message.empty());
  };
  expect_reply_error(Reply::Nil());
  expect_reply_error(Reply::Integer(3));
  expect_reply_error(Reply::Status("OK"));
  expect_reply_error(Reply::String("name"));
  expect_reply_error(Reply::StringArray({"name", "g1", "ip"}));  // odd
  expect_reply_error(Reply::Array({Reply::String("port"), Reply::Integer(1)}));
  expect_reply_error(Reply::Array({Reply::String("port"), Reply::Nil()}));
  expect_reply_error(Reply::Array({Reply::Nil(), Reply::String("x")}));
  expect_reply_error(
      Reply::Array({Reply::String("a"), Reply::StringArray({"b", "c"})}));
}

TEST(FieldArrayTest, ErrorReplyCarriesTheServerMessage) {
  Result<FieldMap> f =
      ParseFieldArray(LoadReply("sentinel7_master_unknown.resp"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind, ErrorKind::kReply);
  EXPECT_EQ(f.error().message, "ERR No such master with that name");
}

TEST(FieldArrayTest, EmptyStatusValuesAndDuplicates) {
  Result<FieldMap> f = ParseFieldArray(Reply::Array(
      {Reply::String("a"), Reply::String(""), Reply::Status("b"),
       Reply::Status("x"), Reply::String("a"), Reply::String("2")}));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->at("a"), "2");  // last wins
  EXPECT_EQ(f->at("b"), "x");
  EXPECT_TRUE(ParseFieldArray(Reply::Array({})).ok());
}

TEST(FieldArraysTest, MastersCapture) {
  Result<std::vector<FieldMap>> all =
      ParseFieldArrays(LoadReply("sentinel7_masters_odd_group_names.resp"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].at("name"), "g2,status=ok");
  EXPECT_EQ((*all)[2].at("name"), "odd,name=x y");
}

TEST(FieldArraysTest, Errors) {
  Result<std::vector<FieldMap>> e =
      ParseFieldArrays(LoadReply("sentinel7_replicas_unknown.resp"));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kReply);
  EXPECT_EQ(e.error().message, "ERR No such master with that name");

  e = ParseFieldArrays(Reply::Error("NOPERM this user has no permissions"));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kAuth);

  e = ParseFieldArrays(Reply::Nil());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kReply);

  // A flat array where a table of tables is expected (SENTINEL MASTER vs
  // MASTERS).
  e = ParseFieldArrays(LoadReply("sentinel7_master_g1.resp"));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("entry 0"), std::string::npos)
      << e.error().message;

  e = ParseFieldArrays(Reply::Array(
      {Reply::StringArray({"name", "a"}), Reply::StringArray({"name"})}));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("entry 1"), std::string::npos);

  Result<std::vector<FieldMap>> empty = ParseFieldArrays(Reply::Array({}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ErrorClassificationTest, Predicates) {
  EXPECT_TRUE(IsUnknownCommandError(
      "ERR unknown command 'CONFIG', with args beginning with: 'GET' 'save' "));
  EXPECT_TRUE(IsUnknownCommandError(
      "ERR unknown subcommand 'PRIMARIES'. Try SENTINEL HELP."));
  EXPECT_FALSE(IsUnknownCommandError("ERR No such master with that name"));
  EXPECT_TRUE(IsPermissionError("NOPERM this user has no permissions"));
  EXPECT_TRUE(IsPermissionError("NOAUTH Authentication required."));
  EXPECT_TRUE(IsPermissionError("WRONGPASS invalid username-password pair"));
  EXPECT_FALSE(IsPermissionError("ERR NOPERM"));
  EXPECT_EQ(
      ErrorFromReply(Reply::Error("NOAUTH Authentication required.")).kind,
      ErrorKind::kAuth);
  EXPECT_EQ(ErrorFromReply(Reply::Error("LOADING Redis is loading")).kind,
            ErrorKind::kReply);
  Error not_error = ErrorFromReply(Reply::Integer(1));
  EXPECT_EQ(not_error.kind, ErrorKind::kReply);
  EXPECT_FALSE(not_error.message.empty());
}

// ---------------------------------------------------------------- flags

TEST(SentinelFlagsTest, EveryKnownFlag) {
  SentinelFlags f = ParseSentinelFlags(
      "s_down,o_down,master,slave,sentinel,disconnected,master_down,"
      "failover_in_progress,promoted,reconf_sent,reconf_inprog,reconf_done,"
      "force_failover,script_kill_sent,master_reboot,coordinated_failover");
  EXPECT_TRUE(f.s_down && f.o_down && f.master && f.slave && f.sentinel &&
              f.disconnected && f.master_down && f.failover_in_progress &&
              f.promoted && f.reconf_sent && f.reconf_inprog && f.reconf_done &&
              f.force_failover && f.script_kill_sent && f.master_reboot &&
              f.coordinated_failover);
  EXPECT_TRUE(f.unknown.empty());
}

TEST(SentinelFlagsTest, UnknownEmptyAndSpaces) {
  SentinelFlags f = ParseSentinelFlags(" master , new_flag,,S_DOWN,");
  EXPECT_TRUE(f.master);
  EXPECT_FALSE(f.s_down);  // case matters: Sentinel prints lower case
  EXPECT_EQ(f.unknown, (std::vector<std::string>{"new_flag", "S_DOWN"}));
  SentinelFlags none = ParseSentinelFlags("");
  EXPECT_FALSE(none.master || none.slave || none.sentinel);
  EXPECT_TRUE(none.unknown.empty());
  EXPECT_TRUE(ParseSentinelFlags(",,,").unknown.empty());
}

// ---------------------------------------------------------------- primaries

TEST(SentinelPrimaryTest, SteadyState) {
  Result<std::vector<SentinelPrimary>> all =
      ParseSentinelPrimaries(LoadReply("sentinel7_masters.resp"));
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  const SentinelPrimary& p = (*all)[0];
  EXPECT_EQ(p.name, "g1");
  EXPECT_EQ(p.ip, "127.0.0.1");
  EXPECT_EQ(p.port, 27101);
  EXPECT_EQ(p.runid, "643d0f18f5370e885cded27c6cb43ae1bd978753");
  EXPECT_EQ(p.flags_text, "master");
  EXPECT_TRUE(p.flags.master);
  EXPECT_FALSE(p.flags.s_down || p.flags.o_down || p.flags.disconnected ||
               p.flags.failover_in_progress);
  EXPECT_EQ(p.link_pending_commands, 0);
  EXPECT_EQ(p.link_refcount, 1);
  EXPECT_EQ(p.last_ping_sent_ms, 0);
  EXPECT_EQ(p.last_ok_ping_reply_ms, 512);
  EXPECT_EQ(p.last_ping_reply_ms, 512);
  EXPECT_EQ(p.down_after_ms, 5000);
  EXPECT_EQ(p.s_down_time_ms, std::nullopt);
  EXPECT_EQ(p.o_down_time_ms, std::nullopt);
  EXPECT_EQ(p.failover_state, std::nullopt);
  EXPECT_EQ(p.info_refresh_ms, 5449);
  EXPECT_EQ(p.role_reported, "master");
  EXPECT_EQ(p.role_reported_time_ms, 25503);
  EXPECT_EQ(p.config_epoch, 0);
  EXPECT_EQ(p.num_slaves, 1);
  EXPECT_EQ(p.num_other_sentinels, 1);
  EXPECT_EQ(p.quorum, 1);
  EXPECT_EQ(p.failover_timeout_ms, 20000);
  EXPECT_EQ(p.parallel_syncs, 1);
}

TEST(SentinelPrimaryTest, SingleMasterReply) {
  Result<SentinelPrimary> p =
      ParseSentinelPrimaryReply(LoadReply("sentinel7_master_g1.resp"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "g1");
  EXPECT_EQ(p->quorum, 1);
  Result<SentinelPrimary> unknown =
      ParseSentinelPrimaryReply(LoadReply("sentinel7_master_unknown.resp"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "ERR No such master with that name");
}

TEST(SentinelPrimaryTest, EveryFailoverStateOfAManualFailover) {
  struct Case {
    const char* file;
    const char* state;
  };
  for (const Case& c :
       {Case{"sentinel7_master_g1_failover_wait_start.resp", "wait_start"},
        Case{"sentinel7_master_g1_failover_select_slave.resp", "select_slave"},
        Case{"sentinel7_master_g1_failover_send_slaveof_noone.resp",
             "send_slaveof_noone"},
        Case{"sentinel7_master_g1_failover_wait_promotion.resp",
             "wait_promotion"},
        Case{"sentinel7_master_g1_failover_reconf_slaves.resp",
             "reconf_slaves"}}) {
    SCOPED_TRACE(c.file);
    Result<SentinelPrimary> p = ParseSentinelPrimaryReply(LoadReply(c.file));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->failover_state, c.state);
    EXPECT_TRUE(p->flags.master);
    EXPECT_TRUE(p->flags.failover_in_progress);
    EXPECT_TRUE(p->flags.force_failover);  // SENTINEL FAILOVER
    EXPECT_FALSE(p->flags.o_down);
    EXPECT_EQ(p->config_epoch.has_value(), true);
  }
}

TEST(SentinelPrimaryTest, RightAfterTheSwitch) {
  Result<SentinelPrimary> p = ParseSentinelPrimaryReply(
      LoadReply("sentinel7_master_g1_after_switch.resp"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->port, 27103);
  EXPECT_EQ(p->runid, "");  // not yet learned from INFO
  EXPECT_TRUE(p->flags.master);
  EXPECT_TRUE(p->flags.disconnected);
  EXPECT_FALSE(p->flags.failover_in_progress);
  EXPECT_EQ(p->failover_state, std::nullopt);
  EXPECT_EQ(p->config_epoch, 1);
  EXPECT_EQ(p->num_slaves, 2);
}

TEST(SentinelPrimaryTest, ObjectivelyDownDuringAutomaticFailover) {
  Result<std::vector<SentinelPrimary>> all = ParseSentinelPrimaries(
      LoadReply("sentinel7_masters_odown_failover_wait_start.resp"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  const SentinelPrimary& p = (*all)[0];
  EXPECT_EQ(p.flags_text,
            "s_down,o_down,master,disconnected,failover_in_progress");
  EXPECT_TRUE(p.flags.s_down && p.flags.o_down && p.flags.master &&
              p.flags.disconnected && p.flags.failover_in_progress);
  EXPECT_FALSE(p.flags.force_failover);
  EXPECT_EQ(p.failover_state, "wait_start");
  EXPECT_EQ(p.link_pending_commands, 2);
  EXPECT_EQ(p.last_ping_sent_ms, 5039);
  EXPECT_EQ(p.s_down_time_ms, 12);
  EXPECT_EQ(p.o_down_time_ms, 12);

  Result<std::vector<SentinelPrimary>> later = ParseSentinelPrimaries(
      LoadReply("sentinel7_masters_odown_failover_reconf_slaves.resp"));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ((*later)[0].failover_state, "reconf_slaves");
  EXPECT_TRUE((*later)[0].flags.o_down);
}

TEST(SentinelPrimaryTest, DisconnectedTiltAndReplicaDown) {
  Result<std::vector<SentinelPrimary>> d = ParseSentinelPrimaries(
      LoadReply("sentinel7_masters_primary_disconnected.resp"));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE((*d)[0].flags.disconnected);
  EXPECT_FALSE((*d)[0].flags.s_down);
  EXPECT_EQ((*d)[0].last_ping_sent_ms, 1500);

  Result<std::vector<SentinelPrimary>> t =
      ParseSentinelPrimaries(LoadReply("sentinel7_masters_tilt.resp"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)[0].flags_text, "master");  // TILT is not a per-group flag
  EXPECT_EQ((*t)[0].config_epoch, 2);

  Result<std::vector<SentinelPrimary>> r =
      ParseSentinelPrimaries(LoadReply("sentinel7_masters_replica_down.resp"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].num_slaves, 2);
}

TEST(SentinelPrimaryTest, OddGroupNames) {
  Result<std::vector<SentinelPrimary>> all = ParseSentinelPrimaries(
      LoadReply("sentinel7_masters_odd_group_names.resp"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "g2,status=ok");
  EXPECT_EQ((*all)[0].num_other_sentinels, 0);
  EXPECT_EQ((*all)[0].failover_timeout_ms, 180000);
  EXPECT_EQ((*all)[2].name, "odd,name=x y");
}

TEST(SentinelPrimaryTest, Valkey9HandBuilt) {
  FieldMap f = {{"name", "g"},
                {"ip", "::1"},
                {"port", "6379"},
                {"runid", ""},
                {"flags", "master,failover_in_progress,coordinated_failover"},
                {"failover-state", "update_config"},
                {"quorum", "2"},
                {"num-other-sentinels", "2"},
                {"config-epoch", "18446744073709551615"},  // beyond int64
                {"down-after-milliseconds", "x"}};
  SentinelPrimary p = ParseSentinelPrimary(f);
  EXPECT_EQ(p.ip, "::1");
  EXPECT_TRUE(p.flags.coordinated_failover);
  EXPECT_EQ(p.failover_state, "update_config");
  EXPECT_EQ(p.quorum, 2);
  EXPECT_EQ(p.config_epoch, std::nullopt);
  EXPECT_EQ(p.down_after_ms, std::nullopt);
  EXPECT_EQ(p.parallel_syncs, std::nullopt);
}

TEST(SentinelPrimaryTest, EmptyFieldMap) {
  SentinelPrimary p = ParseSentinelPrimary({});
  EXPECT_EQ(p.name, "");
  EXPECT_EQ(p.port, std::nullopt);
  EXPECT_EQ(p.quorum, std::nullopt);
  EXPECT_FALSE(p.flags.master);
}

// ---------------------------------------------------------------- replicas

TEST(SentinelReplicaTest, SteadyState) {
  Result<std::vector<SentinelReplica>> all =
      ParseSentinelReplicas(LoadReply("sentinel7_replicas_g1.resp"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  const SentinelReplica& r = (*all)[0];
  EXPECT_EQ(r.name, "127.0.0.1:27102");
  EXPECT_EQ(r.ip, "127.0.0.1");
  EXPECT_EQ(r.port, 27102);
  EXPECT_EQ(r.runid, "6429f0f72e0ec156eb045a5dee26715306f9010a");
  EXPECT_TRUE(r.flags.slave);
  EXPECT_FALSE(r.flags.master);
  EXPECT_EQ(r.last_ok_ping_reply_ms, 975);
  EXPECT_EQ(r.down_after_ms, 5000);
  // Replicas carry the INFO-derived fields too (not only primaries).
  EXPECT_EQ(r.info_refresh_ms, 1613);
  EXPECT_EQ(r.role_reported, "slave");
  EXPECT_EQ(r.role_reported_time_ms, 25961);
  EXPECT_EQ(r.master_link_down_time_ms, 0);
  EXPECT_EQ(r.master_link_ok, true);
  EXPECT_EQ(r.master_host, "127.0.0.1");
  EXPECT_EQ(r.master_port, 27101);
  EXPECT_EQ(r.slave_priority, 100);
  EXPECT_EQ(r.slave_repl_offset, 5103);
  EXPECT_EQ(r.replica_announced, true);
}

TEST(SentinelReplicaTest, SlavesAliasGivesTheSameTable) {
  Result<std::vector<FieldMap>> a =
      ParseFieldArrays(LoadReply("sentinel7_replicas_g1.resp"));
  Result<std::vector<FieldMap>> b =
      ParseFieldArrays(LoadReply("sentinel7_slaves_g1.resp"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    std::vector<std::string> ka, kb;
    for (const auto& [k, v] : (*a)[i]) ka.push_back(k);
    for (const auto& [k, v] : (*b)[i]) kb.push_back(k);
    EXPECT_EQ(ka, kb);
  }
}

TEST(SentinelReplicaTest, OneReplicaSubjectivelyDown) {
  Result<std::vector<SentinelReplica>> all =
      ParseSentinelReplicas(LoadReply("sentinel7_replicas_g1_one_sdown.resp"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_FALSE((*all)[0].flags.s_down);
  EXPECT_EQ((*all)[0].s_down_time_ms, std::nullopt);
  const SentinelReplica& down = (*all)[1];
  EXPECT_EQ(down.name, "127.0.0.1:27103");
  EXPECT_EQ(down.flags_text, "s_down,slave,disconnected");
  EXPECT_TRUE(down.flags.s_down && down.flags.slave && down.flags.disconnected);
  EXPECT_EQ(down.s_down_time_ms, 2052);
  EXPECT_EQ(down.link_pending_commands, 3);
  EXPECT_EQ(down.last_ping_sent_ms, 7065);
  // The last INFO it gave still says its link was fine.
  EXPECT_EQ(down.master_link_ok, true);
  EXPECT_EQ(down.slave_repl_offset, 144002);
}

TEST(SentinelReplicaTest, UnannouncedReplicaIsLeftOutBySentinel) {
  // Two replicas were attached; the one with replica-announced no is not
  // listed.
  Result<std::vector<SentinelReplica>> all = ParseSentinelReplicas(
      LoadReply("sentinel7_replicas_g1_unannounced_hidden.resp"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].port, 27101);
  EXPECT_EQ((*all)[0].master_port, 27102);
}

TEST(SentinelReplicaTest, HandBuiltVariants) {
  SentinelReplica r = ParseSentinelReplica({{"master-link-status", "err"},
                                            {"replica-priority", "0"},
                                            {"replica-announced", "0"},
                                            {"master-port", "99999"}});
  EXPECT_EQ(r.master_link_ok, false);
  EXPECT_EQ(r.slave_priority, 0);
  EXPECT_EQ(r.replica_announced, false);
  EXPECT_EQ(r.master_port, std::nullopt);
  SentinelReplica both = ParseSentinelReplica({{"slave-priority", "5"},
                                               {"replica-priority", "7"},
                                               {"master-link-status", "?"}});
  EXPECT_EQ(both.slave_priority, 5);
  EXPECT_EQ(both.master_link_ok, std::nullopt);
  SentinelReplica none = ParseSentinelReplica({});
  EXPECT_EQ(none.master_host, std::nullopt);
  EXPECT_EQ(none.replica_announced, std::nullopt);
}

TEST(SentinelTablesTest, OnePassAgreesWithTheFieldMapOnDuplicatesAndBadValues) {
  // The table parsers read each entry in one pass; a field given twice ends with its last
  // value, a bad last value included, exactly as through ParseFieldArray's map.
  Reply entry = Reply::StringArray(
      {"name", "a", "port", "1", "port", "x", "quorum", "2", "quorum", "3", "flags", "master",
       "flags", "s_down,master,odd", "master-link-status", "ok", "master-link-status", "err",
       "replica-priority", "9", "slave-priority", "bad", "slave-repl-offset", "5",
       "replica-repl-offset", "6", "replica-announced", "1", "replica-announced", "",
       "voted-leader", "?", "voted-leader-epoch", "4", "failover-state", "wait_start",
       "role-reported", "master", "unknown-field", "z", "name", "b"});
  Reply table = Reply::Array({entry, Reply::StringArray({"name", "c"})});
  Result<std::vector<FieldMap>> maps = ParseFieldArrays(table);
  ASSERT_TRUE(maps.ok());
  auto primaries = ParseSentinelPrimaries(table);
  auto replicas = ParseSentinelReplicas(table);
  auto peers = ParseSentinelPeers(table);
  ASSERT_TRUE(primaries.ok() && replicas.ok() && peers.ok());
  for (size_t i = 0; i < maps->size(); ++i) {
    EXPECT_EQ((*primaries)[i], ParseSentinelPrimary((*maps)[i])) << i;
    EXPECT_EQ((*replicas)[i], ParseSentinelReplica((*maps)[i])) << i;
    EXPECT_EQ((*peers)[i], ParseSentinelPeer((*maps)[i])) << i;
  }
  const SentinelReplica& r = (*replicas)[0];
  EXPECT_EQ(r.name, "b");
  EXPECT_EQ(r.port, std::nullopt);  // "x" came last
  EXPECT_TRUE(r.flags.s_down);
  EXPECT_EQ(r.flags.unknown, std::vector<std::string>{"odd"});
  EXPECT_EQ(r.master_link_ok, false);
  EXPECT_EQ(r.slave_priority, 9);  // slave-priority did not parse: replica-priority counts
  EXPECT_EQ(r.slave_repl_offset, 5);
  EXPECT_EQ(r.replica_announced, std::nullopt);
  EXPECT_EQ((*primaries)[0].quorum, 3);
  EXPECT_EQ((*peers)[0].voted_leader_epoch, 4);
}

// ---------------------------------------------------------------- peers

TEST(SentinelPeerTest, PeerUp) {
  Result<std::vector<SentinelPeer>> all =
      ParseSentinelPeers(LoadReply("sentinel7_sentinels_g1.resp"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  const SentinelPeer& s = (*all)[0];
  EXPECT_EQ(s.name, "0036d0958003cb4bcd3506ade84eebfef9e0d24a");
  EXPECT_EQ(s.runid, s.name);
  EXPECT_EQ(s.port, 27112);
  EXPECT_TRUE(s.flags.sentinel);
  EXPECT_EQ(s.last_hello_message_ms, 1972);
  EXPECT_EQ(s.voted_leader, "?");
  EXPECT_EQ(s.voted_leader_epoch, 0);
}

TEST(SentinelPeerTest, PeerDown) {
  Result<std::vector<SentinelPeer>> all =
      ParseSentinelPeers(LoadReply("sentinel7_sentinels_g1_one_sdown.resp"));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  const SentinelPeer& s = (*all)[0];
  EXPECT_TRUE(s.flags.s_down && s.flags.sentinel && s.flags.disconnected);
  EXPECT_EQ(s.s_down_time_ms, 2019);
  EXPECT_EQ(s.last_hello_message_ms, 8271);
  EXPECT_EQ(s.voted_leader_epoch, 2);
}

// ---------------------------------------------------------------- CKQUORUM

TEST(CkquorumTest, Captures) {
  CkquorumResult ok = ParseCkquorum(LoadReply("sentinel7_ckquorum_ok.resp"));
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.usable, 2);
  EXPECT_FALSE(ok.quorum_unreachable || ok.majority_unreachable ||
               ok.no_such_group);
  EXPECT_EQ(ok.message,
            "OK 2 usable Sentinels. Quorum and failover authorization can be "
            "reached");

  CkquorumResult q =
      ParseCkquorum(LoadReply("sentinel7_ckquorum_noquorum_quorum.resp"));
  EXPECT_FALSE(q.ok);
  EXPECT_EQ(q.usable, 2);
  EXPECT_TRUE(q.quorum_unreachable);
  EXPECT_FALSE(q.majority_unreachable);
  EXPECT_FALSE(q.no_such_group);

  CkquorumResult m =
      ParseCkquorum(LoadReply("sentinel7_ckquorum_noquorum_majority.resp"));
  EXPECT_FALSE(m.ok);
  EXPECT_EQ(m.usable, 1);
  EXPECT_FALSE(m.quorum_unreachable);
  EXPECT_TRUE(m.majority_unreachable);

  CkquorumResult b =
      ParseCkquorum(LoadReply("sentinel7_ckquorum_noquorum_both.resp"));
  EXPECT_FALSE(b.ok);
  EXPECT_EQ(b.usable, 1);
  EXPECT_TRUE(b.quorum_unreachable);
  EXPECT_TRUE(b.majority_unreachable);
  EXPECT_EQ(b.message.rfind("NOQUORUM 1 usable Sentinels. ", 0), 0u);

  CkquorumResult u =
      ParseCkquorum(LoadReply("sentinel7_ckquorum_unknown.resp"));
  EXPECT_FALSE(u.ok);
  EXPECT_TRUE(u.no_such_group);
  EXPECT_EQ(u.usable, std::nullopt);
  EXPECT_EQ(u.message, "ERR No such master with that name");

  // A Sentinel in TILT still answers OK.
  CkquorumResult t = ParseCkquorum(LoadReply("sentinel7_ckquorum_tilt.resp"));
  EXPECT_TRUE(t.ok);
  EXPECT_EQ(t.usable, 2);
}

TEST(CkquorumTest, OddReplies) {
  CkquorumResult r = ParseCkquorum(Reply::Integer(1));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.message.empty());
  r = ParseCkquorum(Reply::Nil());
  EXPECT_FALSE(r.ok);
  r = ParseCkquorum(Reply::StringArray({"OK"}));
  EXPECT_FALSE(r.ok);
  r = ParseCkquorum(Reply::Status("OK"));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.usable, std::nullopt);
  r = ParseCkquorum(Reply::Status("OK many usable Sentinels."));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.usable, std::nullopt);
  r = ParseCkquorum(Reply::Status("OK 99999999999999999999 usable"));
  EXPECT_EQ(r.usable, std::nullopt);
  r = ParseCkquorum(Reply::Error("NOQUORUM"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.usable, std::nullopt);
  r = ParseCkquorum(Reply::Error("ERR No such primary with that name"));
  EXPECT_TRUE(r.no_such_group);
  r = ParseCkquorum(Reply::Error("NOAUTH Authentication required."));
  EXPECT_FALSE(r.ok || r.no_such_group || r.quorum_unreachable);
  EXPECT_EQ(r.message, "NOAUTH Authentication required.");
  r = ParseCkquorum(Reply::Status("PONG"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.message, "PONG");
}

// ---------------------------------------------------------------- CONFIG GET

TEST(ConfigGetTest, Captures) {
  Result<FieldMap> save =
      ParseConfigGet(LoadReply("redis7_config_get_save.resp"));
  ASSERT_TRUE(save.ok());
  EXPECT_EQ(*save, (FieldMap{{"save", ""}}));

  Result<FieldMap> multi =
      ParseConfigGet(LoadReply("redis7_config_get_multi.resp"));
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(*multi, (FieldMap{{"appendonly", "no"},
                              {"min-replicas-to-write", "1"},
                              {"repl-backlog-size", "1048576"},
                              {"save", ""}}));

  Result<FieldMap> glob =
      ParseConfigGet(LoadReply("redis7_config_get_glob.resp"));
  ASSERT_TRUE(glob.ok());
  EXPECT_EQ(glob->size(), 10u);
  EXPECT_EQ(glob->at("repl-diskless-sync-delay"), "5");

  Result<FieldMap> unknown =
      ParseConfigGet(LoadReply("redis7_config_get_nosuch.resp"));
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->empty());

  // An alias comes back under the name that was asked for.
  Result<FieldMap> alias =
      ParseConfigGet(LoadReply("redis7_config_get_alias.resp"));
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(*alias, (FieldMap{{"slave-priority", "100"}}));
}

TEST(ConfigGetTest, ErrorReplies) {
  Result<FieldMap> noperm =
      ParseConfigGet(LoadReply("redis7_config_get_noperm.resp"));
  ASSERT_FALSE(noperm.ok());
  EXPECT_EQ(noperm.error().kind, ErrorKind::kAuth);
  EXPECT_TRUE(IsPermissionError(noperm.error().message));
  EXPECT_EQ(
      noperm.error().message,
      "NOPERM this user has no permissions to run the 'config|get' command");

  Result<FieldMap> sentinel =
      ParseConfigGet(LoadReply("sentinel7_config_get_unknown_command.resp"));
  ASSERT_FALSE(sentinel.ok());
  EXPECT_EQ(sentinel.error().kind, ErrorKind::kReply);
  EXPECT_TRUE(IsUnknownCommandError(sentinel.error().message));

  Result<FieldMap> sub =
      ParseConfigGet(LoadReply("sentinel7_primary_command_unknown.resp"));
  ASSERT_FALSE(sub.ok());
  EXPECT_TRUE(IsUnknownCommandError(sub.error().message));

  EXPECT_FALSE(ParseConfigGet(Reply::StringArray({"save"})).ok());
  EXPECT_FALSE(ParseConfigGet(Reply::Nil()).ok());
  EXPECT_FALSE(ParseConfigGet(Reply::Status("OK")).ok());
  EXPECT_FALSE(
      ParseConfigGet(Reply::Array({Reply::String("save"), Reply::Integer(0)}))
          .ok());
}

// ---------------------------------------------------------------- pub/sub

TEST(PubSubMessageTest, PsubscribeSessionCapture) {
  std::vector<Reply> all = DecodeAll(Load("sentinel7_events_psubscribe.resp"));
  ASSERT_EQ(all.size(), 78u);
  std::optional<PubSubMessage> first = ParsePubSubMessage(all[0]);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->kind, PubSubMessage::Kind::kPSubscribe);
  EXPECT_EQ(first->pattern, "*");
  EXPECT_EQ(first->count, 1);
  for (size_t i = 1; i < all.size(); ++i) {
    std::optional<PubSubMessage> m = ParsePubSubMessage(all[i]);
    ASSERT_TRUE(m.has_value()) << i;
    EXPECT_EQ(m->kind, PubSubMessage::Kind::kPMessage);
    EXPECT_EQ(m->pattern, "*");
    EXPECT_FALSE(m->channel.empty());
  }
}

TEST(PubSubMessageTest, SubscribeSessionCapture) {
  std::vector<Reply> all = DecodeAll(Load("sentinel7_events_subscribe.resp"));
  ASSERT_EQ(all.size(), 14u);
  const char* channels[] = {"+switch-master", "+sdown", "+odown"};
  for (int i = 0; i < 3; ++i) {
    std::optional<PubSubMessage> m = ParsePubSubMessage(all[i]);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->kind, PubSubMessage::Kind::kSubscribe);
    EXPECT_EQ(m->channel, channels[i]);
    EXPECT_EQ(m->count, i + 1);
  }
  for (size_t i = 3; i < all.size(); ++i) {
    std::optional<PubSubMessage> m = ParsePubSubMessage(all[i]);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->kind, PubSubMessage::Kind::kMessage);
    EXPECT_TRUE(m->pattern.empty());
  }
}

TEST(PubSubMessageTest, OtherKindsAndWrongShapes) {
  std::optional<PubSubMessage> m = ParsePubSubMessage(Reply::Array(
      {Reply::String("unsubscribe"), Reply::Nil(), Reply::Integer(0)}));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->kind, PubSubMessage::Kind::kUnsubscribe);
  EXPECT_EQ(m->channel, "");
  EXPECT_EQ(m->count, 0);
  m = ParsePubSubMessage(Reply::Array(
      {Reply::String("punsubscribe"), Reply::String("*"), Reply::Integer(2)}));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->kind, PubSubMessage::Kind::kPUnsubscribe);
  EXPECT_EQ(m->pattern, "*");
  m = ParsePubSubMessage(Reply::StringArray({"pong", ""}));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->kind, PubSubMessage::Kind::kPong);
  m = ParsePubSubMessage(Reply::StringArray({"MESSAGE", "c", "p"}));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->payload, "p");

  std::vector<Reply> bad = {
      Reply::Nil(),
      Reply::Status("OK"),
      Reply::Array({}),
      Reply::StringArray({"message"}),
      Reply::StringArray({"message", "c"}),
      Reply::StringArray({"message", "c", "p", "x"}),
      Reply::StringArray({"pmessage", "*", "c"}),
      Reply::StringArray({"subscribe", "c", "1"}),  // count must be an integer
      Reply::StringArray({"foo", "c", "p"}),
      Reply::Array({Reply::Integer(1), Reply::String("c"), Reply::String("p")}),
      Reply::Array(
          {Reply::String("message"), Reply::Nil(), Reply::String("p")}),
      Reply::Array(
          {Reply::String("message"), Reply::String("c"), Reply::Integer(1)}),
      Reply::Array(
          {Reply::String("subscribe"), Reply::Integer(1), Reply::Integer(1)}),
  };
  for (const Reply& r : bad) {
    EXPECT_FALSE(ParsePubSubMessage(r).has_value()) << redis::DebugString(r);
  }
}

// ---------------------------------------------------------------- events

std::vector<SentinelEvent> CapturedEvents() {
  std::vector<SentinelEvent> out;
  for (const Reply& r : DecodeAll(Load("sentinel7_events_psubscribe.resp"))) {
    std::optional<PubSubMessage> m = ParsePubSubMessage(r);
    if (!m || m->kind != PubSubMessage::Kind::kPMessage) continue;
    std::optional<SentinelEvent> e = ParseSentinelEvent(m->channel, m->payload);
    EXPECT_TRUE(e.has_value()) << m->channel << " | " << m->payload;
    if (e) out.push_back(*e);
  }
  return out;
}

const SentinelEvent* FindEvent(
    const std::vector<SentinelEvent>& events, std::string_view name,
    std::function<bool(const SentinelEvent&)> pred = [](const SentinelEvent&) {
      return true;
    }) {
  for (const SentinelEvent& e : events) {
    if (e.event == name && pred(e)) return &e;
  }
  return nullptr;
}

TEST(SentinelEventTest, EveryCapturedEventParses) {
  std::vector<SentinelEvent> events = CapturedEvents();
  ASSERT_EQ(events.size(), 77u);
  for (const SentinelEvent& e : events) {
    SCOPED_TRACE(e.event);
    if (e.event == "+tilt" || e.event == "-tilt" || e.event == "+new-epoch" ||
        e.event == "+vote-for-leader") {
      EXPECT_EQ(e.instance_type, "");
      EXPECT_EQ(e.group, "");
      EXPECT_FALSE(e.note.empty());
      continue;
    }
    EXPECT_FALSE(e.group.empty());
    EXPECT_EQ(e.primary_ip, "127.0.0.1");
    EXPECT_GT(e.primary_port, 27100);
    if (e.event == "+switch-master") continue;
    EXPECT_TRUE(e.instance_type == "master" || e.instance_type == "slave" ||
                e.instance_type == "sentinel")
        << e.instance_type;
    EXPECT_EQ(e.ip, "127.0.0.1");
    EXPECT_GT(e.port, 27100);
  }
}

TEST(SentinelEventTest, ReplicaEvent) {
  std::vector<SentinelEvent> events = CapturedEvents();
  const SentinelEvent* e = FindEvent(
      events, "+sdown",
      [](const SentinelEvent& x) { return x.instance_type == "slave"; });
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->name, "127.0.0.1:27103");
  EXPECT_EQ(e->ip, "127.0.0.1");
  EXPECT_EQ(e->port, 27103);
  EXPECT_EQ(e->group, "g1");
  EXPECT_EQ(e->primary_ip, "127.0.0.1");
  EXPECT_EQ(e->primary_port, 27101);
  EXPECT_EQ(e->note, "");
}

TEST(SentinelEventTest, PrimaryEventsAndNotes) {
  std::vector<SentinelEvent> events = CapturedEvents();
  const SentinelEvent* odown = FindEvent(events, "+odown");
  ASSERT_NE(odown, nullptr);
  EXPECT_EQ(odown->instance_type, "master");
  EXPECT_EQ(odown->name, "g1");
  EXPECT_EQ(odown->group, "g1");
  EXPECT_EQ(odown->port, 27103);
  EXPECT_EQ(odown->primary_port, 27103);
  EXPECT_EQ(odown->note, "#quorum 1/1");

  const SentinelEvent* role = FindEvent(events, "-role-change");
  ASSERT_NE(role, nullptr);
  EXPECT_EQ(role->instance_type, "slave");
  EXPECT_EQ(role->group, "g1");
  EXPECT_EQ(role->note, "new reported role is master");

  const SentinelEvent* set = FindEvent(events, "+set");
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->note, "quorum 3");
}

TEST(SentinelEventTest, SwitchMaster) {
  std::vector<SentinelEvent> events = CapturedEvents();
  const SentinelEvent* e = FindEvent(events, "+switch-master");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->instance_type, "");
  EXPECT_EQ(e->group, "g1");
  EXPECT_EQ(e->old_ip, "127.0.0.1");
  EXPECT_EQ(e->old_port, 27101);
  EXPECT_EQ(e->new_ip, "127.0.0.1");
  EXPECT_EQ(e->new_port, 27103);
  EXPECT_EQ(e->primary_port, 27103);
}

TEST(SentinelEventTest, SentinelPeerEvent) {
  std::vector<SentinelEvent> events = CapturedEvents();
  const SentinelEvent* e = FindEvent(
      events, "+sdown",
      [](const SentinelEvent& x) { return x.instance_type == "sentinel"; });
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->name, "0036d0958003cb4bcd3506ade84eebfef9e0d24a");
  EXPECT_EQ(e->port, 27112);
  EXPECT_EQ(e->group, "g1");
  EXPECT_EQ(e->primary_port, 27102);
}

TEST(SentinelEventTest, TiltAndOtherBareEvents) {
  std::vector<SentinelEvent> events = CapturedEvents();
  const SentinelEvent* tilt = FindEvent(events, "+tilt");
  ASSERT_NE(tilt, nullptr);
  EXPECT_EQ(tilt->note, "#tilt mode entered");  // with the '#'
  EXPECT_EQ(tilt->group, "");
  const SentinelEvent* untilt = FindEvent(events, "-tilt");
  ASSERT_NE(untilt, nullptr);
  EXPECT_EQ(untilt->note, "#tilt mode exited");
  const SentinelEvent* epoch = FindEvent(events, "+new-epoch");
  ASSERT_NE(epoch, nullptr);
  EXPECT_EQ(epoch->note, "1");
  const SentinelEvent* vote = FindEvent(events, "+vote-for-leader");
  ASSERT_NE(vote, nullptr);
  EXPECT_EQ(vote->note, "f157a28c489a7f127da3854efd127f828fb2e037 1");
}

TEST(SentinelEventTest, GroupNamesWithSpacesAndCommas) {
  std::vector<SentinelEvent> events = CapturedEvents();
  const SentinelEvent* monitor =
      FindEvent(events, "+monitor", [](const SentinelEvent& x) {
        return x.name.find(' ') != std::string::npos;
      });
  ASSERT_NE(monitor, nullptr);
  EXPECT_EQ(monitor->name, "odd,name=x y");
  EXPECT_EQ(monitor->group, "odd,name=x y");
  EXPECT_EQ(monitor->port, 27102);
  EXPECT_EQ(monitor->note, "quorum 1");
  const SentinelEvent* slave = FindEvent(
      events, "+slave",
      [](const SentinelEvent& x) { return x.group == "odd,name=x y"; });
  ASSERT_NE(slave, nullptr);
  EXPECT_EQ(slave->primary_port, 27102);
  EXPECT_EQ(slave->note, "");
  const SentinelEvent* removed = FindEvent(
      events, "-monitor",
      [](const SentinelEvent& x) { return x.group == "g2,status=ok"; });
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->note, "");
}

TEST(SentinelEventTest, HandWrittenForms) {
  auto e =
      ParseSentinelEvent("+switch-master", "my group 10.0.0.1 6379 ::1 6380");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->group, "my group");
  EXPECT_EQ(e->new_ip, "::1");
  EXPECT_EQ(e->new_port, 6380);

  e = ParseSentinelEvent("+sdown", "slave [::1]:6380 ::1 6380 @ g1 ::1 6379");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->name, "[::1]:6380");
  EXPECT_EQ(e->ip, "::1");
  EXPECT_EQ(e->primary_ip, "::1");
  EXPECT_EQ(e->primary_port, 6379);

  e = ParseSentinelEvent("+sdown", "master 5 10.0.0.1 6379");  // numeric name
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->group, "5");
  EXPECT_EQ(e->ip, "10.0.0.1");

  e = ParseSentinelEvent("+sdown", "master a 1 2 10.0.0.1 6379 #note");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->group, "a 1 2");
  EXPECT_EQ(e->note, "#note");

  e = ParseSentinelEvent("+sdown", "master g  10.0.0.1 6379");  // double space
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->group, "g ");
  EXPECT_EQ(e->ip, "10.0.0.1");

  // Valkey: same payloads; a coordinated failover event is counted like any
  // other.
  e = ParseSentinelEvent("+failover-state-wait-promotion",
                         "slave 10.0.0.2:6379 10.0.0.2 6379 @ g 10.0.0.1 6379");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->instance_type, "slave");

  // A replica event with no group part.
  e = ParseSentinelEvent("+x", "slave 10.0.0.2:6379 10.0.0.2 6379");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->instance_type, "slave");
  EXPECT_EQ(e->group, "");
}

TEST(SentinelEventTest, NotEventsAndMalformedPayloads) {
  EXPECT_FALSE(ParseSentinelEvent("", "master g 1.2.3.4 5").has_value());
  EXPECT_FALSE(ParseSentinelEvent("__sentinel__:hello", "a,b,c").has_value());
  EXPECT_FALSE(ParseSentinelEvent("sdown", "master g 1.2.3.4 5").has_value());

  for (std::string_view payload :
       {"", " ", "master", "master g1", "master g1 127.0.0.1",
        "master g1 127.0.0.1 port", "master g1 127.0.0.1 70000",
        "slave 1.2.3.4:5 1.2.3.4 5 @", "slave 1.2.3.4:5 1.2.3.4 5 @ g1",
        "slave 1.2.3.4:5 1.2.3.4 5 @ g1 1.2.3.4", "replica a 1.2.3.4 5",
        "sentinel x 1 2"}) {
    std::optional<SentinelEvent> e = ParseSentinelEvent("+sdown", payload);
    ASSERT_TRUE(e.has_value()) << payload;
    EXPECT_EQ(e->instance_type, "") << payload;
    EXPECT_EQ(e->group, "") << payload;
    EXPECT_EQ(e->note, payload);
  }
  for (std::string_view payload :
       {"", "g1", "g1 1.2.3.4 5 6.7.8.9", "g1 1.2.3.4 x 6.7.8.9 1",
        " 1.2.3.4 5 6.7.8.9 1", "1.2.3.4 5 6.7.8.9 1"}) {
    std::optional<SentinelEvent> e =
        ParseSentinelEvent("+switch-master", payload);
    ASSERT_TRUE(e.has_value()) << payload;
    EXPECT_EQ(e->group, "") << payload;
    EXPECT_EQ(e->new_port, 0) << payload;
    EXPECT_EQ(e->note, payload);
  }
}

// ---------------------------------------------------------------- robustness

TEST(SentinelParseRobustnessTest, EveryPrefixOfEveryCapturedPayload) {
  for (const Reply& r : DecodeAll(Load("sentinel7_events_psubscribe.resp"))) {
    std::optional<PubSubMessage> m = ParsePubSubMessage(r);
    if (!m || m->kind != PubSubMessage::Kind::kPMessage) continue;
    for (size_t cut = 0; cut <= m->payload.size(); ++cut) {
      std::string_view prefix(m->payload.data(), cut);
      std::optional<SentinelEvent> e = ParseSentinelEvent(m->channel, prefix);
      ASSERT_TRUE(e.has_value());
      if (!e->instance_type.empty()) {
        // Whatever was recognised is a piece of the text.
        EXPECT_NE(prefix.find(e->ip), std::string_view::npos);
        EXPECT_NE(prefix.find(e->name), std::string_view::npos);
      }
      for (size_t c = 0; c <= m->channel.size(); ++c) {
        ParseSentinelEvent(std::string_view(m->channel.data(), c), prefix);
      }
    }
  }
}

// All the table captures, for the mutation tests below.
std::vector<std::string> TableCaptures() {
  return {"sentinel7_masters.resp", "sentinel7_masters_odd_group_names.resp",
          "sentinel7_masters_odown_failover_wait_start.resp",
          "sentinel7_replicas_g1_one_sdown.resp",
          "sentinel7_sentinels_g1_one_sdown.resp"};
}

void ParseAllWays(const Reply& r) {
  (void)ParseFieldArray(r);
  (void)ParseFieldArrays(r);
  (void)ParseSentinelPrimaries(r);
  (void)ParseSentinelReplicas(r);
  (void)ParseSentinelPeers(r);
  (void)ParseSentinelPrimaryReply(r);
  (void)ParseCkquorum(r);
  (void)ParseConfigGet(r);
  (void)ParsePubSubMessage(r);
}

TEST(SentinelParseRobustnessTest, TablesWithAnElementDroppedOrReplaced) {
  const std::vector<Reply> replacements = {Reply::Nil(), Reply::Integer(-1),
                                           Reply::Error("ERR x"),
                                           Reply::StringArray({"a", "b"})};
  for (const std::string& file : TableCaptures()) {
    SCOPED_TRACE(file);
    Reply table = LoadReply(file);
    ASSERT_TRUE(table.is_array());
    ASSERT_TRUE(ParseFieldArrays(table).ok());
    for (size_t row = 0; row < table.elements.size(); ++row) {
      // Truncated row: odd length.
      Reply cut = table;
      cut.elements[row].elements.pop_back();
      EXPECT_FALSE(ParseSentinelPrimaries(cut).ok());
      EXPECT_FALSE(ParseSentinelReplicas(cut).ok());
      EXPECT_FALSE(ParseSentinelPeers(cut).ok());
      ParseAllWays(cut);
      // Each element replaced by something of the wrong type.
      for (size_t i = 0; i < table.elements[row].elements.size(); ++i) {
        for (const Reply& bad : replacements) {
          Reply m = table;
          m.elements[row].elements[i] = bad;
          EXPECT_FALSE(ParseSentinelPrimaries(m).ok());
          ParseAllWays(m);
        }
      }
      // The row itself replaced.
      for (const Reply& bad : replacements) {
        Reply m = table;
        m.elements[row] = bad;
        ParseAllWays(m);
      }
    }
  }
}

TEST(SentinelParseRobustnessTest, TablesWithEveryValueTruncated) {
  for (const std::string& file : TableCaptures()) {
    SCOPED_TRACE(file);
    Reply table = LoadReply(file);
    for (size_t row = 0; row < table.elements.size(); ++row) {
      const std::vector<Reply>& fields = table.elements[row].elements;
      for (size_t i = 1; i < fields.size(); i += 2) {
        for (size_t len = 0; len < fields[i].str.size(); ++len) {
          Reply m = table;
          m.elements[row].elements[i].str.resize(len);
          Result<std::vector<SentinelReplica>> r = ParseSentinelReplicas(m);
          ASSERT_TRUE(r.ok());
          Result<std::vector<SentinelPrimary>> p = ParseSentinelPrimaries(m);
          ASSERT_TRUE(p.ok());
          ParseSentinelPeers(m);
        }
      }
    }
  }
}

Reply RandomReply(std::mt19937& rng, int depth) {
  static const std::vector<std::string> words = {"name",
                                                 "flags",
                                                 "port",
                                                 "s_down,master",
                                                 "message",
                                                 "pmessage",
                                                 "subscribe",
                                                 "OK 3 usable",
                                                 "NOQUORUM 1",
                                                 "-1",
                                                 "99999999999999999999",
                                                 "",
                                                 "ip",
                                                 "quorum",
                                                 "master g 1.2.3.4 5",
                                                 "127.0.0.1"};
  std::uniform_int_distribution<int> kind(0, depth > 0 ? 6 : 4);
  std::uniform_int_distribution<size_t> word(0, words.size() - 1);
  switch (kind(rng)) {
    case 0:
      return Reply::String(words[word(rng)]);
    case 1:
      return Reply::Status(words[word(rng)]);
    case 2:
      return Reply::Error(words[word(rng)]);
    case 3:
      return Reply::Integer(static_cast<int64_t>(rng()) - (1LL << 31));
    case 4:
      return Reply::Nil();
    default: {
      std::uniform_int_distribution<int> n(0, 6);
      std::vector<Reply> e;
      for (int i = n(rng); i > 0; --i) e.push_back(RandomReply(rng, depth - 1));
      return Reply::Array(std::move(e));
    }
  }
}

TEST(SentinelParseRobustnessTest, RandomReplyTrees) {
  std::mt19937 rng(2024);
  for (int i = 0; i < 20000; ++i) ParseAllWays(RandomReply(rng, 3));
}

TEST(SentinelParseRobustnessTest, RandomEventPayloads) {
  const std::string alphabet = "masterslvn@ 0123456789.:[]g,#";
  std::mt19937 rng(99);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<int> len(0, 80);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    for (int j = len(rng); j > 0; --j) {
      s += (i % 4 == 0) ? static_cast<char>(byte(rng)) : alphabet[pick(rng)];
    }
    for (const char* channel : {"+sdown", "+switch-master", "-odown"}) {
      std::optional<SentinelEvent> e = ParseSentinelEvent(channel, s);
      ASSERT_TRUE(e.has_value());
      EXPECT_GE(e->port, 0);
      EXPECT_LE(e->port, 65535);
    }
    ParseSentinelFlags(s);
  }
}

}  // namespace
}  // namespace redis_ha::parse
