#!/usr/bin/env bash
#
# Run devicegate locally behind nginx, on http://127.0.0.1:8080.
#
# On a fresh Debian machine, as root, from the repository:
#
#     deploy/run-local.sh
#
# It installs the Debian packages that are missing (libfcgi-dev, libcrypt-dev,
# nginx, curl, pkg-config, python3), builds the release binary, writes a demo
# configuration and an nginx configuration into run/ (git-ignored), starts
# `devicegate serve` and nginx in the background, waits until they answer,
# and prints what is needed to try a device flow with curl. Running it again
# stops the previous instance and starts afresh (new demo secret, empty state).
# Stop everything with deploy/stop-local.sh.
#
# Environment: DEVICEGATE_LOCAL_PORT (default 8080), DEVICEGATE_BIN (use this
# binary instead of building one).
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

port=${DEVICEGATE_LOCAL_PORT:-8080}
run_dir=$DG_ROOT/run
socket=$run_dir/devicegate.sock
base_url=http://127.0.0.1:$port
issuer=$base_url/application/o/devicegate/

ensure_packages libfcgi-dev libcrypt-dev libpq-dev nginx-light=nginx curl=curl pkg-config=pkg-config python3=python3
bin=$(dg_binary)

# A previous instance, if any, goes first; then start from an empty run/
# (run/bench/ belongs to deploy/bench/bench.sh and is left alone).
"$DG_ROOT/deploy/stop-local.sh"
mkdir -p "$run_dir"
find "$run_dir" -mindepth 1 -maxdepth 1 ! -name bench -exec rm -rf {} +

log "writing the demo configuration to run/"
dg_demo_config "$bin" "$run_dir" "$issuer" "$socket"
config=$(dg_config_file "$run_dir")
dg_check_config "$bin" "$config"
write_nginx_conf "$run_dir" "$port" "$socket"

log "starting devicegate and nginx"
dg_serve "$bin" "$config" "$run_dir/devicegate.log" "$run_dir/devicegate.pid"
nginx_start "$run_dir"

# Ready when the token endpoint answers from a worker (anything but nginx's
# "no upstream" statuses).
devicegate_ready() {
    pid_alive "$(<"$run_dir/devicegate.pid")" ||
        die "devicegate exited; last lines of run/devicegate.log:
$(tail -n 20 "$run_dir/devicegate.log")"
    upstream_answers POST "$base_url/application/o/token/"
}
wait_until 30 devicegate_ready ||
    die "devicegate did not answer within 30 s; see run/devicegate.log and run/nginx-error.log"

# Start one device flow right away so the commands below can be pasted as-is.
flow=$(curl -s -X POST -d "client_id=$DG_PUBLIC_CLIENT" -d scope=openid \
    "$base_url/application/o/device/" || true)
json_field() {
    python3 -c 'import json, sys
try:
    print(json.loads(sys.argv[1]).get(sys.argv[2], ""))
except ValueError:
    pass' "$flow" "$1"
}
device_code=$(json_field device_code)
user_code=$(json_field user_code)
verification=$(json_field verification_uri_complete)
[[ -n $device_code ]] || warn "device authorization did not return a device_code: $flow"

secret=$(dg_demo_secret "$run_dir")
demo_password=$(sed -nE 's/^demo sign-in: username demo, password (.*)$/\1/p' "$run_dir/demo-config.txt")
[[ -n $secret ]] || secret="(not found: see run/demo-config.txt)"

cat <<EOF

devicegate is running behind nginx on $base_url

  issuer               $issuer
  public client        $DG_PUBLIC_CLIENT
  confidential client  $DG_CONFIDENTIAL_CLIENT
  its secret           $secret
  configuration        run/devicegate.yaml (state in run/state/)
  logs                 run/devicegate.log, run/nginx-error.log, run/nginx-access.log

Start a device flow (RFC 8628 section 3.1):

  curl -s -X POST -d client_id=$DG_PUBLIC_CLIENT -d scope=openid $base_url/application/o/device/

  or as the confidential client:

  curl -s -u '$DG_CONFIDENTIAL_CLIENT:$secret' -X POST -d scope=openid $base_url/application/o/device/

One flow has been started already:

  user_code            ${user_code:-?}
  device_code          ${device_code:-?}
  verification page    ${verification:-$base_url/device}

Approve it in a browser: open the verification page above, sign in, approve.

  sign in as           demo / ${demo_password:-(see run/demo-config.txt)}
  more users           $bin users add NAME --config $config

Poll the token endpoint (answers authorization_pending, or slow_down when
polled faster than every 5 s, until the code is approved):

  curl -s -X POST -d grant_type=urn:ietf:params:oauth:grant-type:device_code \\
       -d client_id=$DG_PUBLIC_CLIENT -d device_code=${device_code:-DEVICE_CODE} $base_url/application/o/token/

Or approve it from the command line as user "alice" (then poll again):

  $(dg_approve_usage "$bin" "$config" "${user_code:-USER_CODE}")

Stop: deploy/stop-local.sh
EOF
