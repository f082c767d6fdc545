"""Exactly-once redemption across workers, and durability when workers are SIGKILLed under
load."""

import os
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from harness import assert_oauth_json, check_state_files, run_threads, wait_until


def _approve_all(stack, flows, parallel=8):
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(lambda f: stack.approve(f["user_code"], subject="load"), flows, timeout=120))
    failed = [(f["user_code"], r.returncode, r.stderr) for f, r in zip(flows, results) if r.returncode != 0]
    assert not failed, failed[:5]


def test_each_code_redeems_exactly_once_across_workers(stack):
    n_flows, n_threads, rounds = 50, 16, 3
    with ThreadPoolExecutor(8) as pool:
        flows = list(pool.map(lambda _: stack.new_flow(), range(n_flows), timeout=120))
    assert len({f["device_code"] for f in flows}) == n_flows
    assert len({f["user_code"] for f in flows}) == n_flows
    _approve_all(stack, flows)

    answers = defaultdict(list)          # device_code -> [(status, error, token)]
    lock = threading.Lock()
    barrier = threading.Barrier(n_threads, timeout=30)

    def poller(seed):
        rng = random.Random(seed)
        barrier.wait()
        for rnd in range(rounds):
            # Round 0: every thread walks the codes in the same order, so they collide on
            # the same code at the same moment; later rounds in random order.
            order = list(flows) if rnd == 0 else rng.sample(flows, len(flows))
            for f in order:
                r = stack.token(f["device_code"])
                try:
                    doc = r.json()
                except ValueError:
                    doc = {"error": f"<not json: {r.text[:80]!r}>"}
                with lock:
                    answers[f["device_code"]].append((r.status_code, doc.get("error"), doc.get("access_token")))

    run_threads([lambda i=i: poller(i) for i in range(n_threads)], timeout=120)

    tokens = []
    for f in flows:
        got = answers[f["device_code"]]
        assert len(got) == n_threads * rounds
        ok = [a for a in got if a[0] == 200]
        assert len(ok) == 1, f"{f['user_code']}: {len(ok)} successful redemptions (expected exactly 1)"
        others = Counter((a[0], a[1]) for a in got if a[0] != 200)
        assert set(others) == {(400, "invalid_grant")}, f"{f['user_code']}: unexpected answers {others}"
        tokens.append(ok[0][2])
    assert all(isinstance(t, str) and t for t in tokens)
    assert len(set(tokens)) == len(tokens) == n_flows, "duplicate access tokens"
    # Every token handed out was stored before it was sent.
    missing = [t for t in tokens if not stack.token_path(t).exists()]
    assert not missing, f"{len(missing)} issued tokens have no token record"
    for f in flows:
        assert stack.flow_status(f["device_code"]) == "redeemed"


# --------------------------------------------------------------------------- SIGKILL


