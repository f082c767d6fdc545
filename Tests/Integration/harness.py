"""Harness for the devicegate integration tests (used by conftest.py and the tests).

Every test talks to a REAL stack: nginx (``/usr/sbin/nginx`` or ``$NGINX_BIN``) on a
free loopback port, in front of ``devicegate serve`` with several worker processes on
a unix socket, all inside a fresh temporary directory that is removed afterwards.

- ``stack``       one shared stack (4 workers) for the tests that only send requests;
- ``make_stack``  a factory for tests that signal, kill or reconfigure the server,
                  or need special settings; every stack it makes is torn down.

The binary is ``$DEVICEGATE_BIN`` or ``<repo>/.build/debug/devicegate``. Every request,
subprocess and wait has a timeout.

Topology (``$DEVICEGATE_TEST_TOPOLOGY``):

- ``one-host`` (default): a ``Stack`` is one nginx + one ``devicegate serve`` on the state
  directory (``HostStack``).
- ``two-hosts``: a ``Stack`` is two "hosts" (``HostStack``, each with its own ``serve``,
  state_dir, FastCGI socket and nginx) sharing one fresh PostgreSQL schema on
  ``$DEVICEGATE_TEST_POSTGRES_URL``, behind a third nginx that balances round-robin with no
  stickiness (``TwoHostStack``); ``Stack.url()`` is the balancer. Tests that read a host's
  state directory or signal its processes are marked ``one_host`` and skipped there.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
DEVICEGATE_BIN = os.environ.get("DEVICEGATE_BIN") or str(REPO / ".build" / "debug" / "devicegate")
NGINX_BIN = os.environ.get("NGINX_BIN") or "/usr/sbin/nginx"

DEVICE_PATH = "/application/o/device/"
TOKEN_PATH = "/application/o/token/"
USERINFO_PATH = "/application/o/userinfo/"
INTROSPECT_PATH = "/application/o/introspect/"
REVOKE_PATH = "/application/o/revoke/"
#: Prefix of the nginx auth_request check; the rest of the path names the required scopes.
AUTH_CHECK_PREFIX = "/_devicegate/auth/"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
FORM = "application/x-www-form-urlencoded"
USER_CODE_RE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")

HTTP_TIMEOUT = (5, 15)       # (connect, read) seconds, for every request
CLI_TIMEOUT = 20             # seconds, for every devicegate CLI call
START_TIMEOUT = 15           # seconds for a stack to come up
#: device_code lifetime of the expiry stack; 60 s is the smallest the configuration allows.
EXPIRY_SECONDS = 60

TOPOLOGY = os.environ.get("DEVICEGATE_TEST_TOPOLOGY") or "one-host"
if TOPOLOGY not in ("one-host", "two-hosts"):
    raise RuntimeError(f"DEVICEGATE_TEST_TOPOLOGY={TOPOLOGY!r}: expected one-host or two-hosts")
TWO_HOSTS = TOPOLOGY == "two-hosts"
#: A libpq URI of a database the tests may create schemas in (deploy/test.sh starts one).
POSTGRES_URL = os.environ.get("DEVICEGATE_TEST_POSTGRES_URL") or None
#: The cluster's directory, for ``deploy/postgres-test-cluster.sh restart DIR``.
POSTGRES_DIR = os.environ.get("DEVICEGATE_TEST_POSTGRES_DIR") or None
POSTGRES_CLUSTER = REPO / "deploy" / "postgres-test-cluster.sh"
#: Development only, before the PostgreSQL backend exists: without a database URL, the two
#: hosts share host A's state directory (flock works on one machine), to try the topology.
SHARED_STATE_DIR = bool(os.environ.get("DEVICEGATE_TEST_TWO_HOSTS_SHARE_STATE_DIR"))


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bind port 0, read it back, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env() -> dict:
    """The environment for devicegate: no DEVICEGATE_* overrides leaking in from outside."""
    return {k: v for k, v in os.environ.items() if not k.startswith("DEVICEGATE_")}


def run_cli(*args, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """Runs the devicegate binary with a timeout; output captured as text."""
    return subprocess.run([DEVICEGATE_BIN, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=clean_env(), stdin=subprocess.DEVNULL)


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls ``predicate`` until it returns a truthy value; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def proc_stat(pid: int):
    """(state, ppid) of a process from /proc/PID/stat, or None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = data.rpartition(")")[2].split()
    return fields[0], int(fields[1])


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] != "Z"


