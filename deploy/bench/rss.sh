#!/usr/bin/env bash
# rss.sh: a steady devicegate worker's memory (issue 15: under 20 MB), in about a minute.
#
#   deploy/bench/rss.sh [--bin PATH] [--requests N] [--workers W] [--work DIR]
#
# Starts `devicegate serve` from a demo configuration as bench.sh writes it (unix socket, W
# workers, default 2), sends N (default 300) requests of every kind straight to the socket
# (rss.py: device authorizations, polls, the code-entry page in German and Japanese, Your
# devices in English, a few redemptions, token checks), then prints each worker's VmRSS and
# VmHWM from /proc and smaps.py's mappings of the first one. --bin defaults to the release
# build (dg_binary: `swift build -c release --static-swift-stdlib`, built if need be).
#
# Besides VmRSS/VmHWM it prints Pss and Private (from /proc/PID/smaps_rollup): VmRSS counts
# every resident page a worker maps, shared code and libraries included, which the page cache
# holds once for all workers; Private is what each worker adds. Figures: docs/benchmarks.md.
set -euo pipefail
bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib/common.sh
source "$bench_dir/../lib/common.sh"

bin=${DEVICEGATE_BIN:-} requests=300 workers=2 work=
while (($#)); do
    case $1 in
        --bin) bin=$2; shift 2 ;;
        --requests) requests=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        *) die "unknown option $1 (see the top of $0)" ;;
    esac
done
[[ -n $bin ]] || bin=$(dg_binary)
[[ -n $work ]] || work=$(mktemp -d /tmp/devicegate-rss.XXXXXX)
mkdir -p "$work" && work=$(cd "$work" && pwd)
socket=$work/devicegate.sock

dg_demo_config "$bin" "$work" "http://127.0.0.1/application/o/devicegate/" "$socket" "$workers"
config=$(dg_config_file "$work")
# Many device authorizations from one address and client (as bench.sh allows them).
printf '\nadmission:\n  max_pending_per_address: 0\n  max_pending_per_client: 0\n' >>"$config"
dg_check_config "$bin" "$config"
dg_serve "$bin" "$config" "$work/devicegate.log" "$work/devicegate.pid"
supervisor=$(<"$work/devicegate.pid")
trap 'kill -TERM "$supervisor" 2>/dev/null || true; wait "$supervisor" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
[[ -S $socket ]] || die "no socket $socket; see $work/devicegate.log"

python3 "$bench_dir/rss.py" --socket "$socket" --bin "$bin" --config "$config" --requests "$requests"

pids=$(pgrep -P "$supervisor" | sort -n)
printf '\nworkers after %s requests of every kind (%s):\n' "$requests" "$bin"
for pid in $pids; do
    printf 'worker %s: %s, %s\n' "$pid" \
        "$(grep -E '^VmRSS' "/proc/$pid/status" | tr -s ' \t' ' ')" \
        "$(grep -E '^VmHWM' "/proc/$pid/status" | tr -s ' \t' ' ')"
    printf '  %s\n' "$(grep -E '^(Pss|Private_Clean|Private_Dirty):' "/proc/$pid/smaps_rollup" | tr -s ' \t' ' ' | paste -sd ',')"
done
echo
python3 "$bench_dir/smaps.py" $(head -n 1 <<<"$pids")
