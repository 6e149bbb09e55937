#!/bin/sh
# Throw-away PostgreSQL server for tests: the one implementation, used by the C tests
# (tests/store/store_test_pg.h) and by the integration harness (tests/integration/harness.py).
#   pg-test.sh start DIR PORT   initdb (trust auth, superuser "opshub") into DIR/data unless it
#                               is there already, start postgres on 127.0.0.1:PORT only (socket
#                               in DIR), wait until it accepts connections, create database
#                               opshub_test unless it exists. After a stop, the same command
#                               restarts the same cluster with its data.
#   pg-test.sh stop DIR [MODE]  stop it (MODE fast, the default, or immediate) and leave DIR for
#                               the caller to delete.
# Works as root: initdb refuses to run as root, so the server runs as user postgres then.
# Never touches the system cluster; fsync is off because the data is thrown away.
set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

usage() {
    echo "usage: $0 start DIR PORT | stop DIR [fast|immediate]" >&2
    exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2

case "$cmd" in
start)
    [ $# -eq 3 ] || usage
    port=$3
    [ -x "$PGBIN/postgres" ] || { echo "pg-test: no PostgreSQL in $PGBIN (run scripts/setup.sh)" >&2; exit 1; }
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres "$dir"
    fi
    if [ ! -d "$dir/data" ]; then
        as_owner "$PGBIN/initdb" -A trust -U opshub -E UTF8 --locale=C.UTF-8 -D "$dir/data" \
            >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=off -c full_page_writes=off" \
        start >/dev/null || { tail -20 "$dir/postgres.log" >&2; exit 1; }
    i=0
    until "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U opshub; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "pg-test: server not ready" >&2; exit 1; }
        sleep 0.1
    done
    have=$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$port" -U opshub -d postgres \
        -c "SELECT 1 FROM pg_database WHERE datname = 'opshub_test'")
    [ "$have" = 1 ] || "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U opshub opshub_test
    ;;
stop)
    [ $# -le 3 ] || usage
    mode=${3:-fast}
    case "$mode" in fast | immediate) ;; *) usage ;; esac
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 30 stop >/dev/null
    ;;
*)
    usage
    ;;
esac
