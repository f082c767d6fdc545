"""devicegate-login (docs/login-tool.md) against a devicegate stack: approved, denied and
expired flows, a wrong issuer and an unreachable server each with their exit status, the 0600
token file, --refresh with rotation, a confidential client, the terminal countdown (through a
pty) and nothing animated without one, and the QR code read back with zbarimg."""

import json
import os
import pty
import re
import select
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness import DEVICEGATE_BIN, EXPIRY_SECONDS, NGINX_PARAMS, free_port

HAVE_ZBAR = bool(shutil.which("rsvg-convert") and shutil.which("zbarimg"))

# Beside the devicegate binary under test (swift build puts both products in one directory).
LOGIN_BIN = os.environ.get("DEVICEGATE_LOGIN_BIN") or str(Path(DEVICEGATE_BIN).parent / "devicegate-login")
CODE_LINE = re.compile(r"open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})")
COMPLETE_LINE = re.compile(r"^or open (\S+) \(the QR code below\)\.$", re.M)
# Exit statuses (LoginFailure in Sources/DeviceGateLogin, docs/login-tool.md).
DENIED, EXPIRED, NETWORK, WRONG_ISSUER = 2, 3, 4, 5
TIMEOUT = 60


@pytest.fixture(scope="module", autouse=True)
def login_binary():
    if not os.access(LOGIN_BIN, os.X_OK):
        pytest.fail(f"devicegate-login not found at {LOGIN_BIN} (swift build --product devicegate-login)")


class Login:
    """One devicegate-login process; the person's lines (stderr) read as they come."""

    def __init__(self, stack, *args, client_id="demo-tv", scope="openid offline_access", issuer=None):
        argv = [LOGIN_BIN, "--issuer", issuer or stack.issuer, "--client-id", client_id, *map(str, args)]
        if scope:
            argv += ["--scope", scope]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.stderr = ""

    def user_code(self) -> str:
        """Reads stderr up to the line with the user code."""
        while True:
            line = self.proc.stderr.readline()
            assert line, f"devicegate-login ended before showing a code: {self.stderr!r} rc={self.proc.wait(5)}"
            self.stderr += line
            match = CODE_LINE.search(line)
            if match:
                return match.group(2)

    def finish(self, timeout: float = TIMEOUT) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        self.stderr += err
        return self.proc.returncode, out, self.stderr


def test_approved_flow_prints_tokens_and_animates_nothing(stack):
    login = Login(stack)
    code = login.user_code()
    assert stack.approve(code).returncode == 0
    rc, out, err = login.finish()
    assert rc == 0, err
    tokens = json.loads(out)
    assert tokens["token_type"] == "Bearer" and tokens["access_token"] and tokens["refresh_token"], tokens
    assert stack.userinfo(tokens["access_token"]).status_code == 200
    # Not a terminal: no countdown, no terminal QR code; the code and the address all the same.
    assert "\r" not in err and "\u2588" not in err, err
    assert f"open {stack.base}/device and enter the code {code}" in err, err
    # The device code (a secret) is never shown.
    assert "device_code" not in err


def test_token_file_is_0600_and_refresh_rotates(stack, tmp_path):
    token_file = tmp_path / "tokens.json"
    os.umask(0o022)
    login = Login(stack, "--token-file", token_file)
    assert stack.approve(login.user_code()).returncode == 0
    rc, out, err = login.finish()
    assert rc == 0, err
    assert out == "", "with --token-file, nothing on stdout"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    first = json.loads(token_file.read_text())
    assert first["refresh_token"]
    # No temporary file left beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json"]

    refreshed = subprocess.run([LOGIN_BIN, "--issuer", stack.issuer, "--client-id", "demo-tv", "--refresh",
                                "--token-file", token_file], capture_output=True, text=True, timeout=TIMEOUT)
    assert refreshed.returncode == 0, refreshed.stderr
    access = refreshed.stdout.strip()
    assert refreshed.stdout == access + "\n" and access != first["access_token"]
    second = json.loads(token_file.read_text())
    assert second["access_token"] == access
    assert second["refresh_token"] and second["refresh_token"] != first["refresh_token"]
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stack.userinfo(access).status_code == 200

    # The old refresh token was rotated away: put it back and the server refuses it (status 7),
    # leaving the file as it was.
    stale = dict(second, refresh_token=first["refresh_token"])
    token_file.write_text(json.dumps(stale))
    again = subprocess.run([LOGIN_BIN, "--issuer", stack.issuer, "--client-id", "demo-tv", "--refresh",
                            "--token-file", token_file], capture_output=True, text=True, timeout=TIMEOUT)
    assert again.returncode == 7, (again.returncode, again.stderr)
    assert again.stdout == "" and len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert "invalid_grant" in again.stderr

    # A token file that others can read is refused (status 6) before anything is sent.
    token_file.chmod(0o644)
    loose = subprocess.run([LOGIN_BIN, "--issuer", stack.issuer, "--client-id", "demo-tv", "--refresh",
                            "--token-file", token_file], capture_output=True, text=True, timeout=TIMEOUT)
    assert loose.returncode == 6 and "chmod 600" in loose.stderr, loose.stderr


