// INFO sections: the text of an INFO reply through ParseInfo, the data node and Sentinel
// parsers, the group-line parser and the number helpers, and the observers that turn INFO
// into model values. Seeds: the captured INFO replies in tests/testdata/*.txt.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace redis_ha;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  parse::InfoMap info = parse::ParseInfo(text);
  for (const auto& [key, value] : info.fields) {
    FUZZ_CHECK(value.empty() || value.back() != '\r');
    if (auto g = parse::ParseSentinelInfoGroup(value); g) {
      FUZZ_CHECK(fuzz::ValidPort(g->port));
    }
    if (auto hp = parse::SplitHostPort(value); hp) {
      FUZZ_CHECK(!hp->first.empty() && hp->second >= 0 && hp->second <= 65535);
    }
    if (auto d = parse::ParseDouble(value); d) FUZZ_CHECK(std::isfinite(*d));
    if (auto p = parse::ParsePort(value); p) FUZZ_CHECK(*p >= 0 && *p <= 65535);
    if (auto n = parse::ParseInt64(value); n) {
      // Strict: the whole string is the number, so it has no spaces and no '+'.
      FUZZ_CHECK(value.find_first_of(" +") == std::string::npos);
    }
  }
  parse::DataNodeInfo d = parse::ParseDataNodeInfo(info);
  FUZZ_CHECK(fuzz::ValidPort(d.tcp_port) && fuzz::ValidPort(d.master_port));
  for (size_t i = 1; i < d.replicas.size(); ++i) {
    FUZZ_CHECK(d.replicas[i - 1].index <= d.replicas[i].index);
  }
  for (size_t i = 1; i < d.keyspace.size(); ++i) {
    FUZZ_CHECK(d.keyspace[i - 1].index <= d.keyspace[i].index);
  }
  parse::SentinelInfo s = parse::ParseSentinelInfo(info);
  for (size_t i = 1; i < s.groups.size(); ++i) {
    FUZZ_CHECK(s.groups[i - 1].index <= s.groups[i].index);
  }
  // The string overloads agree with the InfoMap ones.
  FUZZ_CHECK(parse::ParseDataNodeInfo(text) == d);
  const parse::SentinelInfo sv = parse::ParseSentinelInfo(text);
  FUZZ_CHECK(sv.groups.size() == s.groups.size());
  for (size_t i = 0; i < s.groups.size(); ++i) {
    FUZZ_CHECK(sv.groups[i].index == s.groups[i].index && sv.groups[i].name == s.groups[i].name &&
               sv.groups[i].status == s.groups[i].status &&
               sv.groups[i].address == s.groups[i].address);
  }
  FUZZ_CHECK(sv.run_id == s.run_id && sv.tilt == s.tilt && sv.version == s.version &&
             sv.sentinel_masters == s.sentinel_masters);

  for (const redis::Reply& r :
       {redis::Reply::String(std::string(text)), redis::Reply::Status(std::string(text))}) {
    model::NodeState n;
    if (poll::ObserveNodeInfo(r, n)) FUZZ_CHECK(n.role != model::Role::kUnknown);
    model::SentinelState st;
    (void)poll::ObserveSentinelInfo(r, st);
  }
  return 0;
}
