// `redis_ha_exporter check`: a one-shot gate for scripts, with no running exporter needed.
//
//   check --sentinel HOST:PORT --group G --action A [--node N] [--wait DURATION]
//         [--max-lag-bytes B] [--require-version V] [--url URL] [exporter flags]
//
// Polls the group itself (or, with --url, asks a running exporter's /api/v1/gate), prints
// the gate's JSON on stdout and exits 0 ready, 1 not ready, 2 error (bad flags, unknown
// group, exporter unreachable). With --wait it re-polls until ready or the duration
// passes, like `kubectl wait`.
#ifndef REDIS_HA_CLI_CHECK_H_
#define REDIS_HA_CLI_CHECK_H_

#include <string>
#include <vector>

namespace redis_ha::cli {

int RunCheck(const std::vector<std::string>& args);

}  // namespace redis_ha::cli

#endif  // REDIS_HA_CLI_CHECK_H_
