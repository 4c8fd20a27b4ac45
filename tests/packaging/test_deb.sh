#!/usr/bin/env bash
# Builds the Debian package from the current build (cpack -G DEB), inspects its contents,
# control fields and maintainer scripts with dpkg-deb, unpacks it into a throwaway root
# and runs the installed binary from there.
# Usage: test_deb.sh BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) version=$3
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not found (scripts/install-deps.sh installs dpkg-dev)"; exit 77
  fi
done

tmp=$(mktemp -d "$build/test-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# -B: the package and CPack's staging tree go to the throwaway directory.
if ! (cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1); then
  cat "$tmp/cpack.log"; echo "FAIL: cpack -G DEB"; exit 1
fi
deb=$(ls "$tmp"/out/*.deb)
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "redis-ha-exporter_${version}-1_${arch}.deb" ] \
  && ok "file name $(basename "$deb")" || fail "unexpected file name $(basename "$deb")"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = redis-ha-exporter ] && ok "Package" || fail "Package: $(field Package)"
[ "$(field Version)" = "${version}-1" ] && ok "Version ${version}-1" || fail "Version: $(field Version)"
[ "$(field Architecture)" = "$arch" ] && ok "Architecture" || fail "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] && ok "Maintainer" || fail "no Maintainer"
[ -n "$(field Description)" ] && ok "Description" || fail "no Description"

# Depends: computed by dpkg-shlibdeps, so exactly the runtime libraries the binary links.
depends=$(field Depends)
echo "Depends: $depends"
dep_names=$(sed 's/([^)]*)//g; s/[,|]/ /g' <<<"$depends" | tr -s ' ' '\n' | grep -v '^$')
# prometheus-cpp is used for its header-only metric types only (the text format is written by
# src/metrics/collector.cc), so the linker drops libprometheus-cpp-core and so does Depends.
for lib in libc6 libstdc++6 libhiredis0.14 libyaml-cpp0.7 libssl3 libcrypt1; do
  grep -qxF "$lib" <<<"$dep_names" && ok "Depends on $lib" || fail "Depends lacks $lib"
done
grep -q -- '-dev' <<<"$depends" && fail "Depends names a -dev package" || ok "no -dev dependency"
# Every dependency must be a package Debian knows (the archive's names, not guesses).
known=$( (apt-cache show --no-all-versions $dep_names 2>/dev/null; dpkg-query -W -f='Package: ${Package}\n' $dep_names 2>/dev/null) \
        | sed -n 's/^Package: //p' | sort -u)
for dep in $dep_names; do
  if grep -qxF "$dep" <<<"$known"; then
    ok "dependency $dep exists"
  else
    fail "dependency $dep is not a known package"
  fi
done

# Contents.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#' >"$tmp/contents"
expect=(/usr/bin/redis_ha_exporter
        /usr/share/man/man1/redis_ha_exporter.1.gz
        /usr/lib/systemd/system/redis_ha_exporter.service
        /etc/redis_ha_exporter/config.yml
        /usr/share/redis_ha_exporter/config.example.yml)
for f in "$src"/rules/*.yml; do
  [ -e "$f" ] || continue
  case "$f" in *[._-]test.yml|*[._-]tests.yml) continue ;; esac
  expect+=("/usr/share/redis_ha_exporter/rules/$(basename "$f")")
done
for f in "$src"/dashboards/*.json; do
  [ -e "$f" ] && expect+=("/usr/share/redis_ha_exporter/dashboards/$(basename "$f")")
done
for f in "${expect[@]}"; do
  grep -qx "$f" "$tmp/contents" && ok "contains $f" || fail "missing $f"
done
# Nothing from the build or test tree leaks in.
if grep -Ev '^/(usr/(bin|share/(man|redis_ha_exporter|doc))|usr/lib/systemd|etc/redis_ha_exporter|usr/lib/?$|usr/?$|usr/share/?$|etc/?$|/?$)' \
     "$tmp/contents" | grep -v '^$' >"$tmp/unexpected"; then
  fail "unexpected paths: $(tr '\n' ' ' <"$tmp/unexpected")"
else
  ok "no unexpected paths"
fi
dpkg-deb -c "$deb" | awk '$2 != "root/root" {bad=1} END {exit bad}' \
  && ok "all files owned by root" || fail "files not owned by root"

# Control archive: conffiles and maintainer scripts.
dpkg-deb -e "$deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/redis_ha_exporter/config.yml ] \
  && ok "conffiles" || fail "conffiles: $(cat "$tmp/control/conffiles" 2>/dev/null)"
for s in postinst prerm postrm; do
  if [ -x "$tmp/control/$s" ] && sh -n "$tmp/control/$s"; then ok "$s is an executable sh script"
  else fail "$s"; fi
done

# Unpack into a throwaway root and use what was installed.
dpkg-deb -x "$deb" "$tmp/root"
out=$("$tmp/root/usr/bin/redis_ha_exporter" --version)
[ "$out" = "redis_ha_exporter $version" ] && ok "installed --version: $out" || fail "--version printed '$out'"
file_out=$(file -b "$tmp/root/usr/bin/redis_ha_exporter" 2>/dev/null || true)
if [ -n "$file_out" ]; then
  grep -q "not stripped" <<<"$file_out" && fail "binary not stripped" || ok "binary stripped"
fi
# The man page is the binary's own --man output, so it cannot disagree with --help.
if cmp -s <(zcat "$tmp/root/usr/share/man/man1/redis_ha_exporter.1.gz") \
          <("$tmp/root/usr/bin/redis_ha_exporter" --man); then
  ok "man page = --man of the packaged binary"
else
  fail "man page differs from --man"
fi
for flag in $("$tmp/root/usr/bin/redis_ha_exporter" --help | grep -oE -- '--[a-z][a-z0-9.-]*' | sort -u); do
  zcat "$tmp/root/usr/share/man/man1/redis_ha_exporter.1.gz" | sed 's/\\-/-/g' | grep -F -- "$flag" >/dev/null \
    || fail "man page lacks $flag"
done
ok "man page names every --help flag"
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$tmp/root/usr/share/man/man1/redis_ha_exporter.1.gz" 2>"$tmp/man.err" >/dev/null
  [ -s "$tmp/man.err" ] && fail "man warns: $(cat "$tmp/man.err")" || ok "man renders without warnings"
fi

unit="$tmp/root/usr/lib/systemd/system/redis_ha_exporter.service"
grep -qx 'ExecStart=/usr/bin/redis_ha_exporter --config /etc/redis_ha_exporter/config.yml' "$unit" \
  && ok "unit runs the packaged binary with the packaged config" || fail "unit ExecStart: $(grep ExecStart= "$unit")"
cmp -s "$tmp/root/etc/redis_ha_exporter/config.yml" "$src/deploy/config.example.yml" \
  && ok "config.yml is deploy/config.example.yml" || fail "config.yml differs from deploy/config.example.yml"

# The packaged binary accepts the packaged config: it keeps running (timeout's 124)
# rather than exiting 2. It polls only the example's 127.0.0.1:26379.
set +e
timeout 1 "$tmp/root/usr/bin/redis_ha_exporter" --config "$tmp/root/etc/redis_ha_exporter/config.yml" \
  --web.listen-address=127.0.0.1:0 >"$tmp/run.log" 2>&1
rc=$?
set -e
[ $rc -eq 124 ] && ok "packaged binary serves with the packaged config" \
  || { cat "$tmp/run.log"; fail "packaged binary exited $rc with the packaged config"; }

echo "$(( ${#expect[@]} )) paths checked; $fails failure(s)"
[ $fails -eq 0 ]
