# shellcheck shell=bash
#
# Helpers shared by deploy/run-local.sh, deploy/stop-local.sh,
# deploy/test.sh and deploy/bench/bench.sh. Source it; it does not change
# shell options.
#
# Every invocation of the devicegate binary made by these scripts goes
# through the "devicegate command-line contract" section at the bottom: if a
# subcommand or flag changes, change it there and nowhere else.

DG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---- Packages ---------------------------------------------------------------

# ensure_packages SPEC...
# Installs the Debian packages that are missing, running `apt-get update`
# only when something is. SPEC is "package" (present when dpkg says it is
# installed) or "package=command" (present when the command is on PATH, so
# e.g. any nginx flavour, or a python3 that is not Debian's, will do).
ensure_packages() {
    local spec pkg cmd missing=()
    for spec in "$@"; do
        pkg=${spec%%=*}
        if [[ $spec == *=* ]]; then
            cmd=${spec#*=}
            command -v "$cmd" >/dev/null 2>&1 && continue
        fi
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' && continue
        missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    if ((EUID != 0)); then
        die "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
    fi
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

require_swift() {
    command -v swift >/dev/null 2>&1 ||
        die "swift is not on PATH: install a Swift 6 toolchain (https://www.swift.org/install/linux/)"
}

# ---- Processes --------------------------------------------------------------

# wait_until SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds;
# fails after SECONDS.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# pid_alive PID [NAME]: PID is running (a zombie is not) and, if NAME is
# given, its command line contains NAME (guards against a stale pidfile whose
# pid has been reused).
pid_alive() {
    local pid=$1 name=${2:-} stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }         # fields after "pid (comm) "
    [[ ${stat:0:1} != Z ]] || return 1
    [[ -z $name ]] && return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$name"
}

# stop_pid PID NAME [SIGNAL] [GRACE]: send SIGNAL (default TERM) to PID if it
# is still NAME, wait up to GRACE seconds (default 10), then SIGKILL. Children
# of PID still named NAME once it is gone (orphaned workers) are killed too.
stop_pid() {
    local pid=$1 name=$2 signal=${3:-TERM} grace=${4:-10} children child
    pid_alive "$pid" "$name" || return 0
    children=$(child_pids "$pid")
    kill -s "$signal" "$pid" 2>/dev/null || true
    if ! wait_until "$grace" eval "! pid_alive $pid"; then
        warn "$name (pid $pid) did not stop within ${grace}s; killing it"
        kill -s KILL "$pid" 2>/dev/null || true
    fi
    for child in $children; do
        if pid_alive "$child" "$name"; then
            warn "killing orphaned $name worker $child"
            kill -s KILL "$child" 2>/dev/null || true
        fi
    done
}

# stop_pidfile FILE NAME [SIGNAL] [GRACE]: stop_pid on the pid in FILE, then
# remove FILE.
stop_pidfile() {
    local file=$1
    shift
    [[ -f $file ]] || return 0
    stop_pid "$(<"$file")" "$@"
    rm -f "$file"
}

# child_pids PID: the direct children of PID, one per line.
child_pids() {
    cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d'
}

# free_port: an unused TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- nginx ------------------------------------------------------------------

# write_nginx_conf DIR PORT DEVICEGATE_SOCKET
# Writes DIR/nginx.conf: a complete nginx configuration for running nginx
# without root and without touching /etc/nginx or /var/lib/nginx. pid, logs
# and temp files live in DIR; one server on 127.0.0.1:PORT includes the
# production locations (nginx/devicegate-locations.conf, through the symlink
# DIR/devicegate -> nginx/), and the devicegate upstream points at
# DEVICEGATE_SOCKET. Tunables, as environment variables:
#   NGINX_WORKER_PROCESSES (1), NGINX_ACCESS_LOG ("DIR/nginx-access.log" or
#   "off"), NGINX_EXTRA_HTTP and NGINX_EXTRA_SERVER (text inserted into the
#   http{} and server{} blocks), NGINX_LIMITS (the limit_req_zone lines the
#   shipped locations use; default: include the shipped
#   nginx/devicegate-limits.conf; a load test sets the same zones with
#   higher rates).
write_nginx_conf() {
    local dir=$1 port=$2 socket=$3 user_line=""
    local access_log=${NGINX_ACCESS_LOG:-$dir/nginx-access.log}
    mkdir -p "$dir/nginx-tmp"
    [[ ! -e $dir/devicegate || -L $dir/devicegate ]] ||
        die "$dir/devicegate exists and is not the symlink to nginx/"
    ln -sfn "$DG_ROOT/nginx" "$dir/devicegate"
    # As root, nginx would run its workers as "nobody", who cannot reach a
    # socket in a private directory: keep them as the invoking user.
    ((EUID == 0)) && user_line="user $(id -un) $(id -gn);  # workers as the invoking user"
    cat >"$dir/nginx.conf" <<EOF
# Generated by deploy/lib/common.sh for a local run that uses nothing from
# /etc/nginx or /var/lib/nginx. Not for production: see
# nginx/example-server.conf.
$user_line
worker_processes ${NGINX_WORKER_PROCESSES:-1};
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;

events {
    worker_connections 4096;
}

http {
    default_type application/octet-stream;
    server_tokens off;
    access_log $access_log;
    keepalive_requests 100000;

    client_body_temp_path $dir/nginx-tmp/body;
    fastcgi_temp_path     $dir/nginx-tmp/fastcgi;
    proxy_temp_path       $dir/nginx-tmp/proxy;
    uwsgi_temp_path       $dir/nginx-tmp/uwsgi;
    scgi_temp_path        $dir/nginx-tmp/scgi;

    upstream devicegate {
        server unix:$socket;
    }
    ${NGINX_LIMITS:-include devicegate/devicegate-limits.conf;}
${NGINX_EXTRA_HTTP:-}
    server {
        listen 127.0.0.1:$port;
        server_name localhost;

        include devicegate/devicegate-locations.conf;
        include devicegate/devicegate-verification-embedded.conf;
${NGINX_EXTRA_SERVER:-}
        location / {
            return 404;
        }
    }
}
EOF
}

nginx_cmd() { nginx -p "$1/" -c "$1/nginx.conf" -e "$1/nginx-error.log" "${@:2}"; }

# nginx_start DIR: check and start (daemonised) the nginx configured in DIR.
nginx_start() {
    nginx_cmd "$1" -t -q || die "nginx configuration $1/nginx.conf is invalid"
    nginx_cmd "$1" || die "nginx failed to start; see $1/nginx-error.log"
    wait_until 5 test -s "$1/nginx.pid" || die "nginx did not write $1/nginx.pid"
}

# nginx_stop DIR: graceful stop (QUIT) of the nginx started by nginx_start.
nginx_stop() {
    stop_pidfile "$1/nginx.pid" nginx QUIT 5
}

# http_status METHOD URL: the HTTP status code, or 000 when nothing answers.
http_status() {
    curl -s -o /dev/null -w '%{http_code}' -X "$1" --max-time 2 "$2" || true
}

# upstream_answers METHOD URL: something behind nginx answered, i.e. the
# status is none of 000 (no nginx) or 502/503/504 (no FastCGI worker).
upstream_answers() {
    case $(http_status "$1" "$2") in
        000 | 502 | 503 | 504) return 1 ;;
    esac
}

