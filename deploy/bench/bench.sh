#!/usr/bin/env bash
#
# Benchmark devicegate behind nginx against the ceiling of a trivial libfcgi
# responder, on this machine. A measurement script, not a test: it prints a
# table and fails only if something could not be run.
#
#     deploy/bench/bench.sh [--ceiling-only | --only device_auth] [--duration S]
#                           [--connections N] [--threads N] [--workers N]
#                           [--nginx-workers N|auto] [--max-seed S]
#                           [--flow-threads N] [--flow-approve web|cli] [--dir D]
#                           [--smaps] [--ceiling-close linger|fast]
#                           [--entries 1k,100k,1M [--populate-jobs N]
#                           [--entries-dir DIR]]
#                           [--backend directory|postgresql|all]
#                           [--topology one-host|two-hosts] [--pg-url URL]
#                           [--pg-synchronous-commit on|off] [--rounds N]
#                           [--peer]
#
# One nginx (access_log off) on a free 127.0.0.1 port serves the production
# devicegate locations (nginx/devicegate-locations.conf) from `devicegate
# serve` with N workers, and /__bench/trivial from trivial.c: N processes
# sharing one socket on fd 0 (prefork.py). Both go through the same
# nginx/devicegate-fastcgi.conf. wrk (Lua scripts in this directory) runs:
#
#   ceiling                 trivial.c: fixed 400 authorization_pending; it
#                           closes connections as libfcgi does by default
#                           (waits for nginx to close first), devicegate does
#                           not on a unix socket: --ceiling-close fast gives
#                           trivial.c devicegate's close, for the same footing
#   device authorization    POST client_id=demo-tv&scope=openid -> 200; the
#                           device_codes it returns are kept for the polls
#   poll (slow_down path)   token polls cycling over 1,000 of those codes:
#                           each is polled again within 5 s -> 400 slow_down
#   poll (pending path)     token polls over all the other codes (topped up,
#                           unmeasured, to 5 x the poll rate, for at most
#                           --max-seed seconds, default 60), so each is
#                           polled at most once per 5 s -> 400
#                           authorization_pending (the share is reported)
#   complete flows          NOT wrk: flows.py, --flow-threads (default 8)
#                           threads each running whole flows back to back:
#                           POST device authorization, approve, POST token
#                           -> 200. Approval through the verification page
#                           (web: each thread signs in once as the demo user,
#                           then POST /device and POST /device/decision per
#                           flow, 4 HTTP requests per flow in all) when the
#                           binary has one, else (or with --flow-approve cli)
#                           `devicegate approve`, one process per flow.
#                           Reported per flow; per-step p50/p99 below the table
#   auth_request            GET /__bench/api with "Authorization: Bearer",
#                           cycling over the access tokens of those flows: a
#                           location protected by nginx/devicegate-gateway.conf
#                           (auth_request /_devicegate/auth/openid) whose
#                           resource is a small static file -> 200. (Not
#                           "return 200": return runs in nginx's rewrite
#                           phase, before auth_request, and would skip it.)
#
# --only device_auth runs the ceiling and device authorization only (the
# ratio needs the ceiling of the same run): about 30 s, for trying changes to
# the durable write path.
#
# Everything lives in --dir (default run/bench, emptied first), the state
# directory in D/dg/state: durable writes cost what fsync costs on the
# filesystem D is on, so put it where the state directory will be deployed.
#
# For each: requests/s, p50/p99 latency, the status distribution (responses
# other than the expected ones are counted as unexpected), socket errors,
# peak RSS per worker (VmHWM, reset before each scenario) and the ratio to the
# ceiling. Every process started here is stopped on exit. About 1 to 2
# minutes plus the build.
#
# --backend postgresql: the same scenarios on storage.backend: postgresql. The
# cluster is --pg-url (a database this may create a schema in, and read
# pg_stat_statements of if installed) or, by default, a throwaway one in D/pg
# (deploy/postgres-test-cluster.sh) set back to PostgreSQL's durability
# defaults (fsync, synchronous_commit and full_page_writes on: the test
# cluster turns them off, the file store fsyncs) with pg_stat_statements
# loaded. Each run gets a fresh schema (search_path in storage.url), dropped
# at the end, and `devicegate db migrate` first. Per scenario the table adds
# database statements per request (pg_stat_statements calls, BEGIN/COMMIT
# apart: "txn/req" is the BEGINs), and the cluster's CPU (all its processes,
# % of one core; only for a cluster started here). D/<scenario>.statements.txt
# lists each scenario's statements: calls per request, mean and total time.
#
# --pg-synchronous-commit off: a diagnosis, not a configuration to measure
# devicegate by: the workers' sessions do not wait for their commits to reach
# the disk (options=-csynchronous_commit=off in storage.url), which shows how
# much of a scenario's cost is waiting for WAL flushes.
#
# --topology two-hosts (postgresql only): two `devicegate serve`, each with
# its own state directory and socket and half of --workers (2 + 2 by
# default), behind one nginx upstream balancing round-robin over both
# sockets: every flow's requests land on both hosts.
#
# --backend all: in one invocation, one after the other on the same machine
# state (and one cluster): the directory store, PostgreSQL one host and
# PostgreSQL two hosts (each a run of this script in D/directory, D/pg-one,
# D/pg-two, each with its own ceiling), then one table of polls, device
# authorizations, auth_request checks and complete flows, as % of the
# ceiling of the same run and of the directory store, with issue 12's
# targets. About 6 minutes plus the build. --rounds N repeats the three
# runs N times, alternating (D/<run>-<round>), and reports medians: the same
# run on this VM varies by far more than the backends differ in some rows.
#
# --peer: after devicegate's complete flows, the same flows.py (--approve
# web, same threads and duration) against the Authlib peer (deploy/bench/peer:
# Authlib + Flask on gunicorn, 4 sync workers or --workers, SQLite in WAL with
# synchronous=FULL in D/peer, the same endpoint paths and verification-page
# shape), behind the same nginx on a second port proxying to gunicorn on
# loopback TCP; then its flows/s, p50 and p99 beside devicegate's and the
# ratio against issue 15's target (at least 5x). pip installs authlib, flask
# and gunicorn if missing.
#
# --smaps: after the last scenario, where each worker's memory is, by mapping
# (smaps.py: libraries, heap, anonymous), into run/bench/smaps.txt.
#
# DEVICEGATE_BIN=path uses a prebuilt binary instead of building one (`swift
# build -c release --static-swift-stdlib`, deploy/lib/common.sh).
#
# --entries SIZES: instead of the above, the cost per request against the
# number of entries in the state directory. SIZES are increasing (1k, 100k, 1M
# or plain numbers); one state directory is grown from each size to the next
# and removed at the end (deleting and re-creating millions of files at once
# would measure ext4's inode allocator skipping recently deleted inodes). For
# each size N:
#
#   populate      BenchPopulate (deploy/bench/BenchPopulate, built like the
#                 release binary) adds entries up to N. An entry is a pending
#                 flow (durable record, user-code claim: a second name of
#                 the record; its lock and soft state are a slot of the
#                 shard's polls table), an access-token record and a
#                 revocation: 3 files, 4 names. They are written by the store's own
#                 code, so the format is exactly what the workers read; fsync
#                 is skipped (LD_PRELOAD nofsync.so, from nofsync.c), then one
#                 `sync -f` writes everything out before anything is measured.
#                 Everything expires in a day: neither polls nor garbage
#                 collection see an expired entry. 200 flows of the first size
#                 are approved (the auth_request tokens). --populate-jobs
#                 writers (default 2).
#   serve         devicegate serve on it (restarted for each size), then:
#   ceiling       trivial.c, as above: the machine's noise, same run
#   poll slow_down  800 codes of the flows just added, polled in a loop
#   poll pending  150,000 other codes just added, each polled at most once
#                 per 5 s up to ~25,000 polls/s -> authorization_pending;
#                 only for sizes with that many (not 1k)
#   auth_request  the approved flows redeemed once (redeem.py), then their
#                 JWTs checked through nginx; each check stats revoked/
#   device authorization  new durable flows into the populated shards
#
# The supervisor's garbage collection runs throughout as in production (one
# of 256 shards a second, reading every entry of that shard): its CPU, in % of
# one core during each scenario, is a column of its own, and so is what was
# read from the state directory's disk meanwhile (/proc/diskstats, the whole
# device): cache misses. One table per scenario, one row per size, with the
# ratio to the first (smallest) size. Needs 4 free inodes and about 20 KiB of
# disk per entry (checked first); the filesystem is named in the output. The
# state directory is run/bench/dg/state, or --entries-dir DIR (which must not
# exist yet) to measure another filesystem. With DEVICEGATE_BIN set, a
# BenchPopulate beside it is used if present (BENCH_POPULATE_BIN names
# another).
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib/common.sh
source "$bench_dir/../lib/common.sh"
# shellcheck source=deploy/bench/postgres.sh
source "$bench_dir/postgres.sh"

