#!/usr/bin/env bash
# rolling-restart.sh: restart every node of one Redis/Valkey Sentinel group, one at a time,
# asking redis_ha_exporter's rollout gate before every step.
#
#   GROUP=mymaster SENTINELS=10.0.0.5:26379,10.0.0.6:26379 GATE_URL=http://exporter:9479 \
#   RESTART_CMD='ssh {host} sudo systemctl restart redis-server@{port}' \
#   SENTINEL_RESTART_CMD='ssh {host} sudo systemctl restart redis-sentinel@{port}' \
#     ./rolling-restart.sh
#
# Order (docs/recipes.md has the reasoning):
#   1. Replicas, one at a time. Before each: the gate must say ready for
#      action=restart-replica&node=<it>. After each: the node must answer with a new run_id,
#      be linked to the primary and not loading, and the gate must say ready again for every
#      replica of the group, from an observation made after the restart.
#   2. The primary, handed off first. The gate must say ready for action=failover&node=<it>;
#      it names the replica Sentinel will promote (the candidate). Then:
#        CLIENT PAUSE <PAUSE_MS> WRITE on the primary,
#        wait until every linked replica's slave_repl_offset reaches the primary's
#          master_repl_offset (INFO replication on both),
#        SENTINEL FAILOVER <group>, wait until SENTINEL GET-MASTER-ADDR-BY-NAME names the new
#          primary (the pause is renewed while waiting),
#        REPLICAOF <new primary> and CONFIG REWRITE on the old primary, CLIENT UNPAUSE,
#        restart the old primary, now a replica, and wait as in 1.
#      A plain Sentinel failover is REPLICAOF NO ONE on the chosen replica: every write the old
#      primary acknowledged that the replica had not yet received is lost. Pausing writes
#      until the replicas have caught up makes the handoff lossless: no acknowledged write is
#      lost, clients see a short write stall (1-2 s in the lab) instead. Writes held by
#      the pause are answered -READONLY once the old primary is a replica, never acknowledged.
#      Demoting the old primary ourselves (to the primary Sentinel already announced) closes
#      the 8-20 s window in which Sentinel has not yet reconfigured it and it would accept
#      writes from clients that still talk to it; Sentinel later sends the same command.
#   3. The Sentinels, one at a time: the gate must say ready for
#      action=restart-sentinel&node=<it> (quorum and failover authorization reachable
#      without it); after each, it must answer with a new run_id, know the primary and report
#      SENTINEL CKQUORUM OK, and the gate must say ready again for every Sentinel.
#
# The gate decides whether a step may start; redis-cli only performs the operations and checks
# that a restart took effect. Any timeout or error stops the script with a non-zero exit code
# (writes are unpaused first); it is safe to run it again from the start.
#
# Configuration (environment variables; each also as a --flag, e.g. --group mymaster):
#   GROUP                 Sentinel group (master name). Required.
#   SENTINELS             host:port[,host:port...] of Sentinels watching it. Required; the
#                         others are discovered with SENTINEL SENTINELS.
#   GATE_URL              The exporter. Default http://127.0.0.1:9479 (its default port).
#   RESTART_CMD           Restarts one data node; run with sh -c after substituting {host},
#                         {port}, {addr} (host:port), {kind} (redis|sentinel) and {role}
#                         (replica|primary|sentinel). It may return before the node is back:
#                         the script waits for a new run_id. Required unless STEPS=sentinels.
#   SENTINEL_RESTART_CMD  The same for Sentinels. Default: RESTART_CMD.
#   STEPS                 Which steps, comma-separated: replicas,primary,sentinels (default all).
#   GATE_TIMEOUT          Seconds to wait for the gate before/after a step (default 600).
#   RESTART_TIMEOUT       Seconds for a restart command and for the node to answer (default 180).
#   SYNC_TIMEOUT          Seconds for a restarted replica to load and link up (default 600).
#   PAUSE_MS              CLIENT PAUSE duration, renewed while waiting; keep it below
#                         down-after-milliseconds (default 4000).
#   CATCHUP_TIMEOUT       Seconds for the replicas to catch up during the pause (default 3).
#   SWITCH_TIMEOUT        Seconds for Sentinel to switch to the new primary (default 30).
#   POLL_INTERVAL         Seconds between gate polls (default 1; fractions allowed).
#   MAX_LAG_BYTES         Passed to the gate as max_lag_bytes (default: the exporter's).
#   REQUIRE_VERSION       Passed to the failover gate: the candidate must run this version.
#   REDISCLI_AUTH         Password of the data nodes, read by redis-cli itself (never put it on
#                         a command line). SENTINEL_AUTH: the Sentinels' password, if any.
#   REDISCLI_OPTS         Extra redis-cli arguments, whitespace-separated (e.g. --tls --cacert
#                         /etc/redis/ca.crt). CURL_OPTS: extra curl arguments (e.g. --cacert,
#                         --netrc-file for the exporter's basic auth).
#
# Needs bash 4+, redis-cli 6.2+ (for -e and CLIENT PAUSE ... WRITE), curl, awk, sed.
set -euo pipefail

