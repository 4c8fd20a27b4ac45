// Prometheus-style durations ("250ms", "1s", "1m30s", "2h") to std::chrono and back.
// Thread-safety: pure functions.
#ifndef REDIS_HA_UTIL_DURATION_H_
#define REDIS_HA_UTIL_DURATION_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace redis_ha {

// Units: ms s m h d w y. Components must be in decreasing order ("1m30s"); a bare "0" is
// zero. Returns nullopt for anything else (negative, empty, unknown unit, overflow).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest exact rendering: 1500ms -> "1s500ms", 60000ms -> "1m".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace redis_ha

#endif  // REDIS_HA_UTIL_DURATION_H_
