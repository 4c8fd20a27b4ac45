// Hostile and broken servers against the real exporter binary.
//
// One exporter watches a real lab group (mymaster: a primary, a replica, a Sentinel) and, through
// a scripted Sentinel (RespServer) given as a second seed, one group per misbehaving data node:
// garbage bytes, a reply that never ends, one byte per second, a 200 MB INFO, a 10-million-
// element array, a reset mid-reply, wrong reply types, an error reply, a primary that does not
// exist, a primary that is the Sentinel itself, and a group whose name carries quotes, a
// newline and <script>. More seeds are misbehaving Sentinels. The suite checks that every
// hostile target is down with the right reason, that the exporter's memory stays bounded, that
// the lab group keeps its poll interval, that the HTTP endpoints keep answering, and that
// /metrics (promtool), /api/v1/groups (python3 json) and the HTML page escape what the servers
// sent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "lab/lab.h"
#include "support/exporter_process.h"
#include "support/metrics_text.h"
#include "support/resp_server.h"

namespace redis_ha {
namespace {

using namespace std::chrono_literals;
using testing::ExporterProcess;
using testing::RespServer;
using testing::Sample;
using testing::Select;
using testing::Value;
namespace resp = testing::resp;
namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("rha-hostile-" + std::to_string(::getpid()) + "-" + name);
  fs::create_directories(p);
  return p;
}

std::string RunCapture(const std::string& cmd, int* status) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  *status = ::pclose(f);
  return out;
}

// VmRSS of a process in MiB (-1 when unreadable).
double RssMiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

// The RSS bound: generous, and larger when the exporter runs under AddressSanitizer (shadow
// memory and the quarantine of freed blocks); tests/sanitize sets it.
double RssLimitMiB() {
  const char* v = std::getenv("REDIS_HA_TEST_RSS_LIMIT_MB");
  return v != nullptr ? std::stod(v) : 200.0;
}

bool Is(const std::optional<double>& v, double want) { return v && *v == want; }

// How a scripted data node answers INFO.
enum class Behaviour {
  kHealthy,     // a healthy primary
  kGarbage,     // bytes that are not RESP
  kStall,       // the start of a reply, then nothing: a reply that never ends
  kDrip,        // a valid INFO, one byte per second
  kHugeInfo,    // a 200 MB bulk string, streamed as fast as it is read
  kHugeArray,   // an array announcing 10 million elements, then elements
  kNestedArrays,  // arrays of the largest accepted size, nested as deep as hiredis allows
  kReset,       // half a reply, then a TCP reset
  kWrongType,   // INFO answered with an integer
  kErrorReply,  // INFO answered with an error
};

const char* Name(Behaviour b) {
  switch (b) {
    case Behaviour::kHealthy: return "healthy";
    case Behaviour::kGarbage: return "garbage";
    case Behaviour::kStall: return "stall";
    case Behaviour::kDrip: return "drip";
    case Behaviour::kHugeInfo: return "huge-info";
    case Behaviour::kHugeArray: return "huge-array";
    case Behaviour::kNestedArrays: return "nested-arrays";
    case Behaviour::kReset: return "reset";
    case Behaviour::kWrongType: return "wrong-type";
    case Behaviour::kErrorReply: return "error-reply";
  }
  return "?";
}

// Streams `header` then `chunk` repeatedly until `total` bytes or the peer gives up.
void Stream(RespServer::Conn& c, const std::string& header, size_t total) {
  if (!c.Send(header)) return;
  const std::string chunk(1 << 16, 'x');
  for (size_t sent = 0; sent < total && !c.Stopping();) {
    size_t n = std::min(chunk.size(), total - sent);
    if (!c.Send(std::string_view(chunk).substr(0, n))) return;
    sent += n;
  }
  c.Hold();
}

std::unique_ptr<RespServer> DataNode(Behaviour b) {
  auto port = std::make_shared<int>(0);
  auto server = std::make_unique<RespServer>([b, port](RespServer::Conn& c,
                                                       const std::vector<std::string>& cmd) {
    const std::string info = resp::PrimaryInfo(*port);
    if (cmd[0] == "PING") {
      c.Send(resp::Simple("PONG"));
    } else if (cmd[0] == "CONFIG" && cmd.size() >= 3) {
      c.Send(b == Behaviour::kWrongType ? resp::Integer(1) : resp::ConfigGet(cmd[2]));
    } else if (cmd[0] != "INFO") {
      c.Send(resp::Error("ERR unknown command"));
    } else {
      switch (b) {
        case Behaviour::kHealthy: c.Send(resp::Bulk(info)); break;
        case Behaviour::kGarbage:
          c.Send(std::string("\x00\x01garbage\xff\xfe\r\n!?\r\n", 16));
          c.Hold();
          break;
        case Behaviour::kStall:
          c.Send("$" + std::to_string(info.size()) + "\r\n" + info.substr(0, 20));
          c.Hold();
          break;
        case Behaviour::kDrip: {
          std::string all = resp::Bulk(info);
          for (char ch : all) {
            if (!c.Send(std::string(1, ch)) || !c.Sleep(1s)) break;
          }
          c.Hold();
          break;
        }
        case Behaviour::kHugeInfo: {
          const size_t size = 200u << 20;
          Stream(c, "$" + std::to_string(size) + "\r\n", size);
          break;
        }
        case Behaviour::kHugeArray: {
          std::string elems;
          for (int i = 0; i < 4096; ++i) elems += ":1\r\n";
          if (!c.Send("*10000000\r\n")) break;
          while (!c.Stopping() && c.Send(elems)) {
          }
          c.Hold();
          break;
        }
        case Behaviour::kNestedArrays: {
          // 7 levels of 1048576 (the exporter's element limit) in 77 bytes: each level makes
          // the reader allocate a million elements before any of them arrives.
          std::string nested;
          for (int i = 0; i < 7; ++i) nested += "*1048576\r\n";
          c.Send(nested);
          c.Hold();
          break;
        }
        case Behaviour::kReset: {
          std::string all = resp::Bulk(info);
          c.Send(all.substr(0, all.size() / 2));
          std::this_thread::sleep_for(20ms);
          c.Reset();
          break;
        }
        case Behaviour::kWrongType: c.Send(resp::Integer(42)); break;
        case Behaviour::kErrorReply: c.Send(resp::Error("ERR this node will not say")); break;
      }
    }
  });
  *port = server->port();
  return server;
}

