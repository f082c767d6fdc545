#!/usr/bin/env bash
#
# Instructions per request of one devicegate worker, counted by callgrind: a
# measurement script, not a test. It prints a table and fails only if
# something could not be run or a response was not the expected one.
#
#     deploy/bench/instructions.sh [--bin PATH] [--requests N] [--warmup W]
#                                  [--dir D] [--no-syscalls] [--real-random]
#     deploy/bench/instructions.sh --compare BEFORE_DIR[,DIR...] AFTER_DIR[,DIR...]
#
# Wall-clock figures on a small shared VM move by a factor of 2 between runs;
# the number of instructions a process executes for the same inputs does not
# depend on what else runs. For comparing two builds (before and after a
# refactoring), run this on each with --bin and compare the Ir column.
#
# What it does (deploy/bench/instructions.py drives the worker):
#
#   config   `devicegate demo-config` (clients demo-tv and demo-cli, as
#            bench.sh), with the per-address and per-client pending caps lifted
#            (every request comes from 127.0.0.1), and `devicegate keys
#            generate` (what `serve` does before it starts workers)
#   binary   a copy of --bin without its DWARF sections (objcopy
#            --strip-debug): valgrind 3.19 cannot read the DWARF 5 Swift
#            emits and gives up. The code and the symbol table are untouched,
#            so callgrind_annotate still names every function.
#   worker   ONE `devicegate worker --config FILE` with a unix socket on fd 0,
#            as spawn-fcgi or systemd socket activation start it (serve starts
#            its workers the same way, through /proc/self/exe), under
#            valgrind --tool=callgrind; FastCGI straight to it, no nginx, one
#            connection per request with the parameters nginx's snippets pass
#   windows  per scenario, W warm-up requests (not counted), then
#            `callgrind_control -z`, N requests, `callgrind_control -d`: the
#            dump's total Ir / N is the figure. Scenarios: device
#            authorization (200), token poll of a pending code (400
#            authorization_pending, each code polled once), token poll too soon
#            (400 slow_down, one code again and again), redemption of an
#            approved flow (200, approved by `devicegate approve` outside the
#            window), the gateway check GET /_devicegate/auth/openid with a
#            valid bearer token (200)
#   random   getrandom(3) of every devicegate process of the run is a fixed
#            stream (seededrandom.c, LD_PRELOAD, one seed per process), so
#            that two runs draw the same codes (builds before 2026-12-03
#            searched device codes for one landing in the user code's shard:
#            256 SHA-256 on average, geometrically distributed). The digest
#            of the device codes drawn is printed: equal digests, equal inputs.
#            --real-random leaves the CSPRNG alone.
#   syscalls a second run with a fresh state directory and the worker outside
#            valgrind, `strace -c -f` attached for each window instead
#            (--no-syscalls skips it)
#
# Everything lives in --dir (default run/bench-instructions, emptied first):
# the callgrind dumps of each window (callgrind.SCENARIO.out, for
# callgrind_annotate), the strace summaries and the worker logs. The worker's
# SWIFT_DETERMINISTIC_HASHING=1 keeps hash tables laid out the same in every
# run. N=200 takes about 2 minutes (both runs) on this VM.
#
# --compare: no measuring; the table of earlier runs' directories: each run's
# Ir/request, the mean of each side, and after vs before in %.
#
# --bin defaults to the release binary of this tree (`swift build -c release
# --static-swift-stdlib`, deploy/lib/common.sh); DEVICEGATE_BIN works too.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib/common.sh
source "$bench_dir/../lib/common.sh"

requests=200
warmup=20
work=
syscalls=true
seed_random=true
compare=()

usage() { sed -n '3,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
    case $1 in
        --bin) DEVICEGATE_BIN=$2; shift ;;
        --requests) requests=$2; shift ;;
        --warmup) warmup=$2; shift ;;
        --dir) work=$2; shift ;;
        --no-syscalls) syscalls=false ;;
        --real-random) seed_random=false ;;
        --compare) compare=("$2" "$3"); shift 2 ;;
        -h | --help) usage ;;
        *) printf 'unknown option: %s\n' "$1" >&2; usage 2 ;;
    esac
    shift
done
[[ $requests =~ ^[1-9][0-9]*$ && $warmup =~ ^[1-9][0-9]*$ ]] || die "--requests and --warmup: positive integers"

scenarios=(device_authorization poll_pending poll_slow_down redemption auth_request)

# result DIR METER SCENARIO: per_request of SCENARIO in DIR/METER.txt ("-" if none).
result() {
    local value
    [[ -f $1/$2.txt ]] || { echo -; return; }
    value=$(sed -nE "s/^RESULT scenario=$3 .* per_request=([0-9.]+)$/\1/p" "$1/$2.txt")
    printf '%s\n' "${value:--}"
}

