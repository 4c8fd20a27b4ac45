#!/bin/sh
# preStop hook for a Redis/Valkey data pod of a Sentinel group (see prestop-statefulset.yaml).
#
# Before Kubernetes sends SIGTERM to the redis container:
#   - on a replica: wait until redis_ha_exporter's gate says ready for
#     action=restart-replica&node=SELF_ADDR (another replica stays healthy, no full sync or
#     failover in flight, min-replicas-to-write still met);
#   - on the primary: wait until the gate says ready for action=failover&node=SELF_ADDR, then hand
#     the primary role off without losing acknowledged writes: CLIENT PAUSE ... WRITE, wait until
#     every online replica has acknowledged the primary's whole replication stream,
#     SENTINEL FAILOVER, wait until Sentinel names another primary, REPLICAOF it (so that writes
#     held by the pause, or arriving before SIGTERM, are refused with -READONLY instead of being
#     acknowledged by a node that is going away), CLIENT UNPAUSE.
# A plain Sentinel failover (or the pod just dying) drops whatever the promoted replica had not
# received; the pause is what makes the handoff lossless.
#
# A preStop hook delays a termination, it cannot veto it: if the gate does not say ready within
# GATE_WAIT_SECONDS, or the handoff fails, the hook exits non-zero, Kubernetes records a
# FailedPreStopHook event and terminates the pod anyway. Use a PodDisruptionBudget
# (maxUnavailable: 1) so that evictions wait, and set the pod's terminationGracePeriodSeconds
# above GATE_WAIT_SECONDS + SWITCH_TIMEOUT + the server's own shutdown time: Kubernetes kills
# the container when the grace period ends, hook or not.
#
# Environment:
#   GATE_URL           the exporter, e.g. http://redis-ha-exporter.monitoring.svc:9479
#   GROUP              the Sentinel group (master name)
#   SELF_ADDR          this node's host:port as Sentinel announces it (e.g. $(POD_IP):6379)
#   SENTINEL_ADDR      host:port of a Sentinel (e.g. the Sentinel Service, port 26379)
#   REDIS_PORT         the local server's port (default 6379)
#   GATE_WAIT_SECONDS  how long to wait for the gate (default 120)
#   SWITCH_TIMEOUT     seconds for the catch-up and for Sentinel to switch (default 30)
#   PAUSE_MS           CLIENT PAUSE duration, renewed while waiting; keep it below
#                      down-after-milliseconds (default 4000)
#   REDISCLI_AUTH      the data nodes' password (read by redis-cli; never on a command line)
#   SENTINEL_AUTH      the Sentinels' password, if they have one
# Needs: sh, redis-cli (6.2+), curl, sed, awk, paste. The kubelet shows the hook's output in the
# FailedPreStopHook event when it fails.
set -eu

: "${GATE_URL:?}" "${GROUP:?}" "${SELF_ADDR:?}" "${SENTINEL_ADDR:?}"
REDIS_PORT=${REDIS_PORT:-6379}
GATE_WAIT_SECONDS=${GATE_WAIT_SECONDS:-120}
SWITCH_TIMEOUT=${SWITCH_TIMEOUT:-30}
PAUSE_MS=${PAUSE_MS:-4000}

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) prestop-gate: $*" >&2; }

local_cli() { redis-cli -p "$REDIS_PORT" "$@" | tr -d '\r'; }
sentinel_cli() {
  if [ -n "${SENTINEL_AUTH:-}" ]; then
    REDISCLI_AUTH=$SENTINEL_AUTH redis-cli -h "${SENTINEL_ADDR%:*}" -p "${SENTINEL_ADDR##*:}" "$@" | tr -d '\r'
  else
    (unset REDISCLI_AUTH; redis-cli -h "${SENTINEL_ADDR%:*}" -p "${SENTINEL_ADDR##*:}" "$@" | tr -d '\r')
  fi
}
field() { sed -n "s/^$1://p" | head -n 1; }
now() { date +%s; }

role=$(local_cli ROLE | head -n 1)
if [ "$role" = master ]; then action=failover; else action=restart-replica; fi

# Wait for the gate: curl --fail treats the 503 "not ready" as a failure.
deadline=$(( $(now) + GATE_WAIT_SECONDS ))
body=$(mktemp)
trap 'rm -f "$body"' EXIT
while ! curl --fail --silent --show-error --max-time 5 --output "$body" --get \
      --data-urlencode "group=$GROUP" --data-urlencode "action=$action" \
      --data-urlencode "node=$SELF_ADDR" "$GATE_URL/gate" 2>/dev/null; do
  if [ "$(now)" -ge "$deadline" ]; then
    log "gate not ready for $action of $SELF_ADDR after ${GATE_WAIT_SECONDS}s: $(grep -o '"code":"[a-z_]*"' "$body" | paste -sd, -)"
    exit 1
  fi
  sleep 2
done
log "gate ready for $action of $SELF_ADDR"
[ "$action" = failover ] || exit 0

# The primary: pause writes until every online replica has acknowledged everything.
unpause() { local_cli CLIENT UNPAUSE >/dev/null || true; }
local_cli CLIENT PAUSE "$PAUSE_MS" WRITE >/dev/null
renewed=$(now)
deadline=$(( $(now) + SWITCH_TIMEOUT ))
while :; do
  info=$(local_cli INFO replication)
  target=$(printf '%s\n' "$info" | field master_repl_offset)
  behind=$(printf '%s\n' "$info" | sed -n 's/^slave[0-9]*://p' | awk -F, -v t="$target" '
    { state = ""; off = -1
      for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "state") state = kv[2]; if (kv[1] == "offset") off = kv[2] }
      if (state == "online" && off + 0 < t + 0) n++ }
    END { print n + 0 }')
  [ "$behind" = 0 ] && break
  if [ "$(now)" -ge "$deadline" ]; then
    unpause
    log "$behind replica(s) did not catch up with offset $target; nothing changed"
    exit 1
  fi
  sleep 0.1
done
reply=$(sentinel_cli SENTINEL FAILOVER "$GROUP" || true)
if [ "$reply" != OK ]; then
  unpause
  log "SENTINEL FAILOVER $GROUP on $SENTINEL_ADDR: ${reply:-no answer}; nothing changed"
  exit 1
fi
log "replicas caught up with offset $target; SENTINEL FAILOVER $GROUP issued"
self_host=${SELF_ADDR%:*}
self_port=${SELF_ADDR##*:}
while :; do
  new=$(sentinel_cli SENTINEL GET-MASTER-ADDR-BY-NAME "$GROUP" | paste -sd ' ' - || true)
  if [ -n "$new" ] && [ "$new" != "$self_host $self_port" ]; then break; fi
  if [ "$(now)" -ge "$deadline" ]; then
    unpause
    log "Sentinel did not switch within ${SWITCH_TIMEOUT}s; writes unpaused"
    exit 1
  fi
  if [ $(( $(now) - renewed )) -ge $(( PAUSE_MS / 2000 )) ]; then
    local_cli CLIENT PAUSE "$PAUSE_MS" WRITE >/dev/null || true
    renewed=$(now)
  fi
  sleep 0.1
done
# shellcheck disable=SC2086  # "host port"
local_cli REPLICAOF $new >/dev/null || log "REPLICAOF $new failed; Sentinel will reconfigure this node"
unpause
log "primary handed off to ${new% *}:${new#* }"