// A group name with everything that needs escaping somewhere.
const std::string kWeirdGroup = "we\"ird\\ \nname <script>alert(1)</script> & 'q'";
// A group name that is not UTF-8 (a lone byte 0xff, a UTF-8-encoded surrogate, an overlong
// encoding of '<'): JSON and the Prometheus text format both need valid UTF-8.
const std::string kBinaryGroup = "bin\xff-\xed\xa0\x80-\xc0\xbc-\xe0\x80\xbc-end";

struct GroupSpec {
  std::string name;
  std::string host;
  int port;
};

// A Sentinel that monitors `groups` (read at each SENTINEL MASTERS) and reports itself in its
// peer list when `self_peer` is set.
// With `flood`, its event subscription gets 100 "+sdown" messages about the first group
// every 10 ms.
std::unique_ptr<RespServer> FakeSentinel(std::shared_ptr<std::vector<GroupSpec>> groups,
                                         bool flood = false) {
  auto port = std::make_shared<int>(0);
  auto server = std::make_unique<RespServer>([groups, port, flood](
                                                 RespServer::Conn& c,
                                                 const std::vector<std::string>& cmd) {
    if (cmd[0] == "PING") {
      c.Send(resp::Simple("PONG"));
    } else if (cmd[0] == "INFO") {
      c.Send(resp::Bulk(resp::SentinelInfo(*port, groups->size())));
    } else if (cmd[0] == "PSUBSCRIBE") {
      c.Send(resp::PSubscribed());
      if (!flood || groups->empty()) {
        c.Hold();
        return;
      }
      const GroupSpec& g = groups->front();
      std::string burst;
      for (int i = 0; i < 100; ++i) {
        burst += resp::Array({resp::Bulk("pmessage"), resp::Bulk("*"), resp::Bulk("+sdown"),
                              resp::Bulk("master " + g.name + " " + g.host + " " +
                                         std::to_string(g.port))});
      }
      while (c.Send(burst) && c.Sleep(10ms)) {
      }
    } else if (cmd[0] == "SENTINEL" && cmd.size() >= 2) {
      const std::string& sub = cmd[1];
      if (sub == "MASTERS") {
        std::vector<std::string> entries;
        for (const auto& g : *groups) entries.push_back(resp::PrimaryEntry(g.name, g.host, g.port));
        c.Send(resp::Array(entries));
      } else if (sub == "MASTER" && cmd.size() >= 3) {
        auto it = std::find_if(groups->begin(), groups->end(),
                               [&](const GroupSpec& g) { return g.name == cmd[2]; });
        c.Send(it == groups->end() ? resp::Error("ERR No such master with that name")
                                   : resp::PrimaryEntry(it->name, it->host, it->port));
      } else if (sub == "CKQUORUM") {
        c.Send(resp::CkquorumOk());
      } else if (sub == "REPLICAS" || sub == "SLAVES") {
        c.Send(resp::Array({}));
      } else if (sub == "SENTINELS") {
        // Names itself as its own peer: must not count as another Sentinel.
        c.Send(resp::Array({resp::PeerEntry("127.0.0.1", *port)}));
      } else {
        c.Send(resp::Error("ERR unknown subcommand"));
      }
    } else {
      c.Send(resp::Error("ERR unknown command '" + cmd[0] + "'"));
    }
  });
  *port = server->port();
  return server;
}

// How a misbehaving seed Sentinel answers.
// kStallInTables: INFO whole, then the start of SENTINEL MASTERS and nothing more. Its
// answer is read reply by reply (INFO before the rest comes); cut short, it must count as
// none: down (timeout), and nothing of its INFO shown.
enum class SentinelBehaviour {
  kGarbage,
  kMastersWrongType,
  kDataNode,
  kReset,
  kHugeMasters,
  kStall,
  kStallInTables
};

std::unique_ptr<RespServer> HostileSentinel(SentinelBehaviour b) {
  auto port = std::make_shared<int>(0);
  auto server = std::make_unique<RespServer>([b, port](RespServer::Conn& c,
                                                       const std::vector<std::string>& cmd) {
    const std::string info = resp::SentinelInfo(*port, 1);
    if (b == SentinelBehaviour::kGarbage) {
      c.Send("\xff\xfe not RESP at all\r\n");
      c.Hold();
      return;
    }
    if (cmd[0] == "PSUBSCRIBE") {
      c.Send(resp::PSubscribed());
      c.Hold();
      return;
    }
    if (cmd[0] == "INFO") {
      switch (b) {
        case SentinelBehaviour::kDataNode: c.Send(resp::Bulk(resp::PrimaryInfo(*port))); return;
        case SentinelBehaviour::kReset: {
          std::string all = resp::Bulk(info);
          c.Send(all.substr(0, all.size() / 3));
          std::this_thread::sleep_for(20ms);
          c.Reset();
          return;
        }
        case SentinelBehaviour::kStall:
          c.Send("$" + std::to_string(info.size()) + "\r\n# Server\r\n");
          c.Hold();
          return;
        default: c.Send(resp::Bulk(info)); return;
      }
    }
    if (cmd[0] == "SENTINEL" && cmd.size() >= 2 && cmd[1] == "MASTERS") {
      if (b == SentinelBehaviour::kMastersWrongType) {
        c.Send(resp::Bulk("masters? what masters"));
      } else if (b == SentinelBehaviour::kStallInTables) {
        c.Send("*1\r\n*2\r\n$4\r\nname\r\n");
        c.Hold();
      } else if (b == SentinelBehaviour::kHugeMasters) {
        const size_t size = 200u << 20;
        Stream(c, "*1\r\n*2\r\n$4\r\nname\r\n$" + std::to_string(size) + "\r\n", size);
      } else {
        c.Send(resp::Array({}));
      }
      return;
    }
    c.Send(resp::Error("ERR unknown command"));
  });
  *port = server->port();
  return server;
}

