#!/usr/bin/env python3
"""Instructions (or system calls) per request of ONE devicegate worker, for instructions.sh.

    instructions.py --bin devicegate --config devicegate.yaml --work DIR
                    --meter callgrind|strace [--requests N] [--warmup W]

Binds a unix socket in DIR, starts `devicegate worker --config FILE` with it on fd 0 (as
`serve`, spawn-fcgi or systemd hand it over) and talks FastCGI to it directly, one connection
per request with the parameters nginx/devicegate-fastcgi.conf (and, for the gateway check,
nginx/devicegate-gateway.conf) passes. Under --meter callgrind the worker runs under
`valgrind --tool=callgrind`; under --meter strace it runs natively and `strace -c -f` is
attached for each measured window.

Scenarios, in this order, each W unmeasured requests (warm-up) and then N measured ones in a
window of its own (callgrind: `callgrind_control -z` before, `-d` after, the dump's total
Ir; strace: attached before, detached after, the summary's total calls):

  device_authorization  POST /application/o/device/ client_id=demo-tv&scope=openid -> 200
  poll_pending          POST /application/o/token/ with the codes just created, each
                        once -> 400 authorization_pending (RFC 8628 section 3.5)
  poll_slow_down        the same code again and again -> 400 slow_down
  redemption            N+W new flows (created unmeasured) approved with `devicegate approve`
                        (its own processes, not measured), then each redeemed once -> 200
                        with an access token (the JWT is signed then)
  auth_request          GET /_devicegate/auth/openid with "Authorization: Bearer" and those
                        access tokens, cycling -> 200

Every response of every window is checked (status and OAuth error); one unexpected answer
fails the run. Prints one line per scenario:

    RESULT scenario=NAME requests=N total=T per_request=T/N

Standard library only. SWIFT_DETERMINISTIC_HASHING=1 is set for the worker, so that its
dictionaries and sets lay out the same way in every run, and with --seeded-random SO its
getrandom(3) is seededrandom.c's fixed stream (seed 3; `devicegate approve` number i gets
1000 + i), so that it draws the same codes in every run: see seededrandom.c for why.
"""

import argparse
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

DEVICE_PATH = "/application/o/device/"
TOKEN_PATH = "/application/o/token/"
GATEWAY_PATH = "/_devicegate/auth/openid"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT_ID = "demo-tv"
FORM = "application/x-www-form-urlencoded"

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


# --------------------------------------------------------------------------- FastCGI


def record(rtype: int, content: bytes) -> bytes:
    out = b""
    for i in range(0, max(len(content), 1), 65535):
        chunk = content[i:i + 65535]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack(">BBHHBB", 1, rtype, 1, len(chunk), pad, 0) + chunk + b"\0" * pad
    return out


def name_value(name: str, value: str) -> bytes:
    def length(n: int) -> bytes:
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    nb, vb = name.encode(), value.encode()
    return length(len(nb)) + length(len(vb)) + nb + vb


def nginx_params(method: str, path: str, body: bytes, authorization: str | None) -> list[tuple[str, str]]:
    """What nginx/devicegate-fastcgi.conf passes for a request from 127.0.0.1 to host
    127.0.0.1 without a user agent, cookie or TLS (the if_not_empty ones left out), in its
    order; nginx/devicegate-gateway.conf's smaller set for the auth_request subrequest."""
    request_id = secrets.token_hex(16)  # nginx's $request_id: 32 hex digits
    if path.startswith("/_devicegate/auth/"):
        params = [("REQUEST_METHOD", method), ("DOCUMENT_URI", path), ("QUERY_STRING", ""),
                  ("REMOTE_ADDR", "127.0.0.1")]
        if authorization:
            params.append(("HTTP_AUTHORIZATION", authorization))
        params.append(("REQUEST_ID", request_id))
        return params
    params = [("REQUEST_METHOD", method), ("DOCUMENT_URI", path), ("QUERY_STRING", ""),
              ("CONTENT_TYPE", FORM if body else ""), ("CONTENT_LENGTH", str(len(body)) if body else ""),
              ("REMOTE_ADDR", "127.0.0.1")]
    if authorization:
        params.append(("HTTP_AUTHORIZATION", authorization))
    params += [("HTTP_HOST", "127.0.0.1"), ("REQUEST_ID", request_id)]
    return params


def read_stdout(sock, path: str) -> bytes:
    """The STDOUT records of one FastCGI response, read until END_REQUEST."""
    buf, stdout = b"", b""
    while True:
        while len(buf) < 8 or len(buf) < 8 + struct.unpack(">BBHHBB", buf[:8])[3] + buf[6]:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{path}: connection closed before END_REQUEST")
            buf += chunk
        _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
        content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
        if rtype == STDOUT:
            stdout += content
        elif rtype == END_REQUEST:
            return stdout