def children(ppid: int) -> list[int]:
    """Live (non-zombie) child pids of ``ppid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = proc_stat(int(entry))
        if st is not None and st[1] == ppid and st[0] != "Z":
            out.append(int(entry))
    return out


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def assert_oauth_json(resp: requests.Response, status: int):
    """Status, JSON content type and the RFC 6749 caching header; returns the parsed body."""
    body_text = resp.text[:500]
    assert resp.status_code == status, f"expected HTTP {status}, got {resp.status_code}: {body_text}"
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/json", f"Content-Type {ctype!r}: {body_text}"
    assert "no-store" in resp.headers.get("Cache-Control", ""), \
        f"Cache-Control {resp.headers.get('Cache-Control')!r} on {resp.status_code}: {body_text}"
    try:
        return resp.json()
    except ValueError as exc:  # pragma: no cover - reported as a failure
        raise AssertionError(f"body is not JSON: {body_text!r}") from exc


def assert_oauth_error(resp: requests.Response, status: int, error: str) -> dict:
    """An RFC 6749 §5.2 error: given status and code, a non-empty error_description."""
    body = assert_oauth_json(resp, status)
    assert body.get("error") == error, f"expected error {error!r}, got {body}"
    assert isinstance(body.get("error_description"), str) and body["error_description"], body
    return body


# --------------------------------------------------------------------------- FastCGI


class FastCGIConnection:
    """A minimal FastCGI responder client, to talk to a worker without nginx in between
    (to hold a request open, or to exercise limits nginx would enforce first)."""

    BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7

    def __init__(self, socket_path: str, timeout: float = 15):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(socket_path)

    @staticmethod
    def _record(rtype: int, content: bytes, request_id: int = 1) -> bytes:
        out = b""
        # Content of one record is at most 65535 bytes.
        chunks = [content[i:i + 65535] for i in range(0, len(content), 65535)] or [b""]
        for chunk in chunks:
            pad = (8 - len(chunk) % 8) % 8
            out += struct.pack(">BBHHBB", 1, rtype, request_id, len(chunk), pad, 0) + chunk + b"\0" * pad
        return out

    @staticmethod
    def _length(n: int) -> bytes:
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)

    def begin(self, params: dict[str, str]):
        self.sock.sendall(self._record(self.BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)))
        self.begin_params_only(params)

    def begin_params_only(self, params: dict[str, str]):
        """The PARAMS stream (for a BEGIN_REQUEST already sent)."""
        blob = b""
        for k, v in params.items():
            kb, vb = k.encode(), v.encode()
            blob += self._length(len(kb)) + self._length(len(vb)) + kb + vb
        self.sock.sendall(self._record(self.PARAMS, blob) + self._record(self.PARAMS, b""))

    def send_stdin(self, data: bytes):
        if data:
            self.sock.sendall(self._record(self.STDIN, data))

    def finish_stdin(self):
        self.sock.sendall(self._record(self.STDIN, b""))

    def read_response(self) -> tuple[int, dict[str, str], bytes]:
        """Reads records until END_REQUEST; returns (status, headers, body)."""
        buf = b""
        stdout = b""

        def need(n):
            nonlocal buf
            while len(buf) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("FastCGI connection closed before END_REQUEST")
                buf += chunk

        while True:
            need(8)
            _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            need(8 + clen + plen)
            content = buf[8:8 + clen]
            buf = buf[8 + clen + plen:]
            if rtype == self.STDOUT:
                stdout += content
            elif rtype == self.END_REQUEST:
                break
        head, _, body = stdout.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(headers.get("status", "200").split()[0])
        return status, headers, body

    def close(self):
        self.sock.close()


def fastcgi_params(method: str, path: str, content_type: str | None = None,
                   content_length: int | None = None) -> dict[str, str]:
    params = {"REQUEST_METHOD": method, "DOCUMENT_URI": path, "QUERY_STRING": "",
              "REMOTE_ADDR": "127.0.0.1", "REQUEST_ID": "integration-test"}
    if content_type is not None:
        params["CONTENT_TYPE"] = content_type
    if content_length is not None:
        params["CONTENT_LENGTH"] = str(content_length)
    return params


# --------------------------------------------------------------------------- the stack


NGINX_CONF = """\
worker_processes 2;
daemon off;
master_process on;
pid {root}/nginx/nginx.pid;
error_log {root}/nginx/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/nginx/tmp/body;
    fastcgi_temp_path     {root}/nginx/tmp/fastcgi;
    proxy_temp_path       {root}/nginx/tmp/proxy;
    uwsgi_temp_path       {root}/nginx/tmp/uwsgi;
    scgi_temp_path        {root}/nginx/tmp/scgi;
    client_max_body_size    64k;
    client_body_buffer_size 64k;
    # For the repository's snippets (nginx/, linked as <nginx dir>/devicegate/), which
    # fastcgi_pass to the upstream named "devicegate".
    upstream devicegate {{
        server unix:{socket};
    }}
    # The shipped request limits (limit_req_zone), which the shipped snippets use. Only
    # locations that include those snippets are limited; the catch-all below is not, so the
    # heavy tests are unaffected. A test that needs higher limits through a snippet defines
    # the same zone names itself and sets ``shipped_limits=False``.
    {limits}
{http_extra}
    server {{
        listen 127.0.0.1:{port}{tls};
        server_name localhost;
{server_extra}
        location / {{
            fastcgi_pass unix:{socket};
            fastcgi_pass_request_headers off;
            fastcgi_param REQUEST_METHOD     $request_method;
            fastcgi_param DOCUMENT_URI       $document_uri;
            fastcgi_param QUERY_STRING       $query_string;
            fastcgi_param CONTENT_TYPE       $content_type;
            fastcgi_param CONTENT_LENGTH     $content_length;
            fastcgi_param REMOTE_ADDR        $remote_addr;
            fastcgi_param HTTP_AUTHORIZATION $http_authorization;
            fastcgi_param HTTP_COOKIE        $http_cookie;
            fastcgi_param HTTP_USER_AGENT    $http_user_agent;
            fastcgi_param HTTP_ACCEPT_LANGUAGE $http_accept_language;
            fastcgi_param REQUEST_ID         $request_id;
            fastcgi_next_upstream off;
            fastcgi_read_timeout 30s;
            # nginx's own 413 as an OAuth JSON error, as nginx/devicegate-locations.conf does.
            error_page 413 = @too_large;
        }}
{verification}
        location @too_large {{
            default_type application/json;
            add_header Cache-Control "no-store" always;
            return 413 '{{"error":"invalid_request","error_description":"request body too large"}}';
        }}
    }}
}}
"""


#: The users file that nginx/devicegate-verification-basic.conf names; tests substitute their own.
SHIPPED_USERS_FILE = "/etc/nginx/devicegate.htpasswd"

#: Every test request comes from 127.0.0.1: the per-address cap on pending flows (1,000 by
#: default) is lifted for the stacks, and test_flood.py replaces this block with its own.
HARNESS_ADMISSION = "\nadmission:\n  max_pending_per_address: 0\n"


#: The fastcgi_param lines of NGINX_CONF's catch-all location.
NGINX_PARAMS = [line.strip() for line in NGINX_CONF.splitlines() if line.strip().startswith("fastcgi_param ")]


#: The shipped locations (nginx/devicegate-locations.conf) and the embedded verification page
#: (nginx/devicegate-verification-embedded.conf), included in a server{} as
#: nginx/example-server.conf does; the https stacks use them.
SHIPPED_LOCATIONS = ("        include devicegate/devicegate-locations.conf;\n"
                     "        include devicegate/devicegate-verification-embedded.conf;\n")


class TestCA:
    """A certificate authority made for one test run with openssl, in ``directory``: its
    certificate (``ca_file``, what clients verify against) and a server certificate for
    127.0.0.1 (subjectAltName IP:127.0.0.1 and DNS:localhost) that nginx serves. The keys are
    0600 and never leave ``directory``. ECDSA P-256: quick to make."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        self.ca_key, self.ca_file = directory / "ca.key", directory / "ca.pem"
        self.server_key, self.server_cert = directory / "server.key", directory / "server.pem"
        extensions = directory / "server.ext"
        extensions.write_text("basicConstraints = critical, CA:FALSE\n"
                              "keyUsage = critical, digitalSignature\n"
                              "extendedKeyUsage = serverAuth\n"
                              "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                              "subjectKeyIdentifier = hash\n"
                              "authorityKeyIdentifier = keyid:always\n")
        old = os.umask(0o077)  # the keys are created 0600
        try:
            self._openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", self.ca_key, "-out", self.ca_file, "-days", "2", "-subj", "/CN=devicegate test CA",
                          "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign,cRLSign")
            csr = directory / "server.csr"
            self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", self.server_key, "-out", csr, "-subj", "/CN=127.0.0.1")
            self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", self.ca_key, "-CAcreateserial",
                          "-out", self.server_cert, "-days", "2", "-extfile", extensions)
        finally:
            os.umask(old)
        for key in (self.ca_key, self.server_key):
            os.chmod(key, 0o600)
        for public in (self.ca_file, self.server_cert):
            os.chmod(public, 0o644)

    @staticmethod
    def _openssl(*args):
        out = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        assert out.returncode == 0, f"openssl {args[0]} failed: {out.stderr.strip()[-800:]}"

    def nginx_listen(self) -> str:
        """What follows ``listen 127.0.0.1:PORT`` in a server{} for https with this CA's server
        certificate, with nginx/example-server.conf's TLS settings."""
        return (f" ssl;\n"
                f"        ssl_certificate     {self.server_cert};\n"
                f"        ssl_certificate_key {self.server_key};\n"
                f"        ssl_protocols       TLSv1.2 TLSv1.3;\n"
                f"        ssl_prefer_server_ciphers off;\n"
                f"        ssl_session_tickets off")