const char* Name(SentinelBehaviour b) {
  switch (b) {
    case SentinelBehaviour::kGarbage: return "garbage";
    case SentinelBehaviour::kMastersWrongType: return "masters-wrong-type";
    case SentinelBehaviour::kDataNode: return "data-node";
    case SentinelBehaviour::kReset: return "reset";
    case SentinelBehaviour::kHugeMasters: return "huge-masters";
    case SentinelBehaviour::kStall: return "stall";
    case SentinelBehaviour::kStallInTables:
      return "stall-in-tables";
  }
  return "?";
}

// What /api/v1/groups says about every node and Sentinel: "node <addr> <up> <reason>" and
// "sentinel <addr> <up> <reason>" lines, from python3's json module (which also proves the
// body is valid JSON in strict UTF-8). Group names are printed as JSON strings.
struct ApiView {
  bool valid = false;
  std::string error;
  std::map<std::string, std::pair<bool, std::string>> nodes, sentinels;
  std::set<std::string> groups;
};

ApiView ReadApi(const std::string& body) {
  ApiView v;
  fs::path f = TempDir("api") / "groups.json";
  std::ofstream(f, std::ios::binary) << body;
  const char* script =
      "import json,sys\n"
      "d=json.load(open(sys.argv[1],encoding='utf-8'))\n"
      "for s in d['sentinels']:\n"
      "  print('sentinel',s['address'],int(s['up']),(s['error'] or {}).get('reason','-'))\n"
      "for g in d['groups']:\n"
      "  print('group',json.dumps(g['name']))\n"
      "  for n in g['nodes']:\n"
      "    print('node',n['address'],int(n['up']),(n['error'] or {}).get('reason','-'))\n";
  fs::path py = f.parent_path() / "read.py";
  std::ofstream(py) << script;
  int status = 0;
  std::string out = RunCapture("python3 " + py.string() + " " + f.string() + " 2>&1", &status);
  if (status != 0) {
    v.error = out;
    return v;
  }
  v.valid = true;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kind;
    ls >> kind;
    if (kind == "group") {
      v.groups.insert(line.substr(6));
      continue;
    }
    std::string addr, reason;
    int up = 0;
    ls >> addr >> up >> reason;
    (kind == "node" ? v.nodes : v.sentinels)[addr] = {up != 0, reason};
  }
  return v;
}

class HostileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    lab::LabOptions o;
    o.replicas = 1;
    o.sentinels = 1;
    o.quorum = 1;
    lab_ = new lab::Lab(o);
    Status ls = lab_->Start();
    ASSERT_TRUE(ls.ok()) << ls.error().message;

    auto groups = std::make_shared<std::vector<GroupSpec>>();
    for (Behaviour b : {Behaviour::kGarbage, Behaviour::kStall, Behaviour::kDrip,
                        Behaviour::kHugeInfo, Behaviour::kHugeArray, Behaviour::kReset,
                        Behaviour::kWrongType, Behaviour::kErrorReply}) {
      nodes_[b] = DataNode(b).release();
      groups->push_back({std::string("hostile-") + Name(b), "127.0.0.1", nodes_[b]->port()});
    }
    healthy_ = DataNode(Behaviour::kHealthy).release();
    groups->push_back({kWeirdGroup, "127.0.0.1", healthy_->port()});
    missing_port_ = lab::FreePort();  // nothing listens there
    groups->push_back({"hostile-missing", "127.0.0.1", missing_port_});
    sentinel_ = FakeSentinel(groups).release();
    // The Sentinel names itself as the primary of a group.
    groups->push_back({"hostile-self", "127.0.0.1", sentinel_->port()});

    std::vector<std::string> args = {"--sentinel", lab_->sentinels()[0]->address(),
                                     "--sentinel", sentinel_->address()};
    for (SentinelBehaviour b :
         {SentinelBehaviour::kGarbage, SentinelBehaviour::kMastersWrongType,
          SentinelBehaviour::kDataNode, SentinelBehaviour::kReset, SentinelBehaviour::kHugeMasters,
          SentinelBehaviour::kStall, SentinelBehaviour::kStallInTables}) {
      sentinels_[b] = HostileSentinel(b).release();
      args.push_back("--sentinel");
      args.push_back(sentinels_[b]->address());
    }
    // The 1 MiB reply limit (every honest reply here is a few KB) is crossed well within the
    // 400 ms timeout even on a loaded machine with a sanitized build, so oversized replies
    // fail as "protocol", not "timeout". (At 4 MiB, a sanitized build beside ctest -j4 and
    // four busy loops on 2 cores read them as timeouts for 15 s on end.)
    for (const char* a : {"--poll.interval", "600ms", "--poll.timeout", "400ms",
                          "--poll.max-reply-bytes", "1048576"}) {
      args.push_back(a);
    }
    exporter_ = new ExporterProcess(EXPORTER_BINARY, args, TempDir("exporter") / "exporter.log");
    Status s = exporter_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  static void TearDownTestSuite() {
    delete exporter_;
    exporter_ = nullptr;
    delete sentinel_;
    for (auto& [b, s] : sentinels_) delete s;
    sentinels_.clear();
    for (auto& [b, s] : nodes_) delete s;
    nodes_.clear();
    delete healthy_;
    delete lab_;
  }
  void TearDown() override {
    if (HasFailure() && exporter_ != nullptr) std::cerr << "exporter log:\n" << exporter_->Log();
  }

  // Every hostile target is down, every good one up (the weird group's node included).
  static bool Settled(const std::vector<Sample>& m) {
    for (auto& [b, s] : nodes_) {
      if (!Is(Value(m, "redis_ha_node_up", {{"node", s->address()}}), 0)) return false;
    }
    for (auto& [b, s] : sentinels_) {
      if (!Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", s->address()}}), 0)) return false;
    }
    if (!Is(Value(m, "redis_ha_node_up", {{"node", healthy_->address()}}), 1)) return false;
    for (auto* n : lab_->data_nodes()) {
      if (!Is(Value(m, "redis_ha_node_up", {{"node", n->address()}}), 1)) return false;
    }
    return Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", sentinel_->address()}}), 1);
  }

  static lab::Lab* lab_;
  static ExporterProcess* exporter_;
  static RespServer* sentinel_;
  static RespServer* healthy_;
  static int missing_port_;
  static std::map<Behaviour, RespServer*> nodes_;
  static std::map<SentinelBehaviour, RespServer*> sentinels_;
};
lab::Lab* HostileTest::lab_ = nullptr;
ExporterProcess* HostileTest::exporter_ = nullptr;
RespServer* HostileTest::sentinel_ = nullptr;
RespServer* HostileTest::healthy_ = nullptr;
int HostileTest::missing_port_ = 0;
std::map<Behaviour, RespServer*> HostileTest::nodes_;
std::map<SentinelBehaviour, RespServer*> HostileTest::sentinels_;

