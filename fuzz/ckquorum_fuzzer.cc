// SENTINEL CKQUORUM <group>: whatever the reply, ParseCkquorum gives a result and the
// observer records it. The first byte picks how the rest is presented:
//   '+' status, '-' error, '$' bulk string (the rest is the text, no RESP framing), 
//   anything else: the whole input is RESP decoded by hiredis (seeds:
//   tests/testdata/sentinel7_ckquorum_*.resp start with '+' or '-', so they are read as RESP
//   too when they end with CRLF).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace redis_ha;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  auto check = [](const redis::Reply& r) {
    parse::CkquorumResult c = parse::ParseCkquorum(r);
    if (c.ok) FUZZ_CHECK(r.is_text() && !c.quorum_unreachable && !c.majority_unreachable);
    if (c.quorum_unreachable || c.majority_unreachable || c.no_such_group) {
      FUZZ_CHECK(r.is_error());
    }
    model::SentinelView v;
    poll::ObserveCkquorum(r, v);
    FUZZ_CHECK(v.ckquorum_ok == c.ok);
  };
  std::string rest(in.substr(1));
  bool framed = in.size() >= 2 && in.substr(in.size() - 2) == "\r\n";
  if (!framed && in[0] == '+') check(redis::Reply::Status(rest));
  else if (!framed && in[0] == '-') check(redis::Reply::Error(rest));
  else if (!framed && in[0] == '$') check(redis::Reply::String(rest));
  for (const redis::Reply& r : fuzz::DecodeResp(in)) {
    check(r);
    fuzz::ExerciseReply(r);
  }
  return 0;
}
