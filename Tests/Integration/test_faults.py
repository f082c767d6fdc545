"""Proof under load and faults (issue 5, items 2 and 3):

- 2,000 flows on 8 workers, polled concurrently by many clients while approvals and denials
  happen: every approved code is redeemed exactly once, every denial is seen, no 5xx;
- the same load while a random worker is SIGKILLed every second: the supervisor restarts
  it, nothing is lost, every state file parses, no lock is left held;
- a full disk (the state directory on a tiny tmpfs): a clear 503 JSON error, nothing
  half-written, and recovery when space returns.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from harness import (
    assert_oauth_error, assert_oauth_json, check_state_files, proc_stat, run_threads, wait_until,
)

pytestmark = pytest.mark.one_host("kills one supervisor's workers, fills its disk and checks the state files")

WORKERS = 8
N_FLOWS, N_APPROVE, N_DENY = 2000, 200, 100
N_POLLERS = 12
N_DECIDERS = 12         # parallel CLI processes for approvals and denials

PENDING = {(400, "authorization_pending"), (400, "slow_down")}
REDEEMED = (400, "invalid_grant")
DENIED = (400, "access_denied")
#: nginx's own answer when the worker serving a request died under it (SIGKILL test only):
#: retryable, and never a devicegate answer.
NGINX_UPSTREAM_GONE = {502, 503}


# --------------------------------------------------------------------------- helpers


def create_flows(s, n: int) -> list[dict]:
    with ThreadPoolExecutor(24) as pool:
        flows = list(pool.map(lambda _: s.new_flow(), range(n), timeout=120))
    assert len({f["device_code"] for f in flows}) == n, "duplicate device codes"
    assert len({f["user_code"] for f in flows}) == n, "duplicate user codes"
    return flows


def classify(r: requests.Response, allow_upstream_gone: bool) -> tuple:
    """(status, error, access_token) of a token response, checking its shape."""
    if r.status_code in NGINX_UPSTREAM_GONE and allow_upstream_gone \
            and not r.headers.get("Content-Type", "").startswith("application/json"):
        return (r.status_code, "nginx", None)
    if r.status_code == 200:
        return (200, None, assert_oauth_json(r, 200)["access_token"])
    if r.status_code >= 500:
        return (r.status_code, f"5xx: {r.text[:120]!r}", None)
    body = assert_oauth_json(r, r.status_code)
    return (r.status_code, body.get("error"), None)


def run_load(s, flows, approve, deny, kill_seconds: float = 0.0):
    """Pollers hammer the token endpoint while CLI processes approve and deny (and, when
    ``kill_seconds`` is set, a killer SIGKILLs a random worker every second). Then every
    poller walks the decided codes in the same order, so they collide on each one.

    Returns (answers_during_load, answers_after, kills): answers map device_code to a list
    of (status, error, access_token)."""
    decided = approve + deny
    during = defaultdict(list)
    after = defaultdict(list)
    lock = threading.Lock()
    decisions_done = threading.Event()
    kills_done = threading.Event()
    if not kill_seconds:
        kills_done.set()
    kills: list[int] = []
    timings: dict[str, float] = {}
    cli_failures = []
    barrier = threading.Barrier(N_POLLERS, timeout=60)
    upstream_gone = kill_seconds > 0

    def poll(flow, into):
        r = s.token(flow["device_code"])
        answer = classify(r, upstream_gone)
        with lock:
            into[flow["device_code"]].append(answer)

    def poller(i):
        try:
            poller_body(i)
        except BaseException:
            barrier.abort()     # fail fast instead of leaving the others at the barrier
            raise

    def poller_body(i):
        rng = random.Random(i)
        # Every flow is polled at least once during the load.
        for f in flows[i::N_POLLERS]:
            poll(f, during)
        # Then random polls, half on the codes being decided, until the faults and the
        # decisions are over.
        while not (decisions_done.is_set() and kills_done.is_set()):
            poll(rng.choice(decided) if rng.random() < 0.5 else rng.choice(flows), during)
            time.sleep(0.003)   # leave the 2 CI cores some room for the CLI processes
        barrier.wait()
        t0 = time.monotonic()
        # Every poller on every approved code (collisions); each denied code once.
        for f in approve + deny[i::N_POLLERS]:
            poll(f, after)
        timings["final pass"] = time.monotonic() - t0

    def decider(kind, chunk):
        for f in chunk:
            if kind == "approve":
                r = s.approve(f["user_code"], subject=f"user-{f['user_code']}")
            else:
                r = s.deny(f["user_code"])
            if r.returncode != 0:
                cli_failures.append((kind, f["user_code"], r.returncode, r.stderr.strip()))

    def deciders():
        per = (len(decided) + N_DECIDERS - 1) // N_DECIDERS
        approve_codes = {f["device_code"] for f in approve}
        jobs = [("approve" if f["device_code"] in approve_codes else "deny", f) for f in decided]
        random.Random(7).shuffle(jobs)
        chunks = [jobs[i:i + per] for i in range(0, len(jobs), per)]

        def run(chunk):
            for kind, f in chunk:
                decider(kind, [f])
        t0 = time.monotonic()
        try:
            run_threads([lambda c=c: run(c) for c in chunks], timeout=120)
        finally:
            decisions_done.set()
            timings["decisions"] = time.monotonic() - t0

    def killer():
        rng = random.Random(4242)
        try:
            for _ in range(int(kill_seconds)):
                time.sleep(1.0)
                # A random worker, preferably one caught mid-request (running, or in an
                # fsync), so that kills land inside writes and not only between requests.
                victim = None
                for _ in range(100):
                    busy = sorted(p for p in s.worker_pids() if (proc_stat(p) or ("?",))[0] in "RD")
                    if busy:
                        victim = rng.choice(busy)
                        break
                    time.sleep(0.001)
                if victim is None:
                    pids = sorted(s.worker_pids())
                    if not pids:
                        continue
                    victim = rng.choice(pids)
                try:
                    os.kill(victim, signal.SIGKILL)
                    kills.append(victim)
                except ProcessLookupError:
                    pass
        finally:
            kills_done.set()

    targets = [lambda i=i: poller(i) for i in range(N_POLLERS)] + [deciders]
    if kill_seconds:
        targets.append(killer)
    run_threads(targets, timeout=kill_seconds + 120)
    assert not cli_failures, cli_failures[:5]
    print("\nload phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return during, after, kills


def verify(s, flows, approve, deny, during, after, killed: bool):
    """The contract of the concurrency proof; returns a summary dict."""
    approved_codes = {f["device_code"] for f in approve}
    denied_codes = {f["device_code"] for f in deny}
    allowed_gone = {(st, "nginx") for st in NGINX_UPSTREAM_GONE} if killed else set()
    fivexx = [(dc[:8], a) for answers in (during, after) for dc, lst in answers.items()
              for a in lst if a[0] >= 500 and (a[0], a[1]) not in allowed_gone]
    assert not fivexx, f"{len(fivexx)} 5xx answers: {fivexx[:5]}"

    tokens = []
    lost_in_flight = []
    for f in flows:
        dc = f["device_code"]
        got = during.get(dc, []) + after.get(dc, [])
        assert got, f"{f['user_code']}: never polled"
        kinds = Counter((a[0], a[1]) for a in got)
        gone = sum(n for k, n in kinds.items() if k in allowed_gone)
        if dc in approved_codes:
            ok = [a for a in got if a[0] == 200]
            assert set(kinds) <= PENDING | {REDEEMED, (200, None)} | allowed_gone, f"{f['user_code']}: {kinds}"
            # Every approval is seen: once decided, a poll redeems or finds it redeemed.
            assert after[dc] and {(a[0], a[1]) for a in after[dc]} <= {REDEEMED, (200, None)} | allowed_gone, \
                f"{f['user_code']}: after approval {Counter((a[0], a[1]) for a in after[dc])}"
            if killed and not ok:
                # Redeemed on the server, but the worker died before the answer left it.
                assert gone, f"{f['user_code']}: approved but never redeemed: {kinds}"
                lost_in_flight.append(f["user_code"])
            else:
                assert len(ok) == 1, f"{f['user_code']}: redeemed {len(ok)} times: {kinds}"
                tokens.append(ok[0][2])
            assert s.flow_status(dc) == "redeemed", f"{f['user_code']}: {s.flow_status(dc)} on disk"
        elif dc in denied_codes:
            assert set(kinds) <= PENDING | {DENIED} | allowed_gone, f"{f['user_code']}: {kinds}"
            assert after[dc] and {(a[0], a[1]) for a in after[dc]} <= {DENIED} | allowed_gone, \
                f"{f['user_code']}: after denial {kinds}"
            assert kinds[DENIED] >= 1
            assert s.flow_status(dc) == "denied", f"{f['user_code']}: {s.flow_status(dc)} on disk"
        else:
            assert set(kinds) <= PENDING | allowed_gone, f"{f['user_code']}: {kinds}"
            assert kinds[(400, "authorization_pending")] + kinds[(400, "slow_down")] >= 1 or gone
            assert s.flow_status(dc) == "pending", f"{f['user_code']}: {s.flow_status(dc)} on disk"
    assert all(isinstance(t, str) and t for t in tokens)
    assert len(set(tokens)) == len(tokens), "the same access token was issued twice"
    missing = [t for t in tokens if not s.token_path(t).exists()]
    assert not missing, f"{len(missing)} tokens handed out but not stored"
    n_answers = sum(len(v) for v in during.values()) + sum(len(v) for v in after.values())
    n_gone = sum(1 for answers in (during, after) for lst in answers.values() for a in lst
                 if (a[0], a[1]) in allowed_gone)
    return {"answers": n_answers, "tokens": len(tokens), "lost_in_flight": lost_in_flight, "upstream_gone": n_gone}


def pick(flows):
    rng = random.Random(2024)
    chosen = rng.sample(flows, N_APPROVE + N_DENY)
    return chosen[:N_APPROVE], chosen[N_APPROVE:]


# --------------------------------------------------------------------------- 1. concurrency


def test_2000_flows_8_workers_exactly_once_under_concurrent_polls_and_decisions(make_stack):
    s = make_stack(workers=WORKERS)
    t0 = time.monotonic()
    flows = create_flows(s, N_FLOWS)
    approve, deny = pick(flows)
    t1 = time.monotonic()
    during, after, _ = run_load(s, flows, approve, deny)
    t2 = time.monotonic()
    summary = verify(s, flows, approve, deny, during, after, killed=False)
    n_flows, n_locks = check_state_files(s.state, expect_flows=N_FLOWS)
    assert s.worker_pids() and len(s.worker_pids()) == WORKERS
    print(f"\nconcurrency: {N_FLOWS} flows created in {t1 - t0:.1f}s; {summary['answers']} polls by "
          f"{N_POLLERS} clients with {N_APPROVE} approvals + {N_DENY} denials in {t2 - t1:.1f}s; "
          f"{summary['tokens']} tokens, {n_locks} lock files")


# --------------------------------------------------------------------------- 2. SIGKILL


def test_sigkill_a_worker_every_second_under_load(make_stack):
    s = make_stack(workers=WORKERS)
    flows = create_flows(s, N_FLOWS)
    approve, deny = pick(flows)
    during, after, kills = run_load(s, flows, approve, deny, kill_seconds=8)

    # The supervisor replaced every killed worker.
    assert s.serve.poll() is None, "the supervisor died"
    assert len(kills) == 8, f"{len(kills)} workers killed, expected 8"
    wait_until(lambda: len(s.worker_pids()) == WORKERS, 10, what="the worker count to recover")
    assert not set(kills) & s.worker_pids(), "a killed worker is still listed"

    summary = verify(s, flows, approve, deny, during, after, killed=True)
    # A kill loses at most the one answer its worker was writing.
    assert len(summary["lost_in_flight"]) <= len(kills), summary["lost_in_flight"]
    n_flows, n_locks = check_state_files(s.state, expect_flows=N_FLOWS, max_temp=len(kills))

    # And the service is fully usable afterwards, on every restarted worker.
    for _ in range(WORKERS):
        flow = s.new_flow()
        assert s.approve(flow["user_code"]).returncode == 0
        assert_oauth_json(s.token(flow["device_code"]), 200)
    print(f"\nSIGKILL: {len(kills)} kills, {summary['answers']} polls, {summary['upstream_gone']} answered "
          f"502/503 by nginx, {len(summary['lost_in_flight'])} redemptions whose answer died with the worker, "
          f"{summary['tokens']} tokens, {n_locks} lock files")


# --------------------------------------------------------------------------- 3. ENOSPC


def _mount_tmpfs(path, size: str):
    if os.geteuid() != 0:
        pytest.skip("the full-disk test mounts a tmpfs: needs root")
    path.mkdir(mode=0o700, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "devicegate-enospc", str(path)],
                       capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip() or r.returncode}")


def _umount(path):
    r = subprocess.run(["umount", str(path)], capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, text=True, timeout=20)


def test_full_disk_answers_503_and_recovers(make_stack):
    s = make_stack(workers=2, start=False)
    _mount_tmpfs(s.state, "4m")
    filler = s.state / "filler"
    try:
        s.start()
        approved, pending, denied, done = (s.new_flow() for _ in range(4))
        assert s.approve(approved["user_code"]).returncode == 0
        assert s.deny(denied["user_code"]).returncode == 0
        assert s.approve(done["user_code"]).returncode == 0
        token = assert_oauth_json(s.token(done["device_code"]), 200)["access_token"]
        flows_before = len(list(s.state.glob("flows/*/*.flow")))

        # Fill the disk.
        dd = subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, text=True, timeout=30,
                            env={**os.environ, "LC_ALL": "C"})
        assert "No space left" in dd.stderr, dd.stderr

        # New device authorizations: 503 temporarily_unavailable with Retry-After, concurrently.
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: s.device(), range(24), timeout=60))
        for r in answers:
            assert_oauth_error(r, 503, "temporarily_unavailable")
            assert r.headers.get("Retry-After"), r.headers
        # Existing flows still answer: pending, denied; an approved one cannot be redeemed
        # without writing, so it is 503 too -- and stays approved, not burnt.
        r = s.token(pending["device_code"])
        assert r.status_code == 400 and r.json()["error"] in ("authorization_pending", "slow_down"), r.text
        assert_oauth_error(s.token(denied["device_code"]), 400, "access_denied")
        for _ in range(3):
            assert_oauth_error(s.token(approved["device_code"]), 503, "temporarily_unavailable")
        assert s.flow_status(approved["device_code"]) == "approved"
        assert_oauth_error(s.token(done["device_code"]), 400, "invalid_grant")
        assert s.userinfo(token).status_code == 200
        # The operator CLI fails clearly, and the flow stays pending.
        a = s.approve(pending["user_code"])
        assert a.returncode != 0 and "no space" in a.stderr.lower(), (a.returncode, a.stderr)
        assert s.flow_status(pending["device_code"]) == "pending"
        # Nothing half-written: every record parses, no temp file, no dangling index entry.
        check_state_files(s.state, expect_flows=flows_before)
        n_codes = len(list(s.state.glob("flows/*/*.code")))
        assert n_codes == flows_before, f"{n_codes} user-code claims for {flows_before} flows"
        assert s.serve.poll() is None and len(s.worker_pids()) == 2

        # Space returns: the service recovers without a restart.
        filler.unlink()
        r = assert_oauth_json(s.token(approved["device_code"]), 200)
        assert r["access_token"]
        assert_oauth_error(s.token(approved["device_code"]), 400, "invalid_grant")
        assert s.approve(pending["user_code"]).returncode == 0
        assert_oauth_json(s.token(pending["device_code"]), 200)
        flow = s.new_flow()
        assert s.approve(flow["user_code"]).returncode == 0
        assert_oauth_json(s.token(flow["device_code"]), 200)
        check_state_files(s.state, expect_flows=flows_before + 1)
    finally:
        s.stop()
        _umount(s.state)
