#!/usr/bin/env bash
#
# Stop what deploy/run-local.sh started: nginx (graceful QUIT) and
# `devicegate serve` (SIGTERM, which stops its workers gracefully; SIGKILL
# after 10 s). Safe to run when nothing is running. Leaves run/ in place.
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

run_dir=$DG_ROOT/run

# nginx first, so no request reaches a stopping devicegate.
if [[ -f $run_dir/nginx.pid ]]; then
    log "stopping nginx"
    nginx_stop "$run_dir"
fi
if [[ -f $run_dir/devicegate.pid ]]; then
    log "stopping devicegate"
    stop_pidfile "$run_dir/devicegate.pid" devicegate TERM 10
fi