def read_response(sock, path: str) -> tuple[int, bytes]:
    """One FastCGI response as (status, body): the CGI Status header, 200 without one."""
    head, _, payload = read_stdout(sock, path).partition(b"\r\n\r\n")
    status = 200
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "status":
            status = int(value.split()[0])
    return status, payload


def fastcgi_request(socket_path: str, method: str, path: str, body: bytes = b"",
                    authorization: str | None = None, timeout: float = 120) -> tuple[int, bytes]:
    """One request on a connection of its own (fastcgi_keep_conn off, as nginx is configured):
    BEGIN_REQUEST, PARAMS, STDIN, then the response until END_REQUEST. (status, body)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        blob = b"".join(name_value(k, v) for k, v in nginx_params(method, path, body, authorization))
        out = record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)) + record(PARAMS, blob) + record(PARAMS, b"")
        if body:
            out += record(STDIN, body)
        out += record(STDIN, b"")
        sock.sendall(out)
        return read_response(sock, path)


# --------------------------------------------------------------------------- meters


class CallgrindMeter:
    """The worker's instructions (Ir) between zero() and the dump: `callgrind_control` reaches
    the worker through vgdb even while it waits in ppoll for the next connection."""

    def __init__(self, work: str):
        self.work = work

    def command(self) -> list[str]:
        return ["valgrind", "--tool=callgrind", "--vgdb=yes",
                f"--callgrind-out-file={self.work}/callgrind.out", "--dump-instr=no"]

    def control(self, pid: int, *args: str):
        subprocess.run(["callgrind_control", *args, str(pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def begin(self, pid: int, name: str):
        self.control(pid, "-z")

    def end(self, pid: int, name: str) -> int:
        before = set(os.listdir(self.work))
        self.control(pid, "-d", name)
        # The dump is written by the worker itself; callgrind_control returns once it is.
        deadline = time.monotonic() + 60
        while True:
            new = [f for f in set(os.listdir(self.work)) - before if f.startswith("callgrind.out")]
            for f in new:
                path = os.path.join(self.work, f)
                text = open(path).read()
                total = re.search(r"^summary: (\d+)$", text, re.M)
                complete = re.search(r"^totals: \d+$", text, re.M)
                if total and complete and f"\ndesc: Trigger: dump {name}\n" in text:
                    # The calls still open when the window began (main, the worker loop) are
                    # written with a count of 0, which callgrind_annotate 3.19 takes for self
                    # cost of the caller: 1 instead, so that it annotates the window correctly.
                    with open(os.path.join(self.work, f"callgrind.{name}.out"), "w") as out:
                        out.write(re.sub(r"^calls=0 ", "calls=1 ", text, flags=re.M))
                    os.unlink(path)
                    return int(total.group(1))
            if time.monotonic() > deadline:
                raise RuntimeError(f"no callgrind dump for {name} in {self.work}")
            time.sleep(0.1)


class StraceMeter:
    """The worker's system calls between attaching `strace -c -f` and interrupting it."""

    def __init__(self, work: str):
        self.work = work
        self.tracer = None

    def command(self) -> list[str]:
        return []

    def begin(self, pid: int, name: str):
        out = os.path.join(self.work, f"strace.{name}.txt")
        self.tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(pid)],
                                       stderr=subprocess.PIPE, text=True)
        self.out = out
        # strace says so on stderr once it has seized the process.
        line = self.tracer.stderr.readline()
        if "attached" not in line:
            raise RuntimeError(f"strace did not attach: {line.strip()}")

    def end(self, pid: int, name: str) -> int:
        self.tracer.send_signal(signal.SIGINT)
        self.tracer.wait(timeout=30)
        text = open(self.out).read()
        # "100.00    0.001234           1      1234        12 total": the calls column.
        total = re.search(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)(?:\s+\d+)?\s+total\s*$", text, re.M)
        if not total:
            raise RuntimeError(f"no strace summary in {self.out}")
        return int(total.group(1))


# --------------------------------------------------------------------------- scenarios


def form(**fields) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def oauth_error(body: bytes) -> str:
    try:
        return json.loads(body).get("error", "-")
    except ValueError:
        return "?"