PROG=rolling-restart

usage() {
  sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# ---- configuration --------------------------------------------------------------------------
GROUP=${GROUP:-}
SENTINELS=${SENTINELS:-}
GATE_URL=${GATE_URL:-http://127.0.0.1:9479}
RESTART_CMD=${RESTART_CMD:-}
SENTINEL_RESTART_CMD=${SENTINEL_RESTART_CMD:-}
STEPS=${STEPS:-replicas,primary,sentinels}
GATE_TIMEOUT=${GATE_TIMEOUT:-600}
RESTART_TIMEOUT=${RESTART_TIMEOUT:-180}
SYNC_TIMEOUT=${SYNC_TIMEOUT:-600}
PAUSE_MS=${PAUSE_MS:-4000}
CATCHUP_TIMEOUT=${CATCHUP_TIMEOUT:-3}
SWITCH_TIMEOUT=${SWITCH_TIMEOUT:-30}
POLL_INTERVAL=${POLL_INTERVAL:-1}
MAX_LAG_BYTES=${MAX_LAG_BYTES:-}
REQUIRE_VERSION=${REQUIRE_VERSION:-}

while [ $# -gt 0 ]; do
  flag=$1
  case $flag in
    -h|--help) usage; exit 0 ;;
    --*=*) value=${flag#*=}; flag=${flag%%=*} ;;
    --*) [ $# -ge 2 ] || { echo "$PROG: $flag needs a value" >&2; exit 2; }; value=$2; shift ;;
    *) echo "$PROG: unexpected argument '$flag' (see --help)" >&2; exit 2 ;;
  esac
  shift
  case $flag in
    --group) GROUP=$value ;;
    --sentinels) SENTINELS=$value ;;
    --gate-url) GATE_URL=$value ;;
    --restart-cmd) RESTART_CMD=$value ;;
    --sentinel-restart-cmd) SENTINEL_RESTART_CMD=$value ;;
    --steps) STEPS=$value ;;
    --gate-timeout) GATE_TIMEOUT=$value ;;
    --restart-timeout) RESTART_TIMEOUT=$value ;;
    --sync-timeout) SYNC_TIMEOUT=$value ;;
    --pause-ms) PAUSE_MS=$value ;;
    --catchup-timeout) CATCHUP_TIMEOUT=$value ;;
    --switch-timeout) SWITCH_TIMEOUT=$value ;;
    --poll-interval) POLL_INTERVAL=$value ;;
    --max-lag-bytes) MAX_LAG_BYTES=$value ;;
    --require-version) REQUIRE_VERSION=$value ;;
    *) echo "$PROG: unknown flag $flag (see --help)" >&2; exit 2 ;;
  esac
done
SENTINEL_RESTART_CMD=${SENTINEL_RESTART_CMD:-$RESTART_CMD}
GATE_URL=${GATE_URL%/}

read -r -a REDISCLI_ARGS <<< "${REDISCLI_OPTS:-}"
read -r -a CURL_ARGS <<< "${CURL_OPTS:-}"

# ---- logging --------------------------------------------------------------------------------
# logfmt lines on stderr: ts=... level=... msg="..." key=value ...
log() {
  local level=$1 msg=$2
  shift 2
  local kv=""
  local a
  for a in "$@"; do
    case $a in
      *=*\ *|*=*\"*) kv+=" ${a%%=*}=\"$(printf '%s' "${a#*=}" | sed 's/"/\\"/g')\"" ;;
      *) kv+=" $a" ;;
    esac
  done
  printf 'ts=%s level=%s msg="%s"%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$level" "$msg" "$kv" >&2
}
info() { log info "$@"; }
warn() { log warn "$@"; }
die() {
  log error "$@"
  exit 1
}

