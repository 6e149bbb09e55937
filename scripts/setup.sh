#!/usr/bin/env bash
# Installs every Debian package opshub needs to build, run, test and benchmark, and the
# npm packages of the web assets (web/package-lock.json: esbuild, uPlot) and of the
# integration tests (tests/integration/package-lock.json: the OpenAPI validator,
# playwright-core and axe-core for the browser tests, which drive Debian's chromium).
# Idempotent: does nothing when everything is present. Needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev git
  # libraries opshub links
  libuv1-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev libyaml-dev
  libjansson-dev libhttp-parser-dev libssl-dev libsodium-dev
  libhiredis-dev libc-ares-dev libpcre2-dev
  # on-call rotations as iCalendar feeds
  libical-dev
  # remote_write: the protocol's protobuf messages (protoc-c generates their C code) and snappy
  libprotobuf-c-dev protobuf-c-compiler libsnappy-dev
  # tests (prometheus brings promtool, which checks /metrics)
  libcmocka-dev python3 curl sqlite3 nginx-light postgresql redis-server prometheus
  # Alertmanager compatibility: amtool talks to opshub's API v2
  prometheus-alertmanager
  # the email channel's tests deliver through a real MTA (STARTTLS, AUTH) to a Maildir
  exim4-daemon-light
  # the command type's tests run Debian's Nagios plugins; the dns type's a local resolver
  monitoring-plugins-basic monitoring-plugins-standard dnsmasq-base
  # the log type's tests rotate their files with the real logrotate
  logrotate
  # the dashboard's browser tests (playwright-core drives the system browser)
  chromium fonts-dejavu-core
  # benchmarks
  wrk prometheus-blackbox-exporter procps
  # the sign-on tests sign ID tokens (RS256, ES256) for their fake OpenID Connect provider
  python3-cryptography
  # the rotations' iCalendar feeds are read back with a real parser (Debian's python3 runs it)
  python3-icalendar
)
# node and npm run the OpenAPI validator; a node that is already there (with its own npm)
# is used as it is, so Debian's packages are only asked for what is missing.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

# npm ci when node_modules is missing or older than the lock file.
npm_packages() {
  local dir
  for dir in web tests/integration; do
    if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
       [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "setup: npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
}

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  npm_packages
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these services on install; opshub's tests start their own
# instances on private loopback ports, so stop the system ones.
for s in nginx postgresql redis-server prometheus prometheus-alertmanager prometheus-blackbox-exporter dnsmasq exim4; do
  $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || $SUDO service "$s" stop >/dev/null 2>&1 || true
done
npm_packages