TEST_F(HostileTest, EveryHostileTargetIsDownWithTheRightReason) {
  ASSERT_TRUE(exporter_->WaitForMetrics(Settled, 20s)) << exporter_->Get("/metrics").body;
  // The drip node needs a whole poll timeout per cycle to fail: give every target a few
  // cycles.
  double cycles = *Value(exporter_->Scrape(), "redis_ha_exporter_poll_cycles_total");
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) { return *Value(m, "redis_ha_exporter_poll_cycles_total") >= cycles + 3; },
      10s));

  const std::map<Behaviour, std::string> want_node = {
      {Behaviour::kGarbage, "protocol"},   {Behaviour::kStall, "timeout"},
      {Behaviour::kDrip, "timeout"},       {Behaviour::kHugeInfo, "protocol"},
      {Behaviour::kHugeArray, "protocol"}, {Behaviour::kReset, "protocol"},
      {Behaviour::kWrongType, "reply"},    {Behaviour::kErrorReply, "reply"},
  };
  const std::map<SentinelBehaviour, std::string> want_sentinel = {
      {SentinelBehaviour::kGarbage, "protocol"},
      {SentinelBehaviour::kMastersWrongType, "reply"},
      {SentinelBehaviour::kDataNode, "reply"},
      {SentinelBehaviour::kReset, "protocol"},
      {SentinelBehaviour::kHugeMasters, "protocol"},
      {SentinelBehaviour::kStall, "timeout"},
      {SentinelBehaviour::kStallInTables, "timeout"},
  };
  // On a machine loaded far beyond `make test` (a sanitized build beside busy loops), a
  // 200 MB reply can arrive too slowly to cross the 1 MiB limit within the 400 ms timeout
  // in some cycle, and is then rightly a timeout for that cycle. So the reasons are read
  // again, up to a deadline, until one reading shows every expected reason; the checks
  // below run on the last reading (a target that never shows its reason still fails).
  auto all_as_expected = [&](const ApiView& v) {
    if (!v.valid) return false;
    auto is = [](const auto& seen, const std::string& addr, const std::string& reason) {
      auto it = seen.find(addr);
      return it != seen.end() && it->second == std::make_pair(false, reason);
    };
    for (const auto& [b, reason] : want_node) {
      if (!is(v.nodes, nodes_[b]->address(), reason)) return false;
    }
    for (const auto& [b, reason] : want_sentinel) {
      if (!is(v.sentinels, sentinels_[b]->address(), reason)) return false;
    }
    return true;
  };
  ApiView api = ReadApi(exporter_->Get("/api/v1/groups").body);
  for (const auto deadline = std::chrono::steady_clock::now() + 15s;
       !all_as_expected(api) && std::chrono::steady_clock::now() < deadline;) {
    const double seen = *Value(exporter_->Scrape(), "redis_ha_exporter_poll_cycles_total");
    exporter_->WaitForMetrics(
        [&](auto& m) { return *Value(m, "redis_ha_exporter_poll_cycles_total") > seen; }, 5s);
    api = ReadApi(exporter_->Get("/api/v1/groups").body);
  }
  ASSERT_TRUE(api.valid) << api.error;
  for (const auto& [b, reason] : want_node) {
    const std::string addr = nodes_[b]->address();
    ASSERT_TRUE(api.nodes.count(addr)) << Name(b) << " " << addr;
    EXPECT_FALSE(api.nodes[addr].first) << Name(b);
    EXPECT_EQ(api.nodes[addr].second, reason) << Name(b);
  }
  const std::string missing = "127.0.0.1:" + std::to_string(missing_port_);
  ASSERT_TRUE(api.nodes.count(missing));
  EXPECT_EQ(api.nodes[missing], std::make_pair(false, std::string("connect")));
  // The Sentinel named as a data node answers like a Sentinel: refused as a data node.
  ASSERT_TRUE(api.nodes.count(sentinel_->address()));
  EXPECT_EQ(api.nodes[sentinel_->address()], std::make_pair(false, std::string("reply")));
  EXPECT_EQ(api.nodes[healthy_->address()], std::make_pair(true, std::string("-")));

  for (const auto& [b, reason] : want_sentinel) {
    const std::string addr = sentinels_[b]->address();
    ASSERT_TRUE(api.sentinels.count(addr)) << Name(b);
    EXPECT_EQ(api.sentinels[addr], std::make_pair(false, reason)) << Name(b);
  }
  // The scripted Sentinel lists itself as its own peer: still one Sentinel.
  auto m = exporter_->Scrape();
  // An answer cut short after its INFO counts as none: its version is not shown.
  const std::string cut = sentinels_[SentinelBehaviour::kStallInTables]->address();
  const auto cut_info = Select(m, "redis_ha_sentinel_info", {{"sentinel", cut}});
  ASSERT_EQ(cut_info.size(), 1u);
  EXPECT_EQ(cut_info[0].labels.at("version"), "");
  EXPECT_EQ(Select(m, "redis_ha_sentinel_up", {{"sentinel", sentinel_->address()}}).size(), 1u);

  // The error counters moved for each reason.
  for (const char* reason : {"connect", "timeout", "protocol", "reply"}) {
    auto v = Value(m, "redis_ha_exporter_poll_errors_total", {{"kind", "node"}, {"reason", reason}});
    ASSERT_TRUE(v.has_value()) << reason;
    EXPECT_GT(*v, 0) << reason;
  }
  for (const char* reason : {"timeout", "protocol", "reply"}) {
    auto v =
        Value(m, "redis_ha_exporter_poll_errors_total", {{"kind", "sentinel"}, {"reason", reason}});
    ASSERT_TRUE(v.has_value()) << reason;
    EXPECT_GT(*v, 0) << reason;
  }
}

