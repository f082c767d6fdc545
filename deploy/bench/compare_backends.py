#!/usr/bin/env python3
"""One table from the runs of bench.sh --backend all, with issue 12's targets.

    compare_backends.py [--started T] [--load BEFORE AFTER] [--settings S] [--setup S]
                        directory=results.tsv[,...] pg-one=... pg-two=...

Each NAME takes one results.tsv a round (bench.sh --rounds): with several, each figure is the
median over the rounds (req/s with its range), the ratio to the ceiling the median of the
rounds' ratios. Each results.tsv is a bench.sh run's table (name, req/s, p50, p99, unexpected, socket errors,
statements/request, transactions/request, database CPU), one scenario a line. Ratios to the
ceiling are within each run (its own trivial responder, measured minutes apart); ratios to the
directory store are across runs. Standard library only.
"""

import argparse
import statistics
import sys

# (key, the start of bench.sh's scenario name, the label here)
SCENARIOS = [
    ("ceiling", "ceiling", "ceiling: trivial C responder"),
    ("poll_slow_down", "poll (slow_down", "polls, slow_down path"),
    ("poll_pending", "poll (pending", "polls, authorization_pending path"),
    ("device_auth", "device authorization", "device authorizations"),
    ("auth_request", "auth_request", "auth_request checks"),
    ("flows", "complete flows", "complete flows (flows/s)"),
]
RUNS = {"directory": "directory", "pg-one": "PostgreSQL, one host", "pg-two": "PostgreSQL, two hosts"}


def read_round(path):
    rows = {}
    with open(path) as f:
        for line in f:
            name, rps, p50, p99, unexpected, sockerr, stmts, txns, cpu, worker_us, pg_us = line.rstrip("\n").split("\t")
            for key, prefix, _ in SCENARIOS:
                if name.startswith(prefix):
                    rows[key] = dict(name=name, rps=float(rps), p99=p99, unexpected=unexpected,
                                     sockerr=sockerr, stmts=stmts, txns=txns, cpu=cpu, worker_us=worker_us, pg_us=pg_us)
    return rows


def median_text(values, form="%.2f"):
    """The median of "2.00"/"57%" figures, "-" when there are none."""
    numbers = [float(v.rstrip("%")) for v in values if v not in ("-", "")]
    if not numbers:
        return "-"
    m = statistics.median(numbers)
    return f"{m:.0f}%" if values[0].endswith("%") else form % m


def read_run(paths):
    """One backend's rounds folded into one row a scenario (medians), with the per-round
    ratio to that round's ceiling and the req/s range."""
    rounds = [read_round(p) for p in paths]
    rows = {}
    for key, _, _ in SCENARIOS:
        present = [r for r in rounds if key in r]
        if not present:
            continue
        rps = [r[key]["rps"] for r in present]
        ratios = [r[key]["rps"] / r["ceiling"]["rps"] for r in present if r.get("ceiling", {}).get("rps")]
        rows[key] = dict(name=present[0][key]["name"], rps=statistics.median(rps), low=min(rps), high=max(rps),
                         of_ceiling=statistics.median(ratios) if ratios else 0,
                         unexpected=str(sum(int(r[key]["unexpected"]) for r in present if r[key]["unexpected"] != "-")),
                         sockerr=str(sum(int(r[key]["sockerr"]) for r in present if r[key]["sockerr"] != "-")),
                         stmts=median_text([r[key]["stmts"] for r in present]),
                         cpu=median_text([r[key]["cpu"] for r in present]),
                         worker_us=median_text([r[key]["worker_us"] for r in present], "%.0f"),
                         pg_us=median_text([r[key]["pg_us"] for r in present], "%.0f"))
    return rows, len(rounds)


def pct(a, b):
    return f"{100 * a / b:.0f}%" if b else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--started", default="")
    ap.add_argument("--load", nargs=2, default=["?", "?"])
    ap.add_argument("--settings", default="")
    ap.add_argument("--setup", default="")
    ap.add_argument("runs", nargs="+", help="NAME=results.tsv")
    args = ap.parse_args()
    runs = {}
    rounds = 1
    for spec in args.runs:
        name, paths = spec.split("=", 1)
        runs[name], n = read_run(paths.split(","))
        rounds = max(rounds, n)
    directory = runs.get("directory", {})

    print(f"\ndevicegate storage backends, {args.started}: {args.setup}")
    print(f"database: {args.settings}")
    print(f"load average (1, 5, 15 min) before: {args.load[0]}, after: {args.load[1]}")
    if rounds > 1:
        print(f"{rounds} rounds, the backends alternating: medians; the req/s range of the rounds below.")
    print("of ceiling: req/s relative to the trivial responder of the same run; of dir: relative to")
    print("the directory store's run; stmts/req: database statements per request (per flow for")
    print("complete flows), BEGIN/COMMIT apart; pg CPU: the cluster's processes, % of one core;")
    print("wkr, pg: CPU µs per request of the workers (all hosts) and of the cluster.\n")
    head = f"{'scenario':36}"
    for name in runs:
        head += f" | {RUNS.get(name, name):>50}"
    print(head)
    sub = f"{'':36}"
    for name in runs:
        sub += f" | {'req/s':>8} {'ceiling':>7} {'of dir':>6} {'stmts':>6} {'pg CPU':>7} {'wkr':>5} {'pg':>5}"
    print(sub)
    for key, _, label in SCENARIOS:
        line = f"{label:36}"
        for name, rows in runs.items():
            row = rows.get(key)
            if not row:
                line += f" | {'-':>8} {'':>7} {'':>6} {'':>6} {'':>7} {'':>5} {'':>5}"
                continue
            of_dir = pct(row["rps"], directory[key]["rps"]) if key in directory and name != "directory" else "-"
            of_ceiling = f"{100 * row['of_ceiling']:.0f}%"
            line += (f" | {row['rps']:8.0f} {of_ceiling:>7} {of_dir:>6} {row['stmts']:>6} {row['cpu']:>7}"
                     f" {row['worker_us']:>5} {row['pg_us']:>5}")
        print(line)
    if rounds > 1:
        print("\nreq/s, lowest to highest round:")
        for key, _, label in SCENARIOS:
            print(f"  {label:34}" + "".join(f" | {rows[key]['low']:6.0f}-{rows[key]['high']:<6.0f}" if key in rows else " | -"
                                            for rows in runs.values()))

    bad = [(name, row["name"], row["unexpected"], row["sockerr"]) for name, rows in runs.items()
           for row in rows.values() if row["unexpected"] not in ("0", "-") or row["sockerr"] not in ("0", "-")]
    for name, scenario, unexpected, sockerr in bad:
        print(f"  note: {name}, {scenario}: {unexpected} unexpected responses, {sockerr} socket errors")

    print("\nissue 12 targets:")
    for name in (n for n in runs if n != "directory"):
        rows = runs[name]
        checks = []
        for key in ("poll_slow_down", "poll_pending"):
            if key in rows:
                ratio = rows[key]["of_ceiling"]
                checks.append((f"{key.replace('_', ' ')} >= 50% of the ceiling", ratio >= 0.5, f"{100 * ratio:.0f}%"))
        for key, floor, what in (("device_auth", 1.0, "device authorizations >= the directory store's"),
                                 ("auth_request", 0.7, "auth_request checks >= 70% of the directory store's")):
            if key in rows and key in directory:
                ratio = rows[key]["rps"] / directory[key]["rps"]
                checks.append((what, ratio >= floor, f"{100 * ratio:.0f}%"))
        for what, met, figure in checks:
            print(f"  {RUNS.get(name, name):24} {what:52} {figure:>6}  {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
