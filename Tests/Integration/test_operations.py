"""The operator's view (issue 5): the audit log, Prometheus metrics added up across workers,
JSON logs with request ids, through nginx and the repository's own metrics snippet."""

import http.client
import json
import os
import re
import signal
import stat
import subprocess
import time

import pytest

from harness import DEVICEGATE_BIN, assert_oauth_error, assert_oauth_json, clean_env, sha256_hex, wait_until

METRICS_SERVER = "        include devicegate/devicegate-metrics.conf;\n"


def audit_lines(stack) -> list[dict]:
    path = stack.state / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def scrape(stack) -> dict[str, float]:
    r = stack.http.get(stack.url("/_devicegate/metrics"), timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    samples = {}
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


def total(samples: dict[str, float], prefix: str) -> float:
    return sum(v for k, v in samples.items() if k.startswith(prefix))


@pytest.mark.one_host("checks the audit log file itself (its mode) and one host's order of events")
def test_audit_log_follows_a_flow_and_holds_no_secret(make_stack):
    s = make_stack(workers=3, nginx_server=METRICS_SERVER)
    flow = s.new_flow(scope="openid profile")
    assert s.approve(flow["user_code"], subject="alice").returncode == 0
    tokens = assert_oauth_json(s.token(flow["device_code"]), 200)
    assert_oauth_error(s.token(flow["device_code"]), 400, "invalid_grant")  # a second redemption
    denied = s.new_flow()
    assert s.deny(denied["user_code"]).returncode == 0

    lines = audit_lines(s)
    assert [l["event"] for l in lines] == [
        "flow.started", "flow.approved", "token.issued", "grant.refused", "token.revoked", "flow.started", "flow.denied"], lines
    fid = sha256_hex(flow["device_code"])[:12]
    started, approved, issued, refused = lines[:4]
    assert started["client_id"] == "demo-tv" and started["ip"] == "127.0.0.1" and started["flow"] == fid
    assert started["scope"] == "openid profile" and re.fullmatch(r"[0-9a-f]{32}", started["request_id"])
    assert approved["user"] == "alice" and approved["via"] == "cli" and approved["ip"] == "local" and approved["flow"] == fid
    assert issued["user"] == "alice" and issued["grant"] == "device_code" and issued["flow"] == fid
    assert refused["client_id"] == "demo-tv" and refused["grant"] == "device_code"
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]), line
    text = (s.state / "audit.jsonl").read_text()
    for secret in (flow["device_code"], flow["user_code"], flow["user_code"].replace("-", ""), tokens["access_token"],
                   tokens.get("refresh_token", "no refresh token"), s.cli_secret):
        assert secret not in text
    assert stat.S_IMODE(os.stat(s.state / "audit.jsonl").st_mode) == 0o600


@pytest.mark.one_host("counts one host's metrics pages and kills its worker")
def test_metrics_add_up_every_worker_and_survive_a_killed_worker(make_stack):
    s = make_stack(workers=4, nginx_server=METRICS_SERVER)
    before = scrape(s)
    assert total(before, 'devicegate_http_requests_total{endpoint="token"') == 0
    flows = [s.new_flow() for _ in range(10)]
    polls = 0
    for _ in range(4):
        for f in flows:
            r = s.token(f["device_code"])
            assert r.status_code == 400
            polls += 1
    assert s.approve(flows[0]["user_code"]).returncode == 0
    time.sleep(5)  # the interval, so the redeeming poll is not slow_down
    assert_oauth_json(s.token(flows[0]["device_code"]), 200)
    polls += 1

    after = scrape(s)
    # Every request counted exactly once, whichever of the 4 workers answered it.
    assert total(after, 'devicegate_http_requests_total{endpoint="token"') == polls
    assert after['devicegate_http_requests_total{endpoint="token",status="200"}'] == 1
    assert after['devicegate_http_requests_total{endpoint="device_authorization",status="200"}'] == 10
    assert after['devicegate_http_request_duration_seconds_count{endpoint="token"}'] == polls
    assert after['devicegate_http_request_duration_seconds_bucket{endpoint="token",le="+Inf"}'] == polls
    assert after['devicegate_audit_events_total{event="flow.started"}'] == 10
    assert after['devicegate_audit_events_total{event="flow.approved"}'] == 1  # the CLI counts too
    assert after['devicegate_audit_events_total{event="token.issued"}'] == 1
    assert after["devicegate_workers"] == 4
    assert after["devicegate_worker_restarts_total"] == 0

    victim = sorted(s.worker_pids())[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(s.worker_pids()) == 4 and victim not in s.worker_pids(), 15, what="worker restart")
    later = scrape(s)
    assert later["devicegate_worker_restarts_total"] == 1
    # The killed worker's counts are still there: counters never go down.
    for name, value in after.items():
        if name.endswith("_total") or "_bucket" in name or name.endswith("_count"):
            assert later.get(name, 0) >= value, name
    assert total(later, 'devicegate_http_requests_total{endpoint="token"') == polls


