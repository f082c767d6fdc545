#!/usr/bin/env python3
"""One table from the runs of bench.sh --backend all, with issue 12's targets.

    compare_backends.py [--started T] [--load BEFORE AFTER] [--settings S] [--setup S]
                        directory=results.tsv pg-one=results.tsv pg-two=results.tsv

Each results.tsv is a bench.sh run's table (name, req/s, p50, p99, unexpected, socket errors,
statements/request, transactions/request, database CPU), one scenario a line. Ratios to the
ceiling are within each run (its own trivial responder, measured minutes apart); ratios to the
directory store are across runs. Standard library only.
"""

import argparse
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


def read_run(path):
    rows = {}
    with open(path) as f:
        for line in f:
            name, rps, p50, p99, unexpected, sockerr, stmts, txns, cpu = line.rstrip("\n").split("\t")
            for key, prefix, _ in SCENARIOS:
                if name.startswith(prefix):
                    rows[key] = dict(name=name, rps=float(rps), p99=p99, unexpected=unexpected,
                                     sockerr=sockerr, stmts=stmts, txns=txns, cpu=cpu)
    return rows


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
    for spec in args.runs:
        name, path = spec.split("=", 1)
        runs[name] = read_run(path)
    directory = runs.get("directory", {})

    print(f"\ndevicegate storage backends, {args.started}: {args.setup}")
    print(f"database: {args.settings}")
    print(f"load average (1, 5, 15 min) before: {args.load[0]}, after: {args.load[1]}")
    print("of ceiling: req/s relative to the trivial responder of the same run; of dir: relative to")
    print("the directory store's run; stmts/req: database statements per request (per flow for")
    print("complete flows), BEGIN/COMMIT apart; pg CPU: the cluster's processes, % of one core.\n")
    head = f"{'scenario':36}"
    for name in runs:
        head += f" | {RUNS.get(name, name):>38}"
    print(head)
    sub = f"{'':36}"
    for name in runs:
        sub += f" | {'req/s':>8} {'ceiling':>7} {'of dir':>6} {'stmts':>6} {'pg CPU':>7}"
    print(sub)
    for key, _, label in SCENARIOS:
        line = f"{label:36}"
        for name, rows in runs.items():
            row = rows.get(key)
            if not row:
                line += f" | {'-':>8} {'':>7} {'':>6} {'':>6} {'':>7}"
                continue
            ceiling = rows.get("ceiling", {}).get("rps", 0)
            of_dir = pct(row["rps"], directory[key]["rps"]) if key in directory and name != "directory" else "-"
            of_ceiling = pct(row["rps"], ceiling) if key != "ceiling" else "100%"
            line += f" | {row['rps']:8.0f} {of_ceiling:>7} {of_dir:>6} {row['stmts']:>6} {row['cpu']:>7}"
        print(line)

    bad = [(name, row["name"], row["unexpected"], row["sockerr"]) for name, rows in runs.items()
           for row in rows.values() if row["unexpected"] not in ("0", "-") or row["sockerr"] not in ("0", "-")]
    for name, scenario, unexpected, sockerr in bad:
        print(f"  note: {name}, {scenario}: {unexpected} unexpected responses, {sockerr} socket errors")

    print("\nissue 12 targets:")
    for name in (n for n in runs if n != "directory"):
        rows = runs[name]
        ceiling = rows.get("ceiling", {}).get("rps", 0)
        checks = []
        for key in ("poll_slow_down", "poll_pending"):
            if key in rows:
                ratio = rows[key]["rps"] / ceiling if ceiling else 0
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
