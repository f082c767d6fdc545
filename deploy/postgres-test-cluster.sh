#!/usr/bin/env bash
#
# A throwaway PostgreSQL cluster for the tests: initdb in a new directory, owned by an
# unprivileged user (`postgres` from Debian's package, or the caller when not root), listening
# on 127.0.0.1 only, on a free port, with a password (scram-sha-256) so that wrong
# credentials are tested as they are in production.
#
#     deploy/postgres-test-cluster.sh start DIR    prints the connection URI on stdout
#     deploy/postgres-test-cluster.sh stop DIR     stops it and removes DIR
#     deploy/postgres-test-cluster.sh restart DIR [SECONDS]
#                                                  stops it (fast: connections are cut), stays
#                                                  down SECONDS (default 0), starts it again
#                                                  (same port, same data)
#
# Installs Debian's postgresql when its binaries are missing (needs root then).
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

command=${1:?usage: postgres-test-cluster.sh start|stop|restart DIR}
dir=${2:?usage: postgres-test-cluster.sh start|stop|restart DIR}

bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/initdb ]] && { echo "$d"; return; }
    done
    return 1
}

as_owner() {
    if ((EUID == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_ctl_quiet() {
    local bin
    bin=$(bindir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 "$@" >/dev/null
}

case $command in
start)
    if ! bindir >/dev/null; then
        ensure_packages postgresql
    fi
    ensure_packages libpq-dev
    bin=$(bindir)
    mkdir -p "$dir"
    ((EUID == 0)) && chown postgres: "$dir"
    chmod 700 "$dir"
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    as_owner bash -c "umask 077; printf '%s\n' '$password' >'$dir/pwfile'"
    as_owner "$bin/initdb" -D "$dir/data" -U devicegate --auth=scram-sha-256 --pwfile="$dir/pwfile" -E UTF8 --locale=C.UTF-8 >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # fsync off: a test cluster that loses its data in a power cut loses nothing of value, and
    # the tests run several times faster on a slow disk. Everything else is the default.
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
    pg_ctl_quiet start
    echo "$port" >"$dir/port"
    echo "postgresql://devicegate:$password@127.0.0.1:$port/devicegate" >"$dir/url"
    PGPASSWORD=$password "$bin/psql" -q -h 127.0.0.1 -p "$port" -U devicegate -d postgres -c 'CREATE DATABASE devicegate' >/dev/null
    cat "$dir/url"
    ;;
stop)
    if [[ -d $dir/data ]]; then
        pg_ctl_quiet stop -m fast || true
    fi
    rm -rf "$dir"
    ;;
restart)
    down=${3:-0}
    [[ $down =~ ^[0-9]+([.][0-9]+)?$ ]] || die "restart: SECONDS must be a number, not $down"
    pg_ctl_quiet stop -m fast
    sleep "$down"
    pg_ctl_quiet start
    ;;
*)
    die "usage: postgres-test-cluster.sh start|stop|restart DIR"
    ;;
esac
