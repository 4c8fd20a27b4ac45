// Shared helpers of the libFuzzer targets in fuzz/.
//
// - DecodeResp: every complete reply in a byte string, decoded by hiredis' default reader and
//   converted to redis::Reply (the table fuzzers use it; fuzz/resp_fuzzer.cc instead drives the
//   exporter's own reader through a real redis::Connection).
// - ExerciseReply: hands one Reply to every consumer of replies in src/parse and src/poll, the
//   way the poller and the event subscriber would.
// - JsonIsValid: a strict RFC 8259 checker (including UTF-8), to assert that what the exporter
//   writes as JSON is JSON whatever the bytes it was fed.
//
// Every target aborts (a crash libFuzzer reports) when an invariant does not hold: FUZZ_CHECK.
#ifndef REDIS_HA_FUZZ_FUZZ_UTIL_H_
#define REDIS_HA_FUZZ_FUZZ_UTIL_H_

#include <hiredis/hiredis.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model/snapshot.h"
#include "parse/info.h"
#include "parse/sentinel.h"
#include "poll/observe.h"
#include "redis/connection.h"
#include "redis/reply.h"

#define FUZZ_CHECK(cond)                                                        \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                      \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

namespace redis_ha::fuzz {

inline redis::Reply FromHiredis(const redisReply* r) {
  using redis::Reply;
  switch (r->type) {
    case REDIS_REPLY_STRING: return Reply::String(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS: return Reply::Status(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR: return Reply::Error(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER: return Reply::Integer(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> e;
      e.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) e.push_back(FromHiredis(r->element[i]));
      return Reply::Array(std::move(e));
    }
    default: return Reply::Nil();
  }
}

// Complete replies in `bytes` (a protocol error ends the list). Arrays are capped at
// `max_elements` in total so that "*100000000\r\n" does not make the fuzzer allocate gigabytes
// in hiredis' own reader (which has no limit; the exporter's reader has one).
inline std::vector<redis::Reply> DecodeResp(std::string_view bytes, int64_t max_elements = 4096) {
  // Reject inputs announcing big arrays before hiredis allocates them.
  int64_t announced = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '*' || (i > 0 && bytes[i - 1] != '\n')) continue;
    int64_t n = 0;
    for (size_t k = i + 1; k < bytes.size() && bytes[k] >= '0' && bytes[k] <= '9' && n < (1 << 30);
         ++k) {
      n = n * 10 + (bytes[k] - '0');
    }
    announced += n;
    if (announced > max_elements) return {};
  }
  std::vector<redis::Reply> out;
  redisReader* reader = redisReaderCreate();
  if (reader == nullptr) return out;
  if (redisReaderFeed(reader, bytes.data(), bytes.size()) == REDIS_OK) {
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader, &raw) != REDIS_OK || raw == nullptr) break;
      out.push_back(FromHiredis(static_cast<redisReply*>(raw)));
      freeReplyObject(raw);
    }
  }
  redisReaderFree(reader);
  return out;
}

inline const Config& FuzzConfig() {
  static const Config* config = [] {
    auto* c = new Config();
    c->sentinels.push_back(redis::Endpoint{"127.0.0.1", 26379});
    c->address_map["10.0.0.1:6379"] = "127.0.0.1:7001";
    return c;
  }();
  return *config;
}

inline bool ValidPort(const std::optional<int>& p) { return !p || (*p >= 0 && *p <= 65535); }