def test_denied_flow_exits_with_the_access_denied_status(stack):
    login = Login(stack)
    assert stack.deny(login.user_code()).returncode == 0
    rc, out, err = login.finish()
    assert rc == DENIED, (rc, err)
    assert out == ""
    assert err.strip().splitlines()[-1] == "devicegate-login: the sign-in was denied (access_denied)", err


@pytest.mark.parametrize("issuer_of", [
    lambda s: s.issuer.rstrip("/"),          # same document, but it names the issuer with its slash
    lambda s: s.base + "/application/o/elsewhere/",  # no document there (404)
])
def test_wrong_issuer_has_its_own_status(stack, issuer_of):
    r = subprocess.run([LOGIN_BIN, "--issuer", issuer_of(stack), "--client-id", "demo-tv"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == WRONG_ISSUER, (r.returncode, r.stderr)
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("args", [
    ["--issuer", "ftp://id.example/", "--client-id", "demo-tv"],
    ["--issuer", "https://id.example/", "--client-id", "demo-tv", "--qr", "svg"],
    ["--issuer", "https://id.example/", "--client-id", "demo-tv", "--qr", "png", "x.png"],
    ["--issuer", "https://id.example/", "--client-id", "demo-tv", "--refresh"],
    ["--issuer", "https://id.example/"],
])
def test_usage_errors_exit_64_before_any_request(args):
    r = subprocess.run([LOGIN_BIN, *args], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 64, (r.returncode, r.stderr)
    assert r.stdout == "" and r.stderr.startswith("Error: "), r.stderr


def test_unreachable_server_is_a_network_error():
    r = subprocess.run([LOGIN_BIN, "--issuer", f"http://127.0.0.1:{free_port()}/", "--client-id", "demo-tv"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == NETWORK, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("devicegate-login: cannot reach"), r.stderr


def test_confidential_client_with_a_secret_file(stack, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(stack.cli_secret + "\n")
    secret_file.chmod(0o600)
    login = Login(stack, "--client-secret-file", secret_file, client_id="demo-cli", scope="openid")
    assert stack.approve(login.user_code()).returncode == 0
    rc, out, err = login.finish()
    assert rc == 0, err
    assert json.loads(out)["access_token"]
    assert stack.cli_secret not in out + err

    # A wrong secret: the server's invalid_client, status 1, one line.
    secret_file.write_text("not-the-secret\n")
    r = subprocess.run([LOGIN_BIN, "--issuer", stack.issuer, "--client-id", "demo-cli", "--client-secret-file",
                        secret_file], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 1 and "invalid_client" in r.stderr and "not-the-secret" not in r.stderr, r.stderr


def decode_qr(svg: Path) -> str:
    """The text of the QR code in ``svg`` (rsvg-convert to PNG, then zbarimg)."""
    png = svg.with_suffix(".png")
    subprocess.run(["rsvg-convert", "-o", png, svg], check=True, timeout=TIMEOUT)
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", png], capture_output=True, text=True, timeout=TIMEOUT)
    assert decoded.returncode == 0, decoded.stderr
    return decoded.stdout.strip()


def half_blocks_to_svg(lines: list[str]) -> str:
    """The terminal drawing as a picture: each character two modules high, the block
    characters' (text-coloured) halves white on a black background, as a terminal shows them."""
    rects = []
    for y, line in enumerate(lines):
        for x, ch in enumerate(line):
            if ch in "\u2588\u2580":
                rects.append(f'<rect x="{x}" y="{2 * y}" width="1" height="1"/>')
            if ch in "\u2588\u2584":
                rects.append(f'<rect x="{x}" y="{2 * y + 1}" width="1" height="1"/>')
    width, height = max(map(len, lines)), 2 * len(lines)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * 8}" height="{height * 8}" '
            f'viewBox="0 0 {width} {height}" shape-rendering="crispEdges"><rect width="{width}" height="{height}" '
            f'fill="#000"/><g fill="#fff">{"".join(rects)}</g></svg>')


@pytest.mark.skipif(not HAVE_ZBAR, reason="needs rsvg-convert (librsvg2-bin) and zbarimg (zbar-tools)")
def test_qr_svg_decodes_to_verification_uri_complete(stack, tmp_path):
    svg = tmp_path / "code.svg"
    login = Login(stack, "--qr", "svg", svg)
    code = login.user_code()
    # The SVG is written before the first poll.
    login.stderr += login.proc.stderr.readline()
    complete = COMPLETE_LINE.search(login.stderr).group(1)
    assert complete == f"{stack.base}/device?code={code}"
    assert decode_qr(svg) == complete
    assert stack.deny(code).returncode == 0
    assert login.finish()[0] == DENIED


def test_terminal_gets_the_qr_code_and_a_countdown(stack, tmp_path):
    """On a terminal (a pty as stderr): the QR code in half blocks, which decodes to
    verification_uri_complete, and a `\\r` countdown."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([LOGIN_BIN, "--issuer", stack.issuer, "--client-id", "demo-tv"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = bytearray()
    lock = threading.Lock()

    def read():
        while True:
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                with lock:
                    seen.extend(chunk)
            elif proc.poll() is not None:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        code = None
        while time.monotonic() < deadline:
            with lock:
                text = seen.decode(errors="replace")
            match = CODE_LINE.search(text)
            if match and "next check in" in text:
                code = match.group(2)
                break
            time.sleep(0.1)
        assert code, text
        assert stack.approve(code).returncode == 0
        out, _ = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    os.close(leader)
    assert proc.returncode == 0
    assert json.loads(out)["access_token"]
    text = seen.decode(errors="replace")
    assert "\u2588" in text and "\u2584" in text, "the QR code in half blocks"
    if HAVE_ZBAR:
        drawing = [line for line in text.replace("\r\n", "\n").split("\n")
                   if line and set(line) <= set("\u2588\u2580\u2584 ")]
        svg = tmp_path / "terminal.svg"
        svg.write_text(half_blocks_to_svg(drawing))
        assert decode_qr(svg) == f"{stack.base}/device?code={code}"
    assert re.search(r"\rWaiting for approval: \d+:\d\d left, next check in \d s", text.replace("\x1b[K", "")), text[-300:]


def make_private_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl); (ca, cert, key)."""
    def openssl(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=TIMEOUT)
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
            "-out", ca, "-days", "2", "-subj", "/CN=devicegate-login test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=127.0.0.1")
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
            "-days", "2", "-extfile", extensions)
    return ca, cert, key


@pytest.mark.one_host("a private nginx server block with TLS in front of one host")
@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
def test_https_with_a_private_ca(make_stack, tmp_path):
    """https is verified: against --ca-file it works, against the system CAs it is a network error."""
    ca, cert, key = make_private_ca(tmp_path)
    os.chmod(tmp_path, 0o755)
    key.chmod(0o644)  # nginx's master reads it as root, but be independent of who runs nginx
    port = free_port()
    params = "\n".join("            " + line for line in NGINX_PARAMS)
    tls_server = f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            fastcgi_pass devicegate;
            fastcgi_pass_request_headers off;
{params}
        }}
    }}
