#!/usr/bin/env bash
# Static checks of the rule pack, the dashboards and the Alertmanager example.
# Usage: tests/rules/check_rules.sh [drift|check|test|lint|alertmanager|all]   (default all)
#   drift         rules/ and dashboards/ generated files match their generators
#   check         promtool check rules --lint=all --lint-fatal on the rule files and on the
#                 PrometheusRule's groups
#   test          promtool test rules rules/tests/*.yml
#   lint          tests/rules/lint.py (naming, annotations, runbook anchors, dashboards)
#   alertmanager  amtool check-config and routing of each severity
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "check_rules: $1 not found (scripts/install-deps.sh test)" >&2; exit 1; }
}

drift() {
  "$PY" rules/generate.py --check
  "$PY" dashboards/generate.py --check
  echo "drift: generated rules and dashboards are up to date"
}

check() {
  need promtool
  promtool check rules --lint=all --lint-fatal rules/recording.yml rules/alerts.yml
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  # The PrometheusRule's spec is a rule file one level down: check it as one.
  { echo "groups:"; sed -n '/^  groups:$/,$p' deploy/kubernetes/prometheusrule.yaml | tail -n +2 | sed 's/^  //'; } \
    > "$tmp/prometheusrule_spec.yml"
  promtool check rules --lint=all --lint-fatal "$tmp/prometheusrule_spec.yml"
  # Overrides documented in rules/README.md still render valid rules.
  "$PY" rules/generate.py --set 'jobs=["redis-ha-eu","redis-ha.us"]' \
    --set 'group_labels=["job","cluster","group"]' --set latent_for=6h --out-dir "$tmp/custom"
  promtool check rules --lint=all --lint-fatal "$tmp/custom/recording.yml" "$tmp/custom/alerts.yml"
  [ "$(grep -c 'alert: RedisHAExporterAbsent' "$tmp/custom/alerts.yml")" = 2 ]
}

unit() {
  need promtool
  promtool test rules rules/tests/*.yml
}

lint() {
  need promtool
  "$PY" tests/rules/lint.py
}

alertmanager() {
  need amtool
  local cfg=deploy/alertmanager/alertmanager.yml
  amtool check-config "$cfg"
  amtool config routes test --config.file="$cfg" --verify.receivers=redis-ha-pager \
    alertname=RedisHASplitBrainActive severity=critical job=redis_ha group=g1 2>/dev/null
  amtool config routes test --config.file="$cfg" --verify.receivers=redis-ha-tickets \
    alertname=RedisHASentinelDown severity=warning job=redis_ha 2>/dev/null
  amtool config routes test --config.file="$cfg" --verify.receivers=redis-ha-null \
    alertname=RedisHANodeRestarted severity=info job=redis_ha group=g1 2>/dev/null
  echo "alertmanager: config valid; critical pages, warning tickets, info goes nowhere"
}

case "${1:-all}" in
  drift) drift ;;
  check) check ;;
  test) unit ;;
  lint) lint ;;
  alertmanager) alertmanager ;;
  all) drift; check; unit; lint; alertmanager ;;
  *) echo "usage: $0 [drift|check|test|lint|alertmanager|all]" >&2; exit 2 ;;
esac