# ---- Options ----------------------------------------------------------------

ceiling_only=false
ceiling_close=linger
duration=10
connections=32
threads=2
workers=4
nginx_workers=1
slow_down_codes=1000
max_seed=60
flow_threads=8
flow_approve=auto
work=

only=""
entry_sizes=()
entries_dir=""
populate_jobs=2
smaps=false

backend=directory
topology=one-host
pg_url=""
pg_synchronous_commit=on
rounds=1
peer=false

usage() { sed -n '3,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
    case $1 in
        --ceiling-only) ceiling_only=true ;;
        --ceiling-close)
            [[ ${2:-} == linger || ${2:-} == fast ]] || { printf -- '--ceiling-close: expected linger or fast\n' >&2; usage 2; }
            ceiling_close=$2; shift ;;
        --only)
            [[ ${2:-} == device_auth ]] || { printf -- '--only: expected device_auth\n' >&2; usage 2; }
            only=$2; shift ;;
        --duration) duration=$2; shift ;;
        --connections) connections=$2; shift ;;
        --threads) threads=$2; shift ;;
        --workers) workers=$2; shift ;;
        --nginx-workers) nginx_workers=$2; shift ;;
        --max-seed) max_seed=$2; shift ;;
        --flow-threads) flow_threads=$2; shift ;;
        --flow-approve) flow_approve=$2; shift ;;
        --dir) work=$2; shift ;;
        --entries) IFS=, read -r -a entry_sizes <<<"$2"; shift ;;
        --populate-jobs) populate_jobs=$2; shift ;;
        --entries-dir) entries_dir=$2; shift ;;
        --smaps) smaps=true ;;
        --peer) peer=true ;;
        --backend)
            [[ ${2:-} =~ ^(directory|postgresql|all)$ ]] || { printf -- '--backend: expected directory, postgresql or all\n' >&2; usage 2; }
            backend=$2; shift ;;
        --topology)
            [[ ${2:-} =~ ^(one-host|two-hosts)$ ]] || { printf -- '--topology: expected one-host or two-hosts\n' >&2; usage 2; }
            topology=$2; shift ;;
        --pg-url) pg_url=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --pg-synchronous-commit)
            [[ ${2:-} == on || ${2:-} == off ]] || { printf -- '--pg-synchronous-commit: expected on or off\n' >&2; usage 2; }
            pg_synchronous_commit=$2; shift ;;
        -h | --help) usage ;;
        *) printf 'unknown option: %s\n' "$1" >&2; usage 2 ;;
    esac
    shift
done

# --backend all hands its cluster's URL to the runs it starts here, not on a command line.
if [[ -z $pg_url && $backend == postgresql ]]; then pg_url=${BENCH_PG_URL:-}; fi

ensure_packages libfcgi-dev libcrypt-dev nginx-light=nginx wrk=wrk curl=curl gcc=gcc python3=python3

if [[ $topology == two-hosts && $backend != postgresql ]]; then
    die "--topology two-hosts needs --backend postgresql (the directory store is one host's)"
