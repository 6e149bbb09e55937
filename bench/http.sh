#!/bin/sh
# bench/http.sh: opshub's own HTTP server (bench_http_server, GET /healthz)
# against nginx `return 200`, measured the same way in one run: server pinned
# to core 0, `wrk -t1 -c64 -d5s` (keep-alive) pinned to core 1, three runs
# each, median req/s printed. Loopback only; nginx runs non-daemon from a
# temporary config and is stopped afterwards.
# Usage: bench/http.sh [path/to/bench_http_server]   (default: build/bench_http_server)
set -eu
BIN=${1:-build/bench_http_server}
DUR=${DUR:-5s}
RUNS=${RUNS:-3}
[ -x "$BIN" ] || { echo "http.sh: $BIN not found (build it first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "http.sh: wrk missing" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# median of RUNS wrk runs against $1
measure() {
    i=0; rates=""
    while [ $i -lt "$RUNS" ]; do
        r=$(taskset -c 1 wrk -t1 -c64 -d"$DUR" "$1" | awk '/^Requests\/sec/ {print $2}')
        rates="$rates $r"
        i=$((i + 1))
    done
    echo "$rates" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

TMP=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

P1=$(free_port)
taskset -c 0 "$BIN" "127.0.0.1:$P1" &
PIDS="$PIDS $!"

P2=$(free_port)
cat > "$TMP/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;  # default 1000 would force wrk to reconnect
    client_body_temp_path $TMP;
    proxy_temp_path $TMP;
    fastcgi_temp_path $TMP;
    uwsgi_temp_path $TMP;
    scgi_temp_path $TMP;
    server {
        listen 127.0.0.1:$P2;
        location / { return 200 '{"ok":true}'; }
    }
}
CONF
taskset -c 0 "$NGINX" -p "$TMP" -c "$TMP/nginx.conf" 2>/dev/null &
PIDS="$PIDS $!"
sleep 0.5

OPSHUB=$(measure "http://127.0.0.1:$P1/healthz")
NGX=$(measure "http://127.0.0.1:$P2/healthz")
printf 'GET /healthz, keep-alive, wrk -t1 -c64 -d%s, median of %s runs\n' "$DUR" "$RUNS"
printf '  opshub http server: %s req/s\n' "$OPSHUB"
printf '  nginx return 200:   %s req/s\n' "$NGX"
