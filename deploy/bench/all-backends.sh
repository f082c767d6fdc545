# shellcheck shell=bash
#
# bench.sh --backend all, sourced by bench.sh once its options are parsed: in
# one invocation, one after the other on the same machine state, the
# directory store, PostgreSQL on one host and PostgreSQL on two hosts, each a
# run of bench.sh (with its own ceiling) in D/directory-1, D/pg-one-1 and
# D/pg-two-1 (--rounds N: N times over, alternating, D/...-N), all on one
# cluster (D/pg, or --pg-url); then one table (compare_backends.py, medians
# over the rounds) with issue 12's targets, in D/results-all.txt.

work=${work:-$DG_ROOT/run/bench}
[[ $work == /* ]] || work=$PWD/$work   # the configs and sockets name absolute paths
if [[ -d $work && -n $(ls -A "$work") && ! -e $work/bench-all && ! -e $work/nginx.conf && ! -d $work/dg ]]; then
    die "--dir $work is not empty and not a bench directory"
fi

all_cleanup() {
    if [[ -z $pg_url && -e $work/pg/data ]]; then
        bash "$DG_ROOT/deploy/postgres-test-cluster.sh" stop "$(cd "$work/pg" && pwd)" || warn "could not stop the cluster in $work/pg"
    fi
}
# A cluster left by an interrupted run first (the runs clean up their own).
all_cleanup
trap all_cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$work"
mkdir -p "$work"
: >"$work/bench-all"

# One binary for the three runs.
DEVICEGATE_BIN=$(dg_binary)
export DEVICEGATE_BIN

ensure_packages postgresql-client=psql
all_pg_url=$pg_url
all_pg_dir=""
if [[ -z $all_pg_url ]]; then
    all_pg_dir=$(cd "$work" && pwd)/pg
    log "starting a PostgreSQL cluster in $all_pg_dir (durability defaults, pg_stat_statements)"
    all_pg_url=$(pg_durable_cluster "$all_pg_dir")
fi

common=(--duration "$duration" --connections "$connections" --threads "$threads" --workers "$workers"
    --nginx-workers "$nginx_workers" --max-seed "$max_seed" --flow-threads "$flow_threads"
    --flow-approve "$flow_approve" --ceiling-close "$ceiling_close")

load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds: expected a positive number"
declare -A results=()
for ((round = 1; round <= rounds; round++)); do
    for run in directory pg-one pg-two; do
        case $run in
            directory) args=(--backend directory) ;;
            pg-one) args=(--backend postgresql --topology one-host) ;;
            pg-two) args=(--backend postgresql --topology two-hosts) ;;
        esac
        log "---- round $round of $rounds, $run: bench.sh ${args[*]} ${common[*]}"
        BENCH_PG_URL=$all_pg_url BENCH_PG_DIR=$all_pg_dir \
            bash "$bench_dir/bench.sh" "${args[@]}" "${common[@]}" --dir "$work/$run-$round" | tee "$work/$run-$round.out" ||
            die "the $run run of round $round failed (see above)"
        results[$run]+="${results[$run]:+,}$work/$run-$round/results.tsv"
    done
done
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)

python3 "$bench_dir/compare_backends.py" --started "$started" --load "$load_before" "$load_after" \
    --settings "$(pg_sql "$all_pg_url" "SELECT 'PostgreSQL ' || current_setting('server_version') || ': ' ||
        string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
        WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers')")" \
    --setup "$(nproc) cores; $workers devicegate workers in all (two hosts: $((workers / 2)) each); nginx worker_processes $nginx_workers; wrk -t$threads -c$connections -d${duration}s" \
    directory="${results[directory]}" pg-one="${results[pg-one]}" pg-two="${results[pg-two]}" |
    tee "$work/results-all.txt"
