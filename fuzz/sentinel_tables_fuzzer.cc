// SENTINEL tables (MASTERS, MASTER, REPLICAS, SENTINELS), CONFIG GET and pub/sub replies:
// ParseFieldArray(s), the typed table parsers and the observers.
//
// Two input forms, so the fuzzer reaches both the RESP shapes and the field values quickly:
// - RESP (the input starts with one of * $ + - :): decoded by hiredis, every reply exercised.
//   Seeds: the captured replies in tests/testdata/*.resp.
// - Lines (anything else): each line is one bulk string of a flat field/value table; an empty
//   line starts the next table. The tables are exercised as SENTINEL MASTERS / REPLICAS /
//   SENTINELS (array of tables) and as SENTINEL MASTER / CONFIG GET (the first table).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"

namespace {

using redis_ha::redis::Reply;

std::vector<Reply> TablesFromLines(std::string_view text) {
  std::vector<Reply> tables;
  std::vector<Reply> current;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) {
      tables.push_back(Reply::Array(std::move(current)));
      current.clear();
      continue;
    }
    current.push_back(Reply::String(std::string(line)));
  }
  tables.push_back(Reply::Array(std::move(current)));
  return tables;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace redis_ha;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  if (std::string_view("*$+-:").find(in[0]) != std::string_view::npos) {
    for (const Reply& r : fuzz::DecodeResp(in)) fuzz::ExerciseReply(r);
    return 0;
  }
  std::vector<Reply> tables = TablesFromLines(in);
  Reply first = tables.front();
  Reply all = Reply::Array(std::move(tables));
  fuzz::ExerciseReply(all);
  fuzz::ExerciseReply(first);
  // A table of pairs parses into at most half as many fields as it has elements.
  if (auto f = parse::ParseFieldArray(first); f) {
    FUZZ_CHECK(f->size() * 2 <= first.elements.size());
  }
  // The table parsers read each entry in one pass; they must agree with the FieldMap path
  // (duplicates, bad values and all).
  if (auto maps = parse::ParseFieldArrays(all); maps) {
    auto primaries = parse::ParseSentinelPrimaries(all);
    auto replicas = parse::ParseSentinelReplicas(all);
    auto peers = parse::ParseSentinelPeers(all);
    FUZZ_CHECK(primaries.ok() && replicas.ok() && peers.ok());
    for (size_t i = 0; i < maps->size(); ++i) {
      FUZZ_CHECK((*primaries)[i] == parse::ParseSentinelPrimary((*maps)[i]));
      FUZZ_CHECK((*replicas)[i] == parse::ParseSentinelReplica((*maps)[i]));
      FUZZ_CHECK((*peers)[i] == parse::ParseSentinelPeer((*maps)[i]));
    }
  } else {
    FUZZ_CHECK(!parse::ParseSentinelPrimaries(all).ok());
  }
  return 0;
}
