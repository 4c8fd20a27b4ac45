#!/usr/bin/env bash
# deploy/systemd/redis_ha_exporter.service: `systemd-analyze verify` (with ExecStart pointed
# at the built binary), `systemd-analyze security --offline` exposure at most 2.0, the
# hardening the project promises, and credentials that match config.example.yml.
# Usage: test_systemd.sh SOURCE_DIR EXPORTER_BINARY
set -euo pipefail
src=$(cd "$1" && pwd) exporter=$(realpath "$2")
unit_src="$src/deploy/systemd/redis_ha_exporter.service"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# Directives that must be there, exactly.
for line in 'Type=exec' \
            'ExecStart=/usr/bin/redis_ha_exporter --config /etc/redis_ha_exporter/config.yml' \
            'ExecReload=/bin/kill -HUP $MAINPID' \
            'Restart=on-failure' 'RestartPreventExitStatus=2' \
            'DynamicUser=yes' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' \
            'PrivateTmp=yes' 'PrivateDevices=yes' 'CapabilityBoundingSet=' 'AmbientCapabilities=' \
            'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'MemoryDenyWriteExecute=yes' \
            'SystemCallFilter=@system-service' 'SystemCallArchitectures=native' \
            'LoadCredential=sentinel-password:redis_ha_exporter.sentinel-password' \
            'LoadCredential=redis-password:redis_ha_exporter.redis-password' \
            'WantedBy=multi-user.target'; do
  grep -qxF -- "$line" "$unit_src" && ok "$line" || fail "missing: $line"
done
for bad in '^User=root' '^ReadWritePaths=' '^StateDirectory=' '^Environment=.*PASSWORD'; do
  grep -qE "$bad" "$unit_src" && fail "must not have $bad" || ok "no $bad"
done
# The credential paths the config example and the unit's comments tell users to use are
# the ones systemd creates for these LoadCredential= lines.
for id in sentinel-password redis-password; do
  path="/run/credentials/redis_ha_exporter.service/$id"
  grep -qF "password-file: $path" "$src/deploy/config.example.yml" \
    && ok "config.example.yml names $path" || fail "config.example.yml does not name $path"
  grep -qF "$path" "$unit_src" && ok "unit comment names $path" || fail "unit comment lacks $path"
done

if command -v systemd-analyze >/dev/null; then
  mkdir -p "$tmp/units"
  sed "s#/usr/bin/redis_ha_exporter#$exporter#" "$unit_src" >"$tmp/units/redis_ha_exporter.service"
  if systemd-analyze verify --man=no "$tmp/units/redis_ha_exporter.service" >"$tmp/verify" 2>&1 \
     && [ ! -s "$tmp/verify" ]; then
    ok "systemd-analyze verify"
  else
    fail "systemd-analyze verify: $(cat "$tmp/verify")"
  fi
  if systemd-analyze security --offline=true --threshold=20 \
       "$tmp/units/redis_ha_exporter.service" >"$tmp/security" 2>&1; then
    ok "$(grep -o 'Overall exposure level.*' "$tmp/security")"
  else
    cat "$tmp/security"; fail "exposure above 2.0"
  fi
else
  echo "note: systemd-analyze not found; structural checks only"
fi

echo "$fails failure(s)"
[ $fails -eq 0 ]