"""
    s = make_stack(workers=2, issuer=f"https://127.0.0.1:{port}/application/o/devicegate/", nginx_http=tls_server)

    untrusted = subprocess.run([LOGIN_BIN, "--issuer", s.issuer, "--client-id", "demo-tv"],
                               capture_output=True, text=True, timeout=TIMEOUT)
    assert untrusted.returncode == NETWORK, (untrusted.returncode, untrusted.stderr)
    assert len(untrusted.stderr.strip().splitlines()) == 1, untrusted.stderr

    login = Login(s, "--ca-file", ca, scope="openid")
    assert s.approve(login.user_code()).returncode == 0
    rc, out, err = login.finish()
    assert rc == 0, err
    assert json.loads(out)["access_token"]


class ScriptedIssuer:
    """A loopback OAuth server that answers polls from a script, recording when each came: for
    what devicegate never says on cue (slow_down) and for hostile answers."""

    def __init__(self, poll_answers, interval=1, user_code="BCDF-GHJK"):
        import http.server
        self.polls: list[tuple[float, dict]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                base = f"http://127.0.0.1:{outer.port}"
                self.answer(200, {"issuer": base + "/", "device_authorization_endpoint": base + "/device_authorization",
                                  "token_endpoint": base + "/token"})

            def do_POST(self):
                from urllib.parse import parse_qs
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/device_authorization":
                    self.answer(200, {"device_code": "scripted-device-code", "user_code": user_code,
                                      "verification_uri": f"http://127.0.0.1:{outer.port}/device",
                                      "expires_in": 600, "interval": interval})
                    return
                outer.polls.append((time.monotonic(), form))
                status, body = poll_answers[min(len(outer.polls), len(poll_answers)) - 1]
                self.answer(status, body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.issuer = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_interval_and_slow_down_are_honoured():
    """RFC 8628 §3.5: each slow_down adds 5 s to the interval for good. Polls are timed at the
    server; only lower bounds are checked (a poll can only come later than due, never earlier)."""
    pending = (400, {"error": "authorization_pending"})
    slow = (400, {"error": "slow_down"})
    server = ScriptedIssuer([pending, slow, pending, (200, {"access_token": "at", "token_type": "Bearer"})])
    try:
        r = subprocess.run([LOGIN_BIN, "--issuer", server.issuer, "--client-id", "scripted"],
                           capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        server.close()
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["access_token"] == "at"
    times = [t for t, _ in server.polls]
    assert len(times) == 4, server.polls
    gaps = [b - a for a, b in zip(times, times[1:])]
    # interval 1, then slow_down: 6, and 6 again after the next pending.
    assert gaps[0] >= 1 and gaps[1] >= 6 and gaps[2] >= 6, gaps
    assert all(form == {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                        "device_code": "scripted-device-code", "client_id": "scripted"} for _, form in server.polls)


def test_hostile_answers_cannot_drive_the_terminal():
    """A user code with terminal escapes is shown with the control characters replaced; an
    error_description with them likewise; the device stops with status 1 on an unknown error."""
    evil = (400, {"error": "server_confused", "error_description": "\x1b]0;pwned\x07\x1b[2J"})
    server = ScriptedIssuer([evil], user_code="BCDF\x1b[2J-GHJK")
    try:
        r = subprocess.run([LOGIN_BIN, "--issuer", server.issuer, "--client-id", "scripted"],
                           capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        server.close()
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr, r.stderr
    assert "BCDF?[2J-GHJK" in r.stderr and "server_confused" in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("devicegate-login: polling the token endpoint was refused: server_confused")


# --------------------------------------------------------------------------- expiry

@pytest.fixture(scope="session")
def expiring_login(expiring_flows):
    """A devicegate-login started on the 60 s stack (conftest.py's ``expiring_flows``) when this
    module's first test runs, so that the code expires while the rest of the session runs."""
    if expiring_flows is None:
        yield None
        return
    login = Login(expiring_flows["stack"], scope=None)
    login.user_code()
    yield login
    if login.proc.poll() is None:
        login.proc.kill()
        login.proc.wait()


@pytest.fixture(scope="module", autouse=True)
def start_expiring_login(expiring_login):
    return expiring_login


@pytest.mark.expiry
def test_expired_code_exits_with_the_expired_status(expiring_login):
    rc, out, err = expiring_login.finish(timeout=EXPIRY_SECONDS + 30)
    assert rc == EXPIRED, (rc, err)
    assert out == ""
    assert err.strip().splitlines()[-1].startswith("devicegate-login: the code expired before it was approved (expired_token)"), err
