#!/usr/bin/env bash
# `cmake --install` into throwaway trees: the /usr layout (what the DEB gets: config in
# /etc) and the /usr/local layout (config in /usr/local/etc), the unit's paths following
# the prefix, and an existing config.yml left alone.
# Usage: test_install.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
tmp=$(mktemp -d "$build/test-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

check_tree() {  # root prefix etc
  local root=$1 prefix=$2 etc=$3
  for f in "$prefix/bin/redis_ha_exporter" \
           "$prefix/share/man/man1/redis_ha_exporter.1.gz" \
           "$prefix/share/redis_ha_exporter/config.example.yml" \
           "$prefix/lib/systemd/system/redis_ha_exporter.service" \
           "$etc/redis_ha_exporter/config.yml"; do
    [ -f "$root$f" ] && ok "$f" || fail "missing $f"
  done
  local unit="$root$prefix/lib/systemd/system/redis_ha_exporter.service"
  local want="ExecStart=$prefix/bin/redis_ha_exporter --config $etc/redis_ha_exporter/config.yml"
  grep -qxF "$want" "$unit" && ok "$want" || fail "unit: $(grep ExecStart= "$unit")"
  [ -x "$root$prefix/bin/redis_ha_exporter" ] && "$root$prefix/bin/redis_ha_exporter" --version >/dev/null \
    && ok "installed binary runs" || fail "installed binary does not run"
}

DESTDIR="$tmp/usr" cmake --install "$build" --prefix /usr >"$tmp/log1" 2>&1 || { cat "$tmp/log1"; exit 1; }
check_tree "$tmp/usr" /usr /etc

DESTDIR="$tmp/local" cmake --install "$build" --prefix /usr/local >"$tmp/log2" 2>&1 || { cat "$tmp/log2"; exit 1; }
check_tree "$tmp/local" /usr/local /usr/local/etc
[ ! -e "$tmp/local/etc" ] && ok "nothing written to /etc for prefix /usr/local" || fail "/etc written for /usr/local"

# A second install keeps the administrator's config.
echo "# edited" >>"$tmp/local/usr/local/etc/redis_ha_exporter/config.yml"
DESTDIR="$tmp/local" cmake --install "$build" --prefix /usr/local >"$tmp/log3" 2>&1 || { cat "$tmp/log3"; exit 1; }
tail -1 "$tmp/local/usr/local/etc/redis_ha_exporter/config.yml" | grep -qx "# edited" \
  && ok "existing config.yml kept" || fail "existing config.yml overwritten"

echo "$fails failure(s)"
[ $fails -eq 0 ]
