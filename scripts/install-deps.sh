#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing.
# Usage: scripts/install-deps.sh [build|run|test|all|bench]   (default: all)
# `bench` (make bench only) adds what the fleet benchmark compares against and plots with.
set -euo pipefail

build_pkgs=(cmake make g++ pkg-config prometheus-cpp-dev libhiredis-dev libyaml-cpp-dev
            libgtest-dev libgmock-dev libssl-dev libcrypt-dev)
run_pkgs=(redis-server redis-sentinel redis-tools curl)
bench_pkgs=(prometheus-redis-exporter gnuplot-nox valgrind)
test_pkgs=(prometheus dpkg-dev file python3-yaml prometheus-alertmanager chromium shellcheck
           clang libclang-rt-14-dev)

case "${1:-all}" in
  build) want=("${build_pkgs[@]}") ;;
  run) want=("${build_pkgs[@]}" "${run_pkgs[@]}") ;;
  test|all) want=("${build_pkgs[@]}" "${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want=("${build_pkgs[@]}" "${run_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "install-deps: unknown set '$1' (build|run|test|all|bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages enable and start system-wide services; the lab and the tests start
# their own servers on free ports, so stop the packaged ones where a service manager runs.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now redis-server redis-sentinel prometheus \
    prometheus-redis-exporter >/dev/null 2>&1 || true
fi