// Every consumer of a reply, as the poller (a Sentinel's INFO / MASTERS / CKQUORUM / REPLICAS /
// SENTINELS, a node's INFO and CONFIG GET) and the event subscriber would call them.
inline void ExerciseReply(const redis::Reply& r) {
  (void)redis::DebugString(r);
  (void)redis::IsAuthError(r);
  if (r.is_error()) {
    Error e = parse::ErrorFromReply(r);
    FUZZ_CHECK(e.kind == ErrorKind::kAuth || e.kind == ErrorKind::kReply);
    (void)parse::IsUnknownCommandError(r.str);
  }
  (void)parse::ParseFieldArray(r);
  (void)parse::ParseFieldArrays(r);
  if (auto p = parse::ParseSentinelPrimaryReply(r); p) FUZZ_CHECK(ValidPort(p->port));
  if (auto ps = parse::ParseSentinelPrimaries(r); ps) {
    for (const auto& p : *ps) FUZZ_CHECK(ValidPort(p.port));
  }
  if (auto rs = parse::ParseSentinelReplicas(r); rs) {
    for (const auto& x : *rs) FUZZ_CHECK(ValidPort(x.port) && ValidPort(x.master_port));
  }
  if (auto ps = parse::ParseSentinelPeers(r); ps) {
    for (const auto& x : *ps) FUZZ_CHECK(ValidPort(x.port));
  }
  parse::CkquorumResult ck = parse::ParseCkquorum(r);
  FUZZ_CHECK(!ck.ok || !(ck.quorum_unreachable || ck.no_such_group));
  (void)parse::ParseConfigGet(r);
  if (auto m = parse::ParsePubSubMessage(r); m) {
    if (auto ev = parse::ParseSentinelEvent(m->channel, m->payload); ev) {
      FUZZ_CHECK(ev->event == m->channel);
    }
  }

  const Config& config = FuzzConfig();
  model::SentinelState st;
  (void)poll::ObserveSentinelInfo(r, st);
  if (auto views = poll::ObserveMasters(r, "127.0.0.1:26379", config); views) {
    for (auto& [name, v] : *views) {
      FUZZ_CHECK(!name.empty());
      poll::ObserveCkquorum(r, v);
      (void)poll::ObserveReplicas(r, config, v);
      (void)poll::ObservePeers(r, config, v);
      for (const auto& e : v.replicas) FUZZ_CHECK(!e.address.empty());
    }
  }
  model::SentinelView v;
  poll::ObserveCkquorum(r, v);
  (void)poll::ObserveReplicas(r, config, v);
  (void)poll::ObservePeers(r, config, v);
  model::NodeState n;
  (void)poll::ObserveNodeInfo(r, n);
  poll::ObserveConfig({r, r, r, r}, n);
}

// ---- Strict JSON (RFC 8259) with UTF-8 validation.
//
// The UTF-8 part is checked too (text::EscapeJsonString is strict since the inputs in
// fuzz/regressions/ were found); FUZZ_STRICT_UTF8=0 turns it off when chasing another bug.
inline bool StrictUtf8() {
  static const bool strict = [] {
    const char* v = std::getenv("FUZZ_STRICT_UTF8");
    return v == nullptr || std::string_view(v) != "0";
  }();
  return strict;
}

class JsonChecker {
 public:
  explicit JsonChecker(std::string_view s) : s_(s) {}
  bool Check() {
    Ws();
    if (!Value(0)) return false;
    Ws();
    return i_ == s_.size();
  }

 private:
  bool Value(int depth) {
    if (depth > 200 || i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') return Object(depth);
    if (c == '[') return Array(depth);
    if (c == '"') return String();
    if (c == '-' || (c >= '0' && c <= '9')) return Number();
    return Literal("true") || Literal("false") || Literal("null");
  }
  bool Object(int depth) {
    ++i_;
    Ws();
    if (Eat('}')) return true;
    for (;;) {
      Ws();
      if (!String()) return false;
      Ws();
      if (!Eat(':')) return false;
      Ws();
      if (!Value(depth + 1)) return false;
      Ws();
      if (Eat('}')) return true;
      if (!Eat(',')) return false;
    }
  }
  bool Array(int depth) {
    ++i_;
    Ws();
    if (Eat(']')) return true;
    for (;;) {
      Ws();
      if (!Value(depth + 1)) return false;
      Ws();
      if (Eat(']')) return true;
      if (!Eat(',')) return false;
    }
  }
  bool String() {
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++i_;
        if (i_ >= s_.size()) return false;
        char e = s_[i_++];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k) {
            if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_]))) return false;
            ++i_;
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
        continue;
      }
      size_t n = Utf8(i_);
      if (n == 0) return false;
      i_ += n;
    }
    return false;
  }
  // Length of a well-formed UTF-8 sequence (Unicode 15, table 3-7), or 0.
  size_t Utf8(size_t i) const {
    auto b = [&](size_t k) -> unsigned { return static_cast<unsigned char>(s_[k]); };
    unsigned c = b(i);
    if (c < 0x80 || !StrictUtf8()) return 1;
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) n = 3, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) n = 3;
    else if (c == 0xED) n = 3, hi = 0x9F;
    else if (c == 0xF0) n = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) n = 4, hi = 0x8F;
    else return 0;
    if (i + n > s_.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k) {
      if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    }
    return n;
  }
  bool Number() {
    size_t start = i_;
    Eat('-');
    if (Eat('0')) {
    } else if (!Digits()) {
      return false;
    }
    if (Eat('.') && !Digits()) return false;
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (!Eat('+')) Eat('-');
      if (!Digits()) return false;
    }
    return i_ > start;
  }
  bool Digits() {
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }
  bool Literal(std::string_view lit) {
    if (s_.substr(i_, lit.size()) != lit) return false;
    i_ += lit.size();
    return true;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void Ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

inline bool JsonIsValid(std::string_view s) { return JsonChecker(s).Check(); }

}  // namespace redis_ha::fuzz

#endif  // REDIS_HA_FUZZ_FUZZ_UTIL_H_
