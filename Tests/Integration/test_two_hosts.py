"""Issue 12: the promises that must hold across hosts, on two hosts sharing one PostgreSQL
schema (DEVICEGATE_TEST_TOPOLOGY=two-hosts; skipped on one host).

Most tests talk to each host's own nginx directly (``s.a.url()``, ``s.b.url()``), so that
which host answers is the test's choice, not the balancer's. Exactly-once redemption, the
poll interval (RFC 8628 §3.5 ``slow_down``), the user-code limit (§5.1), key rotation,
revocation and the web sign-in are each checked with one half of the work on host A and the
other half on host B; then PostgreSQL is restarted, and workers of both hosts are SIGKILLed,
under load.
"""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
from collections import Counter, defaultdict

import pytest
import requests

from harness import (
    AUTH_CHECK_PREFIX, HTTP_TIMEOUT, POSTGRES_URL, PostgresCluster, Stack, assert_oauth_error, assert_oauth_json,
    run_threads, wait_until,
)

pytestmark = pytest.mark.two_hosts

#: The user-code limit of the module's stack: failed entries per address (RFC 8628 §5.1).
USER_CODE_FAILURES = 6


def _limits(text: str) -> str:
    old = "  sign_in: embedded\n"
    assert old in text, "demo config changed: no embedded sign-in"
    return text.replace(old, old + f"  limits:\n    user_code_per_ip: {{max_failures: {USER_CODE_FAILURES}, window: 600}}\n", 1)


def _audience(text: str) -> str:
    """An API audience in the access tokens, which the gateway check requires by default."""
    assert "tokens:\n" in text, "demo config changed: no tokens section"
    return text.replace("tokens:\n", "tokens:\n  audience: https://api.example.test\n", 1)