TEST_F(HostileTest, MemoryStaysBounded) {
  ASSERT_TRUE(exporter_->WaitForMetrics(Settled, 20s));
  const pid_t pid = exporter_->process().pid();
  double before = RssMiB(pid);
  double cycles = *Value(exporter_->Scrape(), "redis_ha_exporter_poll_cycles_total");
  // Every cycle the 200 MB INFO, the 200 MB MASTERS and the 10-million-element array are read
  // up to --poll.max-reply-bytes (1 MiB) and dropped.
  double peak = before;
  ASSERT_TRUE(exporter_->WaitForMetrics(
      [&](auto& m) {
        peak = std::max(peak, RssMiB(pid));
        return *Value(m, "redis_ha_exporter_poll_cycles_total") >= cycles + 10;
      },
      30s));
  double after = RssMiB(pid);
  std::cerr << "exporter VmRSS: " << before << " MiB before, " << after << " MiB after 10 cycles, "
            << peak << " MiB peak seen (limit " << RssLimitMiB() << ")\n";
  EXPECT_GT(before, 0);
  EXPECT_LT(peak, RssLimitMiB());
  EXPECT_LT(after, RssLimitMiB());
}

TEST_F(HostileTest, TheLabGroupKeepsItsInterval) {
  ASSERT_TRUE(exporter_->WaitForMetrics(Settled, 20s));
  auto m0 = exporter_->Scrape();
  auto t0 = Value(m0, "redis_ha_exporter_last_poll_timestamp_seconds", {{"group", "mymaster"}});
  auto c0 = Value(m0, "redis_ha_exporter_poll_cycles_total");
  ASSERT_TRUE(t0 && c0);
  std::this_thread::sleep_for(4s);
  auto m1 = exporter_->Scrape();
  auto t1 = Value(m1, "redis_ha_exporter_last_poll_timestamp_seconds", {{"group", "mymaster"}});
  auto c1 = Value(m1, "redis_ha_exporter_poll_cycles_total");
  ASSERT_TRUE(t1 && c1);
  // Interval 600 ms, timeout 400 ms: about 6 cycles in 4 s whatever the hostile targets do
  // (each costs at most the timeout); 3 is the floor that tolerates a slow (sanitized) build
  // on a loaded machine.
  EXPECT_GE(*c1 - *c0, 3) << "cycles";
  EXPECT_GE(*t1 - *t0, 2.0) << "the lab group's last poll timestamp must keep advancing";
  EXPECT_TRUE(Is(Value(m1, "redis_ha_node_up", {{"node", lab_->primary().address()}}), 1));
  EXPECT_TRUE(Is(Value(m1, "redis_ha_node_up", {{"node", lab_->replicas()[0]->address()}}), 1));
  EXPECT_TRUE(Is(Value(m1, "redis_ha_sentinel_up", {{"sentinel", lab_->sentinels()[0]->address()}}),
                 1));
}