class Run:
    def __init__(self, args, meter):
        self.args, self.meter = args, meter
        self.socket_path = os.path.join(args.work, "worker.sock")
        self.results = []

    def start_worker(self):
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket_path)
        listener.listen(64)
        env = dict(os.environ, SWIFT_DETERMINISTIC_HASHING="1", **self.seeded(3))
        argv = self.meter.command() + [self.args.bin, "worker", "--config", self.args.config]
        self.log = open(os.path.join(self.args.work, f"worker-{self.args.meter}.log"), "w")
        self.worker = subprocess.Popen(argv, stdin=listener.fileno(), stdout=self.log, stderr=self.log, env=env)
        listener.close()
        # The first answer (a valgrind start takes seconds); it counts in no window.
        deadline = time.monotonic() + 120
        while True:
            if self.worker.poll() is not None:
                raise RuntimeError(f"the worker exited ({self.worker.returncode}); see {self.log.name}")
            try:
                fastcgi_request(self.socket_path, "GET", GATEWAY_PATH)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the worker does not answer")
                time.sleep(0.2)

    def wait_idle(self):
        """Until the worker waits in ppoll(2) for the next connection (dg_wait_readable_or_stop,
        its only ppoll). The client has its answer when the worker has written END_REQUEST,
        before the worker closes the connection and logs: a window opened or closed before
        that would count part of a request in the wrong window."""
        SYS_PPOLL = "271"  # x86_64
        path = f"/proc/{self.worker.pid}/syscall"
        deadline = time.monotonic() + 60
        seen = 0
        while seen < 3:
            with open(path) as f:
                seen = seen + 1 if f.read().split()[0] == SYS_PPOLL else 0
            if time.monotonic() > deadline:
                raise RuntimeError("the worker never went back to waiting for a connection")
            time.sleep(0.01)

    def seeded(self, seed: int) -> dict[str, str]:
        """The environment of a process whose getrandom(3) is seededrandom.so's stream SEED
        (a different seed for every process of a run, the same ones in every run)."""
        if not self.args.seeded_random:
            return {}
        return {"LD_PRELOAD": self.args.seeded_random, "SEEDED_RANDOM_SEED": str(seed)}

    def stop_worker(self):
        self.worker.send_signal(signal.SIGTERM)
        try:
            self.worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.worker.kill()
            self.worker.wait()

    def call(self, method, path, body=b"", authorization=None):
        return fastcgi_request(self.socket_path, method, path, body, authorization)

    def scenario(self, name, expected, requests):
        """requests: a list of (method, path, body, authorization), warm-up first; the last N
        are measured. expected: (status, error) every answer must have."""
        warm, measured = requests[:-self.args.requests], requests[-self.args.requests:]
        answers = [self.expect(name, expected, self.call(*r)) for r in warm]
        pid = self.worker.pid
        self.wait_idle()
        self.meter.begin(pid, name)
        answers += [self.expect(name, expected, self.call(*r)) for r in measured]
        self.wait_idle()
        total = self.meter.end(pid, name)
        n = len(measured)
        print(f"RESULT scenario={name} requests={n} total={total} per_request={total / n:.1f}", flush=True)
        return answers

    @staticmethod
    def expect(name, expected, answer):
        status, body = answer
        got = (status, oauth_error(body) if status >= 400 else "-")
        if got != expected:
            raise RuntimeError(f"{name}: expected {expected}, got {got}: {body[:300]!r}")
        return body

    def device_authorizations(self, count):
        return [("POST", DEVICE_PATH, form(client_id=CLIENT_ID, scope="openid"), None)] * count

    def run(self):
        n, w = self.args.requests, self.args.warmup
        self.start_worker()
        try:
            created = [json.loads(b) for b in self.scenario(
                "device_authorization", (200, "-"), self.device_authorizations(w + n))]
            # Which codes were drawn: the same in two runs when randomness is seeded and both
            # builds consume it in the same order.
            digest = hashlib.sha256("".join(f["device_code"] for f in created).encode()).hexdigest()[:16]
            print(f"CODES device_codes_sha256={digest}", flush=True)

            def poll(code):
                return ("POST", TOKEN_PATH, form(grant_type=GRANT, client_id=CLIENT_ID, device_code=code), None)

            # Each code of the flows just created, once: never polled, so never too fast.
            self.scenario("poll_pending", (400, "authorization_pending"),
                          [poll(f["device_code"]) for f in created])
            # One code, again and again within its interval (warm-up included: its first poll
            # above was pending, every one after it is too soon).
            self.scenario("poll_slow_down", (400, "slow_down"), [poll(created[0]["device_code"])] * (w + n))

            # Flows to redeem: created and approved outside any window.
            approved = [json.loads(self.expect("setup", (200, "-"), self.call(*r)))
                        for r in self.device_authorizations(w + n)]
            for i, flow in enumerate(approved):
                subprocess.run([self.args.bin, "approve", flow["user_code"], "--subject", "alice",
                                "--config", self.args.config], check=True, env=dict(os.environ, **self.seeded(1000 + i)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            tokens = [json.loads(b)["access_token"] for b in self.scenario(
                "redemption", (200, "-"), [poll(f["device_code"]) for f in approved])]

            checks = [("GET", GATEWAY_PATH, b"", f"Bearer {tokens[i % len(tokens)]}") for i in range(w + n)]
            self.scenario("auth_request", (200, "-"), checks)
        finally:
            self.stop_worker()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--meter", choices=["callgrind", "strace"], required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seeded-random", metavar="SO", default="",
                        help="seededrandom.so, preloaded into the worker and `devicegate approve`")
    args = parser.parse_args()
    if args.requests < 1 or args.warmup < 1:
        parser.error("--requests and --warmup must be at least 1")
    meter = CallgrindMeter(args.work) if args.meter == "callgrind" else StraceMeter(args.work)
    Run(args, meter).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