@pytest.fixture(scope="module")
def two():
    s = Stack(workers=3, transform=_audience)
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def _kid(jwt: str) -> str:
    import base64
    import json
    head = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def _jwks(host) -> dict:
    """The JWK Set as one host serves it (the discovery document names the balancer)."""
    path = host.discovery()["jwks_uri"].split("/", 3)[3]
    r = requests.get(host.url("/" + path), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r.json()


def _csrf(page: requests.Response) -> str:
    assert 'name="csrf_token" value="' in page.text, page.text[:300]
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _approved_flows(s, n: int) -> list[dict]:
    flows = [s.new_flow(scope="openid profile") for _ in range(n)]
    for f in flows:
        out = s.approve(f["user_code"], subject="racer")
        assert out.returncode == 0, out.stderr
    return flows


# --------------------------------------------------------------------------- the topology


def test_the_balancer_alternates_between_the_hosts(two):
    """Consecutive requests through the balancer land on both hosts, half each."""
    def counts():
        return [h.tail("devicegate.log", 10**7).count("device authorization") for h in two.hosts]
    before = counts()
    for _ in range(10):
        assert_oauth_json(two.device(), 200)
    wait_until(lambda: sum(counts()) - sum(before) == 10, 10, what="10 device authorizations in the hosts' logs")
    after = counts()
    assert [x - y for x, y in zip(after, before)] == [5, 5], (before, after)


# --------------------------------------------------------------------------- exactly once


def test_one_code_polled_on_both_hosts_at_once_is_redeemed_once(two):
    """RFC 8628 §3.5 and RFC 6749 §10.5: a device code is redeemed once. Each approved code is
    polled on host A and host B at the same instant (two threads released by a barrier)."""
    n = 40
    flows = _approved_flows(two, n)
    answers = defaultdict(list)
    lock = threading.Lock()
    barrier = threading.Barrier(2, timeout=30)

    def poller(host):
        for f in flows:
            barrier.wait()
            r = host.token(f["device_code"])
            doc = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {}
            with lock:
                answers[f["device_code"]].append((r.status_code, doc.get("error"), doc.get("access_token")))

    run_threads([lambda: poller(two.a), lambda: poller(two.b)], timeout=120)
    tokens = []
    for f in flows:
        got = answers[f["device_code"]]
        assert len(got) == 2, got
        assert sorted((a[0], a[1]) for a in got) == [(200, None), (400, "invalid_grant")], f"{f['user_code']}: {got}"
        tokens += [a[2] for a in got if a[0] == 200]
        assert two.flow_status(f["device_code"]) == "redeemed"
    assert len(set(tokens)) == n and all(tokens)
    assert all(two.token_path(t).exists() for t in tokens)


def test_slow_down_earned_on_a_applies_on_b(two):
    """RFC 8628 §3.5: a client polling faster than the interval gets slow_down, whichever
    host it polls; the interval is the flow's, in the shared database."""
    flow = assert_oauth_json(two.a.device(), 200)
    assert_oauth_error(two.a.token(flow["device_code"]), 400, "authorization_pending")
    assert_oauth_error(two.b.token(flow["device_code"]), 400, "slow_down")
    assert_oauth_error(two.a.token(flow["device_code"]), 400, "slow_down")


def test_the_user_code_limit_counts_failures_on_both_hosts(make_stack):
    """RFC 8628 §5.1: failed user-code entries from one address, split over both hosts (page
    from one host, form posted to the other, so the CSRF secret is shared too), reach the
    limit at the configured count."""
    two = make_stack(workers=2, transform=_limits)
    statuses = []
    for i in range(USER_CODE_FAILURES + 2):
        page_host, post_host = two.hosts[i % 2], two.hosts[(i + 1) % 2]
        session = requests.Session()
        page = session.get(page_host.url("/device"), timeout=HTTP_TIMEOUT)
        assert page.status_code == 200, page.status_code
        r = session.post(post_host.url("/device"), data={"user_code": f"BBBB-BBB{'BCDFGHJKLM'[i]}", "csrf_token": _csrf(page)},
                         timeout=HTTP_TIMEOUT)
        statuses.append(r.status_code)
    assert statuses == [404] * USER_CODE_FAILURES + [429] * 2, statuses
    assert "Too many attempts" in r.text and int(r.headers["Retry-After"]) > 0


# --------------------------------------------------------------------------- keys and revocation


def test_a_key_rotated_on_a_signs_on_b_within_a_second_and_the_jwks_agree(two):
    grant = two.grant("openid offline_access")
    old_kid = _kid(grant["access_token"])
    out = two.keys_cli("rotate")  # host A's configuration
    assert out.returncode == 0, out.stderr
    new_kid = re.search(r"new active key (\S+)", out.stdout).group(1)
    assert new_kid != old_kid
    chain = [grant["refresh_token"]]

    def b_signs_with_the_new_key():
        t = assert_oauth_json(two.b.refresh(chain[0]), 200)
        chain[0] = t["refresh_token"]
        return _kid(t["access_token"]) == new_kid and _kid(t["id_token"]) == new_kid
    wait_until(b_signs_with_the_new_key, 1.0, interval=0.02, what="host B to sign with the key rotated on host A")
    wait_until(lambda: _jwks(two.a) == _jwks(two.b) and [k["kid"] for k in _jwks(two.b)["keys"]][:2] == [new_kid, old_kid],
               1.0, interval=0.02, what="both hosts' JWKS to publish the new key, then the old")
    # Tokens of the old key still verify on both hosts.
    for h in two.hosts:
        assert h.userinfo(grant["access_token"]).status_code == 200
    # A worker that has not yet noticed the new key refuses tokens it signed: let every worker
    # of both hosts notice (they look about once a second) before the next test's tokens.
    time.sleep(1.5)
    for _ in range(6):
        assert two.userinfo(t_new := two.grant("openid")["access_token"]).status_code == 200 and _kid(t_new) == new_kid


def test_a_revocation_on_a_is_refused_by_b_within_a_second(two):
    t = two.grant("openid offline_access")
    token = t["access_token"]
    for _ in range(6):  # verified and cached by B's workers first
        assert two.b.userinfo(token).status_code == 200
        assert requests.get(two.b.url(AUTH_CHECK_PREFIX + "openid"), headers={"Authorization": f"Bearer {token}"},
                            timeout=HTTP_TIMEOUT).status_code == 200
    r = two.a.revoke(token)
    assert r.status_code == 200, r.text[:300]

    def refused_by_b():
        info = two.b.userinfo(token)
        check = requests.get(two.b.url(AUTH_CHECK_PREFIX + "openid"), headers={"Authorization": f"Bearer {token}"},
                             timeout=HTTP_TIMEOUT)
        return info.status_code == 401 and check.status_code == 401
    wait_until(refused_by_b, 1.0, interval=0.02, what="host B to refuse the token revoked on host A")
    # Every worker of B, several times.
    for _ in range(6):
        assert two.b.userinfo(token).status_code == 401
    assert assert_oauth_json(two.b.introspect(token), 200) == {"active": False}


def test_sign_in_on_a_and_consent_on_b(two):
    """The session, the CSRF token and the consent form's flow binding made on host A are
    accepted by host B."""
    flow = two.new_flow(scope="openid profile")
    browser = requests.Session()
    page = browser.get(two.a.url("/device"), timeout=HTTP_TIMEOUT)
    consent = browser.post(two.a.url("/device/signin"), data={
        "username": two.demo_user, "password": two.demo_password, "user_code": flow["user_code"],
        "csrf_token": _csrf(page)}, timeout=HTTP_TIMEOUT)
    assert consent.status_code == 200 and 'value="approve"' in consent.text, consent.text[:300]
    assert_oauth_error(two.a.token(flow["device_code"]), 400, "authorization_pending")
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    fields["action"] = "approve"
    done = browser.post(two.b.url("/device/decision"), data=fields, timeout=HTTP_TIMEOUT)
    assert done.status_code == 200, done.text[:300]
    tokens = assert_oauth_json(two.b.token(flow["device_code"]), 200)
    assert assert_oauth_json(two.a.userinfo(tokens["access_token"]), 200)["sub"] == two.demo_user
    # The session made on A signs the next flow in on B: straight to consent.
    nxt = two.new_flow()
    page = browser.get(two.b.url("/device"), params={"code": nxt["user_code"]}, timeout=HTTP_TIMEOUT)
    page = browser.post(two.b.url("/device"), data={"user_code": nxt["user_code"], "csrf_token": _csrf(page)},
                        timeout=HTTP_TIMEOUT)
    assert page.status_code == 200 and 'value="approve"' in page.text, page.text[:300]


# --------------------------------------------------------------------------- faults under load


class Load:
    """Clients that each run whole flows on the hosts in turn: device authorization, approval
    with the CLI of one host, polls until a definite answer. Every answer is recorded."""

    def __init__(self, s, threads: int):
        self.s = s
        self.threads = threads
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.flows = []          # {"flow", "host", "approved", "answers": [(status, error)], "tokens"}
        self.answers = []        # (what, status, error, retry_after, seconds, started) of every request
        self.problems = []

    def request(self, what: str, fn):
        t0 = time.monotonic()
        try:
            r = fn()
        except requests.RequestException as exc:
            self.problems.append((what, "exception", repr(exc), round(time.monotonic() - t0, 2)))
            return None, None
        seconds = time.monotonic() - t0
        err = None
        if r.headers.get("Content-Type", "").startswith("application/json"):
            try:
                err = r.json().get("error")
            except ValueError:
                pass
        with self.lock:
            self.answers.append((what, r.status_code, err, r.headers.get("Retry-After"), seconds, t0))
        return r, err

    def client(self, i: int):
        rng = random.Random(i)
        while not self.stop.is_set():
            host = self.s.hosts[rng.randrange(2)]
            r, _ = self.request("device", lambda: host.device(scope="openid"))
            if r is None or r.status_code != 200:
                time.sleep(0.05)
                continue
            entry = {"flow": r.json(), "approved": False, "answers": [], "tokens": []}
            with self.lock:
                self.flows.append(entry)
            self.finish(entry, rng, give_up=self.stop)

    def finish(self, entry, rng, give_up: threading.Event | None = None, deadline: float = 60):
        """Approves (retrying a failed CLI call) and polls on random hosts until 200 or a
        refusal, or until ``give_up`` is set."""
        flow, end = entry["flow"], time.monotonic() + deadline
        while not entry["approved"] and time.monotonic() < end:
            out = self.s.hosts[rng.randrange(2)].approve(flow["user_code"], subject="load")
            entry["approved"] = out.returncode == 0
            if not entry["approved"]:
                if give_up is not None and give_up.is_set():
                    return
                time.sleep(0.1)
        while time.monotonic() < end:
            host = self.s.hosts[rng.randrange(2)]
            r, err = self.request("poll", lambda: host.token(flow["device_code"]))
            if r is None:
                continue
            entry["answers"].append((r.status_code, err))
            if r.status_code == 200:
                entry["tokens"].append(r.json()["access_token"])
                return
            if r.status_code in (502, 503):
                if give_up is not None and give_up.is_set():
                    return
                time.sleep(0.05)
                continue
            return

    def complete_all(self):
        """After the fault: every flow gets its approval and a definite answer."""
        rng = random.Random(99)
        for entry in self.flows:
            if not entry["tokens"] and not (entry["answers"] and entry["answers"][-1][0] == 400):
                self.finish(entry, rng)

    def check_exactly_once(self, retryable: int):
        """Every flow approved and redeemed exactly once; a final invalid_grant only after an
        answer lost to the fault (``retryable``: 502 or 503), the redemption having committed."""
        s = self.s
        lost = []
        for e in self.flows:
            code, answers = e["flow"]["user_code"], e["answers"]
            assert e["approved"], f"{code}: never approved"
            assert len(e["tokens"]) <= 1, f"{code}: redeemed {len(e['tokens'])} times: {answers}"
            assert answers, f"{code}: never polled"
            if not e["tokens"]:
                assert answers[-1] == (400, "invalid_grant") and any(a[0] == retryable for a in answers), \
                    f"{code}: no tokens: {answers}"
                lost.append(code)
            assert s.flow_status(e["flow"]["device_code"]) == "redeemed", f"{code}: not redeemed in the database"
        tokens = [t for e in self.flows for t in e["tokens"]]
        assert len(tokens) == len(set(tokens)), "duplicate tokens"
        missing = [t for t in tokens if not s.token_path(t).exists()]
        assert not missing, f"{len(missing)} tokens handed out but not stored"
        return lost


@pytest.fixture
def own_cluster():
    """A PostgreSQL cluster of the test's own: restarting it leaves the run's cluster, and the
    other stacks' connections, alone."""
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL (DEVICEGATE_TEST_POSTGRES_URL; deploy/test.sh starts a cluster)")
    cluster = PostgresCluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def test_postgresql_restarted_under_load_answers_503_then_every_flow_completes_once(make_stack, own_cluster):
    """Issue 12 item 4: while PostgreSQL is down, every request that needs it gets a 503
    temporarily_unavailable JSON with Retry-After, in bounded time, and no worker crashes;
    once it is back every flow completes, and none is redeemed twice."""
    s = make_stack(workers=3, postgres_url=own_cluster.url)
    workers = s.worker_pids()
    load = Load(s, threads=6)
    restarted = {}

    def restarter():
        time.sleep(1.5)
        t0 = time.monotonic()
        out = own_cluster.restart(down_seconds=2)
        restarted.update(code=out.returncode, err=out.stderr[-500:], seconds=time.monotonic() - t0, back=time.monotonic())
        time.sleep(2.0)  # load continues on the database that is back
        load.stop.set()

    def prober():
        # The flows' clients spend most of their time in `devicegate approve` (a process each),
        # so by chance none of their requests may meet the gap (CI once saw none): a device
        # authorization every 50 ms on alternate hosts makes sure requests arrive while the
        # database is away.
        n = 0
        while not load.stop.is_set():
            host = s.hosts[n % 2]
            load.request("probe", lambda: host.device(scope="openid"))
            n += 1
            time.sleep(0.05)

    run_threads([restarter, prober] + [lambda i=i: load.client(i) for i in range(load.threads)], timeout=150)
    assert restarted.get("code") == 0, restarted
    # Workers reconnect: both hosts answer device authorizations again.
    for h in s.hosts:
        wait_until(lambda h=h: all(h.device().status_code == 200 for _ in range(6)), 5, interval=0.1,
                   what="both hosts to answer again after the restart")
    load.complete_all()

    assert not load.problems, load.problems[:10]
    by_status = Counter((a[0], a[1], a[2]) for a in load.answers)
    unavailable = [a for a in load.answers if a[1] == 503]
    assert unavailable, f"no request met the restart: {by_status}"
    for what, status, err, retry_after, _, _ in load.answers:
        assert status in (200, 400, 503), f"{what}: HTTP {status} ({err}); all answers: {by_status}"
        if status == 503:
            assert err == "temporarily_unavailable" and retry_after and int(retry_after) > 0, (what, err, retry_after)
        if status == 400:
            assert what == "poll" and err == "invalid_grant", (what, status, err)
    slowest = max(a[4] for a in load.answers)
    assert slowest < 10, f"a request took {slowest:.1f} s while PostgreSQL was down"
    # Workers reconnect soon after the database is back (issue 12: within a second; 2 s here,
    # for a loaded machine): no request started later than that is refused.
    late = [a[5] - restarted["back"] for a in unavailable if a[5] - restarted["back"] > 2.0]
    assert not late, f"503 for requests started {max(late):.1f} s after PostgreSQL was back"
    reconnected = max([a[5] - restarted["back"] for a in unavailable] + [0.0])
    assert s.worker_pids() == workers, "a worker crashed or was replaced during the restart"
    assert s.serve.poll() is None
    assert len(load.flows) >= 10, f"too little load: {len(load.flows)} flows"
    load.check_exactly_once(retryable=503)
    print(f"restart: {restarted['seconds']:.1f} s, {len(load.flows)} flows, answers {dict(by_status)}, "
          f"slowest {slowest:.2f} s, last 503 started {reconnected:.2f} s after PostgreSQL was back")


def test_idle_workers_answer_at_once_after_postgresql_restarts(make_stack, own_cluster):
    """Issue 12 item 4: workers reconnect within a second of the database coming back, also
    workers that had nothing to do while it was away."""
    s = make_stack(workers=2, postgres_url=own_cluster.url)
    for _ in range(8):
        assert_oauth_json(s.device(), 200)
    out = own_cluster.restart(down_seconds=1)
    assert out.returncode == 0, out.stderr
    time.sleep(1.5)  # back for 1.5 s, no request meanwhile
    statuses = [s.device().status_code for _ in range(12)]
    assert statuses == [200] * 12, statuses


def test_sigkill_workers_of_both_hosts_under_load_loses_nothing(make_stack):
    s = make_stack(workers=3)
    duration, kill_every = 6.0, 0.4
    load = Load(s, threads=6)
    kills = []

    def killer():
        rng = random.Random(1234)
        end = time.monotonic() + duration
        while time.monotonic() < end:
            time.sleep(kill_every)
            host = s.hosts[len(kills) % 2]
            pids = sorted(host.worker_pids())
            if pids:
                victim = rng.choice(pids)
                try:
                    os.kill(victim, signal.SIGKILL)
                    kills.append((host, victim))
                except ProcessLookupError:
                    pass
        load.stop.set()

    run_threads([killer] + [lambda i=i: load.client(i) for i in range(load.threads)], timeout=duration + 90)
    for h in s.hosts:
        wait_until(lambda h=h: len(h.worker_pids()) == 3, 10, what="each host's workers to be replaced")
    assert s.serve.poll() is None, "a supervisor died"
    assert len(kills) >= 10 and {h for h, _ in kills} == set(s.hosts), len(kills)
    assert not ({pid for _, pid in kills} & s.worker_pids())
    load.complete_all()

    assert not load.problems, load.problems[:10]
    for what, status, err, _, _, _ in load.answers:
        # 502: the host's nginx lost the worker it was talking to.
        assert status in (200, 400, 502), f"{what}: HTTP {status} ({err})"
        if status == 400:
            assert what == "poll" and err == "invalid_grant", (what, status, err)
    assert len(load.flows) >= 20, f"too little load: {len(load.flows)} flows"
    lost = load.check_exactly_once(retryable=502)
    assert len(lost) <= len(kills), (lost, len(kills))