TEST_F(HostileTest, HttpEndpointsKeepAnswering) {
  ASSERT_TRUE(exporter_->WaitForMetrics(Settled, 20s));
  for (int round = 0; round < 5; ++round) {
    EXPECT_EQ(exporter_->Get("/healthz").status, 200);
    EXPECT_EQ(exporter_->Get("/metrics").status, 200);
    EXPECT_EQ(exporter_->Get("/api/v1/groups").status, 200);
    EXPECT_EQ(exporter_->Get("/").status, 200);
    int gate = exporter_->Get("/gate?group=hostile-garbage&action=failover").status;
    EXPECT_TRUE(gate == 200 || gate == 503) << gate;
    // The lab group (one replica, one Sentinel) may or may not be ready: it must answer.
    auto lab_gate = exporter_->Get("/gate?group=mymaster&action=failover");
    EXPECT_TRUE(lab_gate.status == 200 || lab_gate.status == 503) << lab_gate.status;
    EXPECT_NE(lab_gate.body.find("\"ready\""), std::string::npos);
    std::this_thread::sleep_for(300ms);
  }
}

TEST_F(HostileTest, WhatServersSentIsEscaped) {
  ASSERT_TRUE(exporter_->WaitForMetrics(Settled, 20s));
  // Prometheus text format: promtool parses it and finds nothing to complain about.
  auto r = exporter_->Get("/metrics");
  ASSERT_EQ(r.status, 200);
  fs::path f = TempDir("promtool") / "metrics.txt";
  std::ofstream(f, std::ios::binary) << r.body;
  int status = 0;
  std::string out = RunCapture("promtool check metrics < " + f.string() + " 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  // The weird group is there, its label value escaped (quote, backslash, newline).
  auto samples = testing::ParseMetricsText(r.body);
  bool found = false;
  for (const auto& s : Select(samples, "redis_ha_exporter_last_poll_timestamp_seconds")) {
    auto it = s.labels.find("group");
    if (it != s.labels.end() && it->second.find("<script>") != std::string::npos) found = true;
  }
  EXPECT_TRUE(found);
  EXPECT_NE(r.body.find("we\\\"ird\\\\ \\nname"), std::string::npos);

  // JSON: valid, and the name round-trips.
  ApiView api = ReadApi(exporter_->Get("/api/v1/groups").body);
  ASSERT_TRUE(api.valid) << api.error;
  EXPECT_TRUE(api.groups.count(
      "\"we\\\"ird\\\\ \\nname <script>alert(1)</script> & 'q'\""))
      << "groups seen: " << api.groups.size();

  // HTML: the status page and the group page never contain the raw markup.
  for (const std::string& path :
       {std::string("/"),
        std::string("/group?name=we%22ird%5C%20%0Aname%20%3Cscript%3Ealert(1)%3C%2Fscript%3E%20%26%20'q'")}) {
    auto page = exporter_->Get(path);
    EXPECT_EQ(page.status, 200) << path;
    EXPECT_EQ(page.body.find("<script>alert(1)"), std::string::npos) << path;
    EXPECT_NE(page.body.find("&lt;script&gt;alert(1)"), std::string::npos) << path;
  }
}

// A Sentinel that floods events about a group it monitors (hostile, or flapping): 10,000
// "+sdown" a second. Whole cycles keep their interval, and the group is polled for events
// in one burst and then about twice a second, not once per event.
TEST(HostileEventsTest, AnEventFloodDoesNotMultiplyThePollRate) {
  auto node = DataNode(Behaviour::kHealthy);
  auto groups = std::make_shared<std::vector<GroupSpec>>();
  groups->push_back({"g", "127.0.0.1", node->port()});
  auto sentinel = FakeSentinel(groups, /*flood=*/true);
  ExporterProcess exporter(EXPORTER_BINARY, {"--sentinel", sentinel->address(), "--poll.interval", "1s"},
                           TempDir("event-flood") / "exporter.log");
  ASSERT_TRUE(exporter.Start().ok());
  ASSERT_TRUE(exporter.WaitForMetrics(
      [&](auto& m) { return Value(m, "redis_ha_exporter_event_polls_total").value_or(0) >= 1; },
      10s));
  const auto t0 = std::chrono::steady_clock::now();
  const auto m0 = exporter.Scrape();
  std::this_thread::sleep_for(5s);
  const auto m1 = exporter.Scrape();
  const double window_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto cycles = *Value(m1, "redis_ha_exporter_poll_cycles_total") -
                      *Value(m0, "redis_ha_exporter_poll_cycles_total");
  const auto polls = *Value(m1, "redis_ha_exporter_event_polls_total") -
                     *Value(m0, "redis_ha_exporter_event_polls_total");
  std::cerr << "in 5 s at --poll.interval 1s under an event flood: " << cycles
            << " cycles, " << polls << " event polls\n";
  EXPECT_LE(cycles, std::ceil(window_s) + 1);
  // One poll per 500 ms refill, plus at most a burst of 10 that built up before.
  EXPECT_LE(polls, std::ceil(window_s * 2) + 10 + 1);
  EXPECT_GE(polls, 5);  // the events are still acted on
  // And the node behind it is polled and up.
  EXPECT_TRUE(Is(Value(m1, "redis_ha_node_up", {{"node", node->address()}}), 1));
}

// A Sentinel monitoring group "g", whose primary is 127.0.0.1:`a`. With `switches`, once
// `*switched` is set it publishes `+switch-master` to 127.0.0.1:`b` on its subscription and
// from then on is too slow to answer any request (each waits out the test: busy failing
// over). Without, it keeps answering with `a`.
std::unique_ptr<RespServer> SwitchingSentinel(std::shared_ptr<std::atomic<bool>> switched,
                                              bool switches, int a, int b) {
  auto port = std::make_shared<int>(0);
  auto server = std::make_unique<RespServer>([switched, switches, port, a, b](
                                                 RespServer::Conn& c,
                                                 const std::vector<std::string>& cmd) {
    if (cmd[0] == "PSUBSCRIBE") {
      c.Send(resp::PSubscribed());
      while (switches && !*switched && c.Sleep(10ms)) {
      }
      if (switches && *switched) {
        c.Send(resp::Array({resp::Bulk("pmessage"), resp::Bulk("*"), resp::Bulk("+switch-master"),
                            resp::Bulk("g 127.0.0.1 " + std::to_string(a) + " 127.0.0.1 " +
                                       std::to_string(b))}));
      }
      c.Hold();
      return;
    }
    if (switches && *switched) {
      c.Hold();
      return;
    }
    if (cmd[0] == "INFO") {
      c.Send(resp::Bulk(resp::SentinelInfo(*port, 1)));
    } else if (cmd[0] == "SENTINEL" && cmd.size() >= 2 && cmd[1] == "MASTERS") {
      c.Send(resp::Array({resp::PrimaryEntry("g", "127.0.0.1", a)}));
    } else if (cmd[0] == "SENTINEL" && cmd.size() >= 3 && cmd[1] == "MASTER") {
      c.Send(resp::PrimaryEntry("g", "127.0.0.1", a));
    } else if (cmd[0] == "SENTINEL" && cmd.size() >= 2 && cmd[1] == "CKQUORUM") {
      c.Send(resp::CkquorumOk());
    } else if (cmd[0] == "SENTINEL" && cmd.size() >= 2 &&
               (cmd[1] == "REPLICAS" || cmd[1] == "SENTINELS")) {
      c.Send(resp::Array({}));
    } else {
      c.Send(resp::Error("ERR unknown command"));
    }
  });
  *port = server->port();
  return server;
}

std::string Loopback(int port) { return "127.0.0.1:" + std::to_string(port); }

// The Sentinel answers its polls until it fails its group over, then publishes the
// +switch-master and answers nothing more (--poll.timeout 60 s: no poll can show the switch
// while the test runs). The snapshot names the new primary from the event alone, and the
// gate stops handing the group off.
TEST(HostileEventsTest, ASwitchShowsWhileItsSentinelIsTooSlowToAnswer) {
  auto old_primary = DataNode(Behaviour::kHealthy);
  auto new_primary = DataNode(Behaviour::kHealthy);
  auto switched = std::make_shared<std::atomic<bool>>(false);
  auto sentinel = SwitchingSentinel(switched, true, old_primary->port(), new_primary->port());
  const std::string saddr = sentinel->address();
  const std::string old_addr = old_primary->address();
  const std::string new_addr = new_primary->address();
  ExporterProcess exporter(EXPORTER_BINARY,
                           {"--sentinel", saddr, "--poll.interval", "60s", "--poll.timeout", "60s"},
                           TempDir("slow-switch") / "exporter.log");
  ASSERT_TRUE(exporter.Start().ok());
  ASSERT_TRUE(exporter.WaitForMetrics(
      [&](auto& m) {
        return Is(Value(m, "redis_ha_sentinel_primary_info",
                        {{"sentinel", saddr}, {"group", "g"}, {"address", old_addr}}),
                  1);
      },
      10s));
  auto before = exporter.Scrape();
  EXPECT_EQ(Value(before, "redis_ha_exporter_events_applied_total"), 0.0);
  EXPECT_EQ(Value(before, "redis_ha_failovers_total", {{"group", "g"}}), 0.0);

  *switched = true;
  ASSERT_TRUE(exporter.WaitForMetrics(
      [&](auto& m) {
        return Is(Value(m, "redis_ha_sentinel_primary_info",
                        {{"sentinel", saddr}, {"group", "g"}, {"address", new_addr}}),
                  1);
      },
      20s))
      << "the +switch-master did not show while its Sentinel was not answering";
  auto after = exporter.Scrape();
  EXPECT_FALSE(Value(after, "redis_ha_sentinel_primary_info",
                     {{"sentinel", saddr}, {"group", "g"}, {"address", old_addr}})
                   .has_value());
  EXPECT_GE(Value(after, "redis_ha_exporter_events_applied_total").value_or(0), 1.0);
  EXPECT_EQ(Value(after, "redis_ha_failovers_total", {{"group", "g"}}), 1.0);
  // The Sentinel was reachable at its last answer, and it is the one that switched: the
  // group's primary follows it, and a hand-off now is refused (the primary just changed).
  auto gate = exporter.Get("/gate?group=g&action=failover");
  EXPECT_EQ(gate.status, 503) << gate.body;
  EXPECT_NE(gate.body.find("recent_failover"), std::string::npos) << gate.body;
}

// Two of three Sentinels fail the group over and then answer no poll (at the default
// --poll.timeout, each of their polls times out from then on); the third never hears of it.
// The two keep the vote their +switch-master gave them while they do not answer: the group's
// primary stays the new one over the following cycles, and the failover is counted once
// (without that vote the one Sentinel left would take the group back to the old primary).
TEST(HostileEventsTest, SentinelsTooSlowToAnswerKeepTheVoteTheirSwitchGave) {
  auto old_primary = DataNode(Behaviour::kHealthy);
  auto new_primary = DataNode(Behaviour::kHealthy);
  const int a = old_primary->port();
  const int b = new_primary->port();
  auto switched = std::make_shared<std::atomic<bool>>(false);
  auto x = SwitchingSentinel(switched, true, a, b);
  auto y = SwitchingSentinel(switched, true, a, b);
  auto z = SwitchingSentinel(switched, false, a, b);
  ExporterProcess exporter(EXPORTER_BINARY,
                           {"--sentinel", x->address(), "--sentinel", y->address(), "--sentinel",
                            z->address(), "--poll.interval", "1s"},
                           TempDir("slow-switch-3") / "exporter.log");
  ASSERT_TRUE(exporter.Start().ok());
  ASSERT_TRUE(exporter.WaitForMetrics(
      [&](auto& m) {
        for (const auto* s : {x.get(), y.get(), z.get()}) {
          if (!Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", s->address()}}), 1)) return false;
        }
        return true;
      },
      10s));
  *switched = true;
  // x and y time out, and then three more cycles end.
  std::optional<double> cycles;
  ASSERT_TRUE(exporter.WaitForMetrics(
      [&](auto& m) {
        const bool down = Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", x->address()}}), 0) &&
                          Is(Value(m, "redis_ha_sentinel_up", {{"sentinel", y->address()}}), 0);
        if (!down) return false;
        auto now = Value(m, "redis_ha_exporter_poll_cycles_total");
        if (!cycles) cycles = now;
        return now && *now >= *cycles + 3;
      },
      20s));  // below EventOverlay::kUnansweredVote (30 s), whose lapse is not tested here
  auto m = exporter.Scrape();
  for (const auto* s : {x.get(), y.get()}) {
    EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_primary_info",
                         {{"sentinel", s->address()}, {"group", "g"}, {"address", Loopback(b)}}),
                   1))
        << s->address();
  }
  EXPECT_TRUE(Is(Value(m, "redis_ha_sentinel_primary_info",
                       {{"sentinel", z->address()}, {"group", "g"}, {"address", Loopback(a)}}),
                 1));
  EXPECT_EQ(Value(m, "redis_ha_failovers_total", {{"group", "g"}}), 1.0);
  // The one that answers still names the old primary: the Sentinels disagree, and say so.
  EXPECT_TRUE(Is(Value(m, "redis_ha_split_brain_risk_factor",
                       {{"group", "g"}, {"factor", "sentinels_disagree"}}),
                 1));
  auto api = exporter.Get("/api/v1/groups");
  EXPECT_NE(api.body.find("\"name\":\"g\",\"primary\":\"" + Loopback(b) + "\""),
            std::string::npos)
      << api.body;
}