@pytest.mark.one_host("kills one supervisor's workers and checks the state files (two-host version: test_two_hosts.py)")
def test_sigkill_workers_under_load_loses_nothing(make_stack):
    s = make_stack(workers=4)
    duration, kill_every, n_threads = 5.0, 0.5, 6
    stop = threading.Event()
    lock = threading.Lock()
    log = []            # per-flow dicts
    not_created = []    # device authorizations answered 502 (worker killed mid-request)
    problems = []       # anything outside the contract
    kills = []

    def client(i):
        while not stop.is_set():
            try:
                r = s.device(scope="openid profile")
            except requests.RequestException as exc:
                problems.append(("device exception", repr(exc)))
                continue
            if r.status_code == 502:
                with lock:
                    not_created.append(r.text[:80])
                continue
            if r.status_code != 200:
                problems.append(("device", r.status_code, r.text[:200]))
                continue
            flow = r.json()
            entry = {"flow": flow, "statuses": [], "tokens": [], "approve": None}
            with lock:
                log.append(entry)
            a = s.approve(flow["user_code"], subject=f"user{i}")
            entry["approve"] = (a.returncode, a.stderr.strip())
            if a.returncode != 0:
                continue
            # Poll until a definite answer; a 502 (worker killed mid-flight) is retried.
            for attempt in range(50):
                try:
                    p = s.token(flow["device_code"])
                except requests.RequestException as exc:
                    entry["statuses"].append(("exception", repr(exc)))
                    continue
                err = None
                if p.status_code != 200 and p.headers.get("Content-Type", "").startswith("application/json"):
                    err = p.json().get("error")
                entry["statuses"].append((p.status_code, err))
                if p.status_code == 200:
                    entry["tokens"].append(assert_oauth_json(p, 200)["access_token"])
                    break
                if p.status_code == 502:
                    time.sleep(0.02)
                    continue
                break

    def killer():
        rng = random.Random(1234)
        t_end = time.monotonic() + duration
        while time.monotonic() < t_end:
            time.sleep(kill_every)
            pids = sorted(s.worker_pids())
            if not pids:
                continue
            victim = rng.choice(pids)
            try:
                os.kill(victim, signal.SIGKILL)
                kills.append(victim)
            except ProcessLookupError:
                pass
        stop.set()

    run_threads([killer] + [lambda i=i: client(i) for i in range(n_threads)], timeout=duration + 60)

    # The supervisor replaced every killed worker.
    wait_until(lambda: len(s.worker_pids()) == 4, 10, what="worker count to recover")
    assert not (set(kills) & s.worker_pids())
    assert s.serve.poll() is None, "the supervisor died"
    assert len(kills) >= 8, f"only {len(kills)} workers killed"

    assert not problems, problems[:10]
    assert len(log) >= 20, f"too little load: {len(log)} flows"

    lost_in_flight = []   # redeemed on the server, but the answer died with the worker
    for e in log:
        code = e["flow"]["user_code"]
        assert e["approve"] is not None and e["approve"][0] == 0, f"{code}: approve failed: {e['approve']}"
        statuses = e["statuses"]
        assert statuses, f"{code}: never polled"
        for st in statuses:
            assert st[0] in (200, 502, 400), f"{code}: unexpected answer {st} in {statuses}"
        assert len(e["tokens"]) <= 1, f"{code}: redeemed {len(e['tokens'])} times"
        final = statuses[-1]
        if final[0] == 200:
            assert all(st[0] == 502 for st in statuses[:-1]), f"{code}: {statuses}"
        else:
            # The only other acceptable ending: an earlier poll redeemed the code but its worker
            # was killed before answering (502), so the retry finds it already redeemed.
            assert final == (400, "invalid_grant") and (502, None) in statuses, f"{code}: {statuses}"
            lost_in_flight.append(code)
        # Server side: exactly one redemption, durably recorded.
        assert s.flow_status(e["flow"]["device_code"]) == "redeemed", f"{code}: flow not redeemed on disk"
    tokens = [t for e in log for t in e["tokens"]]
    assert len(tokens) == len(set(tokens))
    missing = [t for t in tokens if not s.token_path(t).exists()]
    assert not missing, f"{len(missing)} tokens handed out but not stored"
    # Losing answers must stay the exception (a kill hits one request at most).
    assert len(lost_in_flight) <= len(kills), (lost_in_flight, len(kills))

    n_flows, n_locks = check_state_files(s.state, max_temp=len(kills))
    assert n_flows >= len(log)
    print(f"\nSIGKILL test: {len(log)} flows, {len(kills)} kills, {len(not_created)} device 502s, "
          f"{sum(st[0] == 502 for e in log for st in e['statuses'])} poll 502s, "
          f"{len(lost_in_flight)} answers lost in flight, {n_locks} lock files")

    # And the service is fully usable afterwards.
    flow = s.new_flow()
    assert s.approve(flow["user_code"]).returncode == 0
    assert_oauth_json(s.token(flow["device_code"]), 200)
