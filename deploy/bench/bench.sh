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
#
# One nginx (access_log off) on a free 127.0.0.1 port serves the production
# devicegate locations (nginx/devicegate-locations.conf) from `devicegate
# serve` with N workers, and /__bench/trivial from trivial.c: N processes
# sharing one socket on fd 0 (prefork.py). Both go through the same
# nginx/devicegate-fastcgi.conf. wrk (Lua scripts in this directory) runs:
#
#   ceiling                 trivial.c: fixed 400 authorization_pending
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
# DEVICEGATE_BIN=path uses a prebuilt binary instead of `swift build -c release`.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib/common.sh
source "$bench_dir/../lib/common.sh"

# ---- Options ----------------------------------------------------------------

ceiling_only=false
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

usage() { sed -n '3,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
    case $1 in
        --ceiling-only) ceiling_only=true ;;
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
        -h | --help) usage ;;
        *) printf 'unknown option: %s\n' "$1" >&2; usage 2 ;;
    esac
    shift
done

ensure_packages libfcgi-dev libcrypt-dev nginx-light=nginx wrk=wrk curl=curl gcc=gcc python3=python3

# ---- Processes, cleaned up on every exit ------------------------------------

work=${work:-$DG_ROOT/run/bench}
# It is emptied below: refuse a directory that is not (an earlier) one of ours.
if [[ -d $work && -n $(ls -A "$work") && ! -e $work/nginx.conf && ! -d $work/dg ]]; then
    die "--dir $work is not empty and not a bench directory"
fi
trivial_socket=$work/trivial.sock
dg_dir=$work/dg
dg_socket=$dg_dir/devicegate.sock

cleanup() {
    nginx_stop "$work"
    stop_pidfile "$work/trivial.pid" prefork.py TERM 5
    stop_pidfile "$work/devicegate.pid" devicegate TERM 10
}
# Leftovers of an interrupted run first, then ours on every exit.
[[ -d $work ]] && cleanup
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$work"
mkdir -p "$work" "$dg_dir"

log "building trivial.c"
gcc -O2 -Wall -Wextra -o "$work/trivial" "$bench_dir/trivial.c" -lfcgi

port=$(free_port)
base=http://127.0.0.1:$port

if ! $ceiling_only; then
    bin=$(dg_binary)
    dg_demo_config "$bin" "$dg_dir" "$base/application/o/devicegate/" "$dg_socket" "$workers"
    config=$(dg_config_file "$dg_dir")
    dg_check_config "$bin" "$config"
    log "starting devicegate serve ($workers workers)"
    dg_serve "$bin" "$config" "$work/devicegate.log" "$work/devicegate.pid"
fi

log "starting trivial.c ($workers processes on one socket)"
python3 "$bench_dir/prefork.py" --socket "$trivial_socket" --workers "$workers" \
    -- "$work/trivial" </dev/null >>"$work/trivial.log" 2>&1 &
echo "$!" >"$work/trivial.pid"

# The protected resource of the auth_request scenario.
mkdir -p "$work/www"
printf '{"ok":true}\n' >"$work/www/api.json"

NGINX_WORKER_PROCESSES=$nginx_workers NGINX_ACCESS_LOG=off \
NGINX_EXTRA_HTTP="
    upstream bench_trivial {
        server unix:$trivial_socket;
    }" \
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
log "starting nginx on $base (worker_processes $nginx_workers)"
nginx_start "$work"

wait_until 15 upstream_answers POST "$base/__bench/trivial" ||
    die "trivial responder not answering; see $work/trivial.log, $work/nginx-error.log"
if ! $ceiling_only; then
    dg_answers() {
        pid_alive "$(<"$work/devicegate.pid")" || die "devicegate exited; see $work/devicegate.log"
        upstream_answers POST "$base/application/o/token/"
    }
    wait_until 30 dg_answers ||
        die "devicegate not answering; see $work/devicegate.log, $work/nginx-error.log"
fi

# ---- Measuring --------------------------------------------------------------

# worker_pids PIDFILE: the worker processes under the supervisor in PIDFILE.
worker_pids() { child_pids "$(<"$1")"; }

# Results, one entry per scenario.
names=() rps=() p50=() p99=() statuses=() unexpected=() sockerr=() rss=() rss_all=()

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
    local slug=${name,,} pids pid hwm max_kb=0 all_mb="" line
    slug=${slug//[^a-z0-9]/_}
    last_out=$work/$slug.wrk.txt
    pids=$(worker_pids "$pidfile")
    # Reset each worker's peak RSS to its current RSS (clear_refs 5).
    for pid in $pids; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done

    if [[ $lua == *.py ]]; then
        log "$name: $lua --threads $flow_threads --duration $duration"
        python3 "$bench_dir/$lua" --url "$base" --threads "$flow_threads" --duration "$duration" \
            "$@" >"$work/$slug.wrk.txt" 2>&1 || die "$lua failed: $(tail -n 20 "$work/$slug.wrk.txt")"
    else
        log "$name: wrk -t$threads -c$connections -d${duration}s"
        run_wrk "$work/$slug.wrk.txt" "$duration" "$lua" "$path" "$@"
    fi

    for pid in $pids; do
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        if ((hwm > max_kb)); then max_kb=$hwm; fi
        all_mb+="${all_mb:+ }$(awk -v kb="$hwm" 'BEGIN {printf "%.1f", kb / 1024}')"
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
        flow_args=(--approve web --user "$demo_user" --password "$demo_password")
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

# ---- Report -----------------------------------------------------------------

report() {
    local i ratio
    printf '\ndevicegate benchmark: %s, nginx worker_processes %s, %s FastCGI workers each,\n' \
        "$(nproc) cores" "$nginx_workers" "$workers"
    printf 'wrk -t%s -c%s -d%ss per scenario; latency as seen by wrk through nginx.\n\n' \
        "$threads" "$connections" "$duration"
    printf '%-40s %9s %10s %10s %10s %8s %12s %9s\n' \
        scenario 'req/s' p50 p99 unexpected 'sockerr' 'RSS/worker' 'ceiling'
    for i in "${!names[@]}"; do
        ratio=$(awk -v a="${rps[i]}" -v b="${rps[0]}" 'BEGIN {printf "%.0f%%", 100 * a / b}')
        printf '%-40s %9s %10s %10s %10s %8s %12s %9s\n' "${names[i]}" "${rps[i]}" \
            "${p50[i]}" "${p99[i]}" "${unexpected[i]}" "${sockerr[i]}" "${rss[i]}" "$ratio"
    done
    printf '\nstatus distribution (STATUS error: count):\n'
    for i in "${!names[@]}"; do
        printf '  %-40s %s\n' "${names[i]}" "${statuses[i]}"
    done
    printf '\npeak RSS of each worker, MB (VmHWM, reset before each scenario):\n'
    for i in "${!names[@]}"; do
        printf '  %-40s %s\n' "${names[i]}" "${rss_all[i]}"
    done
    cat <<EOF

RSS/worker  the largest of those
unexpected  responses other than expected: 400 authorization_pending for the
            ceiling, 200 for device authorization, 400 slow_down or
            authorization_pending for polls, 200 for complete flows (the
            token response) and auth_request checks
sockerr     wrk's connect, read and write errors and timeouts
ceiling     requests/s relative to the trivial C responder
raw output  $work/*.wrk.txt
EOF
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
report | tee "$work/results.txt"