// GAP (reported on issue 8, src/util/text.cc and src/metrics/collector.cc): a group name that
// is not UTF-8 makes /metrics unparseable for Prometheus (promtool: "invalid label value"), so
// one odd group on one Sentinel loses every metric of every group; and /api/v1/groups is not
// valid UTF-8 JSON because EscapeJsonString lets UTF-8-encoded surrogates and 3-byte overlong
// forms through. Enable once label values are sanitized and the JSON escaping is strict.
TEST(HostileNamesTest, NonUtf8GroupNamesKeepMetricsAndJsonValid) {
  auto node = DataNode(Behaviour::kHealthy);
  auto groups = std::make_shared<std::vector<GroupSpec>>();
  groups->push_back({kBinaryGroup, "127.0.0.1", node->port()});
  auto sentinel = FakeSentinel(groups);
  ExporterProcess exporter(EXPORTER_BINARY,
                           {"--sentinel", sentinel->address(), "--poll.interval", "250ms"},
                           TempDir("binary-names") / "exporter.log");
  ASSERT_TRUE(exporter.Start().ok());
  ASSERT_TRUE(exporter.WaitForMetrics(
      [&](auto& m) { return Is(Value(m, "redis_ha_node_up", {{"node", node->address()}}), 1); },
      10s));
  auto r = exporter.Get("/metrics");
  fs::path f = TempDir("binary-names") / "metrics.txt";
  std::ofstream(f, std::ios::binary) << r.body;
  int status = 0;
  std::string out = RunCapture("promtool check metrics < " + f.string() + " 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  ApiView api = ReadApi(exporter.Get("/api/v1/groups").body);
  EXPECT_TRUE(api.valid) << api.error;
  EXPECT_EQ(exporter.Get("/").status, 200);
}

// GAP (reported on issue 8, src/redis/connection.cc): the element limit applies to each array
// on its own, so 7 nested arrays of 1048576 elements (77 bytes on the wire) make the reader
// allocate 7 x 1048576 Reply nodes, about 500 MB, before a single element arrives; the poll
// thread spends long enough zeroing them that the whole cycle times out. Enable once the
// reader counts the elements of a whole reply (or charges them to --poll.max-reply-bytes).
TEST(HostileNestingTest, NestedMaximalArraysStayWithinTheMemoryBound) {
  auto nested = DataNode(Behaviour::kNestedArrays);
  auto groups = std::make_shared<std::vector<GroupSpec>>();
  groups->push_back({"hostile-nested", "127.0.0.1", nested->port()});
  auto sentinel = FakeSentinel(groups);
  ExporterProcess exporter(EXPORTER_BINARY,
                           {"--sentinel", sentinel->address(), "--poll.interval", "500ms",
                            "--poll.timeout", "300ms", "--poll.max-reply-bytes", "8388608"},
                           TempDir("nested") / "exporter.log");
  ASSERT_TRUE(exporter.Start().ok());
  double peak = 0;
  ASSERT_TRUE(exporter.WaitForMetrics(
      [&](auto& m) {
        peak = std::max(peak, RssMiB(exporter.process().pid()));
        auto c = Value(m, "redis_ha_exporter_poll_cycles_total");
        return c && *c >= 8;
      },
      30s));
  std::cerr << "exporter VmRSS peak " << peak << " MiB (limit " << RssLimitMiB() << ")\n";
  EXPECT_LT(peak, RssLimitMiB());
  auto m = exporter.Scrape();
  EXPECT_TRUE(Is(Value(m, "redis_ha_node_up", {{"node", nested->address()}}), 0));
  EXPECT_GT(*Value(m, "redis_ha_exporter_poll_errors_total", {{"kind", "node"}, {"reason", "protocol"}}),
            0);
}

}  // namespace
}  // namespace redis_ha