# ---- time -----------------------------------------------------------------------------------
now() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    printf '%s\n' "${EPOCHREALTIME/,/.}"
  else
    date +%s
  fi
}
# after SECONDS: the time SECONDS from now.
after() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.6f\n", a + b }'; }
# passed DEADLINE: true once the deadline is reached.
passed() { awk -v a="$(now)" -v b="$1" 'BEGIN { exit !(a >= b) }'; }
# since T: seconds from T to now.
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f\n", a - b }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

# ---- redis-cli --------------------------------------------------------------------------------
host_of() { local h=${1%:*}; h=${h#[}; printf '%s\n' "${h%]}"; }
port_of() { printf '%s\n' "${1##*:}"; }

# redis-cli, bounded when coreutils/busybox timeout is there (a stopped server never answers).
CLI=(redis-cli)
if command -v timeout >/dev/null 2>&1; then CLI=(timeout 10 redis-cli); fi

# rcli ADDR ARGS...: a command on a data node (password from REDISCLI_AUTH). Fails on an error
# reply or when the node does not answer (within 10 s with timeout(1)).
rcli() {
  local addr=$1
  shift
  "${CLI[@]}" -e "${REDISCLI_ARGS[@]}" -h "$(host_of "$addr")" -p "$(port_of "$addr")" \
    "$@" 2>/dev/null | tr -d '\r'
}
# sentinel_cli STRICT ADDR ARGS...: a command on a Sentinel, with SENTINEL_AUTH as the password
# (REDISCLI_AUTH changes only in the subshell). STRICT=1: fail on an error reply too.
# shellcheck disable=SC2030
sentinel_cli() {
  local strict=$1 addr=$2
  shift 2
  local e=()
  [ "$strict" = 1 ] && e=(-e)
  (
    unset REDISCLI_AUTH
    if [ -n "${SENTINEL_AUTH:-}" ]; then export REDISCLI_AUTH=$SENTINEL_AUTH; fi
    "${CLI[@]}" "${e[@]}" "${REDISCLI_ARGS[@]}" -h "$(host_of "$addr")" -p "$(port_of "$addr")" \
      "$@" 2>/dev/null | tr -d '\r'
  )
}
# scli ADDR ARGS...: fails on an error reply or no answer.
scli() { sentinel_cli 1 "$@"; }
# scli_reply ADDR ARGS...: an error reply is printed like any other; fails only without an answer.
scli_reply() { sentinel_cli 0 "$@"; }
# field NAME: the value of NAME:value in INFO text on stdin.
field() { sed -n "s/^$1://p" | head -n 1; }
run_id() {
  if [ "$1" = sentinel ]; then scli "$2" INFO server | field run_id; else rcli "$2" INFO server | field run_id; fi
}

# The Sentinels we talk to, the given ones first, then the discovered ones.
SENTINEL_LIST=()
# sentinel_any ARGS...: the reply of the first Sentinel that answers without an error, skipping
# SKIP_SENTINEL (the one being restarted).
SKIP_SENTINEL=""
sentinel_any() {
  local s out
  for s in "${SENTINEL_LIST[@]}"; do
    [ "$s" = "$SKIP_SENTINEL" ] && continue
    if out=$(scli "$s" "$@") && [ -n "$out" ]; then
      printf '%s\n' "$out"
      return 0
    fi
  done
  return 1
}
# primary_of [SENTINEL]: host:port of the group's primary according to the Sentinel (any if none).
primary_of() {
  local out
  if [ -n "${1:-}" ]; then
    out=$(scli "$1" SENTINEL GET-MASTER-ADDR-BY-NAME "$GROUP") || return 1
  else
    out=$(sentinel_any SENTINEL GET-MASTER-ADDR-BY-NAME "$GROUP") || return 1
  fi
  printf '%s\n' "$out" | paste -sd ' ' - | awk 'NF == 2 { print $1 ":" $2; ok = 1 } END { exit !ok }'
}
# table: the field/value lines of SENTINEL REPLICAS/SENTINELS on stdin as one line per entry:
# "ip:port flags".
table() {
  awk 'NR % 2 == 1 { k = $0; next }
       k == "name" && n++ { print ip ":" port " " flags }
       k == "ip" { ip = $0 } k == "port" { port = $0 } k == "flags" { flags = $0 }
       END { if (n) print ip ":" port " " flags }'
}

# ---- the gate ---------------------------------------------------------------------------------
GATE_STATUS="" GATE_BODY="" GATE_BLOCKERS="" GATE_AGE="" GATE_CANDIDATE=""
# json_str KEY: the first string value of KEY in the JSON on stdin (the exporter's compact JSON).
json_str() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | sed "s/^\"$1\":\"//; s/\"\$//"; }
# gate_query ACTION [NODE]: one request to /gate; sets GATE_STATUS (200 ready, 503 not ready,
# 000 no answer) and the fields read from the JSON body.
gate_query() {
  local action=$1 node=${2:-}
  local args=(-G --data-urlencode "group=$GROUP" --data-urlencode "action=$action")
  [ -n "$node" ] && args+=(--data-urlencode "node=$node")
  [ -n "$MAX_LAG_BYTES" ] && args+=(--data-urlencode "max_lag_bytes=$MAX_LAG_BYTES")
  [ -n "$REQUIRE_VERSION" ] && [ "$action" = failover ] &&
    args+=(--data-urlencode "require_version=$REQUIRE_VERSION")
  local out
  out=$(curl -sS -m 10 -w '\n%{http_code}' "${CURL_ARGS[@]}" "${args[@]}" "$GATE_URL/gate" 2>&1) || true
  GATE_STATUS=${out##*$'\n'}
  GATE_BODY=${out%$'\n'*}
  [ "$GATE_STATUS" = "$out" ] && GATE_BODY=$out
  GATE_BLOCKERS=$(printf '%s' "$GATE_BODY" | grep -o '"code":"[a-z_]*"' | sed 's/"code":"\(.*\)"/\1/' |
    paste -sd, - || true)
  GATE_AGE=$(printf '%s' "$GATE_BODY" | sed -n 's/.*"age_seconds":\([0-9.eE+-]*\).*/\1/p')
  GATE_CANDIDATE=$(printf '%s' "$GATE_BODY" | sed -n 's/.*"candidate":{"node":"\([^"]*\)".*/\1/p')
}
# wait_gate ACTION NODE [FRESH_AFTER]: polls the gate until it says ready (200) from an
# observation made after FRESH_AFTER (a value of now), or dies at GATE_TIMEOUT. Logs every
# change of the blockers and the final verdict.
wait_gate() {
  local action=$1 node=$2 fresh_after=${3:-}
  local deadline last="" unknown_since="" note
  deadline=$(after "$GATE_TIMEOUT")
  while :; do
    gate_query "$action" "$node"
    case $GATE_STATUS in
      200)
        # Fresh: the exporter's observation (age_seconds before our receipt) is newer than
        # FRESH_AFTER. Durations only, so the two hosts' clocks need not agree.
        if [ -z "$fresh_after" ] || [ -z "$GATE_AGE" ] ||
           awk -v a="$(since "$fresh_after")" -v b="$GATE_AGE" 'BEGIN { exit !(a > b) }'; then
          note=()
          [ -n "$GATE_CANDIDATE" ] && note=("candidate=$GATE_CANDIDATE")
          info "gate ready" "action=$action" "node=${node:-}" "age=${GATE_AGE}s" "${note[@]}"
          return 0
        fi
        if [ "$last" != "(stale)" ]; then
          info "gate ready, waiting for an observation made after the last change" \
            "action=$action" "node=${node:-}" "age=${GATE_AGE}s"
          last="(stale)"
        fi
        ;;
      503)
        if [ "$GATE_BLOCKERS" != "$last" ]; then
          info "gate not ready" "action=$action" "node=${node:-}" "blockers=$GATE_BLOCKERS" \
            "reason=$(printf '%s' "$GATE_BODY" | json_str message)"
          last=$GATE_BLOCKERS
        fi
        # unknown_node that persists: the gate and this script name the node differently.
        if [[ ",$GATE_BLOCKERS," == *,unknown_node,* ]]; then
          unknown_since=${unknown_since:-$(now)}
          if ge "$(since "$unknown_since")" 15; then
            die "the gate does not know the node: check that SENTINELS and the exporter use the same addresses" \
              "action=$action" "node=$node" "reason=$(printf '%s' "$GATE_BODY" | json_str message)"
          fi
        else
          unknown_since=""
        fi
        ;;
      400|404)
        die "the gate rejected the request" "status=$GATE_STATUS" "action=$action" "node=${node:-}" \
          "error=$(printf '%s' "$GATE_BODY" | json_str error)"
        ;;
      *)
        if [ "$last" != "(error)" ]; then
          warn "gate unreachable, retrying" "url=$GATE_URL/gate" "status=$GATE_STATUS" \
            "detail=$(printf '%s' "$GATE_BODY" | head -c 200)"
          last="(error)"
        fi
        ;;
    esac
    if passed "$deadline"; then
      die "timed out waiting for the gate" "timeout=${GATE_TIMEOUT}s" "action=$action" "node=${node:-}" \
        "blockers=$GATE_BLOCKERS" "reason=$(printf '%s' "$GATE_BODY" | json_str message)"
    fi
    sleep "$POLL_INTERVAL"
  done
}

