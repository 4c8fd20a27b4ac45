// The gate's query string: the input is the raw (percent-encoded) query of GET /gate.
// ParseGateQuery validates it; HandleGate answers it against a healthy group "g" (so valid
// queries go through the whole gate) and an empty snapshot. Every answer must be valid JSON
// (strict, UTF-8) with a status the contract allows.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "http/gate_http.h"
#include "support/group_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace redis_ha;
  namespace fx = redis_ha::testing::fixture;
  static const model::Snapshot* healthy = new model::Snapshot(fx::SnapshotOf(fx::Healthy()));
  static const model::Snapshot* empty = new model::Snapshot();

  http::Request req;
  req.method = "GET";
  req.path = "/gate";
  req.query.assign(reinterpret_cast<const char*>(data), size);
  for (const auto& [k, v] : req.Params()) {
    (void)req.Param(k);
    FUZZ_CHECK(req.HasParam(k));
  }
  auto parsed = http::ParseGateQuery(req);
  if (parsed) {
    FUZZ_CHECK(!parsed->group.empty());
    FUZZ_CHECK(!parsed->request.max_lag_bytes || *parsed->request.max_lag_bytes >= 0);
  } else {
    FUZZ_CHECK(!parsed.error().message.empty());
  }
  assess::GateOptions options;
  for (const model::Snapshot* snap : {healthy, empty}) {
    for (bool always_200 : {false, true}) {
      http::Response r = http::HandleGate(req, *snap, options, fx::kNow, always_200);
      FUZZ_CHECK(r.content_type == "application/json");
      if (!fuzz::JsonIsValid(r.body)) {
        std::fprintf(stderr, "invalid JSON: %s\n", r.body.c_str());
        FUZZ_CHECK(false);
      }
      if (always_200) {
        FUZZ_CHECK(r.status == 200);
      } else {
        FUZZ_CHECK(r.status == 200 || r.status == 400 || r.status == 404 || r.status == 503);
        if (!parsed) FUZZ_CHECK(r.status == 400);
      }
    }
  }
  return 0;
}
