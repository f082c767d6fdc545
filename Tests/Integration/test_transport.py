"""The FastCGI transport as a trust boundary (issue 10, items 3 and 4) and the shipped nginx
snippets' request limits (items 2 and 5), through real nginx and real workers."""

from __future__ import annotations

import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from harness import (
    DEVICE_PATH, FORM, HTTP_TIMEOUT, NGINX_BIN, REPO, FastCGIConnection, assert_oauth_error, assert_oauth_json,
    basic_auth, clean_env, DEVICEGATE_BIN, fastcgi_params, free_port, run_cli, wait_until,
)

STOCK_FASTCGI_PARAMS = Path("/etc/nginx/fastcgi_params")


def delegated(text: str) -> str:
    return text.replace("sign_in: embedded", "sign_in: delegated")


# --------------------------------------------------------------------------- item 3


#: A delegated location the way an operator writes one from habit: stock fastcgi_params
#: (REMOTE_USER $remote_user) and no authentication at all.
STOCK_LOCATION = f"""
        location = /device {{
            include {STOCK_FASTCGI_PARAMS};
            fastcgi_pass devicegate;
        }}
"""


@pytest.mark.skipif(not STOCK_FASTCGI_PARAMS.exists(), reason="no stock /etc/nginx/fastcgi_params")
def test_basic_header_through_stock_fastcgi_params_signs_nobody_in(make_stack):
    assert "REMOTE_USER" in STOCK_FASTCGI_PARAMS.read_text()  # the premise: stock nginx passes it
    s = make_stack(workers=2, transform=delegated, nginx_server=STOCK_LOCATION)
    flow = s.new_flow()
    session = requests.Session()
    session.headers["Authorization"] = basic_auth("alice", "x")  # checked by nobody
    page = session.get(s.url("/device"), params={"code": flow["user_code"]}, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.text[:300]
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = session.post(s.url("/device"), data={"user_code": flow["user_code"], "csrf_token": csrf}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    assert "not signed in" in r.text and 'value="approve"' not in r.text
    assert "DEVICEGATE_REMOTE_USER" in r.text  # the page names the fix
    r = session.post(s.url("/device/decision"), data={"user_code": flow["user_code"], "action": "approve",
                                                       "csrf_token": csrf}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    assert s.flow_status(flow["device_code"]) == "pending"


@pytest.fixture
def erin_users():
    """A users file with erin ("right password"), in a directory nginx's workers can read."""
    directory = Path(tempfile.mkdtemp(prefix="dg-users-"))
    directory.chmod(0o755)
    users = directory / "htpasswd"
    added = subprocess.run([DEVICEGATE_BIN, "users", "add", "erin", "--file", str(users)],
                           input="right password\n", capture_output=True, text=True, timeout=20)
    assert added.returncode == 0, added.stderr
    users.chmod(0o644)
    yield users
    shutil.rmtree(directory, ignore_errors=True)


def test_shipped_basic_snippet_signs_in_and_asks_nginx_first(make_stack, erin_users):
    users = erin_users
    s = make_stack(workers=2, auth_basic_file=str(users), transform=delegated)
    flow = s.new_flow()
    wrong = requests.get(s.url("/device"), auth=("erin", "wrong"), timeout=HTTP_TIMEOUT)
    assert wrong.status_code == 401
    page = requests.get(s.url("/device"), params={"code": flow["user_code"]}, auth=("erin", "right password"),
                        timeout=HTTP_TIMEOUT)
    assert page.status_code == 200 and "erin" in page.text, page.text[:300]


@pytest.mark.one_host("nginx's limit_req zones count per host")
def test_shipped_basic_snippet_limits_password_guesses(make_stack, erin_users):
    """nginx hashes every guess in its event loop: the snippet refuses (429) before hashing
    once an address is over 2/s with a burst of 10."""
    users = erin_users
    s = make_stack(workers=2, auth_basic_file=str(users), transform=delegated)
    session = requests.Session()
    start = time.monotonic()
    statuses = [session.get(s.url("/device"), auth=("erin", f"guess {i}"), timeout=HTTP_TIMEOUT).status_code
                for i in range(40)]
    elapsed = time.monotonic() - start
    assert set(statuses) <= {401, 429}, statuses
    # At most the burst plus what the rate allows in the elapsed time were checked at all.
    assert statuses.count(401) <= 10 + 2 * elapsed + 1, (statuses, elapsed)
    assert statuses.count(429) > 0, statuses


# --------------------------------------------------------------------------- item 4c


def _with_read_timeout(seconds: int):
    def transform(text: str) -> str:
        assert "  log_level: info\n" in text
        return text.replace("  log_level: info\n", f"  log_level: info\n  request_read_timeout: {seconds}\n", 1)
    return transform


@pytest.mark.one_host("holds FastCGI connections to one host's socket")
def test_idle_connections_do_not_stop_the_service(make_stack):
    """More silent or half-sent connections on the socket than there are workers: requests
    through nginx are still answered after about the read timeout, and no worker dies."""
    timeout, workers, idle = 2, 2, 4
    s = make_stack(workers=workers, transform=_with_read_timeout(timeout))
    before = s.worker_pids()
    held = []
    try:
        for i in range(idle):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(30)
            sock.connect(s.socket_path)
            if i % 2:
                sock.sendall(b"\x01\x01\x00")  # the first bytes of a BEGIN_REQUEST header, then nothing
            held.append(sock)
        time.sleep(0.5)  # let the workers take the idle connections
        start = time.monotonic()
        r = s.device()
        elapsed = time.monotonic() - start
        assert_oauth_json(r, 200)
        # Each worker gives up an idle connection after `timeout`; generous margin on top.
        bound = timeout * (idle // workers + 1) + 6
        assert elapsed < bound, f"answered after {elapsed:.1f}s, expected under {bound}s"
        # The idle connections were closed by the workers (EOF), not left open.
        for sock in held:
            try:
                assert sock.recv(1) == b""
            except ConnectionResetError:
                pass
    finally:
        for sock in held:
            sock.close()
    assert s.worker_pids() == before
    assert s.serve.poll() is None


@pytest.mark.one_host("talks FastCGI to one host's socket and reads its state directory")
def test_a_body_that_stops_coming_is_never_acted_on(make_stack):
    """A request whose body stops half-way (the peer goes silent past the read timeout) is
    closed unanswered: acting on the half that arrived would create a flow from a request
    nobody sent (here: without its scope)."""
    s = make_stack(workers=1, transform=_with_read_timeout(1))
    body = b"client_id=demo-tv&scope=openid+profile"
    conn = FastCGIConnection(s.socket_path, timeout=20)
    try:
        conn.begin(fastcgi_params("POST", DEVICE_PATH, FORM, len(body)))
        conn.send_stdin(body[:len("client_id=demo-tv")])
        with pytest.raises((ConnectionError, ConnectionResetError)):
            conn.read_response()
    finally:
        conn.close()
    assert list(s.state.glob("flows/*/*.flow")) == []
    assert_oauth_json(s.device(), 200)  # the worker is serving again


# --------------------------------------------------------------------------- item 4b


def _tcp_config(tmp_path: Path, listen: str, extra: str = "") -> Path:
    out = run_cli("demo-config", "--output", tmp_path, "--listen", listen, "--workers", 1)
    assert out.returncode == 0, out.stderr
    config = tmp_path / "devicegate.yaml"
    text = config.read_text()
    config.write_text(text.replace("  log_level: info\n", "  log_level: info\n" + extra, 1))
    return config


def test_non_loopback_tcp_listen_is_refused_at_start(tmp_path):
    config = _tcp_config(tmp_path, f"0.0.0.0:{free_port()}")
    for command in ("check-config", "serve"):
        r = run_cli(command, "-c", config)
        assert r.returncode != 0, (command, r.stdout, r.stderr)
        assert "server.listen" in r.stderr and "allow_remote_fastcgi" in r.stderr, r.stderr
        assert re.search(r"devicegate\.yaml:\d+:\d+", r.stderr), r.stderr


def _fastcgi_over_tcp(port: int, source: str) -> bytes:
    """A complete device authorization request from ``source``; everything read back until
    the worker closes the connection."""
    conn = FastCGIConnection.__new__(FastCGIConnection)
    conn.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn.sock.settimeout(10)
    conn.sock.bind((source, 0))
    conn.sock.connect(("127.0.0.1", port))
    received = b""
    try:
        body = b"client_id=demo-tv"
        conn.begin(fastcgi_params("POST", DEVICE_PATH, FORM, len(body)))
        conn.send_stdin(body)
        conn.finish_stdin()
        while True:
            chunk = conn.sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        conn.close()
    return received


def test_tcp_peer_not_listed_is_closed_unanswered(tmp_path):
    port = free_port()
    config = _tcp_config(tmp_path, f"127.0.0.1:{port}", "  allow_remote_fastcgi: [127.0.0.1]\n")
    log = open(tmp_path / "serve.log", "wb")
    serve = subprocess.Popen([DEVICEGATE_BIN, "serve", "-c", str(config)], stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT, env=clean_env())
    try:
        def listening():
            if serve.poll() is not None:
                raise AssertionError((tmp_path / "serve.log").read_text())
            try:
                return b"Status: 200" in _fastcgi_over_tcp(port, "127.0.0.1")
            except ConnectionRefusedError:
                return False
        wait_until(listening, 15, interval=0.1, what="the worker to answer the listed peer")
        # 127.0.0.2 is another loopback address: a second peer on this host.
        refused = _fastcgi_over_tcp(port, "127.0.0.2")
        assert refused == b"", refused[:200]
        assert b"Status: 200" in _fastcgi_over_tcp(port, "127.0.0.1")  # still serving
        wait_until(lambda: b"peer not in server.allow_remote_fastcgi" in (tmp_path / "serve.log").read_bytes(), 5,
                   what="the refusal in the log")
        assert b"127.0.0.2" in (tmp_path / "serve.log").read_bytes()
    finally:
        serve.terminate()
        serve.wait(timeout=10)
        log.close()


# --------------------------------------------------------------------------- nginx limits


@pytest.mark.one_host("nginx's limit_req zones count per host")
def test_shipped_device_endpoint_limit_answers_429_json(make_stack):
    """The shipped devicegate-locations.conf limits device authorizations per address
    (10/s, burst 50) with an OAuth-style JSON 429."""
    s = make_stack(workers=2, nginx_server="        include devicegate/devicegate-locations.conf;\n")
    start = time.monotonic()
    responses = [s.device() for _ in range(90)]
    elapsed = time.monotonic() - start
    # nginx's refusals, told apart from any 429 devicegate itself may answer (its own caps).
    limited = [r for r in responses if r.status_code == 429 and "from this address" in r.text]
    reached = [r for r in responses if r not in limited]
    assert all(r.status_code in (200, 429) for r in reached), [r.status_code for r in reached]
    assert len(reached) >= 50 and len(reached) <= 51 + 10 * elapsed + 1, (len(reached), elapsed)
    assert limited, "no request was limited"
    body = assert_oauth_error(limited[0], 429, "temporarily_unavailable")
    assert limited[0].headers.get("Retry-After") == "1", body


# --------------------------------------------------------------------------- example server


def _example_api_location() -> str:
    """The commented API location of nginx/example-server.conf, uncommented, proxying to the
    test's upstream."""
    text = (REPO / "nginx" / "example-server.conf").read_text()
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == "# location /api/ {")
    block = []
    for line in lines[start:]:
        block.append(re.sub(r"^\s*# ?", "", line))
        if line.strip() == "# }":
            break
    assert "include devicegate/devicegate-gateway.conf;" in text
    location = "\n".join(block)
    assert "proxy_pass http://127.0.0.1:8080;" in location
    # {port2} is the stack's second port (Stack fills it in).
    return "include devicegate/devicegate-gateway.conf;\n" + location.replace("127.0.0.1:8080", "127.0.0.1:{port2}") + """
        # The example's access log format, for the user-code check.
        access_log {root}/access.log devicegate;
"""


def _example_log_format() -> str:
    text = (REPO / "nginx" / "example-server.conf").read_text()
    return re.search(r"^log_format devicegate .*?;$", text, re.S | re.M).group(0)


#: An upstream that echoes the request headers the API might read.
ECHO_UPSTREAM = """
    server {
        listen 127.0.0.1:{port2};
        location / {
            default_type text/plain;
            return 200 'subject=[$http_x_subject] dg_subject=[$http_x_devicegate_subject] dg_client=[$http_x_devicegate_client] dg_scope=[$http_x_devicegate_scope]';
        }
    }
"""


def test_example_server_never_passes_client_sent_devicegate_headers(make_stack):
    def scopes(text: str) -> str:
        old = "    allowed_scopes: [openid, profile, email, offline_access]\n"
        assert old in text
        return text.replace(old, "    allowed_scopes: [openid, profile, email, offline_access, api.read]\n", 1)
    s = make_stack(workers=2, transform=scopes, nginx_http=ECHO_UPSTREAM + _example_log_format(),
                   nginx_server=_example_api_location())
    tokens = s.grant(scope="openid api.read", subject="alice")
    forged = {"X-Devicegate-Subject": "admin", "X-Devicegate-Client": "root-client", "X-Devicegate-Scope": "admin",
              "X-Subject": "admin"}
    r = requests.get(s.url("/api/x"), headers={"Authorization": f"Bearer {tokens['access_token']}", **forged},
                     timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.text == "subject=[alice] dg_subject=[] dg_client=[] dg_scope=[]", r.text
    # Without a token the request never reaches the upstream.
    r = requests.get(s.url("/api/x"), headers=forged, timeout=HTTP_TIMEOUT)
    assert r.status_code == 401 and "admin" not in r.text


def test_example_log_format_leaves_user_codes_out(make_stack):
    """RFC 8628 §3.3.1's complete verification URI carries the user code in ?code=: the
    example's access log must not keep it."""
    s = make_stack(workers=2, nginx_http=_example_log_format(),
                   nginx_server="        access_log {root}/access.log devicegate;\n")
    flow = s.new_flow()
    r = requests.get(flow["verification_uri_complete"], timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and "?code=" in flow["verification_uri_complete"]
    code = flow["user_code"]
    wait_until(lambda: "/device " in (s.root / "access.log").read_text(), 5, what="the access log line")
    log = (s.root / "access.log").read_text()
    assert code not in log and code.replace("-", "") not in log and "code=" not in log, log


# --------------------------------------------------------------------------- nginx -t


def _nginx_test(tmp_path: Path, http_body: str) -> subprocess.CompletedProcess:
    prefix = tmp_path / "nginx"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    link = prefix / "devicegate"
    if not link.exists():
        link.symlink_to(REPO / "nginx")
    conf = prefix / "nginx.conf"
    conf.write_text(f"""
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {prefix}/tmp/body;
    fastcgi_temp_path     {prefix}/tmp/fastcgi;
    proxy_temp_path       {prefix}/tmp/proxy;
    uwsgi_temp_path       {prefix}/tmp/uwsgi;
    scgi_temp_path        {prefix}/tmp/scgi;
    access_log off;
{http_body}
}}
""")
    return subprocess.run([NGINX_BIN, "-t", "-p", f"{prefix}/", "-c", str(conf), "-e", f"{prefix}/error.log"],
                          capture_output=True, text=True, timeout=20)


def test_every_shipped_snippet_passes_nginx_t(tmp_path):
    snippets = {p.name for p in (REPO / "nginx").glob("*.conf")}
    port = free_port()
    servers = {
        # http{} context
        "devicegate-upstream.conf": None, "devicegate-limits.conf": None,
        # server{} context, one server each for the three sign-in modes
        "devicegate-locations.conf": None, "devicegate-verification-embedded.conf": None,
        "devicegate-metrics.conf": None, "devicegate-gateway.conf": None,
        "devicegate-verification-basic.conf": None, "devicegate-verification-sso.conf": None,
        # included by every location
        "devicegate-fastcgi.conf": None,
        # a whole site (tested on its own below)
        "example-server.conf": None,
    }
    assert snippets == set(servers), f"a snippet without an nginx -t check: {snippets ^ set(servers)}"
    body = f"""
    include devicegate/devicegate-upstream.conf;
    include devicegate/devicegate-limits.conf;
    server {{
        listen 127.0.0.1:{port};
        include devicegate/devicegate-locations.conf;
        include devicegate/devicegate-verification-embedded.conf;
        include devicegate/devicegate-metrics.conf;
        include devicegate/devicegate-gateway.conf;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name basic.test;
        include devicegate/devicegate-locations.conf;
        include devicegate/devicegate-verification-basic.conf;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name sso.test;
        include devicegate/devicegate-locations.conf;
        include devicegate/devicegate-verification-sso.conf;
    }}
"""
    r = _nginx_test(tmp_path / "snippets", body)
    assert r.returncode == 0, r.stderr


def test_example_server_passes_nginx_t(tmp_path):
    tls = tmp_path / "tls"
    tls.mkdir()
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=auth.example.com",
                           "-keyout", str(tls / "privkey.pem"), "-out", str(tls / "fullchain.pem")],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    text = (REPO / "nginx" / "example-server.conf").read_text()
    for old, new in [("/etc/ssl/devicegate", str(tls)), ("/var/log/nginx/", f"{tmp_path}/")]:
        assert old in text
        text = text.replace(old, new)
    # Unprivileged, free ports instead of 80 and 443.
    text = re.sub(r"listen (\[::\]:)?80;", lambda _: f"listen 127.0.0.1:{free_port()};", text)
    text = re.sub(r"listen (\[::\]:)?443 ssl http2;", lambda _: f"listen 127.0.0.1:{free_port()} ssl http2;", text)
    (tmp_path / "site.conf").write_text(text)
    r = _nginx_test(tmp_path / "example", f"    include {tmp_path}/site.conf;\n")
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------------- item 4a


def test_socket_group_is_dedicated_and_units_verify(tmp_path):
    """The socket's group is devicegate-fcgi, which sysusers.d creates with nginx's user as
    its only member; never www-data, the group PHP-FPM pools and fcgiwrap share."""
    socket_unit = (REPO / "deploy" / "systemd" / "devicegate.socket").read_text()
    settings = dict(re.findall(r"^(\w+)=(.*)$", socket_unit, re.M))
    assert settings["SocketGroup"] == "devicegate-fcgi" and settings["SocketMode"] == "0660"
    sysusers = [line.split() for line in (REPO / "deploy" / "sysusers.d" / "devicegate.conf").read_text().splitlines()
                if line and not line.startswith("#")]
    assert any(entry[:2] == ["g", "devicegate-fcgi"] for entry in sysusers), sysusers
    members = [entry[1] for entry in sysusers if entry[0] == "m" and entry[2] == "devicegate-fcgi"]
    assert members == ["www-data"], sysusers
    if shutil.which("systemd-sysusers"):
        r = subprocess.run(["systemd-sysusers", "--dry-run", str(REPO / "deploy" / "sysusers.d" / "devicegate.conf")],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "Failed" not in r.stderr, r.stderr
    if shutil.which("systemd-analyze"):
        for unit in ("devicegate.socket", "devicegate.service"):
            text = (REPO / "deploy" / "systemd" / unit).read_text()
            (tmp_path / unit).write_text(text.replace("/usr/local/bin/devicegate", DEVICEGATE_BIN))
        r = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "devicegate.socket"), str(tmp_path / "devicegate.service")],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "devicegate" not in r.stderr, r.stderr


def test_inherited_non_loopback_tcp_socket_is_refused_at_start(tmp_path):
    """systemd's ListenStream=9000 binds every address: `serve --inherit-socket` refuses it
    unless server.allow_remote_fastcgi lists the web servers."""
    config = _tcp_config(tmp_path, "fd:0")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("0.0.0.0", 0))
        listener.listen(16)
        r = subprocess.run([DEVICEGATE_BIN, "serve", "--inherit-socket", "-c", str(config)], stdin=listener.fileno(),
                           capture_output=True, text=True, timeout=20, env=clean_env())
    finally:
        listener.close()
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "0.0.0.0" in r.stderr and "allow_remote_fastcgi" in r.stderr, r.stderr
