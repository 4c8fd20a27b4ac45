// Reading the Prometheus text format in tests.
#ifndef REDIS_HA_TESTS_SUPPORT_METRICS_TEXT_H_
#define REDIS_HA_TESTS_SUPPORT_METRICS_TEXT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace redis_ha::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> ParseMetricsText(const std::string& text);

// Samples of `name` whose labels include every pair of `match`.
std::vector<Sample> Select(const std::vector<Sample>& samples, const std::string& name,
                           const std::map<std::string, std::string>& match = {});
// The value of the single sample matching, or nullopt when there is none or several.
std::optional<double> Value(const std::vector<Sample>& samples, const std::string& name,
                            const std::map<std::string, std::string>& match = {});

}  // namespace redis_ha::testing

#endif  // REDIS_HA_TESTS_SUPPORT_METRICS_TEXT_H_
