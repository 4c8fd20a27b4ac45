#include "util/duration.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>

namespace redis_ha {

namespace {
struct Unit {
  std::string_view name;
  int64_t ms;
};
// Longest names first so "ms" is not read as "m".
constexpr std::array<Unit, 7> kUnits = {{{"y", 365LL * 24 * 3600 * 1000},
                                         {"w", 7LL * 24 * 3600 * 1000},
                                         {"d", 24LL * 3600 * 1000},
                                         {"h", 3600LL * 1000},
                                         {"m", 60LL * 1000},
                                         {"s", 1000},
                                         {"ms", 1}}};
}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  int last_rank = -1;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    size_t j = i;
    while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    std::string_view unit = text.substr(i, j - i);
    int rank = -1;
    for (size_t u = 0; u < kUnits.size(); ++u) {
      if (kUnits[u].name == unit) rank = static_cast<int>(u);
    }
    if (rank < 0 || rank <= last_rank) return std::nullopt;
    last_rank = rank;
    if (n != 0 && kUnits[rank].ms > std::numeric_limits<int64_t>::max() / n) return std::nullopt;
    int64_t add = n * kUnits[rank].ms;
    if (total > std::numeric_limits<int64_t>::max() - add) return std::nullopt;
    total += add;
    i = j;
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  // Use h, m, s, ms only: Prometheus prints durations that way too.
  for (const Unit& u : kUnits) {
    if (u.name == "y" || u.name == "w" || u.name == "d") continue;
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace redis_ha
