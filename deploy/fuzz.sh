#!/usr/bin/env bash
#
# Builds the libFuzzer fuzzer (Tests/Fuzz) and runs each target for a bounded
# time over its checked-in seed corpus, Tests/Fuzz/corpus/<target>/.
#
#     deploy/fuzz.sh [--seconds N] [--keep DIR] [--scratch-path DIR] [TARGET...]
#
#   --seconds N         time per target (default 25)
#   --keep DIR          keep the corpora the fuzzer grew in DIR/<target>/
#                       (default: thrown away; see Tests/Fuzz/README.md for
#                       merging good ones into the seeds)
#   --scratch-path DIR  build in DIR instead of .build. Building in .build is
#                       quick after `swift build` (only devicegate's own modules
#                       are recompiled, with coverage instrumentation), but the
#                       next ordinary `swift build` recompiles them again.
#   TARGET              fastcgi form user-code basic-auth scope cookie record bearer-token authorize app
#                       (default: all)
#
# Exits non-zero when a target traps, violates a property, hangs (an input
# running over 10 s), runs out of memory (2 GB), or cannot be built. Crashing
# inputs are kept in .build/fuzz-artifacts/<time>/<target>-crash-*; reproduce one with
#     swift run DeviceGateFuzz TARGET FILE
# Needs the libFuzzer runtime that Swift toolchains for Linux ship
# (lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a); nothing from apt.
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$DG_ROOT"

all_targets=(fastcgi form user-code basic-auth scope cookie record bearer-token authorize app)
seconds=25
keep=
scratch=()
targets=()
while (($#)); do
    case $1 in
        --seconds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--seconds needs a positive number"; seconds=$2; shift 2 ;;
        --keep) [[ -n ${2:-} ]] || die "--keep needs a directory"; keep=$2; shift 2 ;;
        --scratch-path) [[ -n ${2:-} ]] || die "--scratch-path needs a directory"; scratch=(--scratch-path "$2"); shift 2 ;;
        -h | --help) sed -n '3,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *)
            [[ " ${all_targets[*]} " == *" $1 "* ]] || die "unknown target $1 (targets: ${all_targets[*]})"
            targets+=("$1"); shift ;;
    esac
done
((${#targets[@]})) || targets=("${all_targets[@]}")

require_swift
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")
find "$toolchain/lib" -name "libclang_rt.fuzzer-$(uname -m).a" -print -quit 2>/dev/null | grep -q . ||
    die "no libFuzzer runtime (libclang_rt.fuzzer-$(uname -m).a) in the Swift toolchain at $toolchain"

log "building DeviceGateFuzz with -sanitize=fuzzer"
DEVICEGATE_FUZZ=1 swift build "${scratch[@]}" --product DeviceGateFuzz || die "building the fuzzer failed"
bin=$(DEVICEGATE_FUZZ=1 swift build "${scratch[@]}" --show-bin-path)/DeviceGateFuzz

artifacts=$DG_ROOT/.build/fuzz-artifacts/$(date +%Y%m%d-%H%M%S)
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/devicegate-fuzz.XXXXXX")
# The app target's state directories: tmpfs if there is one (fsync is free there).
state_base=$work
[[ -d /dev/shm && -w /dev/shm ]] && state_base=$(mktemp -d /dev/shm/devicegate-fuzz.XXXXXX)
cleanup() {
    rm -rf "$work"
    [[ $state_base == "$work" ]] || rm -rf "$state_base"
    rmdir "$artifacts" 2>/dev/null || true
}
trap cleanup EXIT

# final_stat NAME LOG: a libFuzzer -print_final_stats value.
final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

failed=()
summary=()
started=$SECONDS
for target in "${targets[@]}"; do
    corpus=$work/corpus/$target
    seeds=Tests/Fuzz/corpus/$target
    mkdir -p "$corpus"
    max_len=1024
    [[ $target == app || $target == form ]] && max_len=4096
    options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len"
        -print_final_stats=1 -artifact_prefix="$artifacts/$target-")
    [[ -f Tests/Fuzz/dictionaries/$target.dict ]] && options+=(-dict="Tests/Fuzz/dictionaries/$target.dict")
    logfile=$work/$target.log
    log "fuzzing $target for ${seconds}s"
    status=0
    # The Swift runtime's backtracer would take SIGILL/SIGABRT before libFuzzer
    # could save the input: leave crashes to libFuzzer. `timeout` catches a
    # fuzzer that stops making progress outside any one input.
    SWIFT_BACKTRACE=enable=no DEVICEGATE_FUZZ_TARGET=$target DEVICEGATE_FUZZ_STATE=$state_base/$target \
        timeout --kill-after=10 $((seconds + 120)) "$bin" "${options[@]}" "$corpus" "$seeds" >"$logfile" 2>&1 || status=$?
    execs=$(final_stat number_of_executed_units "$logfile")
    rate=$(final_stat average_exec_per_sec "$logfile")
    grown=$(find "$corpus" -type f | wc -l)
    seeded=$(find "$seeds" -type f | wc -l)
    line=$(printf '%-12s %s: %s execs in %ss (%s/s), corpus %s seeds + %s new' "$target" \
        "$( ((status == 0)) && echo ok || echo "FAILED (exit $status)")" "${execs:-?}" "$seconds" "${rate:-?}" "$seeded" "$grown")
    summary+=("$line")
    if ((status != 0)); then
        failed+=("$target")
        warn "$target failed; the end of its log:"
        grep -v '^"\|^#[0-9]*\s*\(NEW\|REDUCE\|pulse\)\|Recommended dictionary\|End of recommended' "$logfile" | tail -n 60 >&2
        for file in "$artifacts/$target"-*; do
            [[ -e $file ]] && warn "input kept in $file (reproduce: swift run DeviceGateFuzz $target $file)"
        done
    fi
    if [[ -n $keep ]]; then
        mkdir -p "$keep/$target"
        cp -a "$corpus/." "$keep/$target/"
    fi
    rm -rf "${state_base:?}/$target"
done

log "fuzzing took $((SECONDS - started))s"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    die "fuzzing failed: ${failed[*]}"
fi
