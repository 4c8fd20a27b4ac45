#!/usr/bin/env bash
# Runs a sanitized test binary and fails if any process it started reported a sanitizer error.
#
#   tests/sanitize/run.sh COMMAND [ARGS...]
#
# The exporters the integration tests start inherit ASAN_OPTIONS / UBSAN_OPTIONS; their
# reports (including LeakSanitizer's at each clean exit, which no test looks at) go to
# log_path files in a fresh directory, printed and counted here.
set -uo pipefail
reports=$(mktemp -d "${TMPDIR:-/tmp}/sanitize-reports.XXXXXX")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}:log_path=$reports/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}:log_path=$reports/ubsan"
"$@"
rc=$?
found=0
for f in "$reports"/*; do
  [ -e "$f" ] || continue
  found=1
  echo "=== sanitizer report $f"
  cat "$f"
done
rm -rf "$reports"
if [ $found -ne 0 ]; then
  echo "sanitize/run.sh: sanitizer reports above (exit $rc)" >&2
  exit 1
fi
exit $rc
