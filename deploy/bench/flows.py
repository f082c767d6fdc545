#!/usr/bin/env python3
"""Complete RFC 8628 device flows per second, for deploy/bench/bench.sh.

One flow = POST the device authorization endpoint (through nginx), approve the user code, then
POST the token endpoint once, which must answer 200 with an access token. THREADS threads run
flows back to back for SECONDS. The approval is either

  --approve web   the verification page, as a signed-in browser would (each thread signs in
                  once with --user/--password, then per flow: POST /device with the code,
                  POST /device/decision action=approve): four HTTP requests per flow, all
                  through nginx; or
  --approve cli   `devicegate approve CODE --subject alice`, one process per flow, whose
                  start-up dominates the cost.

This is a Python driver, not wrk (a flow is several dependent steps), and on a small machine
the driver's own CPU use counts against the server. Per-step latencies are printed so that
the steps can be told apart.

    flows.py --url http://127.0.0.1:PORT (--approve web --user U --password P |
             --approve cli --bin devicegate --config devicegate.yaml)
             [--threads 8] [--duration 10] [--tokens FILE] [--max-tokens 1000]

Output: the same machine-readable lines as stats.lua (BENCH ..., BENCH_STATUS ...), with
latencies per complete flow, plus a "FLOWS" line with per-step medians; the access tokens
obtained go to FILE (for the auth_request scenario). Standard library only.
"""

import argparse
import http.client
import json
import re
import subprocess
import sys
import threading
import time
import urllib.parse

DEVICE_PATH = "/application/o/device/"
TOKEN_PATH = "/application/o/token/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
VERIFICATION_PATH = "/device"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
# The consent form's binding to the flow it shows (issue 10, item 7): sent back as a browser does.
FLOW_RE = re.compile(r'name="flow" value="([^"]+)"')


class Browser:
    """One signed-in verification-page session over one keep-alive connection: a cookie jar
    and the session's CSRF token."""

    def __init__(self, conn, user, password):
        self.conn, self.cookies, self.csrf = conn, {}, None
        status, page = self.request("GET", VERIFICATION_PATH)
        if status != 200:
            raise RuntimeError(f"GET {VERIFICATION_PATH}: {status}")
        self.csrf = CSRF_RE.search(page).group(1)
        status, _ = self.request("POST", VERIFICATION_PATH + "/signin",
                                 {"username": user, "password": password, "user_code": "", "csrf_token": self.csrf})
        if status not in (200, 303):
            raise RuntimeError(f"sign-in failed: {status}")
        status, page = self.request("GET", VERIFICATION_PATH)  # the CSRF token of the session
        match = CSRF_RE.search(page)
        if status != 200 or not match or "devicegate_session" not in " ".join(self.cookies):
            raise RuntimeError("not signed in after POST /device/signin")
        self.csrf = match.group(1)

    def request(self, method, path, form=None):
        headers = dict(FORM) if form is not None else {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=urllib.parse.urlencode(form) if form is not None else None,
                          headers=headers)
        resp = self.conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, body

    def approve(self, user_code):
        """True when the code was approved (the consent page, then the done page)."""
        status, page = self.request("POST", VERIFICATION_PATH, {"user_code": user_code, "csrf_token": self.csrf})
        binding = FLOW_RE.search(page)
        if status != 200 or 'value="approve"' not in page or not binding:
            return False
        status, page = self.request("POST", VERIFICATION_PATH + "/decision",
                                    {"action": "approve", "user_code": user_code, "csrf_token": self.csrf,
                                     "flow": binding.group(1)})
        return status == 200


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