fi
if [[ $backend == directory && -n $pg_url ]]; then die "--pg-url is for --backend postgresql or all"; fi
if [[ $backend != directory ]] && ((${#entry_sizes[@]})); then die "--entries measures the directory store only"; fi
if $peer && { ((${#entry_sizes[@]})) || $ceiling_only || [[ -n $only || $backend == all ]]; }; then
    die "--peer runs after the complete flows of a normal run (not with --entries, --ceiling-only, --only or --backend all)"
fi
if $peer && ! python3 -c 'import authlib, flask, gunicorn' 2>/dev/null; then
    log "installing the Authlib peer's packages (pip: authlib flask gunicorn)"
    python3 -m pip install -q authlib flask gunicorn || die "pip install authlib flask gunicorn failed"
fi
if [[ $backend == all ]]; then
    # shellcheck source=deploy/bench/all-backends.sh
    source "$bench_dir/all-backends.sh"
    exit 0
fi

# ---- Processes, cleaned up on every exit ------------------------------------

work=${work:-$DG_ROOT/run/bench}
[[ $work == /* ]] || work=$PWD/$work   # the configs and sockets name absolute paths
# It is emptied below: refuse a directory that is not (an earlier) one of ours.
if [[ -d $work && -n $(ls -A "$work") && ! -e $work/nginx.conf && ! -d $work/dg && ! -e $work/bench-all ]]; then
    die "--dir $work is not empty and not a bench directory"
fi
trivial_socket=$work/trivial.sock
dg_dir=$work/dg
dg_socket=$dg_dir/devicegate.sock
# --topology two-hosts: the second host's directory (its config, state_dir, socket).
dg_b_dir=$work/dg-b
dg_b_socket=$dg_b_dir/devicegate.sock
# --backend postgresql: the cluster this run started (empty with --pg-url, or
# BENCH_PG_DIR from --backend all: the cluster is someone else's to stop),
# the database URL (pg_base_url) and this run's schema in it.
pg_dir=""
pg_own=false
pg_base_url=$pg_url
pg_schema=""
pg_statements=false
pg_settings=""

# remove_tree DIR: rm -rf, many at a time. On a filesystem mounted with
# `discard` every freed block is discarded as its file is unlinked (here about
# 0.3 ms a file, waiting on the disk): one rm would take half an hour for a
# million entries; 32 in parallel overlap the waits.
remove_tree() {
    [[ -d $1 ]] || return 0
    find "$1" -mindepth 2 -maxdepth 2 -type d -print0 | xargs -0 -r -n 8 -P 32 rm -rf
    rm -rf "$1"
}

# The --entries state directory; entries_made once this run created it.
entries_state=${entries_dir:-$dg_dir/state}
entries_made=false
if [[ -n $entries_dir && -e $entries_dir ]]; then die "--entries-dir $entries_dir exists; name a new directory"; fi

cleanup() {
    nginx_stop "$work"
    stop_pidfile "$work/trivial.pid" prefork.py TERM 5
    stop_pidfile "$work/devicegate.pid" devicegate TERM 10
    stop_pidfile "$work/devicegate-b.pid" devicegate TERM 10
    stop_pidfile "$work/peer.pid" gunicorn TERM 10
    if [[ -n $pg_schema ]] && ! $pg_own; then
        pg_sql "$pg_base_url" "DROP SCHEMA IF EXISTS $pg_schema CASCADE" >/dev/null 2>&1 ||
            warn "could not drop schema $pg_schema"
    fi
    # The cluster of an earlier, interrupted run as well as this run's.
    if [[ -z $pg_url && -e $work/pg/data ]]; then
        bash "$DG_ROOT/deploy/postgres-test-cluster.sh" stop "$(cd "$work/pg" && pwd)" || warn "could not stop the cluster in $work/pg"
    fi
    # A populated state directory (--entries) is millions of files: never leave one behind.
    if $entries_made; then remove_tree "$entries_state"; fi
}
# Leftovers of an interrupted run first, then ours on every exit.
[[ -d $work ]] && cleanup
trap cleanup EXIT
trap 'exit 130' INT TERM

remove_tree "$dg_dir/state"
rm -rf "$work"
mkdir -p "$work" "$dg_dir"

if [[ $backend == postgresql ]]; then
    ensure_packages postgresql-client=psql
    if [[ -z $pg_url ]]; then
        pg_dir=$(cd "$work" && pwd)/pg pg_own=true
        log "starting a PostgreSQL cluster in $pg_dir (durability defaults, pg_stat_statements)"
        pg_base_url=$(pg_durable_cluster "$pg_dir")
    elif [[ -n ${BENCH_PG_DIR:-} ]]; then
        pg_dir=$BENCH_PG_DIR
    fi
    pg_check_durability "$pg_base_url"
    if pg_sql "$pg_base_url" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT count(*) FROM pg_stat_statements" >/dev/null 2>&1; then
        pg_statements=true
    else
        warn "pg_stat_statements is not available on this database: no statements per request"
    fi
    pg_schema=bench_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
    pg_sql "$pg_base_url" "CREATE SCHEMA $pg_schema" >/dev/null || die "could not create schema $pg_schema"
    pg_run_url=$(pg_with_search_path "$pg_base_url" "$pg_schema")
    if [[ $pg_synchronous_commit == off ]]; then
        pg_run_url+="%20-csynchronous_commit%3Doff"
        pg_settings+=" (devicegate's sessions: synchronous_commit=off)"
        warn "--pg-synchronous-commit off: devicegate's commits do not wait for the disk (a diagnosis)"
    fi
fi

log "building trivial.c"
gcc -O2 -Wall -Wextra -o "$work/trivial" "$bench_dir/trivial.c" -lfcgi

port=$(free_port)
base=http://127.0.0.1:$port
# --peer: nginx's second port for the Authlib peer, and gunicorn's.
peer_port="" peer_http=""
if $peer; then
    peer_port=$(free_port) peer_gunicorn_port=$(free_port)
    peer_http="
    server {
        listen 127.0.0.1:$peer_port;
        location / {
            proxy_pass http://127.0.0.1:$peer_gunicorn_port;
            proxy_set_header Host \$host;
        }
    }"
fi

# entry_count SPEC: 1k -> 1000, 100k -> 100000, 1M -> 1000000, 5000 -> 5000.
entry_count() {
    case $1 in
        *[kK]) printf '%s\n' "$((${1%?} * 1000))" ;;
        *[mM]) printf '%s\n' "$((${1%?} * 1000000))" ;;
        *) printf '%s\n' "$(($1))" ;;
    esac
}
entries=()
for spec in "${entry_sizes[@]}"; do
    [[ $spec =~ ^[0-9]+[kKmM]?$ ]] || die "--entries: not a size: $spec (1000, 1k, 100k, 1M, ...)"
    entries+=("$(entry_count "$spec")")
done
if ((${#entries[@]})) && $ceiling_only; then die "--entries and --ceiling-only do not go together"; fi
for i in "${!entries[@]}"; do
    ((entries[i] > 0 && (i == 0 || entries[i] > entries[i - 1]))) ||
        die "--entries: sizes must be positive and increasing: ${entry_sizes[*]}"
done

if ! $ceiling_only; then
    bin=$(dg_binary)
    dg_demo_config "$bin" "$dg_dir" "$base/application/o/devicegate/" "$dg_socket" "$workers"
    config=$(dg_config_file "$dg_dir")
    # wrk sends every device authorization from 127.0.0.1: no pending-flow caps here.
    printf '\nadmission:\n  max_pending_per_address: 0\n  max_pending_per_client: 0\n' >>"$config"
    # flows.py signs in 8 threads at once; on 2 cores only one password hash runs at a time
    # (web.password_hash_slots), so let a sign-in wait for its slot instead of getting the
    # busy page after the default 100 ms.
    sed -i '/^web:$/a\  password_hash_wait_ms: 3000' "$config"
    if [[ $backend == postgresql ]]; then
        chmod 600 "$config"   # the database password is in storage.url
        printf '\nstorage:\n  backend: postgresql\n  url: "%s"\n  connect_timeout: 2\n' "$pg_run_url" >>"$config"
        log "devicegate db migrate (schema $pg_schema)"
        "$bin" db migrate --config "$config" >"$work/db-migrate.txt" 2>&1 ||
            die "devicegate db migrate failed: $(cat "$work/db-migrate.txt")"
    fi
    if [[ $topology == two-hosts ]]; then
        # Host B: the same configuration but its own state_dir and socket, half the workers each.
        ((workers >= 2 && workers % 2 == 0)) || die "--topology two-hosts splits --workers in two: give an even number"
        sed -i -E "s/^(  workers:) $workers\$/\1 $((workers / 2))/" "$config"
        mkdir -p "$dg_b_dir"
        config_b=$(dg_config_file "$dg_b_dir")
        text=$(<"$config")
        text=${text//"$dg_socket"/"$dg_b_socket"}
        text=${text//"$dg_dir/state"/"$dg_b_dir/state"}
        (umask 077 && printf '%s\n' "$text" >"$config_b")
        dg_check_config "$bin" "$config_b"
    fi
    dg_check_config "$bin" "$config"
    if ((${#entries[@]} == 0)); then
        if [[ $topology == two-hosts ]]; then
            log "starting devicegate serve on host A ($((workers / 2)) workers)"
        else
            log "starting devicegate serve ($workers workers)"
        fi
        dg_serve "$bin" "$config" "$work/devicegate.log" "$work/devicegate.pid"
    else
        populate_bin=${BENCH_POPULATE_BIN:-}
        if [[ -z $populate_bin && -n ${DEVICEGATE_BIN:-} && -x $(dirname "$DEVICEGATE_BIN")/BenchPopulate ]]; then
            populate_bin=$(dirname "$DEVICEGATE_BIN")/BenchPopulate
        fi
        if [[ -z $populate_bin ]]; then
            log "building BenchPopulate (swift build ${DG_RELEASE_FLAGS[*]})"
            (cd "$DG_ROOT" && swift build "${DG_RELEASE_FLAGS[@]}" --product BenchPopulate >&2) ||
                die "swift build failed"
            populate_bin=$(cd "$DG_ROOT" && swift build -c release --show-bin-path)/BenchPopulate
        fi
        [[ -x $populate_bin ]] || die "no BenchPopulate at $populate_bin"
        log "building nofsync.c"
        gcc -O2 -Wall -Wextra -shared -fPIC -o "$work/nofsync.so" "$bench_dir/nofsync.c"
    fi
fi

log "starting trivial.c ($workers processes on one socket)"
TRIVIAL_CLOSE=$ceiling_close python3 "$bench_dir/prefork.py" --socket "$trivial_socket" --workers "$workers" \
    -- "$work/trivial" </dev/null >>"$work/trivial.log" 2>&1 &
echo "$!" >"$work/trivial.pid"

# The protected resource of the auth_request scenario.
mkdir -p "$work/www"
printf '{"ok":true}\n' >"$work/www/api.json"

# The shipped per-address limits (nginx/devicegate-limits.conf) would refuse a
# benchmark from one address: the same zones, with rates no benchmark reaches.
bench_limits=""
for zone in devicegate_device devicegate_token devicegate_verify devicegate_password; do
    bench_limits+="limit_req_zone \$binary_remote_addr zone=$zone:10m rate=1000000r/s; "
done
bench_limits+="limit_req_zone \$server_name zone=devicegate_password_all:1m rate=1000000r/s;"
NGINX_LIMITS=$bench_limits NGINX_WORKER_PROCESSES=$nginx_workers NGINX_ACCESS_LOG=off \
NGINX_EXTRA_HTTP="
    upstream bench_trivial {
        server unix:$trivial_socket;
    }$peer_http" \
NGINX_EXTRA_SERVER="
        location = /__bench/trivial {
            fastcgi_pass bench_trivial;
            include devicegate/devicegate-fastcgi.conf;
        }

        include devicegate/devicegate-gateway.conf;
        location = /__bench/api {
            auth_request     /_devicegate/auth/openid;
            auth_request_set \$devicegate_subject   \$upstream_http_x_devicegate_subject;
            auth_request_set \$devicegate_challenge \$upstream_http_www_authenticate;
            error_page 401 = @devicegate_unauthorized;
            error_page 403 = @devicegate_forbidden;
            error_page 500 = @devicegate_gateway_unavailable;
            default_type application/json;
            alias $work/www/api.json;
        }" \
    write_nginx_conf "$work" "$port" "$dg_socket"
if [[ $topology == two-hosts ]]; then
    # One upstream, round-robin (nginx's default) over both hosts' sockets.
    sed -i "s|^        server unix:$dg_socket;\$|&\n        server unix:$dg_b_socket;|" "$work/nginx.conf"
    grep -qF "server unix:$dg_b_socket;" "$work/nginx.conf" || die "could not add host B to the nginx upstream"
fi
log "starting nginx on $base (worker_processes $nginx_workers)"
nginx_start "$work"

wait_until 15 upstream_answers POST "$base/__bench/trivial" ||
    die "trivial responder not answering; see $work/trivial.log, $work/nginx-error.log"
dg_answers() {
    pid_alive "$(<"$work/devicegate.pid")" || die "devicegate exited; see $work/devicegate.log"
    upstream_answers POST "$base/application/o/token/"
}
if ! $ceiling_only && ((${#entries[@]} == 0)); then
    wait_until 30 dg_answers ||
        die "devicegate not answering; see $work/devicegate.log, $work/nginx-error.log"
    if [[ $topology == two-hosts ]]; then
        # After A has created the signing key (B finds it), as hosts started one by one do.
        log "starting devicegate serve on host B ($((workers / 2)) workers)"
        dg_serve "$bin" "$config_b" "$work/devicegate-b.log" "$work/devicegate-b.pid"
        host_b_ready() {
            pid_alive "$(<"$work/devicegate-b.pid")" || die "devicegate (host B) exited; see $work/devicegate-b.log"
            [[ -S $dg_b_socket ]] && (($(child_pids "$(<"$work/devicegate-b.pid")" | wc -l) == workers / 2))
        }
        wait_until 30 host_b_ready || die "host B not ready; see $work/devicegate-b.log"
        # nginx's failed tries of B's socket before B was up (it falls back to A) are not B's fault.
        nginx_b_errors0=$(grep -cF "$dg_b_socket" "$work/nginx-error.log" || true)
    fi
fi

# ---- Measuring --------------------------------------------------------------

# worker_pids PIDFILE: the worker processes under the supervisor in PIDFILE
# (devicegate's: of both hosts with --topology two-hosts).
worker_pids() {
    child_pids "$(<"$1")"
    if [[ $1 == "$work/devicegate.pid" && -f $work/devicegate-b.pid ]]; then child_pids "$(<"$work/devicegate-b.pid")"; fi
}

# host_worker_ticks PIDFILE: CPU ticks so far of the workers of one host.
host_worker_ticks() {
    local pid total=0
    for pid in $(child_pids "$(<"$1")"); do total=$((total + $(cpu_ticks "$pid"))); done
    printf '%s
' "$total"
}

# Results, one entry per scenario (sizes and sup_cpu for --entries; the
# database's share for --backend postgresql, "-" otherwise).
names=() rps=() p50=() p99=() statuses=() unexpected=() sockerr=() rss=() rss_all=() sizes=() sup_cpu=() disk_read=()
pg_stmts=() pg_txns=() pg_cpu=() host_split=() worker_us=() pg_us=()
# The --entries size being measured (empty otherwise).
entries_now=""

# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks (0 if gone).
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*) }
    awk '{print $12 + $13}' <<<"$stat"   # utime, stime: fields 14 and 15 of the whole line
}
clock_ticks=$(getconf CLK_TCK)

# The block device under the --entries state directory (vda for /dev/vda),
# if /proc/diskstats knows it; sectors_read: its 512-byte sectors read so far.
disk_dev=""
if ((${#entries[@]})); then
    disk_dev=$(dirname "$entries_state")
    while [[ ! -e $disk_dev ]]; do disk_dev=$(dirname "$disk_dev"); done
    disk_dev=$(basename "$(findmnt -n -o SOURCE -T "$disk_dev")")
    awk -v d="$disk_dev" '$3 == d {found = 1} END {exit !found}' /proc/diskstats || disk_dev=""
fi
sectors_read() { awk -v d="$disk_dev" '$3 == d {print $6}' /proc/diskstats; }

# run_wrk OUT SECONDS LUA PATH [ARGS...]: one wrk run, full output in OUT.
run_wrk() {
    local out=$1 seconds=$2 lua=$3 path=$4
    shift 4
    LUA_PATH="$bench_dir/?.lua;;" wrk --threads "$threads" --connections "$connections" \
        --duration "${seconds}s" --latency --script "$bench_dir/$lua" "$base$path" \
        ${1+-- "$@"} >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
}

# scenario NAME PIDFILE EXPECTED LUA PATH [ARGS...]
# EXPECTED is an extended regex over "STATUS error" keys (e.g. '^200 -$').
scenario() {
    local name=$1 pidfile=$2 expected=$3 lua=$4 path=$5
    shift 5
    local slug=${entries_now:+${entries_now}_}${name,,} pids pid hwm max_kb=0 all_mb="" line
    slug=${slug//[^a-z0-9]/_}
    last_out=$work/$slug.wrk.txt
    pids=$(worker_pids "$pidfile")
    # Reset each worker's peak RSS to its current RSS (clear_refs 5).
    for pid in $pids; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
    # The devicegate supervisor's CPU (garbage collection) over the scenario.
    local supervisor="" ticks0=0 started_ns
    [[ -f $work/devicegate.pid ]] && supervisor=$(<"$work/devicegate.pid")
    [[ -n $supervisor ]] && ticks0=$(cpu_ticks "$supervisor")
    started_ns=$(date +%s%N)
    local sectors0=""
    [[ -n $disk_dev ]] && sectors0=$(sectors_read)
    # The database's share: only for devicegate's scenarios (not the ceiling).
    local on_pg=false pg_ticks0="" a_ticks0=0 b_ticks0=0 w_ticks0=0
    for pid in $pids; do w_ticks0=$((w_ticks0 + $(cpu_ticks "$pid"))); done
    if [[ $backend == postgresql && $pidfile == "$work/devicegate.pid" ]]; then
        on_pg=true
        pg_ticks0=$(pg_cluster_ticks)
        if $pg_statements; then pg_statements_snapshot "$work/$slug.pgss-before.tsv"; fi
    fi
    if [[ $topology == two-hosts && $pidfile == "$work/devicegate.pid" ]]; then
        a_ticks0=$(host_worker_ticks "$work/devicegate.pid") b_ticks0=$(host_worker_ticks "$work/devicegate-b.pid")
    fi

    if [[ $lua == *.py ]]; then
        log "$name: $lua --threads $flow_threads --duration $duration"
        python3 "$bench_dir/$lua" --url "$base" --threads "$flow_threads" --duration "$duration" \
            "$@" >"$work/$slug.wrk.txt" 2>&1 || die "$lua failed: $(tail -n 20 "$work/$slug.wrk.txt")"
    else
        log "$name: wrk -t$threads -c$connections -d${duration}s"
        run_wrk "$work/$slug.wrk.txt" "$duration" "$lua" "$path" "$@"
    fi

    local pg_ticks1="" scenario_ns=$(($(date +%s%N) - started_ns)) w_ticks1=0
    for pid in $pids; do w_ticks1=$((w_ticks1 + $(cpu_ticks "$pid"))); done
    $on_pg && pg_ticks1=$(pg_cluster_ticks)
    if [[ -n $pg_ticks1 ]]; then
        pg_cpu+=("$(awk -v t="$((pg_ticks1 - pg_ticks0))" -v hz="$clock_ticks" -v ns="$scenario_ns" \
            'BEGIN {printf "%.0f%%", 100 * t / hz / (ns / 1e9)}')")
    else
        pg_cpu+=("-")
    fi
    if [[ $topology == two-hosts && $pidfile == "$work/devicegate.pid" ]]; then
        host_split+=("$(awk -v a="$(($(host_worker_ticks "$work/devicegate.pid") - a_ticks0))" \
            -v b="$(($(host_worker_ticks "$work/devicegate-b.pid") - b_ticks0))" \
            'BEGIN {printf "%.0f/%.0f", a + b ? 100 * a / (a + b) : 0, a + b ? 100 * b / (a + b) : 0}')")
    else
        host_split+=("-")
    fi
    if $on_pg && $pg_statements; then pg_statements_snapshot "$work/$slug.pgss-after.tsv"; fi

    if [[ -n $supervisor ]]; then
        sup_cpu+=("$(awk -v t="$(($(cpu_ticks "$supervisor") - ticks0))" -v hz="$clock_ticks" \
            -v ns="$(($(date +%s%N) - started_ns))" 'BEGIN {printf "%.1f%%", 100 * t / hz / (ns / 1e9)}')")
    else
        sup_cpu+=("-")
    fi
    sizes+=("$entries_now")
    if [[ -n $sectors0 ]]; then
        disk_read+=("$(awk -v a="$sectors0" -v b="$(sectors_read)" 'BEGIN {printf "%.0f MB", (b - a) * 512 / 1e6}')")
    else
        disk_read+=("-")
    fi

    local now_kb
    for pid in $pids; do
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        now_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        if ((hwm > max_kb)); then max_kb=$hwm; fi
        all_mb+="${all_mb:+ }$(awk -v kb="$hwm" -v now="$now_kb" 'BEGIN {printf "%.1f/%.1f", kb / 1024, now / 1024}')"
    done

    line=$(grep '^BENCH ' "$work/$slug.wrk.txt") || die "no summary in $work/$slug.wrk.txt"
    local requests duration_us p50_us p99_us connect read write timeout
    requests=$(field requests "$line") duration_us=$(field duration_us "$line")
    p50_us=$(field p50_us "$line") p99_us=$(field p99_us "$line")
    connect=$(field connect "$line") read=$(field read "$line")
    write=$(field write "$line") timeout=$(field timeout "$line")

    local dist="" bad=0 pending=0 key status error count
    while read -r _ status error count; do
        key="$status $error"
        dist+="${dist:+, }$key: $count"
        [[ $key =~ $expected ]] || bad=$((bad + count))
        if [[ $error == authorization_pending ]]; then pending=$((pending + count)); fi
    done < <(grep '^BENCH_STATUS ' "$work/$slug.wrk.txt" | sort -k4,4nr)
    if [[ $expected == *authorization_pending* ]] && ((requests > 0)); then
        dist+=" ($(awk -v p="$pending" -v n="$requests" 'BEGIN {printf "%.1f", 100 * p / n}')% pending)"
    fi

    local per_request="- -"
    if $on_pg && $pg_statements && ((requests > 0)); then
        per_request=$(pg_statements_delta "$work/$slug.pgss-before.tsv" "$work/$slug.pgss-after.tsv" \
            "$requests" "$work/$slug.statements.txt")
    fi
    pg_stmts+=("${per_request% *}") pg_txns+=("${per_request#* }")
    # CPU per request, µs: the workers' (all hosts), and the cluster's when known.
    worker_us+=("$(awk -v t="$((w_ticks1 - w_ticks0))" -v hz="$clock_ticks" -v n="$requests" \
        'BEGIN {printf "%.0f", n ? 1e6 * t / hz / n : 0}')")
    if [[ -n $pg_ticks1 ]]; then
        pg_us+=("$(awk -v t="$((pg_ticks1 - pg_ticks0))" -v hz="$clock_ticks" -v n="$requests" \
            'BEGIN {printf "%.0f", n ? 1e6 * t / hz / n : 0}')")
    else
        pg_us+=("-")
    fi

    names+=("$name")
    last_rps=$(awk -v n="$requests" -v us="$duration_us" 'BEGIN {printf "%.0f", n / (us / 1e6)}')
    rps+=("$last_rps")
    p50+=("$(ms "$p50_us")") p99+=("$(ms "$p99_us")")
    statuses+=("$dist") unexpected+=("$bad")
    sockerr+=("$((connect + read + write + timeout))")
    rss+=("$(awk -v kb="$max_kb" 'BEGIN {printf "%.1f MB", kb / 1024}')")
    rss_all+=("$all_mb")
}

field() { sed -nE "s/.*(^| )$1=([0-9]+).*/\2/p" <<<"$2"; }
ms() { awk -v us="$1" 'BEGIN {printf "%.2f ms", us / 1000}'; }

# Warm-up (not reported): page in code, fill nginx's and the kernel's caches.
warm_up() { run_wrk "$work/warmup.txt" 2 "$@"; }

# ---- Issue 15's targets, checked in every table -----------------------------

# number "7.32 ms" -> 7.32, "18.8 MB" -> 18.8, "45%" -> 45, "-" -> "" (no figure).
number() { [[ $1 == - || -z $1 ]] || awk -v v="$1" 'BEGIN {printf "%s", v + 0}'; }

# ratio A B [FORMAT]: A / B (empty when either is missing or B is 0).
ratio() {
    [[ -n $1 && -n $2 ]] || return 0
    awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN {if (b > 0) printf f, a / b}'
}

# steady_rss ALL: the largest end-of-scenario RSS (VmRSS, MB) in an rss_all
# entry ("peak/now peak/now ..."): the "steady" of "worker RSS < 20 MB steady".
steady_rss() {
    [[ $1 == - || -z $1 ]] && return 0
    tr ' ' '\n' <<<"$1" | awk -F/ 'NF == 2 && $2 + 0 > m {m = $2 + 0} END {if (NR) printf "%.1f", m}'
}

# targets NAME OF_CEILING_PCT P99_X STEADY_MB [SIZE VS_FIRST GC_PCT]: issue 15's
# targets that apply to the scenario NAME, each "LABEL met" or "LABEL not met"
# ("LABEL ?" without a figure), separated by ", ":
#   device authorization    req/s >= 30% of the ceiling's
#   poll, pending path      req/s >= 90%; p99 <= 1.5x the ceiling's p99
#   poll, slow_down path    p99 <= 1.5x (the issue's "p99 of polls")
#   auth_request            req/s >= 80%; p99 <= 1.5x
#   every devicegate row    worker RSS < 20 MB at the scenario's end
#   at 1M entries or more   (--entries) the pending path >= 0.8x the first size
#                           with a pending figure, GC < 5% of one core (all rows)
targets() {
    local name=$1 of=$2 p99x=$3 steady=$4 size=${5:-} vs=${6:-} gc=${7:-} out=""
    target() {   # LABEL VALUE OP LIMIT
        local verdict="?"
        if [[ -n $2 ]]; then
            verdict="not met"
            awk -v v="$2" -v l="$4" -v op="$3" \
                'BEGIN {exit !(op == ">=" ? v >= l : op == "<=" ? v <= l : v < l)}' && verdict=met
        fi
        out+="${out:+, }$1 $verdict"
    }
    case $name in
        ceiling* | *peer*) ;;
        "device authorization"*) target '>=30%' "$of" '>=' 30 ;;
        poll*pending*) target '>=90%' "$of" '>=' 90; target 'p99<=1.5x' "$p99x" '<=' 1.5 ;;
        poll*) target 'p99<=1.5x' "$p99x" '<=' 1.5 ;;
        auth_request*) target '>=80%' "$of" '>=' 80; target 'p99<=1.5x' "$p99x" '<=' 1.5 ;;
    esac
    if [[ $name != ceiling* && $name != *peer* ]]; then target 'RSS<20MB' "$steady" '<' 20; fi
    if [[ -n $size ]] && ((size >= 1000000)); then
        if [[ $name == poll*pending* ]]; then target '>=0.8x first' "$vs" '>=' 0.8; fi
        target 'GC<5%' "$gc" '<' 5
    fi
    printf '%s' "${out:--}"
}

# ---- --entries: cost per request against entries in the state directory ----

# What BenchPopulate writes per entry: a flow (its record under two names: the
# record and the user-code claim), an access-token record and a revocation:
# 3 inodes, 4 directory entries (the flows' polls tables are 256 more files).
files_per_entry=4
approved_flows=200
entries_slow_down_codes=800
entries_pending_codes=150000
populate_notes=()

# fs_description PATH: "ext4 on /dev/vda (mounted on /)".
fs_description() {
    findmnt -n -o FSTYPE,SOURCE,TARGET -T "$1" | awk '{printf "%s on %s (mounted on %s)", $1, $2, $3}'
}

# check_space DIR N: DIR's filesystem has the inodes and blocks N entries need
# (a 4 KiB block per file: these files are too small to share one).
check_space() {
    local dir=$1 n=$2 iavail kavail need_inodes need_kb
    read -r iavail kavail < <(df --output=iavail,avail -k "$dir" | tail -n 1)
    need_inodes=$((files_per_entry * n + 100000))
    need_kb=$((4 * files_per_entry * n + 2097152))
    ((iavail >= need_inodes)) ||
        die "$n entries need ~$need_inodes free inodes: $(df -i "$dir" | tail -n 1)"
    ((kavail >= need_kb)) ||
        die "$n entries need ~$((need_kb / 1048576)) GiB free: $(df -h "$dir" | tail -n 1)"
}

seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN {printf "%.1f", (b - a) / 1e9}'; }

# skip_scenario NAME REASON: a row with no figures.
skip_scenario() {
    names+=("$1") rps+=("-") p50+=("-") p99+=("-") statuses+=("not run: $2") unexpected+=("-")
    sockerr+=("-") rss+=("-") rss_all+=("-") sizes+=("$entries_now") sup_cpu+=("-") disk_read+=("-")
    pg_stmts+=("-") pg_txns+=("-") pg_cpu+=("-") host_split+=("-") worker_us+=("-") pg_us+=("-")
}

# measure_entries N: grow the state directory to N entries (it starts empty and
# only grows: deleting millions of files and creating as many again at once
# would measure ext4's inode allocator skipping recently deleted inodes),
# serve it, run the scenarios, stop.
populated=0
measure_entries() {
    local n=$1 state=$entries_state add=$(($1 - populated)) approve=0 t0 populate_s sync_s files disk
    local shard_names indexed
    entries_now=$n
    ((populated > 0)) || approve=$approved_flows
    mkdir -p "$(dirname "$state")"
    check_space "$(dirname "$state")" "$add"
    entries_made=true
    log "$n entries: adding $add ($((files_per_entry * add)) files, $populate_jobs jobs, fsync skipped)"
    t0=$(date +%s%N)
    LD_PRELOAD=$work/nofsync.so "$populate_bin" "$state" --flows "$add" --approved "$approve" \
        --tokens "$add" --revoked "$add" --client-id "$DG_PUBLIC_CLIENT" --scope openid \
        --jobs "$populate_jobs" --codes "$work/codes-populated.txt" \
        --codes-limit "$((entries_slow_down_codes + entries_pending_codes))" \
        --approved-codes "$work/codes-approved-$n.txt" >"$work/populate-$n.txt" 2>&1 ||
        die "BenchPopulate failed: $(tail -n 5 "$work/populate-$n.txt")"
    populate_s=$(seconds_since "$t0")
    populated=$n
    log "$n entries: added in ${populate_s}s; sync -f"
    t0=$(date +%s%N)
    sync -f "$state"
    sync_s=$(seconds_since "$t0")
    # BenchPopulate creates flows through the store, so each is also a frame in the creation
    # journal. `sync -f` just wrote out every file those frames stand for, which is what the
    # supervisor's checkpoint does before it removes a log: remove them here, or the next
    # start would replay (read back) every flow just added.
    rm -f "$state"/journal/*.log "$state"/journal/*.synced
    files=$(du -sx --inodes "$state" | cut -f1)
    disk=$(du -sxh "$state" | cut -f1)
    shard_names=$(($(ls -f "$state/flows/00" | wc -l) - 2))
    indexed=$(lsattr -d "$state/flows/00" 2>/dev/null | awk '{print ($1 ~ /I/) ? "hashed (htree)" : "linear"}') ||
        indexed="?"

    log "$n entries: starting devicegate serve ($workers workers)"
    DEVICEGATE_STATE_DIR=$state dg_serve "$bin" "$config" "$work/devicegate.log" "$work/devicegate.pid"
    wait_until 30 dg_answers ||
        die "devicegate not answering; see $work/devicegate.log, $work/nginx-error.log"

    warm_up trivial.lua /__bench/trivial
    scenario "ceiling: trivial C responder" "$work/trivial.pid" '^400 authorization_pending$' \
        trivial.lua /__bench/trivial

    # Codes of the flows just added: never polled before.
    head -n "$entries_slow_down_codes" "$work/codes-populated.txt" >"$work/codes-slow-down.txt"
    warm_up poll.lua /application/o/token/ "$work/codes-slow-down.txt" "$threads"
    scenario "poll, slow_down path ($entries_slow_down_codes codes)" "$work/devicegate.pid" \
        '^400 (slow_down|authorization_pending)$' \
        poll.lua /application/o/token/ "$work/codes-slow-down.txt" "$threads"

    # Each code at most once per 5 s interval: the same number of codes at every
    # size ($entries_pending_codes, enough up to ~25,000 polls/s), and at least 6
    # x the slow_down rate.
    local needed=$((6 * last_rps)) have use
    have=$(($(wc -l <"$work/codes-populated.txt") - entries_slow_down_codes))
    use=$((have < entries_pending_codes ? have : entries_pending_codes))
    if ((use >= needed && use > 0)); then
        sed -n "$((entries_slow_down_codes + 1)),$((entries_slow_down_codes + use))p" \
            "$work/codes-populated.txt" >"$work/codes-pending.txt"
        scenario "poll, pending path (never-polled codes)" "$work/devicegate.pid" \
            '^400 (slow_down|authorization_pending)$' \
            poll.lua /application/o/token/ "$work/codes-pending.txt" "$threads"
        statuses[-1]+=" [$use codes]"
    else
        skip_scenario "poll, pending path (never-polled codes)" "needs $needed unpolled codes, $n entries have $have"
    fi

    # Access tokens (JWTs, valid for an hour) once, from the approved flows.
    if [[ ! -s $work/tokens.txt ]]; then
        python3 "$bench_dir/redeem.py" --url "$base" --client-id "$DG_PUBLIC_CLIENT" \
            --codes "$work/codes-approved-$n.txt" --tokens "$work/tokens.txt" >"$work/redeem.txt" 2>&1 ||
            die "redeeming the approved flows failed: $(cat "$work/redeem.txt")"
        [[ $(http_status GET "$base/__bench/api") == 401 ]] ||
            die "/__bench/api answers without a token: auth_request is not in effect"
    fi
    warm_up auth_check.lua /__bench/api "$work/tokens.txt"
    scenario "auth_request ($approved_flows tokens)" "$work/devicegate.pid" '^200 -$' \
        auth_check.lua /__bench/api "$work/tokens.txt"

    warm_up device_auth.lua /application/o/device/
    scenario "device authorization (durable)" "$work/devicegate.pid" '^200 -$' \
        device_auth.lua /application/o/device/

    stop_pidfile "$work/devicegate.pid" devicegate TERM 10
    populate_notes+=("$(printf '  %9s entries: %9s files, %5s on disk; added in %5ss + sync %5ss; flows/00: %5s names, %s' \
        "$(group "$n")" "$(group "$files")" "$disk" "$populate_s" "$sync_s" "$shard_names" "$indexed")")
    entries_now=""
}

# group N: 1234567 -> 1,234,567.
group() { sed -E ':a; s/^([0-9]+)([0-9]{3})/\1,\2/; ta' <<<"$1"; }

report_entries() {
    local scenario i j first ceiling seen="|" vs of
    printf '\ndevicegate: cost per request against the number of entries in the state directory\n'
    printf 'filesystem: %s; state directory %s\n' "$(fs_description "$(dirname "$entries_state")")" "$entries_state"
    printf 'memory: %s GiB; the directory took 4 KiB of disk (and of page cache) a file\n' \
        "$(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)"
    printf '%s cores, %s devicegate workers, nginx worker_processes %s; wrk -t%s -c%s -d%ss per scenario.\n' \
        "$(nproc)" "$workers" "$nginx_workers" "$threads" "$connections" "$duration"
    printf 'An entry: a pending flow (record, user-code claim: a second name of it), an access-token record\n'
    printf 'and a revocation: %s names. %s of the flows approved (auth_request tokens). Nothing expired.\n' \
        "$files_per_entry" "$approved_flows"
    printf 'Caches as the kernel left them after writing the directory (disk read: what they missed).\n'
    for i in "${!names[@]}"; do
        scenario=${names[i]}
        [[ $seen == *"|$scenario|"* ]] && continue
        seen+="$scenario|"
        printf '\n%s\n' "$scenario"
        printf '  %11s %8s %10s %10s %8s %8s %9s %7s %9s %10s %10s  %s\n' \
            entries 'req/s' p50 p99 'vs first' 'ceiling' 'p99/ceil' 'GC CPU' 'disk read' 'unexpected' 'RSS/worker' \
            'issue 15 targets'
        first=""
        for j in "${!names[@]}"; do
            [[ ${names[j]} == "$scenario" ]] || continue
            vs=- of=- p99x=-
            if [[ ${rps[j]} != - ]]; then
                [[ -n $first ]] || first=${rps[j]}
                vs=$(awk -v a="${rps[j]}" -v b="$first" 'BEGIN {printf "%.2f", a / b}')
                for ceiling in "${!names[@]}"; do
                    if [[ ${names[ceiling]} == ceiling* && ${sizes[ceiling]} == "${sizes[j]}" ]]; then
                        of=$(awk -v a="${rps[j]}" -v b="${rps[ceiling]}" 'BEGIN {printf "%.0f%%", 100 * a / b}')
                        p99x=$(ratio "$(number "${p99[j]}")" "$(number "${p99[ceiling]}")" '%.2fx')
                        p99x=${p99x:--}
                    fi
                done
            fi
            printf '  %11s %8s %10s %10s %8s %8s %9s %7s %9s %10s %10s  %s\n' "$(group "${sizes[j]}")" "${rps[j]}" \
                "${p50[j]}" "${p99[j]}" "$vs" "$of" "$p99x" "${sup_cpu[j]}" "${disk_read[j]}" "${unexpected[j]}" \
                "${rss[j]}" "$(targets "${names[j]}" "$(number "$of")" "$(number "$p99x")" \
                    "$(steady_rss "${rss_all[j]}")" "${sizes[j]}" "$(number "$vs")" "$(number "${sup_cpu[j]}")")"
            # For filesystems.sh: the same row, tab-separated.
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "${sizes[j]}" "${rps[j]}" "${p50[j]}" \
                "${p99[j]}" "$vs" "$of" "$p99x" "${sup_cpu[j]}" "${disk_read[j]}" >>"$work/results-entries.tsv"
        done
    done
    printf '\nstatus distribution (STATUS error: count):\n'
    for i in "${!names[@]}"; do
        printf '  %9s  %-38s %s\n' "$(group "${sizes[i]}")" "${names[i]}" "${statuses[i]}"
    done
    printf '\nthe state directory, grown from one size to the next, removed at the end:\n'
    printf '%s\n' "${populate_notes[@]}"
    cat <<EOF

vs first    req/s relative to the same scenario at the smallest size
ceiling     req/s relative to the trivial C responder at the same size
p99/ceil    p99 relative to the trivial C responder's p99 at the same size
GC CPU      the devicegate supervisor's CPU during the scenario, % of one
            core: garbage collection reads every entry of one of the 256
            shards a second (it runs during the ceiling scenario too)
disk read   read from the state directory's block device meanwhile (the
            whole device, so other programs' reads count too): what the
            page, inode and dentry caches did not hold
unexpected  responses other than the expected ones, as in the default mode
issue 15 targets  each that applies, met or not met (? without a figure):
            device authorization >=30% of the ceiling; pending path >=90%,
            auth_request >=80%; polls' and checks' p99 <=1.5x the ceiling's;
            worker RSS <20 MB at the scenario's end; at 1M entries and more
            the pending path >=0.8x its first size, GC CPU <5% of one core
raw output  $work/*.wrk.txt, $work/populate-*.txt
EOF
}

if ((${#entries[@]})); then
    for n in "${entries[@]}"; do measure_entries "$n"; done
    log "removing the state directory"
    t0=$(date +%s%N)
    remove_tree "$entries_state"
    entries_made=false
    populate_notes+=("  removed in $(seconds_since "$t0")s")
    : >"$work/results-entries.tsv"
    report_entries | tee "$work/results-entries.txt"
    printf 'populate\t%s\n' "${populate_notes[@]}" >>"$work/results-entries.tsv"
    exit 0
fi

warm_up trivial.lua /__bench/trivial
scenario "ceiling: trivial C responder" "$work/trivial.pid" '^400 authorization_pending$' \
    trivial.lua /__bench/trivial

if ! $ceiling_only; then
    warm_up device_auth.lua /application/o/device/
    scenario "device authorization" "$work/devicegate.pid" '^200 -$' \
        device_auth.lua /application/o/device/ "$work/flows-auth-"
    auth_rps=$last_rps
fi

if ! $ceiling_only && [[ -z $only ]]; then
    cat "$work"/flows-auth-*.txt >"$work/codes-all.txt"
    ((slow_down_codes < $(wc -l <"$work/codes-all.txt"))) ||
        die "device authorization produced too few device codes; see $work/device_authorization.wrk.txt"
    head -n "$slow_down_codes" "$work/codes-all.txt" >"$work/codes-slow-down.txt"

    scenario "poll (slow_down path, $slow_down_codes codes)" "$work/devicegate.pid" \
        '^400 (slow_down|authorization_pending)$' \
        poll.lua /application/o/token/ "$work/codes-slow-down.txt" "$threads"

    # The pending path needs every code to be polled at most once per 5 s
    # interval: at least 5 x (polls/s) codes. Estimate polls/s from the
    # slow_down run (+20%) and create the missing flows (not measured), within
    # --max-seed seconds.
    needed=$((slow_down_codes + 6 * last_rps))
    have=$(wc -l <"$work/codes-all.txt")
    if ((have < needed)); then
        seconds=$(((needed - have) / (auth_rps > 0 ? auth_rps : 1) + 1))
        ((seconds <= max_seed)) || seconds=$max_seed
        log "creating ~$((needed - have)) more pending flows for the pending path (${seconds}s)"
        run_wrk "$work/seed.wrk.txt" "$seconds" device_auth.lua /application/o/device/ "$work/flows-seed-"
        cat "$work"/flows-seed-*.txt >>"$work/codes-all.txt"
    fi
    tail -n +"$((slow_down_codes + 1))" "$work/codes-all.txt" >"$work/codes-pending.txt"
    pending_codes=$(wc -l <"$work/codes-pending.txt")

    scenario "poll (pending path, $pending_codes codes)" "$work/devicegate.pid" \
        '^400 (slow_down|authorization_pending)$' \
        poll.lua /application/o/token/ "$work/codes-pending.txt" "$threads"

    # The demo user of the verification page, if this build has one.
    demo_signin=$(sed -nE 's/^demo sign-in: username ([^ ,]+), password ([^ ]+)$/\1 \2/p' "$dg_dir/demo-config.txt")
    if [[ $flow_approve == auto ]]; then
        flow_approve=cli
        [[ -n $demo_signin ]] && flow_approve=web
    fi
    if [[ $flow_approve == web ]]; then
        [[ -n $demo_signin ]] || die "--flow-approve web: no demo sign-in in $dg_dir/demo-config.txt"
        read -r demo_user demo_password <<<"$demo_signin"
        flow_args=(--approve web --user="$demo_user" --password="$demo_password")
    else
        flow_args=(--approve cli --bin "$bin" --config "$config")
    fi
    scenario "complete flows ($flow_approve approve)" "$work/devicegate.pid" '^200 -$' \
        flows.py - "${flow_args[@]}" --tokens "$work/tokens.txt"
    flow_steps=$(grep '^FLOWS ' "$last_out" || true)
    tokens=$(wc -l <"$work/tokens.txt")
    ((tokens > 0)) || die "the complete-flow scenario produced no access tokens"

    # Guard against measuring an unprotected location: no token must be 401.
    [[ $(http_status GET "$base/__bench/api") == 401 ]] ||
        die "/__bench/api answers without a token: auth_request is not in effect"
    warm_up auth_check.lua /__bench/api "$work/tokens.txt"
    scenario "auth_request ($tokens tokens)" "$work/devicegate.pid" '^200 -$' \
        auth_check.lua /__bench/api "$work/tokens.txt"
fi

# The Authlib peer's complete flows, through the same nginx (its second port).
if $peer; then
    mkdir -p "$work/peer"
    log "starting the Authlib peer (gunicorn, $workers sync workers, SQLite WAL synchronous=FULL)"
    PEER_DB=$work/peer/peer.sqlite3 PEER_ISSUER=http://127.0.0.1:$peer_port/ PEER_USER=demo \
    PEER_PASSWORD=peer-bench python3 -m gunicorn --chdir "$bench_dir/peer" --workers "$workers" \
        --worker-class sync --bind "127.0.0.1:$peer_gunicorn_port" --pid "$work/peer.pid" \
        --error-logfile "$work/peer.log" app:app </dev/null >>"$work/peer.log" 2>&1 &
    peer_answers() { [[ $(http_status GET "http://127.0.0.1:$peer_port/device") == 200 ]]; }
    wait_until 30 peer_answers || die "the Authlib peer is not answering; see $work/peer.log"
    dg_base=$base base=http://127.0.0.1:$peer_port
    scenario "complete flows: Authlib peer" "$work/peer.pid" '^200 -$' \
        flows.py - --approve web --user=demo --password=peer-bench
    base=$dg_base
    peer_steps=$(grep '^FLOWS ' "$last_out" || true)
    stop_pidfile "$work/peer.pid" gunicorn TERM 10
fi

# ---- Report -----------------------------------------------------------------

report() {
    local i ratio p99x
    printf '\ndevicegate benchmark: %s, nginx worker_processes %s, %s FastCGI workers each,\n' \
        "$(nproc) cores" "$nginx_workers" "$workers"
    printf 'wrk -t%s -c%s -d%ss per scenario; latency as seen by wrk through nginx;\n' \
        "$threads" "$connections" "$duration"
    printf 'the ceiling closes connections the %s way (--ceiling-close).\n' "$ceiling_close"
    if [[ $backend == postgresql ]]; then
        printf 'storage: PostgreSQL %s (%s), schema %s; %s\n' "$(pg_sql "$pg_base_url" 'SHOW server_version')" \
            "$pg_settings" "$pg_schema" \
            "$([[ $topology == two-hosts ]] && echo "two hosts of $((workers / 2)) workers, one nginx upstream round-robin over both" || echo "one host")"
    else
        printf 'storage: the state directory (directory backend), one host\n'
    fi
    printf '\n%-40s %9s %10s %10s %10s %8s %12s %9s %9s' \
        scenario 'req/s' p50 p99 unexpected 'sockerr' 'RSS/worker' 'ceiling' 'p99/ceil'
    printf ' %8s' 'wkr µs'
    [[ $backend == postgresql ]] && printf ' %9s %8s %7s %6s' 'stmts/req' 'txn/req' 'pg CPU' 'pg µs'
    [[ $topology == two-hosts ]] && printf ' %7s' 'A/B'
    printf '  %s\n' 'issue 15 targets'
    for i in "${!names[@]}"; do
        ratio=$(awk -v a="${rps[i]}" -v b="${rps[0]}" 'BEGIN {printf "%.0f%%", 100 * a / b}')
        p99x=$(ratio "$(number "${p99[i]}")" "$(number "${p99[0]}")" '%.2fx')
        printf '%-40s %9s %10s %10s %10s %8s %12s %9s %9s' "${names[i]}" "${rps[i]}" \
            "${p50[i]}" "${p99[i]}" "${unexpected[i]}" "${sockerr[i]}" "${rss[i]}" "$ratio" "${p99x:--}"
        printf ' %8s' "${worker_us[i]}"
        [[ $backend == postgresql ]] && printf ' %9s %8s %7s %6s' "${pg_stmts[i]}" "${pg_txns[i]}" "${pg_cpu[i]}" "${pg_us[i]}"
        [[ $topology == two-hosts ]] && printf ' %7s' "${host_split[i]}"
        printf '  %s\n' "$(targets "${names[i]}" "$(number "$ratio")" "$(number "$p99x")" "$(steady_rss "${rss_all[i]}")")"
    done
    printf '\nstatus distribution (STATUS error: count):\n'
    for i in "${!names[@]}"; do
        printf '  %-40s %s\n' "${names[i]}" "${statuses[i]}"
    done
    printf '\nRSS of each worker, MB: peak during the scenario (VmHWM, reset before it) / at its end (VmRSS):\n'
    for i in "${!names[@]}"; do
        printf '  %-40s %s\n' "${names[i]}" "${rss_all[i]}"
    done
    cat <<EOF

RSS/worker  the largest peak. A sign-in checks a yescrypt hash (the demo
            user's): 16 MiB of scratch memory for a moment, by design of the
            hash, released at once (compare the peak with the end)
unexpected  responses other than expected: 400 authorization_pending for the
            ceiling, 200 for device authorization, 400 slow_down or
            authorization_pending for polls, 200 for complete flows (the
            token response) and auth_request checks
sockerr     wrk's connect, read and write errors and timeouts
wkr µs      CPU time (user + system) of the workers (all hosts) per request
            (per flow for complete flows; the ceiling's: trivial.c's)
ceiling     requests/s relative to the trivial C responder
p99/ceil    p99 relative to the trivial C responder's p99 in the same run
targets     (last column) issue 15's targets that apply, met or not met:
            device authorization >=30% of the ceiling, pending path >=90%,
            auth_request >=80%; polls' and checks' p99 <=1.5x the ceiling's;
            worker RSS <20 MB at the scenario's end (VmRSS, not the peak).
            The targets at 1M entries: --entries; flows against the Authlib
            peer: --peer
raw output  $work/*.wrk.txt
EOF
    if [[ $backend == postgresql ]]; then
        cat <<EOF
stmts/req   database statements per request (per flow for complete flows),
            pg_stat_statements calls during the scenario, BEGIN/COMMIT left
            out, the supervisors' housekeeping counted; per statement (calls
            per request, mean and total time): $work/*.statements.txt
txn/req     explicit transactions (BEGINs) per request
pg CPU      CPU of all the cluster's processes during the scenario, % of one
            core (only for a cluster this run started or --backend all's);
pg µs       the same per request
EOF
    fi
    if [[ $topology == two-hosts ]]; then
        cat <<EOF
A/B         the share of the workers' CPU that host A's and host B's workers
            used during the scenario, in %: both hosts served
EOF
    fi
    if [[ -n ${flow_steps:-} ]]; then
        local how steps
        if [[ $flow_approve == web ]]; then
            how='Approval "web": POST /device and POST /device/decision, signed in
once per thread (4 HTTP requests per flow).'
        else
            how='Approval "cli": one `devicegate approve` process per flow (2 HTTP
requests and 1 process start per flow).'
        fi
        steps=$(tr ' ' '\n' <<<"${flow_steps#FLOWS }" | awk -F= '
            { split($1, k, "_"); v[k[1] " " k[2]] = sprintf("%.1f", $2 / 1000); if (!(k[1] in seen)) { seen[k[1]] = 1; order[++n] = k[1] } }
            END { for (i = 1; i <= n; i++) printf "  %-10s p50 %7s ms   p99 %7s ms\n", order[i], v[order[i] " p50"], v[order[i] " p99"] }')
        cat <<EOF

complete flows: flows/s, not requests/s, from a Python driver (flows.py,
$flow_threads threads) on the same cores. A flow is device authorization,
approval and the token request.
$how
The ratio compares flows/s with the ceiling's requests/s; p50/p99 are per
whole flow. Per step:
$steps
EOF
    fi
}
# report_peer: devicegate's complete flows beside the Authlib peer's (--peer).
report_peer() {
    local i dg="" pr="" x
    for i in "${!names[@]}"; do
        case ${names[i]} in
            "complete flows: Authlib peer") pr=$i ;;
            "complete flows ("*) dg=$i ;;
        esac
    done
    [[ -n $dg && -n $pr ]] || return 0
    x=$(ratio "${rps[dg]}" "${rps[pr]}" '%.1f')
    printf '\ncomplete flows against the Authlib peer (issue 15: at least 5x the peer'"'"'s flows/s)\n'
    printf '  %-34s %9s %10s %10s\n' '' 'flows/s' p50 p99
    printf '  %-34s %9s %10s %10s\n' "devicegate (nginx, FastCGI)" "${rps[dg]}" "${p50[dg]}" "${p99[dg]}"
    printf '  %-34s %9s %10s %10s\n' "Authlib + gunicorn + SQLite" "${rps[pr]}" "${p50[pr]}" "${p99[pr]}"
    printf '  devicegate / peer: %sx, >=5x %s\n' "${x:-?}" \
        "$(awk -v x="${x:-0}" 'BEGIN {print (x >= 5) ? "met" : "not met"}')"
    cat <<EOF
The peer: deploy/bench/peer/app.py, Authlib's RFC 8628 endpoint and grant on Flask,
gunicorn with $workers sync workers, SQLite (WAL, synchronous=FULL: an answered device
authorization, decision or token is on disk) in $work/peer, behind the same nginx
(proxy_pass to loopback TCP; devicegate: FastCGI on a unix socket). The same driver
(flows.py --approve web, $flow_threads threads): sign in once per thread, then POST
/device and POST /device/decision on its verification page per flow, as devicegate's.
Per step, the peer: $(tr ' ' '\n' <<<"${peer_steps#FLOWS }" | awk -F= '/p50/ {printf "%s %.1f ms  ", $1, $2 / 1000}')
EOF
}

{ report; report_peer; } | tee "$work/results.txt"
# For --backend all: one line a scenario, tab-separated.
for i in "${!names[@]}"; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${names[i]}" "${rps[i]}" "${p50[i]}" "${p99[i]}" \
        "${unexpected[i]}" "${sockerr[i]}" "${pg_stmts[i]}" "${pg_txns[i]}" "${pg_cpu[i]}" "${worker_us[i]}" "${pg_us[i]}"
done >"$work/results.tsv"
if [[ $topology == two-hosts ]]; then
    nginx_b_errors=$(($(grep -cF "$dg_b_socket" "$work/nginx-error.log" || true) - ${nginx_b_errors0:-0}))
    ((nginx_b_errors == 0)) || warn "nginx could not always reach host B: $nginx_b_errors lines in $work/nginx-error.log"
fi
if $smaps && ! $ceiling_only; then
    # shellcheck disable=SC2046
    python3 "$bench_dir/smaps.py" $(worker_pids "$work/devicegate.pid") >"$work/smaps.txt"
    printf '\nworker memory by mapping (smaps.py): %s\n' "$work/smaps.txt"
fi