# compare_runs BEFORE_DIRS AFTER_DIRS (comma-separated): the comparison table.
compare_runs() {
    local before after dir scenario side values mean_b mean_a line sys_b sys_a
    IFS=, read -r -a before <<<"$1"
    IFS=, read -r -a after <<<"$2"
    for dir in "${before[@]}" "${after[@]}"; do
        [[ -f $dir/callgrind.txt ]] || die "--compare: no $dir/callgrind.txt"
    done
    printf 'before: %s\nafter:  %s\n' "${before[*]}" "${after[*]}"
    printf '%-22s %-27s %-27s %8s %9s %9s\n' scenario 'before Ir/request (runs)' 'after Ir/request (runs)' \
        'after vs' 'syscalls' 'syscalls'
    printf '%-22s %-27s %-27s %8s %9s %9s\n' '' '' '' 'before' 'before' 'after'
    for scenario in "${scenarios[@]}"; do
        line=$(printf '%-22s' "$scenario")
        for side in before after; do
            local -n dirs=$side
            values=()
            for dir in "${dirs[@]}"; do values+=("$(result "$dir" callgrind "$scenario")"); done
            printf -v "mean_${side:0:1}" '%s' "$(printf '%s\n' "${values[@]}" | awk '{s += $1} END {printf "%.0f", s / NR}')"
            line+=" $(printf '%-27s' "$(printf '%s\n' "${values[@]}" | awk '{printf "%s%.0f", (NR > 1 ? " " : ""), $1}')")"
        done
        sys_b=$(result "${before[0]}" strace "$scenario")
        sys_a=$(result "${after[0]}" strace "$scenario")
        line+=" $(awk -v b="$mean_b" -v a="$mean_a" 'BEGIN {printf "%+7.2f%%", 100 * (a - b) / b}')"
        line+=" $(printf '%9s %9s' "$sys_b" "$sys_a")"
        printf '%s\n' "$line"
    done
}
if ((${#compare[@]})); then
    compare_runs "${compare[@]}"
    exit 0
fi

ensure_packages valgrind=valgrind strace=strace binutils=objcopy gcc=gcc python3=python3

work=${work:-$DG_ROOT/run/bench-instructions}
# It is emptied below: refuse a directory that is not (an earlier) one of ours.
if [[ -d $work && -n $(ls -A "$work") && ! -e $work/instructions.txt && ! -d $work/callgrind ]]; then
    die "--dir $work is not empty and not an instructions directory"
fi
rm -rf "$work"
mkdir -p "$work"

bin=$(dg_binary)
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
log "copying $bin without its debug sections"
objcopy --strip-debug "$bin" "$work/devicegate"
preload=""
if $seed_random; then
    gcc -O2 -Wall -Wextra -shared -fPIC -o "$work/seededrandom.so" "$bench_dir/seededrandom.c"
    preload=$work/seededrandom.so
fi

# seeded SEED COMMAND...: COMMAND with getrandom(3) the fixed stream SEED (unless --real-random).
seeded() {
    local seed=$1
    shift
    if [[ -n $preload ]]; then
        LD_PRELOAD=$preload SEEDED_RANDOM_SEED=$seed "$@"
    else
        "$@"
    fi
}

# prepare DIR: a demo configuration and its signing key in DIR; prints the config file.
prepare() {
    local dir=$1 config
    mkdir -p "$dir"
    seeded 1 dg_demo_config "$work/devicegate" "$dir" "http://127.0.0.1/application/o/devicegate/" "$dir/unused.sock" 1
    config=$(dg_config_file "$dir")
    # Every request comes from 127.0.0.1: no pending-flow caps (as bench.sh).
    printf '\nadmission:\n  max_pending_per_address: 0\n  max_pending_per_client: 0\n' >>"$config"
    seeded 2 dg_check_config "$work/devicegate" "$config"
    seeded 4 "$work/devicegate" keys generate --config "$config" >"$dir/keys.txt" 2>&1 ||
        die "devicegate keys generate failed: $(cat "$dir/keys.txt")"
    printf '%s\n' "$config"
}

# measure METER: one run of instructions.py; its RESULT lines into $work/METER.txt.
measure() {
    local meter=$1 config
    config=$(prepare "$work/$meter")
    log "$meter: $requests requests per scenario after $warmup warm-up requests"
    python3 "$bench_dir/instructions.py" --bin "$work/devicegate" --config "$config" \
        --work "$work/$meter" --meter "$meter" --requests "$requests" --warmup "$warmup" \
        --seeded-random "$preload" \
        >"$work/$meter.txt" 2>&1 || die "instructions.py --meter $meter failed: $(tail -n 20 "$work/$meter.txt")"
}

measure callgrind
$syscalls && measure strace


report() {
    printf '\ndevicegate instructions per request: one worker, %s requests per scenario after %s warm-up\n' \
        "$requests" "$warmup"
    printf 'binary  %s (sha256 %s)\n' "$bin" "$(sha256sum "$bin" | cut -c1-16)"
    printf 'random  %s; device codes drawn: %s\n' "$($seed_random && echo "seeded (seededrandom.c)" || echo "real (--real-random)")" \
        "$(sed -nE 's/^CODES device_codes_sha256=//p' "$work/callgrind.txt") (sha256, first 16 hex)"
    printf '%-22s %14s %14s\n' scenario 'Ir/request' 'syscalls/req'
    local scenario ir sc
    for scenario in "${scenarios[@]}"; do
        ir=$(result "$work" callgrind "$scenario")
        sc=$(result "$work" strace "$scenario")
        [[ $ir == - ]] || ir=$(awk -v v="$ir" 'BEGIN {printf "%.0f", v}')
        printf '%-22s %14s %14s\n' "$scenario" "$ir" "$sc"
    done
    cat <<EOF

Ir/request    instructions the worker executed in the window / requests
              (callgrind, whole process: FastCGI, parsing, storage, crypto,
              libc); dumps in $work/callgrind/callgrind.SCENARIO.out
syscalls/req  system calls in the window / requests (strace -c -f, a second
              run outside valgrind); summaries in $work/strace/strace.SCENARIO.txt
EOF
}
report | tee "$work/instructions.txt"