class Runner:
    def __init__(self, args):
        self.args = args
        url = urllib.parse.urlsplit(args.url)
        self.host, self.port = url.hostname, url.port or 80
        self.lock = threading.Lock()
        self.flows = []          # (total, authorize, approve, redeem) seconds per successful flow
        self.counts = {}         # "STATUS error" -> n, for the step that ended each attempt
        self.errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
        self.non2xx = 0
        self.tokens = []

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def post(self, conn, path, body):
        conn.request("POST", path, body=urllib.parse.urlencode(body), headers=FORM)
        resp = conn.getresponse()
        data = resp.read()
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = {}
        return resp.status, parsed

    def approve(self, browser, user_code):
        if browser is not None:
            return browser.approve(user_code)
        approved = subprocess.run([self.args.bin, "approve", user_code, "--subject", "alice",
                                   "--config", self.args.config],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  timeout=30)
        return approved.returncode == 0

    def one_flow(self, conn, browser):
        t0 = time.perf_counter()
        status, body = self.post(conn, DEVICE_PATH, {"client_id": "demo-tv", "scope": "openid"})
        if status != 200:
            return f"{status} {body.get('error', '-')}", None
        t1 = time.perf_counter()
        if not self.approve(browser, body["user_code"]):
            return "approve-failed -", None
        t2 = time.perf_counter()
        status, tokens = self.post(conn, TOKEN_PATH, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                                      "client_id": "demo-tv", "device_code": body["device_code"]})
        t3 = time.perf_counter()
        if status != 200 or "access_token" not in tokens:
            return f"{status} {tokens.get('error', '-')}", None
        return "200 -", ((t3 - t0), (t1 - t0), (t2 - t1), (t3 - t2), tokens["access_token"])

    def worker(self, deadline):
        conn = browser = None
        while time.monotonic() < deadline:
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if self.args.approve == "web":
                    # Signing in is not part of a flow: a person signs in once per browser.
                    try:
                        browser = Browser(http.client.HTTPConnection(self.host, self.port, timeout=30),
                                          self.args.user, self.args.password)
                    except (RuntimeError, AttributeError, OSError, http.client.HTTPException) as exc:
                        print(f"sign-in failed: {exc}", file=sys.stderr)
                        self.count("signin-failed -")
                        return
            try:
                key, result = self.one_flow(conn, browser)
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                with self.lock:
                    self.errors["timeout" if "timed out" in str(exc) else "read"] += 1
                conn.close()
                if browser is not None:
                    browser.conn.close()
                conn = browser = None
                continue
            self.count(key)
            if result is None:
                with self.lock:
                    self.non2xx += 1
                continue
            with self.lock:
                self.flows.append(result[:4])
                if len(self.tokens) < self.args.max_tokens:
                    self.tokens.append(result[4])
        if conn is not None:
            conn.close()
        if browser is not None:
            browser.conn.close()

    def run(self):
        start = time.perf_counter()
        deadline = time.monotonic() + self.args.duration
        threads = [threading.Thread(target=self.worker, args=(deadline,), daemon=True)
                   for _ in range(self.args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.args.duration + 60)
        elapsed = time.perf_counter() - start

        totals = sorted(f[0] for f in self.flows)
        us = lambda s: int(s * 1e6)  # noqa: E731
        e = self.errors
        print(f"BENCH requests={len(self.flows)} duration_us={us(elapsed)} p50_us={us(percentile(totals, 50))} "
              f"p99_us={us(percentile(totals, 99))} max_us={us(totals[-1] if totals else 0)} "
              f"connect={e['connect']} read={e['read']} write={e['write']} timeout={e['timeout']} "
              f"non2xx3xx={self.non2xx}")
        for key, n in sorted(self.counts.items()):
            print(f"BENCH_STATUS {key} {n}")
        steps = [sorted(f[i] for f in self.flows) for i in (1, 2, 3)]
        print("FLOWS " + " ".join(f"{name}_p50_us={us(percentile(v, 50))} {name}_p99_us={us(percentile(v, 99))}"
                                  for name, v in zip(("authorize", "approve", "redeem"), steps)))
        if self.args.tokens:
            with open(self.args.tokens, "w") as f:
                f.writelines(t + "\n" for t in self.tokens)
        return 0 if self.flows else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="nginx base URL, http://127.0.0.1:PORT")
    parser.add_argument("--approve", choices=("web", "cli"), default="web")
    parser.add_argument("--user", help="web: the sign-in username")
    parser.add_argument("--password", help="web: the sign-in password")
    parser.add_argument("--bin", help="cli: the devicegate binary")
    parser.add_argument("--config", help="cli: devicegate.yaml")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--tokens", help="write the access tokens obtained to this file")
    parser.add_argument("--max-tokens", type=int, default=1000)
    args = parser.parse_args()
    needed = ("user", "password") if args.approve == "web" else ("bin", "config")
    missing = [f"--{name}" for name in needed if not getattr(args, name)]
    if missing:
        parser.error(f"--approve {args.approve} needs {' and '.join(missing)}")
    sys.exit(Runner(args).run())


if __name__ == "__main__":
    main()
