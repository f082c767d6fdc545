# shellcheck shell=bash
#
# PostgreSQL helpers of deploy/bench/bench.sh (--backend postgresql): the
# bench cluster, its durability, and what each scenario asked of it. Sourced
# after deploy/lib/common.sh.

# pg_sql URL SQL: run SQL (psql -X, one result row per line, fields
# separated by tabs); the output on stdout, errors on stderr.
pg_sql() {
    psql -X -q -t -A -F $'\t' -v ON_ERROR_STOP=1 "$1" -c "$2" </dev/null
}

# pg_with_search_path URL SCHEMA: URL whose sessions see only SCHEMA
# (devicegate's table names are unqualified).
pg_with_search_path() {
    local sep='?'
    [[ $1 == *\?* ]] && sep='&'
    printf '%s%soptions=-csearch_path%%3D%s\n' "$1" "$sep" "$2"
}

# pg_durable_cluster DIR: start a throwaway cluster in DIR with
# deploy/postgres-test-cluster.sh, then put back what the test cluster turns
# off (fsync, synchronous_commit, full_page_writes: PostgreSQL's defaults,
# what an operator runs) and load pg_stat_statements. ALTER SYSTEM writes
# postgresql.auto.conf, which is read after postgresql.conf and wins. Prints
# the URL.
pg_durable_cluster() {
    local dir=$1 url
    bash "$DG_ROOT/deploy/postgres-test-cluster.sh" start "$dir" >/dev/null ||
        die "deploy/postgres-test-cluster.sh start $dir failed"
    url=$(<"$dir/url")
    pg_sql "$url" "ALTER SYSTEM SET fsync = on" >/dev/null
    pg_sql "$url" "ALTER SYSTEM SET synchronous_commit = on" >/dev/null
    pg_sql "$url" "ALTER SYSTEM SET full_page_writes = on" >/dev/null
    pg_sql "$url" "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    bash "$DG_ROOT/deploy/postgres-test-cluster.sh" restart "$dir" ||
        die "restarting the cluster in $dir failed; see $dir/log"
    printf '%s\n' "$url"
}

# pg_check_durability URL: warn when the database does not run with the
# durability an operator runs (the figures would flatter it).
pg_check_durability() {
    local settings
    settings=$(pg_sql "$1" "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
        WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')") ||
        die "cannot reach the database at --pg-url (see the psql error above)"
    log "PostgreSQL $(pg_sql "$1" 'SHOW server_version'): $settings"
    [[ $settings == 'fsync=on full_page_writes=on synchronous_commit=on' ]] ||
        warn "the database does not run with PostgreSQL's durability defaults ($settings)"
    pg_settings=$settings
}

# pg_cluster_ticks: CPU time (user + system, clock ticks) of every process of
# the cluster in pg_dir so far (the postmaster and its children: the backends
# of the workers hold their connections for the whole run); empty when this
# run does not know the cluster's processes (--pg-url).
pg_cluster_ticks() {
    local postmaster pid total=0
    [[ -n $pg_dir && -r $pg_dir/data/postmaster.pid ]] || return 0
    postmaster=$(head -n 1 "$pg_dir/data/postmaster.pid")
    for pid in "$postmaster" $(child_pids "$postmaster"); do
        total=$((total + $(cpu_ticks "$pid")))
    done
    printf '%s\n' "$total"
}

# pg_statements_snapshot FILE: pg_stat_statements of this database, one row a
# statement: key, calls, total milliseconds, the normalised text on one line.
pg_statements_snapshot() {
    pg_sql "$pg_base_url" "SELECT userid || ':' || queryid || ':' || toplevel, calls, total_exec_time,
            regexp_replace(query, '\s+', ' ', 'g')
        FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())" >"$1"
}

# pg_statements_delta BEFORE AFTER REQUESTS OUT: what the database ran between
# the two snapshots, per request: OUT gets one line a statement (calls per
# request, mean ms, total ms, text), most total time first; prints
# "STATEMENTS/REQUEST TRANSACTIONS/REQUEST": statements other than
# transaction control, and BEGINs. These snapshot queries are left out; the
# supervisors' housekeeping during the scenario is counted.
pg_statements_delta() {
    awk -F '\t' -v requests="$3" -v out="$4" '
        NR == FNR { calls0[$1] = $2; ms0[$1] = $3; next }
        $4 ~ /pg_stat_statements/ { next }
        {
            calls = $2 - calls0[$1]; ms = $3 - ms0[$1]
            if (calls <= 0) next
            q = toupper($4)
            if (q ~ /^(BEGIN|START TRANSACTION)/) begins += calls
            else if (q !~ /^(COMMIT|ROLLBACK|END|SAVEPOINT|RELEASE)/) statements += calls
            line[++n] = sprintf("%10.3f %10.3f %10.0f  %s", calls / requests, ms / calls, ms, substr($4, 1, 160))
            key[n] = ms
        }
        END {
            printf "%10s %10s %10s  %s\n", "calls/req", "mean ms", "total ms", "statement (pg_stat_statements)" >out
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (key[j] > key[i]) {
                t = key[i]; key[i] = key[j]; key[j] = t; t = line[i]; line[i] = line[j]; line[j] = t
            }
            for (i = 1; i <= n; i++) print line[i] >out
            printf "%.2f %.2f\n", statements / requests, begins / requests
        }' "$1" "$2"
}