class HostStack:
    """One host: nginx + ``devicegate serve`` in a temporary directory.

    ``nginx_http`` and ``nginx_server`` are inserted into nginx's http{} and server{} blocks
    (before the catch-all ``location /``); ``{port2}`` in them becomes ``self.port2``, a second
    free port for an extra server (e.g. an upstream API), and ``{root}`` the stack's directory.
    The repository's ``nginx/`` directory is linked as ``devicegate/`` next to nginx.conf, so
    ``include devicegate/<file>;`` works.

    For the two-host topology: ``issuer`` replaces the host's own address in the demo config
    (the balancer's), ``storage`` is a YAML ``storage:`` block put in the config, ``like`` is
    another host whose configuration (clients, secrets, users file, transform) this one copies
    with its own state_dir and socket, and ``{root}`` in the nginx extras becomes
    ``shared_root`` (files the test reads, such as an upstream's access log, in one place).

    ``tls=True``: nginx serves https with a server certificate of a ``TestCA`` made in the
    stack's directory (``self.ca``; clients verify against ``self.ca.ca_file``, which
    ``self.verify`` names for requests), and the issuer is ``https://127.0.0.1:PORT/...``.
    The demo configuration then has production cookies (``__Host-``, Secure). On two hosts,
    the balancer serves https and the hosts behind it plain http (``tls_ca`` is the CA the
    hosts' own listeners would use: None there).
    """

    def __init__(self, workers: int = 4, transform=None, auth_basic_file: str | None = None,
                 nginx_http: str = "", nginx_server: str = "", shipped_limits: bool = True,
                 issuer: str | None = None, storage: str = "", like: HostStack | None = None,
                 shared_root: Path | None = None, tls: bool = False):
        if not os.access(DEVICEGATE_BIN, os.X_OK):
            pytest.fail(f"devicegate binary not found at {DEVICEGATE_BIN} (build it or set DEVICEGATE_BIN)")
        if not os.access(NGINX_BIN, os.X_OK):
            pytest.fail(f"nginx not found at {NGINX_BIN} (install nginx-light or set NGINX_BIN)")
        self.workers = workers
        #: when set, nginx guards the verification page with auth_basic and passes DEVICEGATE_REMOTE_USER
        #: (nginx/devicegate-verification-basic.conf), for web.sign_in: delegated.
        self.auth_basic_file = auth_basic_file
        # A short path: unix socket paths are limited to 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="dgit-"))
        # nginx's workers may run as "nobody": they must reach the socket (mode 0666).
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.socket_path = str(self.root / "devicegate.sock")
        self.state = self.root / "state"
        self.config = self.root / "devicegate.yaml"
        #: The CA of this host's https listener (``tls=True``), else None.
        self.ca = TestCA(self.root / "tls") if tls else None
        #: ``verify=`` for requests to ``self.url(...)``: the test CA's certificate, or True.
        self.verify = str(self.ca.ca_file) if self.ca else True
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.issuer = issuer or f"{self.base}/application/o/devicegate/"
        self.port2 = free_port()
        self.shared_root = shared_root
        self.nginx_http = nginx_http
        self.nginx_server = nginx_server
        self.shipped_limits = shipped_limits
        self.serve: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None
        self._local = threading.local()
        if like is not None:
            self._copy_config(like)
            return

        out = run_cli("demo-config", "--output", self.root, "--issuer", self.issuer,
                      "--listen", f"unix:{self.socket_path}", "--workers", workers)
        assert out.returncode == 0, f"demo-config failed: {out.stderr}"
        match = re.search(r"^demo-cli client_secret: (\S+)$", out.stdout, re.M)
        assert match, f"no client secret in demo-config output: {out.stdout!r}"
        self.cli_secret = match.group(1)
        match = re.search(r"^demo sign-in: username (\S+), password (\S+)$", out.stdout, re.M)
        assert match, f"no demo sign-in in demo-config output: {out.stdout!r}"
        self.demo_user, self.demo_password = match.group(1), match.group(2)
        assert f"config: {self.config}" in out.stdout, out.stdout
        # Before the client list, not at the end: tests append clients to the file's end
        # (test_lifecycle's reload), which would land inside an appended admission block.
        text = self.config.read_text()
        assert "\nclients:\n" in text, "demo config changed: no top-level clients list"
        self.config.write_text(text.replace("\nclients:\n", HARNESS_ADMISSION + storage + "clients:\n", 1))
        if transform is not None:
            self.config.write_text(transform(self.config.read_text()))

    def _copy_config(self, other: HostStack):
        """``other``'s configuration with this host's state_dir and socket: the same clients,
        secrets, users file and settings, as the hosts of one install share them."""
        text = other.config.read_text()
        for key, old, new in (("state_dir", other.state, self.state), ("listen", f"unix:{other.socket_path}", f"unix:{self.socket_path}")):
            line, replacement = f"{key}: {old}\n", f"{key}: {new}\n"
            assert text.count(line) == 1, f"{other.config} has no single {line!r}"
            text = text.replace(line, replacement)
        self.config.write_text(text)
        self.cli_secret = other.cli_secret
        self.demo_user, self.demo_password = other.demo_user, other.demo_password

    # ---- processes

    def start(self):
        self.start_devicegate()
        self.start_nginx()
        self.wait_ready()
        return self

    def start_devicegate(self):
        self.serve_log = open(self.root / "devicegate.log", "ab")
        self.serve = subprocess.Popen([DEVICEGATE_BIN, "serve", "-c", str(self.config)],
                                      stdin=subprocess.DEVNULL, stdout=self.serve_log, stderr=subprocess.STDOUT,
                                      env=clean_env())

    def start_nginx(self):
        for sub in ("nginx", "nginx/tmp"):
            (self.root / sub).mkdir(exist_ok=True)
            os.chmod(self.root / sub, 0o777 if sub.endswith("tmp") else 0o755)
        conf = self.root / "nginx" / "nginx.conf"
        link = self.root / "nginx" / "devicegate"
        if not link.is_symlink():
            link.symlink_to(REPO / "nginx")
        for attempt in range(3):
            def extra(text: str) -> str:  # not str.format: nginx blocks are full of braces
                return text.replace("{port2}", str(self.port2)).replace("{root}", str(self.shared_root or self.root))
            conf.write_text(NGINX_CONF.format(root=self.root, port=self.port, socket=self.socket_path,
                                              tls=self.ca.nginx_listen() if self.ca else "",
                                              limits="include devicegate/devicegate-limits.conf;" if self.shipped_limits else "",
                                              http_extra=extra(self.nginx_http), server_extra=extra(self.nginx_server),
                                              verification=self._verification_locations()))
            self.nginx_log = open(self.root / "nginx" / "stderr.log", "ab")
            self.nginx = subprocess.Popen([NGINX_BIN, "-p", str(self.root / "nginx") + "/", "-c", str(conf),
                                           "-e", str(self.root / "nginx" / "error.log")],
                                          stdin=subprocess.DEVNULL, stdout=self.nginx_log, stderr=subprocess.STDOUT)
            try:
                wait_until(lambda: self.nginx.poll() is not None or self._port_open(), 10, what="nginx to listen")
            except AssertionError:
                pass
            if self.nginx.poll() is None and self._port_open():
                return
            # Lost the race for the port (or another failure): try new ports once more.
            self._stop_nginx()
            self.port, self.port2 = free_port(), free_port()
        raise AssertionError(f"nginx did not start: {self.tail('nginx/error.log')} {self.tail('nginx/stderr.log')}")

    def _verification_locations(self) -> str:
        """The shipped nginx/devicegate-verification-basic.conf (auth_basic, then
        DEVICEGATE_REMOTE_USER), with its users file pointed at ``auth_basic_file``; or nothing
        (the catch-all location serves the page, and passes no user)."""
        if not self.auth_basic_file:
            return ""
        shipped = (REPO / "nginx" / "devicegate-verification-basic.conf").read_text()
        assert SHIPPED_USERS_FILE in shipped, "devicegate-verification-basic.conf no longer names its users file"
        copy = self.root / "nginx" / "verification-basic.conf"
        copy.write_text(shipped.replace(SHIPPED_USERS_FILE, self.auth_basic_file))
        return f"        include {copy};"

    def _port_open(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def wait_ready(self):
        def ready():
            if self.serve.poll() is not None:
                raise AssertionError(f"devicegate serve exited with {self.serve.returncode}: {self.tail('devicegate.log')}")
            if len(self.worker_pids()) != self.workers:
                return False
            try:
                r = requests.get(self.url("/integration-ready-probe"), timeout=HTTP_TIMEOUT, verify=self.verify)
            except requests.RequestException:
                return False
            return r.status_code == 404 and r.headers.get("Content-Type", "").startswith("application/json")
        wait_until(ready, START_TIMEOUT, interval=0.05, what=f"devicegate stack ({self.tail('devicegate.log')})")

    def worker_pids(self) -> set[int]:
        """The live worker processes of the supervisor."""
        if self.serve is None:
            return set()
        return {pid for pid in children(self.serve.pid) if "worker" in cmdline(pid)}

    def stop(self):
        leftover = self.worker_pids()
        if self.serve is not None and self.serve.poll() is None:
            self.serve.send_signal(signal.SIGTERM)
            try:
                self.serve.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.serve.kill()
                self.serve.wait(timeout=5)
        for pid in leftover:  # workers die with the supervisor (PDEATHSIG); make sure.
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._stop_nginx()
        for f in ("serve_log", "nginx_log"):
            if hasattr(self, f):
                getattr(self, f).close()

    def _stop_nginx(self):
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGTERM)
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait(timeout=5)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def tail(self, name: str, n: int = 2000) -> str:
        try:
            return (self.root / name).read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return ""

    # ---- HTTP

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def http(self) -> requests.Session:
        """A requests session per thread (sessions are not thread-safe)."""
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
            if self.ca is not None:
                # Verify against the test CA only: with trust_env, $REQUESTS_CA_BUNDLE would win
                # over ``verify`` (requests merges the environment in after the session).
                s.trust_env = False
                s.verify = self.verify
        return s

    def post(self, path: str, data=None, headers=None, **kw) -> requests.Response:
        """POST; a dict is sent as a form (with its Content-Type, even when empty)."""
        headers = dict(headers or {})
        if isinstance(data, dict):
            data = urllib.parse.urlencode(data)
            headers.setdefault("Content-Type", FORM)
        return self.http.post(self.url(path), data=data, headers=headers, timeout=HTTP_TIMEOUT, **kw)

    def device(self, client_id: str | None = "demo-tv", scope: str | None = None, auth: str | None = None,
               secret: str | None = None, **extra) -> requests.Response:
        """POST the device authorization endpoint (RFC 8628 §3.1)."""
        data = {}
        if client_id is not None:
            data["client_id"] = client_id
        if scope is not None:
            data["scope"] = scope
        if secret is not None:
            data["client_secret"] = secret
        data.update(extra)
        headers = {"Authorization": auth} if auth else None
        return self.post(DEVICE_PATH, data=data, headers=headers)

    def token(self, device_code: str, client_id: str | None = "demo-tv", auth: str | None = None,
              secret: str | None = None, grant_type: str = DEVICE_GRANT) -> requests.Response:
        """POST the token endpoint with the device_code grant (RFC 8628 §3.4)."""
        data = {"grant_type": grant_type, "device_code": device_code}
        if client_id is not None:
            data["client_id"] = client_id
        if secret is not None:
            data["client_secret"] = secret
        headers = {"Authorization": auth} if auth else None
        return self.post(TOKEN_PATH, data=data, headers=headers)

    def new_flow(self, **kw) -> dict:
        r = self.device(**kw)
        return assert_oauth_json(r, 200)

    @property
    def cli_basic(self) -> str:
        return basic_auth("demo-cli", self.cli_secret)

    # ---- tokens (issue 4: signed tokens, refresh, userinfo, introspection, revocation)

    def grant(self, scope: str | None = None, client_id: str = "demo-tv", subject: str = "alice",
              confidential: bool = False) -> dict:
        """A whole device flow (authorize, approve with the CLI, redeem); the token response.
        ``confidential`` authenticates demo-cli with HTTP Basic on both requests."""
        auth = self.cli_basic if confidential else None
        kw = {"client_id": None, "auth": auth} if confidential else {"client_id": client_id}
        flow = self.new_flow(scope=scope, **kw)
        approved = self.approve(flow["user_code"], subject=subject)
        assert approved.returncode == 0, approved.stderr
        return assert_oauth_json(self.token(flow["device_code"], **kw), 200)

    def refresh(self, refresh_token: str | None, client_id: str | None = "demo-tv", scope: str | None = None,
                auth: str | None = None, **extra) -> requests.Response:
        """POST the token endpoint with the refresh_token grant (RFC 6749 §6)."""
        data = {"grant_type": "refresh_token"}
        if refresh_token is not None:
            data["refresh_token"] = refresh_token
        if client_id is not None:
            data["client_id"] = client_id
        if scope is not None:
            data["scope"] = scope
        data.update(extra)
        return self.post(TOKEN_PATH, data=data, headers={"Authorization": auth} if auth else None)

    def userinfo(self, access_token: str | None, method: str = "GET") -> requests.Response:
        """OIDC Core §5.3 userinfo with ``Authorization: Bearer`` (none when the token is None)."""
        headers = {"Authorization": f"Bearer {access_token}"} if access_token is not None else {}
        return self.http.request(method, self.url(USERINFO_PATH), headers=headers, timeout=HTTP_TIMEOUT)

    def introspect(self, token: str | None, auth: str | None = "demo-cli", **extra) -> requests.Response:
        """RFC 7662 introspection; ``auth="demo-cli"`` means demo-cli with HTTP Basic."""
        data = {"token": token} if token is not None else {}
        data.update(extra)
        if auth == "demo-cli":
            auth = self.cli_basic
        return self.post(INTROSPECT_PATH, data=data, headers={"Authorization": auth} if auth else None)

    def revoke(self, token: str | None, client_id: str | None = "demo-tv", auth: str | None = None,
               **extra) -> requests.Response:
        """RFC 7009 revocation, by default as the public client demo-tv."""
        data = {"token": token} if token is not None else {}
        if client_id is not None:
            data["client_id"] = client_id
        data.update(extra)
        return self.post(REVOKE_PATH, data=data, headers={"Authorization": auth} if auth else None)

    def discovery(self) -> dict:
        """OIDC Discovery §4: ``{issuer}.well-known/openid-configuration``."""
        r = self.http.get(self.issuer + ".well-known/openid-configuration", timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        return r.json()

    def jwks(self) -> dict:
        """The JWK Set at the discovery document's ``jwks_uri``."""
        r = self.http.get(self.discovery()["jwks_uri"], timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, (r.status_code, r.text[:300])
        return r.json()

    def keys_cli(self, *args) -> subprocess.CompletedProcess:
        """``devicegate keys ARGS -c CONFIG``."""
        return run_cli("keys", *args, "-c", self.config)

    # ---- operator CLI

    def approve(self, user_code: str, subject: str = "alice") -> subprocess.CompletedProcess:
        return run_cli("approve", user_code, "--subject", subject, "-c", self.config)

    def deny(self, user_code: str) -> subprocess.CompletedProcess:
        return run_cli("deny", user_code, "-c", self.config)

    # ---- state directory

    def flow_path(self, device_code: str) -> Path:
        fid = sha256_hex(device_code)
        return self.state / "flows" / fid[:2] / f"{fid}.flow"

    def flow_status(self, device_code: str) -> str | None:
        try:
            text = self.flow_path(device_code).read_text()
        except FileNotFoundError:
            return None
        m = re.search(r"^status (\S+)$", text, re.M)
        return m.group(1) if m else None

    def token_path(self, access_token: str) -> Path:
        h = sha256_hex(access_token)
        return self.state / "tokens" / h[:2] / f"{h}.token"


# --------------------------------------------------------------------------- two hosts


BALANCER_CONF = """\
# One worker: its round-robin alternates strictly between the hosts, so consecutive requests
# of one flow land on different hosts (two workers would each keep their own turn).
worker_processes 1;
daemon off;
master_process on;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp/body;
    fastcgi_temp_path     {root}/tmp/fastcgi;
    proxy_temp_path       {root}/tmp/proxy;
    uwsgi_temp_path       {root}/tmp/uwsgi;
    scgi_temp_path        {root}/tmp/scgi;
    # The hosts' nginx decide what is too large (with their own JSON 413).
    client_max_body_size    1m;
    client_body_buffer_size 1m;
    upstream hosts {{
        server 127.0.0.1:{port_a};
        server 127.0.0.1:{port_b};
    }}
    server {{
        listen 127.0.0.1:{port}{tls};
        server_name localhost;
        location / {{
            proxy_pass http://hosts;
            proxy_set_header Host $http_host;
            # No retry on the other host: a request is answered by the host it reached.
            proxy_next_upstream off;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


def psql_binary() -> str:
    """psql from PATH or Debian's versioned directory."""
    found = shutil.which("psql")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"), reverse=True):
        return str(candidate)
    pytest.fail("psql not found (apt-get install postgresql-client)")


def psql(url: str, sql: str, timeout: float = 20) -> str:
    """Runs ``sql`` on ``url``; the rows as text, one per line, columns split by ``|``."""
    out = subprocess.run([psql_binary(), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                         capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                         env={k: v for k, v in os.environ.items() if not k.startswith("PG")})
    assert out.returncode == 0, f"psql failed on {sql!r}: {out.stderr.strip()}"
    return out.stdout.strip()


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``options=-csearch_path=SCHEMA`` (percent-encoded), as an install sets it."""
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


class PostgresCluster:
    """A throwaway PostgreSQL cluster of a test's own (deploy/postgres-test-cluster.sh), for a
    test that restarts it without cutting the connections of every other live stack."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="dgpg-"))
        out = subprocess.run(["bash", str(POSTGRES_CLUSTER), "start", str(self.dir)], capture_output=True, text=True,
                             timeout=120, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            self.stop()
            raise AssertionError(f"cannot start a PostgreSQL cluster: {out.stderr[-1000:]}")
        self.url = out.stdout.strip().splitlines()[-1]

    def restart(self, down_seconds: float = 0) -> subprocess.CompletedProcess:
        """Stops the cluster (connections cut), stays down ``down_seconds``, starts it again."""
        return subprocess.run(["bash", str(POSTGRES_CLUSTER), "restart", str(self.dir), str(down_seconds)],
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    def stop(self):
        subprocess.run(["bash", str(POSTGRES_CLUSTER), "stop", str(self.dir)], capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


class DatabaseRecord:
    """Stands for a record file in the two-host topology: ``exists()`` asks PostgreSQL."""

    def __init__(self, url: str, sql: str):
        self.url, self.sql = url, sql

    def exists(self) -> bool:
        return psql(self.url, self.sql) != ""


class Supervisors:
    """Both hosts' ``devicegate serve`` as one: ``poll()`` is None while both run."""

    def __init__(self, hosts):
        self.hosts = hosts

    def poll(self):
        for h in self.hosts:
            if h.serve is None:
                return -1
            code = h.serve.poll()
            if code is not None:
                return code
        return None


def _one_host_only(name: str):
    def refuse(self, *args, **kw):
        raise AssertionError(f"Stack.{name} reads one host's state directory or processes: "
                             "mark the test @pytest.mark.one_host")
    return refuse


class TwoHostStack(HostStack):
    """Two hosts sharing one PostgreSQL schema behind a round-robin nginx (the balancer).

    The HTTP helpers go through the balancer. CLI helpers (``approve``, ``deny``) alternate
    between the hosts' configurations; ``config`` is host B's, ``keys_cli`` runs on host A.
    ``hosts`` are the two ``HostStack``s, whose own ``url()`` reaches one host directly.
    ``flow_status`` and ``token_path(...).exists()`` read the shared database.
    """

    def __init__(self, workers: int = 4, transform=None, auth_basic_file: str | None = None,
                 nginx_http: str = "", nginx_server: str = "", shipped_limits: bool = True,
                 postgres_url: str | None = None, tls: bool = False):
        self.workers = workers
        self.root = None
        self.ca = None
        self.verify = True
        #: The cluster the schema is made on: the run's, or a test's own (``PostgresCluster``).
        self.postgres_url = postgres_url or POSTGRES_URL
        self.port = free_port()
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.issuer = f"{self.base}/application/o/devicegate/"
        self.balancer: subprocess.Popen | None = None
        self.tls = tls
        self._local = threading.local()
        self._turn = 0
        self._turn_lock = threading.Lock()
        self.schema = None
        self.db_url = None
        self.hosts = ()
        kw = dict(workers=workers, auth_basic_file=auth_basic_file, nginx_http=nginx_http,
                  nginx_server=nginx_server, shipped_limits=shipped_limits, issuer=self.issuer)
        try:
            if self.postgres_url is None and SHARED_STATE_DIR:
                a = HostStack(transform=transform, **kw)
                self.hosts = (a,)
                b = HostStack(like=a, shared_root=a.root, **kw)
                self.hosts = (a, b)
                b.config.write_text(b.config.read_text().replace(f"state_dir: {b.state}\n", f"state_dir: {a.state}\n"))
                b.state = a.state
            elif self.postgres_url is None:
                pytest.fail("DEVICEGATE_TEST_TOPOLOGY=two-hosts needs DEVICEGATE_TEST_POSTGRES_URL "
                            "(deploy/postgres-test-cluster.sh start DIR prints one)")
            else:
                self.schema = "t_" + os.urandom(8).hex()
                psql(self.postgres_url, f"CREATE SCHEMA {self.schema}")
                self.db_url = with_search_path(self.postgres_url, self.schema)
                storage = f'\nstorage:\n  backend: postgresql\n  url: "{self.db_url}"\n'
                a = HostStack(storage=storage, **kw)
                self.hosts = (a,)
                # The schema is migrated with the demo configuration as it is before the test's
                # transform: a test may make the configuration invalid on purpose.
                plain = a.root / "migrate.yaml"
                plain.write_text(a.config.read_text())
                migrated = run_cli("db", "migrate", "-c", plain)
                assert migrated.returncode == 0, f"devicegate db migrate failed: {migrated.stderr}{migrated.stdout}"
                if transform is not None:
                    a.config.write_text(transform(a.config.read_text()))
                b = HostStack(like=a, shared_root=a.root, **kw)
                self.hosts = (a, b)
        except BaseException:
            self.cleanup()
            raise
        self.a, self.b = a, b
        #: The test's own files (users file, upstream logs, configs) are host A's.
        self.root = a.root
        self.config = b.config
        if tls:
            # The balancer is what clients reach: it serves https with a CA in host A's directory.
            self.ca = TestCA(a.root / "tls")
            self.verify = str(self.ca.ca_file)
        self.cli_secret = a.cli_secret
        self.demo_user, self.demo_password = a.demo_user, a.demo_password
        self.balancer_root = a.root / "balancer"

    # ---- processes

    def start(self):
        for h in self.hosts:
            h.start_devicegate()
        for h in self.hosts:
            h.start_nginx()
        for h in self.hosts:
            h.wait_ready()
        self.start_balancer()
        self.wait_ready()
        return self

    def start_balancer(self):
        (self.balancer_root / "tmp").mkdir(parents=True, exist_ok=True)
        os.chmod(self.balancer_root / "tmp", 0o777)
        conf = self.balancer_root / "nginx.conf"
        for attempt in range(3):
            conf.write_text(BALANCER_CONF.format(root=self.balancer_root, port=self.port,
                                                 port_a=self.a.port, port_b=self.b.port,
                                                 tls=self.ca.nginx_listen() if self.ca else ""))
            self.balancer_log = open(self.balancer_root / "stderr.log", "ab")
            self.balancer = subprocess.Popen([NGINX_BIN, "-p", str(self.balancer_root) + "/", "-c", str(conf),
                                              "-e", str(self.balancer_root / "error.log")],
                                             stdin=subprocess.DEVNULL, stdout=self.balancer_log, stderr=subprocess.STDOUT)
            try:
                wait_until(lambda: self.balancer.poll() is not None or self._port_open(), 10, what="the balancer to listen")
            except AssertionError:
                pass
            if self.balancer.poll() is None and self._port_open():
                return
            self._stop_balancer()
            # The issuer names the balancer's port: a new port would not match it.
            time.sleep(0.5)
        raise AssertionError(f"balancer nginx did not start: {self.tail('balancer/error.log')}")

    def wait_ready(self):
        def ready():
            for h in self.hosts:
                if h.serve.poll() is not None:
                    raise AssertionError(f"devicegate serve exited with {h.serve.returncode}: {h.tail('devicegate.log')}")
            try:
                rs = [requests.get(self.url("/integration-ready-probe"), timeout=HTTP_TIMEOUT, verify=self.verify)
                      for _ in self.hosts]
            except requests.RequestException:
                return False
            return all(r.status_code == 404 and r.headers.get("Content-Type", "").startswith("application/json") for r in rs)
        wait_until(ready, START_TIMEOUT, interval=0.05, what="the balancer to reach both hosts")

    @property
    def serve(self):
        return Supervisors(self.hosts)

    def worker_pids(self) -> set[int]:
        """The live workers of both hosts."""
        return set().union(*(h.worker_pids() for h in self.hosts))

    def stop(self):
        self._stop_balancer()
        for h in self.hosts:
            h.stop()

    def _stop_balancer(self):
        if self.balancer is not None and self.balancer.poll() is None:
            self.balancer.send_signal(signal.SIGTERM)
            try:
                self.balancer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.balancer.kill()
                self.balancer.wait(timeout=5)
        if hasattr(self, "balancer_log"):
            self.balancer_log.close()

    def cleanup(self):
        try:
            self.stop()
        finally:
            for h in self.hosts:
                shutil.rmtree(h.root, ignore_errors=True)
            if self.schema is not None:
                try:
                    psql(self.postgres_url, f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
                except (AssertionError, subprocess.TimeoutExpired):
                    pass  # the cluster is thrown away at the end of the run anyway

    def tail(self, name: str, n: int = 2000) -> str:
        """``name`` of both hosts (``balancer/...`` of the balancer)."""
        if name.startswith("balancer/"):
            try:
                return (self.balancer_root / name.partition("/")[2]).read_text(errors="replace")[-n:]
            except FileNotFoundError:
                return ""
        return "".join(h.tail(name, n) + "\n" for h in self.hosts)

    # ---- CLI on one host or the other

    def cli_host(self) -> HostStack:
        """Host A, then B, then A...: a flow started through the balancer is decided on
        either host."""
        with self._turn_lock:
            self._turn += 1
            return self.hosts[self._turn % 2]

    def approve(self, user_code: str, subject: str = "alice") -> subprocess.CompletedProcess:
        return self.cli_host().approve(user_code, subject=subject)

    def deny(self, user_code: str) -> subprocess.CompletedProcess:
        return self.cli_host().deny(user_code)

    def keys_cli(self, *args) -> subprocess.CompletedProcess:
        return self.a.keys_cli(*args)

    # ---- the shared database instead of a state directory

    def flow_status(self, device_code: str) -> str | None:
        """The flow's status in PostgreSQL (``flows.id`` is SHA-256 hex of the device code)."""
        if self.db_url is None:
            return self.a.flow_status(device_code)
        return psql(self.db_url, f"SELECT status FROM flows WHERE id = '{sha256_hex(device_code)}'") or None

    def token_path(self, access_token: str) -> DatabaseRecord:
        if self.db_url is None:
            return self.a.token_path(access_token)
        return DatabaseRecord(self.db_url, f"SELECT 1 FROM access_tokens WHERE token_hash = '{sha256_hex(access_token)}'")

    @property
    def state(self) -> Path:
        """What tests read of a state directory, as the install holds it on two hosts, written
        afresh at each use: the signing keys (``keys/index``, ``keys/KID.pem``) from the
        shared database's ``signing_keys``, to craft tokens the server could have signed; and
        ``audit.jsonl``, both hosts' audit logs merged in time order, as an operator ships
        them to one place. Nothing else is in it."""
        if self.db_url is None:
            return self.a.state
        view = self.root / "database-view"
        view.mkdir(exist_ok=True)
        events = []
        for h in self.hosts:
            try:
                events += (h.state / "audit.jsonl").read_text().splitlines()
            except FileNotFoundError:
                pass
        events.sort(key=lambda line: json.loads(line).get("time", ""))
        (view / "audit.jsonl").write_text("".join(line + "\n" for line in events))
        keys = view / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        rows = psql(self.db_url, "SELECT kid, alg, created_ms, coalesce(retired_ms, 0) FROM signing_keys ORDER BY added_version")
        index = []
        for row in rows.splitlines():
            kid, alg, created, retired = row.split("|")
            assert re.fullmatch(r"[A-Za-z0-9_-]+", kid), kid
            pem = psql(self.db_url, f"SELECT pem FROM signing_keys WHERE kid = '{kid}'")
            (keys / f"{kid}.pem").write_text(pem + "\n")
            index.append(f"{kid} {alg} {created} {retired}\n")
        (keys / "index").write_text("".join(index))
        return view

    flow_path = _one_host_only("flow_path")
    start_devicegate = _one_host_only("start_devicegate")
    start_nginx = _one_host_only("start_nginx")
    _copy_config = _one_host_only("_copy_config")


class Stack(HostStack):
    """The topology the run selects: ``HostStack`` on one host, ``TwoHostStack`` on two."""

    def __new__(cls, *args, **kw):
        if TWO_HOSTS:
            return TwoHostStack(*args, **kw)
        return super().__new__(cls)


def run_threads(targets, timeout: float = 60):
    """Starts one thread per callable, joins with a timeout, re-raises the first exception."""
    errors = []

    def wrap(fn):
        def inner():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        return inner

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t for t in threads if t.is_alive()]
    if errors:
        raise errors[0]
    assert not alive, f"{len(alive)} threads still running after {timeout}s"


def check_state_files(state, expect_flows: int | None = None, max_temp: int = 0) -> tuple[int, int]:
    """Every flow record, user-code claim (a second name of a flow's first record) and token
    record is complete (first line the format, last line `end`), at most ``max_temp``
    temporary files are left behind (a worker SIGKILLed between writing its temp file and
    renaming it leaves one, for garbage collection to sweep; it is never read as a record),
    and no flow lock is held. Returns (flows, lock tables and files)."""
    flows = list(state.glob("flows/*/*.flow"))
    if expect_flows is not None:
        assert len(flows) == expect_flows, f"{len(flows)} flow files, expected {expect_flows}"
    for path in flows + list(state.glob("flows/*/*.code")):
        lines = path.read_bytes().split(b"\n")
        assert lines[0] == b"devicegate-flow 1" and lines[-2:] == [b"end", b""], \
            f"torn flow record {path}: {lines[:1]} ... {lines[-3:]}"
    for path in state.glob("tokens/*/*.token"):
        data = path.read_bytes()
        assert data.startswith(b"devicegate-token 1\n") and data.endswith(b"\nend\n"), f"torn token {path}"
    leftovers = [p for p in state.rglob(".tmp-*")]
    assert len(leftovers) <= max_temp, f"temporary files left behind: {leftovers[:5]}"
    # Flow locks are OFD byte-range locks on each shard's table (FlowLockTable); an earlier
    # version's per-flow lock files are flock-ed.
    tables = list(state.glob("flows/*/polls"))
    lock_files = list(state.glob("flows/*/*.lock"))
    locks = tables + lock_files
    whole = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    unlock = struct.pack("hhqqi4x", fcntl.F_UNLCK, os.SEEK_SET, 0, 0, 0)

    def held():
        out = []
        for path in locks:
            fd = os.open(path, os.O_RDWR)
            try:
                if path.name == "polls":
                    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, whole)
                    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, unlock)
                else:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(fd, fcntl.LOCK_UN)
            except (BlockingIOError, PermissionError):
                out.append(path)
            finally:
                os.close(fd)
        return out
    # A live worker may hold a lock for an instant (garbage collection); a dead one never.
    wait_until(lambda: not held(), 3, what="every flow lock to be free")
    return len(flows), len(locks)


# --------------------------------------------------------------------------- issue 13 clients


class InteropClients:
    """The clients ``interop_clients`` registers (issue 13): one of each kind that the client
    libraries and the authorization-code, client_credentials and per-client policy tests use.
    Secrets are drawn once per test run; the configuration holds only their SHA-256."""

    #: A confidential web app signing people in with the authorization code flow (Authlib).
    WEB_APP = "web-app"
    WEB_APP_SECRET = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    #: A public native app: device flow and authorization code with a loopback redirect (MSAL, oauthlib).
    NATIVE_APP = "native-app"
    #: A confidential service with client_credentials only.
    SERVICE = "api-service"
    SERVICE_SECRET = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    SERVICE_SCOPES = ("api.read", "api.write")
    #: A confidential device-flow client (oidc-agent's confidential run), refresh tokens always.
    CONFIDENTIAL_CLI = "agent-cli"
    CONFIDENTIAL_CLI_SECRET = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    #: A public device-flow client whose device code lives 60 s (lifetimes.device_code).
    BRIEF_TV = "brief-tv"
    BRIEF_DEVICE_CODE_SECONDS = EXPIRY_SECONDS
    #: The loopback redirect URI registered for the two authorization-code clients: any port
    #: matches (RFC 8252 §7.3).
    LOOPBACK_REDIRECT = "http://127.0.0.1/cb"
    #: The web app's https redirect URI, matched exactly (the open-redirect tests vary it).
    WEB_APP_HTTPS_REDIRECT = "https://app.example.com/cb"


def interop_clients(logout_port: int):
    """A config transform appending ``InteropClients`` to the demo configuration's clients
    (the list is the file's last block). The web app's post-logout redirect URI is matched
    exactly, port included: ``http://127.0.0.1:LOGOUT_PORT/logged-out``."""
    c = InteropClients

    def transform(text: str) -> str:
        assert text.rstrip().splitlines()[-1].startswith("    "), "demo config changed: clients are not the last block"
        return text.rstrip("\n") + f"""
  - client_id: {c.WEB_APP}
    name: Example Web App
    type: confidential
    secret_hash: sha256:{sha256_hex(c.WEB_APP_SECRET)}
    grant_types: [authorization_code, refresh_token]
    redirect_uris: ["{c.LOOPBACK_REDIRECT}", "{c.WEB_APP_HTTPS_REDIRECT}"]
    post_logout_redirect_uris: ["http://127.0.0.1:{logout_port}/logged-out"]
    allowed_scopes: [openid, profile, email, offline_access]
    default_scopes: [openid]
  - client_id: {c.NATIVE_APP}
    name: Example Native App
    type: public
    grant_types: [device_code, authorization_code, refresh_token]
    redirect_uris: ["{c.LOOPBACK_REDIRECT}"]
    allowed_scopes: [openid, profile, email, offline_access]
    default_scopes: [openid]
  - client_id: {c.SERVICE}
    name: Example API Service
    type: confidential
    secret_hash: sha256:{sha256_hex(c.SERVICE_SECRET)}
    grant_types: [client_credentials]
    allowed_scopes: [{", ".join(c.SERVICE_SCOPES)}]
    default_scopes: [{c.SERVICE_SCOPES[0]}]
  - client_id: {c.CONFIDENTIAL_CLI}
    name: Example Agent
    type: confidential
    secret_hash: sha256:{sha256_hex(c.CONFIDENTIAL_CLI_SECRET)}
    refresh_tokens: true
    allowed_scopes: [openid, profile, email, offline_access]
    default_scopes: [openid]
  - client_id: {c.BRIEF_TV}
    name: Brief TV
    type: public
    allowed_scopes: [openid]
    lifetimes:
      device_code: {c.BRIEF_DEVICE_CODE_SECONDS}
"""
    return transform


def roomy_shipped_limits() -> str:
    """nginx/devicegate-limits.conf with every rate at 1000 r/s: the same zone names, which the
    shipped locations use, for a stack whose whole session of tests comes from 127.0.0.1
    (the shipped 5 r/s of devicegate_verify would answer the security tests' pages 429)."""
    shipped = (REPO / "nginx" / "devicegate-limits.conf").read_text()
    roomy, count = re.subn(r"rate=\d+r/[sm]", "rate=1000r/s", shipped)
    assert count >= 3, "devicegate-limits.conf changed: no rate= found"
    return roomy


def tls_stack_options(logout_port: int) -> dict:
    """Keyword arguments of ``Stack`` for the https stack of the client tests: TLS with a test
    CA, the shipped locations and embedded verification snippets (with roomy request limits),
    the interop clients."""
    return dict(tls=True, nginx_server=SHIPPED_LOCATIONS, nginx_http=roomy_shipped_limits(), shipped_limits=False,
                transform=interop_clients(logout_port))
