#!/usr/bin/env bash
# The restart command the end-to-end test gives rolling-restart.sh for redis_ha_lab nodes:
#
#   lab_restart.sh KIND PORT     (KIND redis|sentinel)
#
# Stops the server listening on 127.0.0.1:PORT with SIGTERM (SIGKILL after 7.5 s), as a service
# manager would, and starts it again from its lab directory (the one whose redis.conf or
# sentinel.conf says `port PORT`), detached, with its output appended to restart.log there.
# Environment: LAB_DIR (the lab's directory), PIDS_FILE (each started pid is appended, so the
# test can stop them), RESTART_LOG (a line "start|done <unix time> KIND PORT pid" per restart).
set -euo pipefail
kind=$1
port=$2
: "${LAB_DIR:?}" "${PIDS_FILE:?}" "${RESTART_LOG:?}"

conf_name=redis.conf
[ "$kind" = sentinel ] && conf_name=sentinel.conf
conf=""
for f in "$LAB_DIR"/*/"$conf_name"; do
  if grep -qx "port $port" "$f"; then conf=$f; fi
done
[ -n "$conf" ] || { echo "lab_restart: no $conf_name with port $port under $LAB_DIR" >&2; exit 1; }
dir=$(dirname "$conf")

pid=$(redis-cli -p "$port" INFO server | tr -d '\r' | sed -n 's/^process_id://p')
[ -n "$pid" ] || { echo "lab_restart: nothing answers on port $port" >&2; exit 1; }
echo "start $(date +%s.%N) $kind $port $pid" >> "$RESTART_LOG"
# Running: exists and is not a zombie (the lab, its parent, reaps it only now and then).
running() { [ -r "/proc/$1/stat" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
kill -TERM "$pid"
for _ in $(seq 1 150); do
  running "$pid" || break
  sleep 0.05
done
if running "$pid"; then
  echo "lab_restart: pid $pid ignored SIGTERM for 7.5 s: SIGKILL" >&2
  kill -KILL "$pid" || true
  sleep 0.2
fi

args=("$conf")
[ "$kind" = sentinel ] && args+=(--sentinel)
cd "$dir"
setsid redis-server "${args[@]}" >> "$dir/restart.log" 2>&1 < /dev/null &
new=$!
echo "$new" >> "$PIDS_FILE"
for _ in $(seq 1 200); do
  if [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ]; then
    echo "done $(date +%s.%N) $kind $port $new" >> "$RESTART_LOG"
    exit 0
  fi
  running "$new" || break
  sleep 0.05
done
echo "lab_restart: $kind on port $port did not come back; see $dir/restart.log" >&2
tail -n 20 "$dir/restart.log" >&2
exit 1
