// Reply: one decoded RESP2 reply as a plain value tree, owned, detached from hiredis.
//
// Everything in src/parse takes Replies, so parsers can be tested with hand-built values.
// Thread-safety: a plain value.
#ifndef REDIS_HA_REDIS_REPLY_H_
#define REDIS_HA_REDIS_REPLY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace redis_ha::redis {

enum class ReplyType { kString, kStatus, kError, kInteger, kNil, kArray };

struct Reply {
  ReplyType type = ReplyType::kNil;
  std::string str;               // kString, kStatus, kError
  int64_t integer = 0;           // kInteger
  std::vector<Reply> elements;   // kArray

  bool is_error() const { return type == ReplyType::kError; }
  bool is_array() const { return type == ReplyType::kArray; }
  bool is_string() const { return type == ReplyType::kString; }
  // True for bulk strings and status replies, whose text is in `str`.
  bool is_text() const {
    return type == ReplyType::kString || type == ReplyType::kStatus;
  }

  static Reply String(std::string s) { return Reply{ReplyType::kString, std::move(s), 0, {}}; }
  static Reply Status(std::string s) { return Reply{ReplyType::kStatus, std::move(s), 0, {}}; }
  static Reply Error(std::string s) { return Reply{ReplyType::kError, std::move(s), 0, {}}; }
  static Reply Integer(int64_t v) { return Reply{ReplyType::kInteger, {}, v, {}}; }
  static Reply Nil() { return Reply{}; }
  static Reply Array(std::vector<Reply> e) {
    return Reply{ReplyType::kArray, {}, 0, std::move(e)};
  }
  // A flat array of bulk strings: {"name", "mymaster", "ip", "127.0.0.1", ...}.
  static Reply StringArray(const std::vector<std::string>& items);
};

// RESP encoding of one command (an array of bulk strings), appended to `out`.
void AppendCommand(const std::vector<std::string>& args, std::string& out);

// A short human-readable rendering for logs and test failure messages (truncated).
std::string DebugString(const Reply& reply, size_t max_len = 200);

}  // namespace redis_ha::redis

#endif  // REDIS_HA_REDIS_REPLY_H_
