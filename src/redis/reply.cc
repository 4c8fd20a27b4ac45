#include "redis/reply.h"

namespace redis_ha::redis {

Reply Reply::StringArray(const std::vector<std::string>& items) {
  std::vector<Reply> e;
  e.reserve(items.size());
  for (const auto& s : items) e.push_back(Reply::String(s));
  return Reply::Array(std::move(e));
}

void AppendCommand(const std::vector<std::string>& args, std::string& out) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

namespace {
void Render(const Reply& r, std::string& out, size_t max_len) {
  if (out.size() > max_len) return;
  switch (r.type) {
    // Appended piece by piece (GCC 12 at -O3 warns falsely on `'"' + std::string`).
    case ReplyType::kString:
      out += '"';
      out.append(r.str);
      out += '"';
      break;
    case ReplyType::kStatus:
      out += '+';
      out.append(r.str);
      break;
    case ReplyType::kError:
      out += '-';
      out.append(r.str);
      break;
    case ReplyType::kInteger:
      out += ':';
      out.append(std::to_string(r.integer));
      break;
    case ReplyType::kNil: out += "(nil)"; break;
    case ReplyType::kArray:
      out += '[';
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i) out += ", ";
        Render(r.elements[i], out, max_len);
        if (out.size() > max_len) break;
      }
      out += ']';
      break;
  }
}
}  // namespace

std::string DebugString(const Reply& reply, size_t max_len) {
  std::string out;
  Render(reply, out, max_len);
  if (out.size() > max_len) {
    out.resize(max_len);
    out += "...";
  }
  return out;
}

}  // namespace redis_ha::redis
