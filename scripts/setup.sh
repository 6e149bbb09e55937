#!/usr/bin/env bash
# Installs every Debian package opshub needs to build, run, test and benchmark.
# Idempotent: does nothing when everything is present. Needs root (or sudo).
set -euo pipefail

PKGS=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev git
  # libraries opshub links
  libuv1-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev libyaml-dev
  libjansson-dev libhttp-parser-dev libssl-dev libsodium-dev
  # tests
  libcmocka-dev python3 curl sqlite3 nginx-light postgresql redis-server
  # benchmarks
  wrk prometheus-blackbox-exporter procps
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these services on install; opshub's tests start their own
# instances on private loopback ports, so stop the system ones.
for s in nginx postgresql redis-server prometheus-blackbox-exporter; do
  $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || $SUDO service "$s" stop >/dev/null 2>&1 || true
done
