"""Process lifecycle: bad starts, graceful SIGTERM, SIGHUP reload under load, restart of a
dead worker."""

import json
import os
import re
import signal
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness import (
    DEVICE_PATH, FORM, DEVICEGATE_BIN, FastCGIConnection, assert_oauth_error, assert_oauth_json,
    clean_env, fastcgi_params, pid_alive, run_cli, sha256_hex, wait_until,
)

# --------------------------------------------------------------------------- bad starts


def _serve(config, timeout=15):
    """Runs `devicegate serve` that is expected to refuse to start."""
    try:
        return subprocess.run([DEVICEGATE_BIN, "serve", "-c", str(config)], capture_output=True, text=True,
                              timeout=timeout, env=clean_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:  # it started instead of refusing; TimeoutExpired killed it
        raise AssertionError(f"devicegate serve -c {config} did not exit: {exc.stderr!r}") from None


def test_serve_with_missing_config_fails_clearly(tmp_path):
    missing = tmp_path / "nope" / "devicegate.yaml"
    r = _serve(missing)
    assert r.returncode != 0
    assert str(missing) in r.stderr, r.stderr
    assert "cannot read" in r.stderr or "No such file" in r.stderr, r.stderr


def test_serve_refuses_state_dir_readable_by_others(tmp_path):
    root = tmp_path
    out = run_cli("demo-config", "--output", root, "--listen", f"unix:{root}/dg.sock", "--workers", 2)
    assert out.returncode == 0, out.stderr
    state = root / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    r = _serve(root / "devicegate.yaml")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "0700" in r.stderr, r.stderr
    assert str(state) in r.stderr, r.stderr
    # It failed before binding: no socket, and the directory was left as it was.
    assert not (root / "dg.sock").exists()
    assert os.stat(state).st_mode & 0o777 == 0o755
    # The operator commands refuse it the same way.
    a = run_cli("approve", "BBBB-BBBB", "--subject", "x", "-c", root / "devicegate.yaml")
    assert a.returncode == 1 and "0700" in a.stderr, (a.returncode, a.stderr)


BROKEN_YAML = """\
issuer: http://127.0.0.1:8080/application/o/devicegate/
state_dir: {state}
server:
  listen: unix:{root}/dg.sock
  workerz: 4
lifetimes: {{device_code: 600, poll_interval: 5}}
clients:
  - client_id: demo-tv
    type: public
    allowed_scopes: [openid, "bad\\\\scope"]
"""


def test_check_config_reports_every_problem_with_file_and_line(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text(BROKEN_YAML.format(state=tmp_path / "state", root=tmp_path))
    lines = config.read_text().splitlines()
    workerz_line = next(i for i, l in enumerate(lines, 1) if "workerz" in l)
    scope_line = next(i for i, l in enumerate(lines, 1) if "allowed_scopes" in l)

    r = run_cli("check-config", "-c", config)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    output = r.stdout + r.stderr
    pattern = re.compile(rf"^{re.escape(str(config))}:(\d+):(\d+): ([\w.\[\]]+): (.+)$", re.M)
    problems = {m.group(3): (int(m.group(1)), m.group(4)) for m in pattern.finditer(output)}
    assert "server.workerz" in problems, output
    assert problems["server.workerz"][0] == workerz_line, (problems, workerz_line)
    assert "unknown key" in problems["server.workerz"][1]
    assert "clients[0].allowed_scopes" in problems, output
    assert problems["clients[0].allowed_scopes"][0] == scope_line, (problems, scope_line)
    assert "bad\\scope" in problems["clients[0].allowed_scopes"][1]

    # serve refuses the same file with the same messages and never starts.
    s = _serve(config)
    assert s.returncode == 2, (s.returncode, s.stderr)
    assert f"{config}:{workerz_line}:" in s.stderr, s.stderr
    assert not (tmp_path / "dg.sock").exists()


def test_check_config_accepts_demo_config(tmp_path):
    out = run_cli("demo-config", "--output", tmp_path, "--listen", f"unix:{tmp_path}/dg.sock")
    assert out.returncode == 0
    r = run_cli("check-config", "-c", tmp_path / "devicegate.yaml")
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


# --------------------------------------------------------------------------- load helper


class Load:
    """Background threads sending device authorizations and polls through nginx, recording
    every (kind, status, error) they get."""

    def __init__(self, stack, threads=4):
        self.stack = stack
        self.stop = threading.Event()
        self.results = []            # (time, kind, status, error)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _record(self, kind, r):
        err = None
        if r is not None and r.headers.get("Content-Type", "").startswith("application/json"):
            try:
                err = r.json().get("error")
            except ValueError:
                err = "<bad json>"
        with self.lock:
            self.results.append((time.monotonic(), kind, r.status_code if r is not None else None, err))

    def _run(self):
        import requests
        s = self.stack
        while not self.stop.is_set():
            try:
                r = s.device()
                self._record("device", r)
                if r.status_code == 200:
                    code = r.json()["device_code"]
                    self._record("poll", s.token(code))
                    self._record("poll", s.token(code))
                self._record("poll-unknown", s.token("unknown-" + os.urandom(8).hex()))
            except requests.RequestException as exc:
                with self.lock:
                    self.results.append((time.monotonic(), "exception", None, repr(exc)))
                time.sleep(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        assert not any(t.is_alive() for t in self.threads), "load threads did not stop"


EXPECTED = {
    ("device", 200, None),
    ("poll", 400, "authorization_pending"),
    ("poll", 400, "slow_down"),
    ("poll-unknown", 400, "invalid_grant"),
}


# --------------------------------------------------------------------------- SIGTERM


@pytest.mark.one_host("signals one host's supervisor")
def test_sigterm_finishes_request_in_flight_then_exits_0(make_stack):
    s = make_stack(workers=3)
    workers = s.worker_pids()
    assert len(workers) == 3

    with Load(s, threads=2) as load:
        wait_until(lambda: len(load.results) >= 20, 10, what="some load")
        # A request in flight: the worker has the headers and half of the body.
        conn = FastCGIConnection(s.socket_path, timeout=20)
        body = b"client_id=demo-tv&scope=openid+profile"
        conn.begin(fastcgi_params("POST", DEVICE_PATH, FORM, len(body)))
        conn.send_stdin(body[:10])
        time.sleep(0.5)  # let a worker accept it
        t_term = time.monotonic()
        s.serve.send_signal(signal.SIGTERM)

        # The idle workers go; the supervisor waits for the busy one.
        wait_until(lambda: len([p for p in workers if pid_alive(p)]) <= 1, 5, what="idle workers to exit")
        time.sleep(0.5)
        assert s.serve.poll() is None, "serve exited while a request was still in flight"
        busy = [p for p in workers if pid_alive(p)]
        assert len(busy) == 1, f"expected exactly the busy worker alive, got {busy}"

        # Finish the request: it is answered in full.
        conn.send_stdin(body[10:])
        conn.finish_stdin()
        status, headers, raw = conn.read_response()
        conn.close()
        assert status == 200, (status, raw[:300])
        doc = json.loads(raw)
        assert doc["user_code"] and doc["device_code"], doc
        # ... and the flow it created is durable.
        fid = sha256_hex(doc["device_code"])
        assert (s.state / "flows" / fid[:2] / f"{fid}.flow").exists()

        rc = s.serve.wait(timeout=10)
        assert rc == 0, f"serve exited with {rc}: {s.tail('devicegate.log')}"
        wait_until(lambda: not any(pid_alive(p) for p in workers), 5, what="every worker to exit")
        assert time.monotonic() - t_term < 10
    # The socket is removed on a clean stop.
    assert not Path(s.socket_path).exists()
    # Load during the stop: answers or, once nothing listens any more, nginx's 502.
    bad = [r for r in load.results if (r[1], r[2], r[3]) not in EXPECTED and r[2] != 502]
    assert not bad, bad[:10]
    assert any(r[2] == 400 for r in load.results)


@pytest.mark.one_host("signals one host's supervisor")
def test_sigterm_idle_server_exits_promptly(make_stack):
    s = make_stack(workers=4)
    workers = s.worker_pids()
    t = time.monotonic()
    s.serve.send_signal(signal.SIGTERM)
    rc = s.serve.wait(timeout=10)
    assert rc == 0, s.tail("devicegate.log")
    assert time.monotonic() - t < 5
    wait_until(lambda: not any(pid_alive(p) for p in workers), 5, what="workers to exit")
    assert not Path(s.socket_path).exists()


# --------------------------------------------------------------------------- SIGHUP


@pytest.mark.one_host("edits one host's config and signals its supervisor")
def test_sighup_reload_under_load_drops_nothing(make_stack):
    s = make_stack(workers=3)
    original = s.worker_pids()
    assert len(original) == 3
    config_text = s.config.read_text()
    # A client that exists only in the reloaded configuration.
    assert_oauth_error(s.device(client_id="reload-tv"), 401, "invalid_client")

    with Load(s, threads=4) as load:
        wait_until(lambda: len(load.results) >= 30, 10, what="some load")

        # 1. An invalid configuration is refused: the running workers stay.
        s.config.write_text(config_text + "bogus_key: 1\n")
        s.serve.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert s.worker_pids() == original, "workers were replaced although the new config is invalid"
        assert s.serve.poll() is None

        # 2. A valid one: workers 3 -> 2 and a new client; replaced one at a time.
        s.config.write_text(
            config_text.replace("workers: 3", "workers: 2")
            + "  - {client_id: reload-tv, type: public, allowed_scopes: [openid]}\n")
        n_before = len(load.results)
        s.serve.send_signal(signal.SIGHUP)

        def replaced():
            now = s.worker_pids()
            return len(now) == 2 and not (now & original)
        wait_until(replaced, 15, what=f"workers to be replaced ({s.tail('devicegate.log', 800)})")
        time.sleep(0.5)  # keep the load going on the new workers
        n_during = len(load.results) - n_before

    assert s.serve.poll() is None
    assert n_during > 20, f"too little load during the reload ({n_during} requests)"
    unexpected = [r for r in load.results if (r[1], r[2], r[3]) not in EXPECTED]
    assert not unexpected, f"{len(unexpected)} unexpected answers during reload, e.g. {unexpected[:10]}"
    # The new configuration is live on every worker.
    for _ in range(8):
        assert_oauth_json(s.device(client_id="reload-tv"), 200)
    assert all("worker" in open(f"/proc/{p}/cmdline").read() for p in s.worker_pids())


# --------------------------------------------------------------------------- dead worker


@pytest.mark.one_host("kills one host's worker and watches its supervisor")
def test_killed_worker_is_restarted(make_stack):
    s = make_stack(workers=3)
    before = s.worker_pids()
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: not pid_alive(victim), 5, what="victim to die")
    wait_until(lambda: len(s.worker_pids()) == 3 and victim not in s.worker_pids(), 5,
               what="the supervisor to restart the worker")
    assert s.serve.poll() is None
    # Still serving on every worker.
    for _ in range(10):
        assert_oauth_json(s.device(), 200)


@pytest.mark.one_host("signals one host's supervisor")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_stop_signal_while_worker_reads_request_params(make_stack, sig):
    s = make_stack(workers=1)
    conn = FastCGIConnection(s.socket_path, timeout=15)
    try:
        # Only BEGIN_REQUEST: the single worker accepts and waits for the params.
        conn.sock.sendall(conn._record(conn.BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)))
        time.sleep(0.5)
        s.serve.send_signal(sig)
        time.sleep(0.5)
        body = b"client_id=demo-tv"
        conn.begin_params_only(fastcgi_params("POST", DEVICE_PATH, FORM, len(body)))
        conn.send_stdin(body)
        conn.finish_stdin()
        status, _, raw = conn.read_response()
    finally:
        conn.close()
    assert status == 200, f"request in flight during {sig.name} answered {status}: {raw[:200]!r}"
    if sig == signal.SIGTERM:
        assert s.serve.wait(timeout=10) == 0


def test_serve_refuses_socket_path_that_is_not_a_socket(tmp_path):
    out = run_cli("demo-config", "--output", tmp_path, "--listen", f"unix:{tmp_path}/dg.sock", "--workers", 1)
    assert out.returncode == 0
    (tmp_path / "dg.sock").write_text("precious")
    r = _serve(tmp_path / "devicegate.yaml")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "dg.sock" in r.stderr and "not a socket" in r.stderr, r.stderr
    assert (tmp_path / "dg.sock").read_text() == "precious"


@pytest.mark.one_host("starts a second serve on one host's socket")
def test_second_serve_does_not_steal_a_live_socket(make_stack):
    s = make_stack(workers=2)
    second = subprocess.Popen([DEVICEGATE_BIN, "serve", "-c", str(s.config)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env())
    try:
        try:
            rc = second.wait(timeout=3)
        except subprocess.TimeoutExpired:
            rc = None
    finally:
        if second.poll() is None:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=10)
        output = second.stdout.read().decode(errors="replace")
        second.stdout.close()
    # The running instance must keep serving, whatever the second one did.
    assert_oauth_json(s.device(), 200)
    assert rc is not None and rc != 0, f"a second serve on a live socket started: {output[-400:]}"