# ---- restarts ---------------------------------------------------------------------------------
# render TEMPLATE ADDR KIND ROLE
render() {
  local t=$1 addr=$2 kind=$3 role=$4 host port
  host=$(host_of "$addr")
  port=$(port_of "$addr")
  # Addresses come from Sentinel: refuse anything that is not a plain host and port.
  [[ $host =~ ^[A-Za-z0-9._:-]+$ && $port =~ ^[0-9]+$ ]] || die "refusing to substitute address '$addr'"
  t=${t//\{host\}/"$host"}
  t=${t//\{port\}/"$port"}
  t=${t//\{addr\}/"$addr"}
  t=${t//\{kind\}/"$kind"}
  t=${t//\{role\}/"$role"}
  printf '%s\n' "$t"
}

# restart KIND ROLE ADDR GATE_ACTION: runs the restart command, waits for a new run_id.
restart() {
  local kind=$1 role=$2 addr=$3 gate_action=$4 template cmd old new deadline
  if [ "$kind" = sentinel ]; then template=$SENTINEL_RESTART_CMD; else template=$RESTART_CMD; fi
  [ -n "$template" ] || die "no restart command (RESTART_CMD / SENTINEL_RESTART_CMD)"
  old=$(run_id "$kind" "$addr" || true)
  cmd=$(render "$template" "$addr" "$kind" "$role")
  info "restarting" "kind=$kind" "role=$role" "node=$addr" "gate=$gate_action" "old_run_id=${old:-?}" "cmd=$cmd"
  local rc=0
  if command -v timeout >/dev/null 2>&1; then
    timeout "$RESTART_TIMEOUT" sh -c "$cmd" </dev/null || rc=$?
  else
    sh -c "$cmd" </dev/null || rc=$?
  fi
  [ "$rc" -eq 0 ] || die "the restart command failed" "node=$addr" "exit_code=$rc" "cmd=$cmd"
  deadline=$(after "$RESTART_TIMEOUT")
  while :; do
    new=$(run_id "$kind" "$addr" || true)
    if [ -n "$new" ] && [ "$new" != "$old" ]; then break; fi
    if passed "$deadline"; then
      if [ -z "$new" ]; then die "the node does not answer after its restart" "node=$addr"; fi
      die "the node's run_id did not change: did the restart command restart it?" "node=$addr" "run_id=$new"
    fi
    sleep 0.2
  done
  info "node is back" "kind=$kind" "node=$addr" "run_id=$new"
}

# wait_data_node ADDR PRIMARY: the restarted data node is done loading and, as a replica of
# PRIMARY, linked and not in a full sync.
wait_data_node() {
  local addr=$1 primary=$2 deadline text role link syncing loading master last=""
  deadline=$(after "$SYNC_TIMEOUT")
  while :; do
    text=$(rcli "$addr" INFO || true)
    role=$(printf '%s\n' "$text" | field role)
    loading=$(printf '%s\n' "$text" | field loading)
    link=$(printf '%s\n' "$text" | field master_link_status)
    syncing=$(printf '%s\n' "$text" | field master_sync_in_progress)
    master="$(printf '%s\n' "$text" | field master_host):$(printf '%s\n' "$text" | field master_port)"
    local state="role=${role:-?} loading=${loading:-?} link=${link:-?} sync=${syncing:-?} master=$master"
    if [ "$role" = slave ] && [ "$loading" = 0 ] && [ "$link" = up ] && [ "$syncing" = 0 ] &&
       [ "$master" = "$primary" ]; then
      info "replica is linked" "node=$addr" "primary=$primary"
      return 0
    fi
    if [ "$state" != "$last" ]; then
      info "waiting for the replica to load and link up" "node=$addr" "state=$state"
      last=$state
    fi
    passed "$deadline" && die "timed out waiting for the replica" "timeout=${SYNC_TIMEOUT}s" "node=$addr" "state=$state"
    sleep 0.5
  done
}

# listed KIND: host:port of every replica (KIND=REPLICAS) or other Sentinel (KIND=SENTINELS) a
# Sentinel lists for the group.
listed() {
  local out
  out=$(sentinel_any SENTINEL "$1" "$GROUP") || die "no Sentinel answers SENTINEL $1 $GROUP"
  printf '%s\n' "$out" | table | awk '{ print $1 }'
}
# preflight: before touching anything, no replica or Sentinel of the group may be flagged down
# (s_down/o_down: unreachable for down-after-milliseconds; such a node would otherwise be
# "restarted" into service, or block a step for good). Flags that clear within 15 s are waited
# out; a bare `disconnected` (a link being re-established) is not a reason to stop.
preflight() {
  local deadline down kind out
  deadline=$(after 15)
  while :; do
    down=""
    for kind in REPLICAS SENTINELS; do
      out=$(sentinel_any SENTINEL "$kind" "$GROUP") || die "no Sentinel answers SENTINEL $kind $GROUP"
      down+=$(printf '%s\n' "$out" | table | awk '$2 ~ /(^|,)(s_down|o_down)(,|$)/ { printf " %s(%s)", $1, $2 }')
    done
    [ -z "$down" ] && return 0
    passed "$deadline" && die "Sentinel flags nodes of $GROUP down: bring them back, or run SENTINEL RESET $GROUP on every Sentinel for nodes gone for good, before a rolling restart" "down=${down# }"
    sleep 1
  done
}

# settle_data_nodes FRESH_AFTER: the gate is ready again, from an observation made after
# FRESH_AFTER, for restarting any replica: the group is back to full redundancy. Sentinel's
# replica list changes at the end of a failover (which the gate waits out), so it is read again
# until it is the same before and after the gate said ready for each.
settle_data_nodes() {
  local r replicas again primary
  replicas=$(listed REPLICAS)
  while :; do
    primary=$(primary_of) || die "no Sentinel names a primary for $GROUP"
    for r in $replicas; do
      [ "$r" = "$primary" ] && continue
      wait_gate restart-replica "$r" "$1"
    done
    again=$(listed REPLICAS)
    [ "$again" = "$replicas" ] && return 0
    replicas=$again
  done
}

# ---- steps ------------------------------------------------------------------------------------
step_replicas() {
  local primary r t
  primary=$(primary_of) || die "no Sentinel names a primary for $GROUP"
  local replicas
  replicas=$(listed REPLICAS)
  [ -n "$replicas" ] || die "group $GROUP has no replicas: nothing could take over from its primary"
  info "step: replicas" "primary=$primary" "replicas=$(printf '%s\n' "$replicas" | paste -sd, -)"
  for r in $replicas; do
    wait_gate restart-replica "$r"
    restart redis replica "$r" restart-replica
    wait_data_node "$r" "$primary"
    t=$(now)
    settle_data_nodes "$t"
    RESTARTED+=("$r")
  done
}

PAUSED_ON=""
unpause() {
  [ -n "$PAUSED_ON" ] || return 0
  if rcli "$PAUSED_ON" CLIENT UNPAUSE >/dev/null; then
    info "writes unpaused" "node=$PAUSED_ON"
  else
    warn "CLIENT UNPAUSE failed: the pause ends by itself within PAUSE_MS" "node=$PAUSED_ON" "pause_ms=$PAUSE_MS"
  fi
  PAUSED_ON=""
}
pause() {
  rcli "$1" CLIENT PAUSE "$PAUSE_MS" WRITE >/dev/null || die "CLIENT PAUSE failed" "node=$1"
  PAUSED_ON=$1
}

step_primary() {
  local primary candidate sentinel new t paused_at renewed
  primary=$(primary_of) || die "no Sentinel names a primary for $GROUP"
  info "step: primary" "primary=$primary"
  wait_gate failover "$primary"
  candidate=$GATE_CANDIDATE
  [ -n "$candidate" ] || die "the gate said ready for failover but named no candidate"
  local replicas
  replicas=$(listed REPLICAS)

  # Pause writes, then wait for the replicas to hold everything the primary acknowledged.
  info "pausing writes on the primary" "node=$primary" "pause_ms=$PAUSE_MS" "candidate=$candidate"
  paused_at=$(now)
  pause "$primary"
  renewed=$paused_at
  local deadline target r off link lagging text
  deadline=$(after "$CATCHUP_TIMEOUT")
  while :; do
    target=$(rcli "$primary" INFO replication | field master_repl_offset)
    [ -n "$target" ] || { unpause; die "cannot read master_repl_offset" "node=$primary"; }
    lagging=""
    for r in $replicas; do
      text=$(rcli "$r" INFO replication || true)
      off=$(printf '%s\n' "$text" | field slave_repl_offset)
      link=$(printf '%s\n' "$text" | field master_link_status)
      if [ "$r" != "$candidate" ] && [ "$link" != up ]; then
        continue  # Not linked: it cannot catch up, and Sentinel does not pick it (the gate said so).
      fi
      if [ -z "$off" ] || ! ge "$off" "$target"; then lagging+=" $r@${off:-?}"; fi
    done
    [ -z "$lagging" ] && break
    if passed "$deadline"; then
      unpause
      die "replicas did not catch up during the pause; nothing changed" "timeout=${CATCHUP_TIMEOUT}s" \
        "primary_offset=$target" "lagging=${lagging# }"
    fi
    sleep 0.02
  done
  info "replicas caught up" "primary_offset=$target" "after=$(since "$paused_at")s"

  # The failover. Ask one Sentinel and follow that one: it announces the switch first.
  # Only the first Sentinel that answers is asked: two forced failovers would race.
  local reply="" asked=""
  for sentinel in "${SENTINEL_LIST[@]}"; do
    if reply=$(scli_reply "$sentinel" SENTINEL FAILOVER "$GROUP") && [ -n "$reply" ]; then
      asked=$sentinel
      break
    fi
  done
  if [ -z "$asked" ]; then
    unpause
    die "no Sentinel answered SENTINEL FAILOVER; nothing changed"
  fi
  sentinel=$asked
  if [ "$reply" != OK ]; then
    unpause
    die "Sentinel refused the failover; nothing changed" "sentinel=$sentinel" "reply=$reply"
  fi
  info "SENTINEL FAILOVER issued" "sentinel=$sentinel" "group=$GROUP" "reply=$reply"
  deadline=$(after "$SWITCH_TIMEOUT")
  while :; do
    new=$(primary_of "$sentinel" || true)
    if [ -n "$new" ] && [ "$new" != "$primary" ]; then break; fi
    if passed "$deadline"; then
      unpause
      die "Sentinel did not switch to a new primary; writes unpaused on the old one, check the group before retrying" \
        "timeout=${SWITCH_TIMEOUT}s" "sentinel=$sentinel"
    fi
    # Keep writes paused until the switch: renew half-way through the pause.
    if ge "$(since "$renewed")" "$(awk -v p="$PAUSE_MS" 'BEGIN { print p / 2000 }')"; then
      rcli "$primary" CLIENT PAUSE "$PAUSE_MS" WRITE >/dev/null || warn "renewing CLIENT PAUSE failed" "node=$primary"
      renewed=$(now)
    fi
    sleep 0.05
  done
  if [ "$new" = "$candidate" ]; then
    info "Sentinel switched to the new primary" "old=$primary" "new=$new"
  else
    warn "Sentinel promoted a replica other than the gate's candidate (it had caught up too)" \
      "old=$primary" "new=$new" "candidate=$candidate"
  fi

  # Demote the old primary to the primary Sentinel announced, then release the paused writes:
  # they are refused with -READONLY instead of being acknowledged by a node about to lose them.
  if rcli "$primary" REPLICAOF "$(host_of "$new")" "$(port_of "$new")" >/dev/null; then
    rcli "$primary" CONFIG REWRITE >/dev/null ||
      warn "CONFIG REWRITE failed: after its restart the old primary may come back as a primary until Sentinel reconfigures it" "node=$primary"
  else
    warn "REPLICAOF failed on the old primary: Sentinel will reconfigure it" "node=$primary"
  fi
  unpause
  info "primary handed off" "old=$primary" "new=$new" "writes_paused=$(since "$paused_at")s"

  restart redis primary "$primary" failover
  wait_data_node "$primary" "$new"
  t=$(now)
  settle_data_nodes "$t"
  RESTARTED+=("$primary")
  HANDOFF="$primary -> $new"
}

step_sentinels() {
  local s t list=()
  # Identify the Sentinels by their addresses as Sentinel announces them.
  local peers
  peers=$(listed SENTINELS)
  # The Sentinel that answered is not in its own list: find which one of ours it is.
  for s in "${SENTINEL_LIST[@]}"; do
    if ! printf '%s\n' "$peers" | grep -qxF "$s" && [ -n "$(scli "$s" PING || true)" ]; then
      list+=("$s")
      break
    fi
  done
  for s in $peers; do list+=("$s"); done
  info "step: sentinels" "sentinels=$(IFS=,; printf '%s' "${list[*]}")"
  local quorum_reply primary
  for s in "${list[@]}"; do
    wait_gate restart-sentinel "$s"
    SKIP_SENTINEL=$s
    restart sentinel sentinel "$s" restart-sentinel
    primary=$(primary_of) || die "no other Sentinel names a primary for $GROUP"
    local deadline
    deadline=$(after "$RESTART_TIMEOUT")
    while :; do
      quorum_reply=$(scli "$s" SENTINEL CKQUORUM "$GROUP" || true)
      if [ "$(primary_of "$s" || true)" = "$primary" ] && [ "${quorum_reply%% *}" = OK ]; then break; fi
      passed "$deadline" && die "the restarted Sentinel does not know the group or its quorum" "node=$s" \
        "ckquorum=${quorum_reply:-no answer}"
      sleep 0.5
    done
    info "Sentinel knows the group" "node=$s" "primary=$primary" "ckquorum=$quorum_reply"
    SKIP_SENTINEL=""
    t=$(now)
    local other
    for other in "${list[@]}"; do wait_gate restart-sentinel "$other" "$t"; done
    RESTARTED+=("$s")
  done
}

# ---- main -------------------------------------------------------------------------------------
[ -n "$GROUP" ] || { echo "$PROG: GROUP (--group) is required; see --help" >&2; exit 2; }
[ -n "$SENTINELS" ] || { echo "$PROG: SENTINELS (--sentinels) is required; see --help" >&2; exit 2; }
for tool in redis-cli curl awk sed; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$PROG: $tool not found" >&2; exit 2; }
done
DO_REPLICAS=0 DO_PRIMARY=0 DO_SENTINELS=0
IFS=, read -r -a steps <<< "$STEPS"
for s in "${steps[@]}"; do
  case $s in
    replicas) DO_REPLICAS=1 ;;
    primary) DO_PRIMARY=1 ;;
    sentinels) DO_SENTINELS=1 ;;
    *) echo "$PROG: unknown step '$s' in STEPS (replicas,primary,sentinels)" >&2; exit 2 ;;
  esac
done
if [ $((DO_REPLICAS + DO_PRIMARY)) -gt 0 ] && [ -z "$RESTART_CMD" ]; then
  echo "$PROG: RESTART_CMD (--restart-cmd) is required to restart data nodes; see --help" >&2
  exit 2
fi

on_exit() {
  local rc=$?
  if [ -n "$PAUSED_ON" ]; then unpause; fi
  if [ "$rc" -ne 0 ]; then log error "rolling restart stopped" "group=$GROUP" "exit_code=$rc" \
    "restarted=$(IFS=,; printf '%s' "${RESTARTED[*]}")"; fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RESTARTED=()
HANDOFF=""
START=$(now)
IFS=, read -r -a SENTINEL_LIST <<< "$SENTINELS"
# Add the Sentinels the given ones know.
if out=$(sentinel_any SENTINEL SENTINELS "$GROUP"); then
  for s in $(printf '%s\n' "$out" | table | awk '{ print $1 }'); do
    printf '%s\n' "${SENTINEL_LIST[@]}" | grep -qxF "$s" || SENTINEL_LIST+=("$s")
  done
else
  die "no Sentinel in SENTINELS answers for group $GROUP" "sentinels=$SENTINELS"
fi
info "rolling restart" "group=$GROUP" "gate=$GATE_URL" "steps=$STEPS" \
  "sentinels=$(IFS=,; printf '%s' "${SENTINEL_LIST[*]}")"

preflight
if [ "$DO_REPLICAS" = 1 ]; then step_replicas; fi
if [ "$DO_PRIMARY" = 1 ]; then step_primary; fi
if [ "$DO_SENTINELS" = 1 ]; then step_sentinels; fi
info "rolling restart done" "group=$GROUP" "restarted=$(IFS=,; printf '%s' "${RESTARTED[*]}")" \
  "handoff=${HANDOFF:-none}" "took=$(since "$START")s"