# ---- devicegate command-line contract ---------------------------------------
#
#   devicegate demo-config --output DIR --issuer URL --listen unix:PATH --workers N
#       writes DIR/devicegate.yaml (state_dir DIR/state) with the public
#       client demo-tv and the confidential client demo-cli, and prints
#       demo-cli's generated secret on a line containing "secret"
#       ("demo-cli client_secret: ...").
#   devicegate check-config --config FILE
#   devicegate serve --config FILE          binds server.listen, runs
#       server.workers workers; SIGTERM stops gracefully.
#   devicegate approve USER_CODE --subject NAME --config FILE
#
# DEVICEGATE_BIN, if set, names a prebuilt binary and skips the build.

# The demo clients demo-config creates (used by the sourcing scripts).
# shellcheck disable=SC2034
DG_PUBLIC_CLIENT=demo-tv
# shellcheck disable=SC2034
DG_CONFIDENTIAL_CLIENT=demo-cli

# How the release binary is built: the Swift runtime and Foundation linked in
# (a worker maps about 7 MB less than with the shared libraries; see
# Package.swift and docs/benchmarks.md). Anything else built with
# -c release in the same .build must use the same flags, or SwiftPM rebuilds
# every module each time the flags change.
DG_RELEASE_FLAGS=(-c release --static-swift-stdlib)

# dg_binary: build the release binary (unless DEVICEGATE_BIN is set) and print
# its path.
dg_binary() {
    if [[ -n ${DEVICEGATE_BIN:-} ]]; then
        [[ -x $DEVICEGATE_BIN ]] || die "DEVICEGATE_BIN=$DEVICEGATE_BIN is not executable"
        printf '%s\n' "$DEVICEGATE_BIN"
        return
    fi
    require_swift
    log "building devicegate (swift build ${DG_RELEASE_FLAGS[*]})"
    (cd "$DG_ROOT" && swift build "${DG_RELEASE_FLAGS[@]}" --product devicegate >&2) ||
        die "swift build failed"
    printf '%s/devicegate\n' "$(cd "$DG_ROOT" && swift build -c release --show-bin-path)"
}

# dg_demo_config BIN DIR ISSUER SOCKET [WORKERS]: demo configuration in DIR
# (server.workers = WORKERS, default 4); the command's output (with the
# secret) is kept in DIR/demo-config.txt.
dg_demo_config() {
    local bin=$1 dir=$2 issuer=$3 socket=$4 workers=${5:-4}
    "$bin" demo-config --output "$dir" --issuer "$issuer" --listen "unix:$socket" \
        --workers "$workers" >"$dir/demo-config.txt" 2>&1 ||
        die "devicegate demo-config failed: $(cat "$dir/demo-config.txt")"
    [[ -f $(dg_config_file "$dir") ]] || die "devicegate demo-config wrote no $(dg_config_file "$dir")"
}

dg_config_file() { printf '%s/devicegate.yaml\n' "$1"; }

# dg_demo_secret DIR: demo-cli's secret as printed by demo-config (empty if
# it cannot be found in DIR/demo-config.txt).
dg_demo_secret() {
    sed -nE 's/.*[Ss][Ee][Cc][Rr][Ee][Tt][^:=]*[:=][[:space:]]*"?([^"[:space:]]+)"?.*/\1/p' \
        "$1/demo-config.txt" | tail -n 1
}

dg_check_config() {
    "$1" check-config --config "$2" >&2 || die "devicegate check-config $2 failed"
}

# dg_serve BIN CONFIG LOG PIDFILE: start `devicegate serve` in the background,
# in its own session, appending its output to LOG.
dg_serve() {
    local bin=$1 config=$2 logfile=$3 pidfile=$4
    setsid "$bin" serve --config "$config" </dev/null >>"$logfile" 2>&1 &
    printf '%s\n' "$!" >"$pidfile"
}

# dg_approve_usage BIN CONFIG USER_CODE: the approval command line, for humans.
dg_approve_usage() {
    printf '%q approve %s --subject alice --config %q\n' "$1" "$3" "$2"
}
