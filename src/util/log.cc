#include "util/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "util/text.h"

namespace redis_ha::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kLogfmt)};
std::mutex g_mu;  // trivially destructible in practice; keeps lines whole

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
  return buf;
}

std::string LogfmtValue(std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '=' || c == '"' || static_cast<unsigned char>(c) < 0x20) quote = true;
  }
  if (!quote) return std::string(v);
  return "\"" + text::EscapeJsonString(v) + "\"";
}
}  // namespace

bool ParseLevel(std::string_view text, Level& out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == LevelName(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

bool ParseFormat(std::string_view text, Format& out) {
  if (text == "logfmt") out = Format::kLogfmt;
  else if (text == "json") out = Format::kJson;
  else return false;
  return true;
}

void Configure(Level level, Format format) {
  g_level = static_cast<int>(level);
  g_format = static_cast<int>(format);
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void Write(Level level, std::string_view msg, Fields fields) {
  if (!Enabled(level)) return;
  std::string line;
  if (static_cast<Format>(g_format.load()) == Format::kJson) {
    line = "{\"ts\":\"" + Timestamp() + "\",\"level\":\"" + std::string(LevelName(level)) +
           "\",\"msg\":\"" + text::EscapeJsonString(msg) + "\"";
    for (const auto& [k, v] : fields) {
      line += ",\"" + text::EscapeJsonString(k) + "\":\"" + text::EscapeJsonString(v) + "\"";
    }
    line += "}\n";
  } else {
    line = "ts=" + Timestamp() + " level=" + std::string(LevelName(level)) +
           " msg=" + LogfmtValue(msg);
    for (const auto& [k, v] : fields) {
      line += " " + std::string(k) + "=" + LogfmtValue(v);
    }
    line += "\n";
  }
  std::lock_guard lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace redis_ha::log
