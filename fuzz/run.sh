#!/usr/bin/env bash
# Runs the libFuzzer targets built by tests/sanitize/build.sh.
#
#   fuzz/run.sh smoke  BUILD_DIR TARGET   replay the seeds and regressions, then fuzz
#                                         FUZZ_SECONDS (default 3) from them (make test)
#   fuzz/run.sh replay BUILD_DIR TARGET   replay only
#   fuzz/run.sh long   BUILD_DIR [TARGET...]  fuzz each FUZZ_SECONDS (default 60), keeping the
#                                         grown corpus in BUILD_DIR/fuzz-work/TARGET (make fuzz)
#
# Inputs replayed (and used as seeds): fuzz/corpus/TARGET (committed seeds and interesting
# inputs), fuzz/regressions/TARGET (every crash ever found, fixed), and the captured replies of
# tests/testdata that suit the target. A crash, leak, timeout (FUZZ_TIMEOUT, 10 s) or out-of-
# memory (2 GB) fails the run; the input is left in BUILD_DIR/fuzz-work/artifacts and its path
# printed: copy it to fuzz/regressions/TARGET/ once fixed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
mode=$1
build=$(cd "$2" && pwd)
shift 2
all_targets=(resp info sentinel_tables ckquorum config gate_query sentinel_event escape)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

testdata=$root/tests/testdata
seeds_of() {  # extra seed files from tests/testdata
  local f
  case "$1" in
    resp|sentinel_tables) printf '%s\n' "$testdata"/*.resp ;;
    info) for f in "$testdata"/*.txt; do if [ "${f##*/}" != CAPTURES.txt ]; then echo "$f"; fi; done ;;
    ckquorum) printf '%s\n' "$testdata"/*ckquorum*.resp ;;
  esac
}

work=$build/fuzz-work
mkdir -p "$work/artifacts"
status=0
for t in "${targets[@]}"; do
  bin=$build/fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz/run.sh: $bin not built (tests/sanitize/build.sh)" >&2; exit 1; }
  dirs=()
  for d in "$here/corpus/$t" "$here/regressions/$t"; do
    [ -d "$d" ] && dirs+=("$d")
  done
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$t.XXXXXX")
  mkdir -p "$scratch/seeds" "$scratch/tmp"
  while IFS= read -r f; do
    [ -n "$f" ] && cp "$f" "$scratch/seeds/"
  done < <(seeds_of "$t")
  dirs+=("$scratch/seeds")
  log=$work/$t.$mode.log
  common=(-timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -malloc_limit_mb=2048
          -artifact_prefix="$work/artifacts/$t-" -print_final_stats=1)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:handle_abort=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  export TMPDIR=$scratch/tmp  # the config target writes its file there
  start=$(date +%s%N)
  rc=0
  case "$mode" in
    replay)
      (cd "$scratch" && "$bin" "${common[@]}" -runs=0 "${dirs[@]}") >"$log" 2>&1 || rc=$?
      ;;
    smoke)
      # Replay first (every committed input runs once), then fuzz from them into a throwaway
      # corpus so the committed one is left alone.
      (cd "$scratch" && "$bin" "${common[@]}" -runs=0 "${dirs[@]}") >"$log" 2>&1 || rc=$?
      if [ $rc -eq 0 ]; then
        mkdir -p "$scratch/grown"
        (cd "$scratch" && "$bin" "${common[@]}" -max_total_time="${FUZZ_SECONDS:-3}" \
          "$scratch/grown" "${dirs[@]}") >>"$log" 2>&1 || rc=$?
      fi
      ;;
    long)
      mkdir -p "$work/$t"
      (cd "$scratch" && "$bin" "${common[@]}" -max_total_time="${FUZZ_SECONDS:-60}" \
        "$work/$t" "${dirs[@]}") >"$log" 2>&1 || rc=$?
      ;;
    *) echo "fuzz/run.sh: unknown mode '$mode' (smoke|replay|long)" >&2; exit 2 ;;
  esac
  unset TMPDIR
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  secs=$((ms / 1000)).$(printf %03d $((ms % 1000)))
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
  if [ $rc -ne 0 ]; then
    echo "FAIL fuzz_$t ($mode, exit $rc, ${secs}s); last lines of $log:"
    tail -n 60 "$log"
    for f in "$work/artifacts/$t-"*; do
      if [ -e "$f" ]; then echo "  input: $f"; fi
    done
    status=1
  else
    echo "ok   fuzz_$t ($mode, $runs runs, ${secs}s)"
  fi
  rm -rf "$scratch"
done
exit $status