@pytest.mark.one_host("counts the flows of the state directory")
def test_flow_gauge_counts_the_state_directory(make_stack):
    s = make_stack(workers=2, nginx_server=METRICS_SERVER)
    pending = [s.new_flow() for _ in range(6)]
    assert s.approve(pending[0]["user_code"]).returncode == 0

    def counted():
        m = scrape(s)
        return m.get('devicegate_flows{state="pending"}') == 5 and m.get('devicegate_flows{state="approved"}') == 1
    # The collector sweeps a directory this small every second.
    wait_until(counted, 10, interval=0.5, what="the census of flows")


@pytest.mark.one_host("nginx's address fence sees the balancer's address, not the client's")
def test_metrics_are_refused_to_other_addresses(make_stack):
    s = make_stack(workers=2, nginx_server=METRICS_SERVER)
    # nginx's fence: a client on 127.0.0.2 is not in devicegate-metrics.conf's allow list.
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10, source_address=("127.0.0.2", 0))
    conn.request("GET", "/_devicegate/metrics")
    r = conn.getresponse()
    assert r.status == 403
    assert b"devicegate_" not in r.read()
    conn.close()


def test_devicegates_own_fence_refuses_addresses_outside_metrics_allow(make_stack):
    s = make_stack(workers=2, transform=lambda text: text + '\nmetrics:\n  allow: ["192.0.2.1"]\n')
    r = s.http.get(s.url("/_devicegate/metrics"), timeout=10)  # the catch-all location: no nginx fence
    assert r.status_code == 403 and "devicegate_" not in r.text


def test_json_logs_carry_the_request_id(make_stack):
    s = make_stack(workers=2, transform=lambda text: text.replace("server:\n", "server:\n  log_format: json\n", 1))
    r = s.device()
    assert r.status_code == 200
    wait_until(lambda: "device authorization" in s.tail("devicegate.log", 100000), 10, what="the log line")
    records = [json.loads(line) for line in s.tail("devicegate.log", 100000).splitlines() if line.startswith("{")]
    assert records, s.tail("devicegate.log")
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
    auth = [r for r in records if r["message"] == "device authorization"]
    assert len(auth) == 1 and re.fullmatch(r"[0-9a-f]{32}", auth[0]["request.id"]) and auth[0]["client.id"] == "demo-tv"
    audit = [l for l in audit_lines(s) if l["event"] == "flow.started"]
    assert audit[0]["request_id"] == auth[0]["request.id"]  # one id joins the log, the audit log and nginx's log


def test_an_unwritable_audit_log_stops_the_start_with_a_clear_message(make_stack):
    s = make_stack(workers=2, start=False, transform=lambda text: text + "\naudit:\n  file: /proc/devicegate-nowhere/audit.jsonl\n")
    r = subprocess.run([DEVICEGATE_BIN, "serve", "-c", str(s.config)], capture_output=True, text=True, timeout=30,
                       env=clean_env(), stdin=subprocess.DEVNULL)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "cannot open the audit log (audit.file)" in r.stderr and "/proc/devicegate-nowhere/audit.jsonl" in r.stderr, r.stderr
