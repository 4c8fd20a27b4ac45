// Logging to stderr in logfmt (default) or JSON lines, with a process-wide level.
//
// Never pass secrets: there is no redaction here, callers keep passwords out.
// Thread-safety: all functions are safe to call from any thread.
#ifndef REDIS_HA_UTIL_LOG_H_
#define REDIS_HA_UTIL_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace redis_ha::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kLogfmt, kJson };

bool ParseLevel(std::string_view text, Level& out);
bool ParseFormat(std::string_view text, Format& out);
void Configure(Level level, Format format);
bool Enabled(Level level);

using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;
void Write(Level level, std::string_view msg, Fields fields = {});

inline void Debug(std::string_view m, Fields f = {}) { Write(Level::kDebug, m, f); }
inline void Info(std::string_view m, Fields f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, Fields f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, Fields f = {}) { Write(Level::kError, m, f); }

}  // namespace redis_ha::log

#endif  // REDIS_HA_UTIL_LOG_H_
