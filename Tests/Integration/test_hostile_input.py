"""A corpus of hostile requests sent through nginx (and malformed FastCGI records sent to the
workers' socket directly): never a 5xx, never a hang, never a crashed worker, a JSON error
wherever devicegate answers, and a normal device authorization afterwards (issue 5, item 4).

The corpus runs against a private stack (module scope), so that a worker crash shows as a
changed worker pid, and its timing does not depend on other test files.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time

import pytest
import requests

from harness import (
    DEVICE_GRANT, DEVICE_PATH, FORM, HTTP_TIMEOUT, INTROSPECT_PATH, REVOKE_PATH, TOKEN_PATH,
    FastCGIConnection, Stack, assert_oauth_error, assert_oauth_json, fastcgi_params, wait_until,
)

OAUTH_POST_PATHS = [DEVICE_PATH, TOKEN_PATH, INTROSPECT_PATH, REVOKE_PATH]
#: Status codes nginx itself answers malformed HTTP with (400 Bad Request, 411 Length
#: Required, 413, 414 URI Too Long, 431/494 header too large).
NGINX_REJECTS = {400, 411, 413, 414, 431, 494}


@pytest.fixture(scope="module")
def hostile():
    s = Stack(workers=4)
    try:
        s.start()
        s.initial_workers = s.worker_pids()
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def gate(hostile):
    """The hostile stack; afterwards, no worker has died and a normal flow still starts."""
    yield hostile
    assert_oauth_json(hostile.device(), 200)
    assert hostile.serve.poll() is None, "the supervisor died"
    assert hostile.worker_pids() == hostile.initial_workers, \
        f"a worker died or was replaced: {hostile.initial_workers} -> {hostile.worker_pids()}\n" \
        f"{hostile.tail('devicegate.log')}"


def assert_devicegate_error(r: requests.Response, allowed=(400, 401, 405, 413)) -> dict:
    """A JSON OAuth error from devicegate with one of the allowed statuses (never 5xx)."""
    assert r.status_code < 500, f"HTTP {r.status_code}: {r.text[:300]}"
    assert r.status_code in allowed, f"HTTP {r.status_code}: {r.text[:300]}"
    body = assert_oauth_json(r, r.status_code)
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("error_description"), str), body
    return body


def assert_json_answer(r: requests.Response) -> dict:
    """Either a normal 200 JSON answer or a JSON OAuth error; never 5xx."""
    if r.status_code == 200:
        return assert_oauth_json(r, 200)
    return assert_devicegate_error(r)


# --------------------------------------------------------------------------- raw HTTP


def raw_http(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Sends raw bytes to nginx and reads until the server closes (Connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass    # nginx may answer and close before reading an oversized request
        return _read_all(sock)


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        out += chunk
    return out


def parse_http(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines and lines[0].startswith("HTTP/1."), f"no HTTP response: {raw[:200]!r}"
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        decoded, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            decoded += rest[:size]
            rest = rest[size + 2:]
        body = decoded
    return status, headers, body


def form_request(path: str, body: bytes, extra: str = "", content_length: int | None = None,
                 content_type: str = FORM) -> bytes:
    length = len(body) if content_length is None else content_length
    head = (f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n{extra}Connection: close\r\n\r\n")
    return head.encode() + body


def assert_raw_json_error(raw: bytes, allowed=(400, 401, 405, 413)) -> dict:
    status, headers, body = parse_http(raw)
    assert status < 500 and status in allowed, f"HTTP {status}: {raw[:400]!r}"
    assert headers.get("content-type", "").split(";")[0] == "application/json", raw[:400]
    doc = json.loads(body)
    assert doc.get("error"), doc
    return doc


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize("size", [9 * 1024, 40 * 1024, 200 * 1024])
def test_huge_header_is_rejected_by_nginx_not_5xx(gate, size):
    # Larger than nginx's large_client_header_buffers (4 x 8k): nginx refuses it itself.
    try:
        r = requests.post(gate.url(DEVICE_PATH), data={"client_id": "demo-tv"},
                          headers={"X-Huge": "a" * size}, timeout=HTTP_TIMEOUT)
    except requests.ConnectionError:
        # nginx may close the connection on an oversized request before reading it all;
        # the gate fixture still checks that no worker died and the stack serves.
        assert size > 32 * 1024
        return
    assert r.status_code in NGINX_REJECTS, (r.status_code, r.text[:200])


def test_huge_authorization_and_cookie_headers_reach_devicegate(gate):
    # Just under nginx's 8k line limit: devicegate itself must refuse them cleanly.
    for value in ("Basic " + "Q" * 7000, "Basic " + "%ff\x7f" * 1500, "Basic " + "QQ==" * 1700):
        r = gate.post(DEVICE_PATH, data={"client_id": "demo-tv"}, headers={"Authorization": value})
        assert_devicegate_error(r, allowed=(400, 401))
        r = gate.post(TOKEN_PATH, data={"grant_type": DEVICE_GRANT, "device_code": "x"}, headers={"Authorization": value})
        assert_devicegate_error(r, allowed=(400, 401))
    # A Bearer header is no client authentication: ignored, the public client_id counts.
    r = gate.post(DEVICE_PATH, data={"client_id": "demo-tv"}, headers={"Authorization": "Bearer " + "x" * 7000})
    assert_oauth_json(r, 200)
    r = gate.post(DEVICE_PATH, data={"client_id": "demo-tv"}, headers={"Cookie": "c=" + "z" * 7000})
    assert_oauth_json(r, 200)


def test_thousands_of_headers(gate):
    extra = "".join(f"X-H{i}: {i}\r\n" for i in range(3000))   # ~40 KiB of headers
    raw = raw_http(gate.port, form_request(DEVICE_PATH, b"client_id=demo-tv", extra=extra))
    status, _, _ = parse_http(raw)
    assert status in NGINX_REJECTS | {200}, raw[:300]
    extra = "".join(f"X-H{i}: {i}\r\n" for i in range(300))    # within nginx's limits
    raw = raw_http(gate.port, form_request(DEVICE_PATH, b"client_id=demo-tv", extra=extra))
    status, headers, body = parse_http(raw)
    assert status == 200, raw[:300]
    assert "device_code" in json.loads(body)


# --------------------------------------------------------------------------- bodies


def test_chunked_body_in_tiny_chunks(gate):
    # Transfer-Encoding: chunked, one byte per chunk, with a chunk extension: a normal answer.
    body = b"client_id=demo-tv&scope=openid+profile"
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (1, body[i:i + 1]) for i in range(len(body))) + b"0\r\n\r\n"
    req = (f"POST {DEVICE_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {FORM}\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode() + chunks
    status, headers, raw_body = parse_http(raw_http(gate.port, req))
    assert status == 200, raw_body[:300]
    flow = json.loads(raw_body)
    assert gate.approve(flow["user_code"]).returncode == 0
    assert assert_oauth_json(gate.token(flow["device_code"]), 200)["scope"] == "openid profile"


def test_chunked_body_with_bad_chunk_sizes(gate):
    for chunks in (b"zz\r\nclient_id=demo-tv\r\n0\r\n\r\n",          # not hex
                   b"ffffffffffffffffff\r\nclient_id\r\n0\r\n\r\n",  # overflowing size
                   b"5\r\nclient_id=demo-tv\r\n0\r\n\r\n"):          # chunk longer than declared
        req = (f"POST {DEVICE_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {FORM}\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode() + chunks
        raw = raw_http(gate.port, req)
        status, _, _ = parse_http(raw)
        assert status in NGINX_REJECTS | {401}, raw[:300]


@pytest.mark.parametrize("body", [
    b"client_id=demo-tv\x00&scope=openid",
    b"\x00\x00\x00\x00",
    b"client_id=demo-tv&scope=open\x00id",
    b"client_id=\x00demo-tv",
    b"client_id=demo-tv&\x00=\x00",
], ids=["nul-after-value", "only-nuls", "nul-in-scope", "nul-before-value", "nul-param"])
def test_nul_bytes_in_body(gate, body):
    for path in (DEVICE_PATH, TOKEN_PATH):
        r = gate.post(path, data=body, headers={"Content-Type": FORM})
        # A raw NUL is not valid form encoding: refused; never a 5xx or a crash.
        assert_devicegate_error(r, allowed=(400, 401))


@pytest.mark.parametrize("name", ["client_id", "scope", "device_code", "grant_type", "client_secret"])
def test_overlong_parameter_value(gate, name):
    value = "a" * (60 * 1024)
    base = {"client_id": "demo-tv", "grant_type": DEVICE_GRANT, "device_code": "x"}
    base[name] = value
    for path in (DEVICE_PATH, TOKEN_PATH):
        r = gate.post(path, data=base)
        if path == DEVICE_PATH and name in ("device_code", "grant_type"):
            assert_oauth_json(r, 200)   # parameters the endpoint does not use are ignored
        else:
            assert_devicegate_error(r, allowed=(400, 401))


@pytest.mark.parametrize("kind", ["distinct", "same-name", "empty"])
def test_ten_thousand_parameters(gate, kind):
    if kind == "distinct":
        pad = "&".join(f"{i:x}=" for i in range(10_000))
    elif kind == "same-name":
        pad = "&".join("x=1" for _ in range(10_000))
    else:
        pad = "&" * 10_000
    body = ("client_id=demo-tv&" + pad).encode()
    assert len(body) <= 65536
    t0 = time.monotonic()
    r = gate.post(DEVICE_PATH, data=body, headers={"Content-Type": FORM})
    assert time.monotonic() - t0 < 5, "10,000 parameters took too long"
    assert_json_answer(r)
    # Repeating a parameter that matters ten thousand times is refused (RFC 6749 §3.1).
    body = "&".join("client_id=demo-tv" for _ in range(3000)).encode()
    assert_devicegate_error(gate.post(DEVICE_PATH, data=body, headers={"Content-Type": FORM}), allowed=(400,))


@pytest.mark.parametrize("body", [
    b"client_id=\xff\xfe\xfd", b"client_id=demo-tv&scope=\xc3\x28", b"\xed\xa0\x80=1&client_id=demo-tv",
    b"client_id=demo-tv&scope=%ED%A0%80", b"client_id=%C0%AF", b"client_id=demo-tv&scope=%F4%90%80%80",
    b"client_id=%E2%82", b"\xf0\x9f\x92\xa9=\xf0\x9f\x92\xa9",
], ids=["raw-ff", "raw-bad-2byte", "raw-surrogate-name", "pct-surrogate", "pct-overlong", "pct-beyond-10ffff",
        "pct-truncated", "raw-emoji"])
def test_invalid_utf8(gate, body):
    for path in (DEVICE_PATH, TOKEN_PATH):
        assert_devicegate_error(gate.post(path, data=body, headers={"Content-Type": FORM}), allowed=(400, 401))


@pytest.mark.parametrize("body", [
    b"%", b"%%", b"%%%%%%%%", b"client_id=%", b"client_id=%2", b"client_id=%g0", b"client_id=%%64emo-tv",
    b"client_id=demo-tv%", b"%=%", b"client_id=%u0064emo-tv", b"client%5Fid=demo-tv%00", b"+++=+++",
    b"client_id=demo-tv&scope=" + b"%" * 5000, b"=%20" * 2000,
], ids=lambda b: repr(b[:24]))
def test_percent_garbage(gate, body):
    for path in (DEVICE_PATH, TOKEN_PATH):
        assert_devicegate_error(gate.post(path, data=body, headers={"Content-Type": FORM}), allowed=(400, 401))


@pytest.mark.parametrize("path", [
    "/application/o/device/%ff%fe", "/application/o/device/%00", "/application/o/%2e%2e/device/",
    "/application/o/device/?client_id=%ff", "/application/o/" + "%41" * 2000 + "/", "/%c0%ae%c0%ae/etc/passwd",
])
def test_garbage_in_the_url(gate, path):
    r = gate.http.post(gate.url(path), data=b"client_id=demo-tv", headers={"Content-Type": FORM},
                       timeout=HTTP_TIMEOUT)
    if r.status_code in NGINX_REJECTS and not r.headers.get("Content-Type", "").startswith("application/json"):
        return  # nginx refused the URL itself
    assert_json_answer(r) if r.status_code == 200 else assert_devicegate_error(r, allowed=(400, 401, 404))


# --------------------------------------------------------------------------- timing


def test_slow_sender_is_answered_and_does_not_block_others(gate):
    """Headers and body sent one byte at a time over ~2 s on a raw socket: the answer arrives,
    and other clients are served meanwhile."""
    req = form_request(DEVICE_PATH, b"client_id=demo-tv&scope=openid")
    delay = 2.0 / len(req)
    result = {}

    def slow():
        with socket.create_connection(("127.0.0.1", gate.port), timeout=15) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(req)):
                sock.sendall(req[i:i + 1])
                time.sleep(delay)
            result["sent"] = time.monotonic()
            result["raw"] = _read_all(sock)
            result["done"] = time.monotonic()

    t = threading.Thread(target=slow, daemon=True)
    started = time.monotonic()
    t.start()
    served = []     # (duration, finished at)
    session = requests.Session()
    while t.is_alive() and time.monotonic() - started < 1.8:
        t0 = time.monotonic()
        r = session.post(gate.url(DEVICE_PATH), data={"client_id": "demo-tv"}, timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, r.text[:200]
        served.append((time.monotonic() - t0, time.monotonic()))
        time.sleep(0.05)
    t.join(15)
    assert not t.is_alive(), "the slow request hung"
    assert result["sent"] - started >= 1.5, "the request was not actually sent slowly"
    assert result["done"] - result["sent"] < 5, "the answer was slow after the last byte"
    status, _, body = parse_http(result["raw"])
    assert status == 200, result["raw"][:300]
    assert "user_code" in json.loads(body)
    meanwhile = [d for d, end in served if end < result["sent"]]
    assert len(meanwhile) >= 3, f"only {len(meanwhile)} other requests served during the slow one"
    assert max(meanwhile) < 3.0, f"other requests waited for the slow one: {max(meanwhile):.2f}s"


def test_body_shorter_than_content_length(gate):
    """The client promises 1000 bytes, sends 20, then (a) waits while others are served, and
    (b) closes. Nothing is stuck afterwards."""
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", gate.port), timeout=10)
        try:
            sock.sendall(form_request(DEVICE_PATH, b"client_id=demo-tv&sc", content_length=1000))
            # Meanwhile, other clients are served promptly.
            for _ in range(5):
                t0 = time.monotonic()
                assert_oauth_json(gate.device(), 200)
                assert time.monotonic() - t0 < 3.0, "a half-sent request held up another client"
        finally:
            sock.close()
    # And one that closes its write side but waits for an answer: nginx gives up on it (400)
    # without involving devicegate, or answers nothing at all.
    with socket.create_connection(("127.0.0.1", gate.port), timeout=10) as sock:
        sock.sendall(form_request(TOKEN_PATH, b"grant_type=x", content_length=500))
        sock.shutdown(socket.SHUT_WR)
        raw = _read_all(sock)
    if raw:
        status, _, _ = parse_http(raw)
        assert status in NGINX_REJECTS, raw[:300]


def test_content_length_mismatch_and_garbage(gate):
    for req in (
        form_request(DEVICE_PATH, b"client_id=demo-tv", content_length=-1),
        form_request(DEVICE_PATH, b"client_id=demo-tv", content_length=2 ** 64),
        form_request(DEVICE_PATH, b"client_id=demo-tv", extra="Content-Length: 3\r\n"),   # two lengths
        form_request(DEVICE_PATH, b"client_id=demo-tv", extra="Transfer-Encoding: chunked\r\n"),  # both
    ):
        raw = raw_http(gate.port, req)
        status, _, _ = parse_http(raw)
        assert status in NGINX_REJECTS, raw[:300]
    # A Content-Length shorter than the body: devicegate sees the prefix only.
    raw = raw_http(gate.port, form_request(DEVICE_PATH, b"client_id=demo-tvXYZ", content_length=17))
    status, _, body = parse_http(raw)
    assert status == 200, raw[:300]


# --------------------------------------------------------------------------- methods, types


@pytest.mark.parametrize("method", ["HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "GET"])
@pytest.mark.parametrize("path", OAUTH_POST_PATHS)
def test_other_methods_are_405_with_allow(gate, path, method):
    r = gate.http.request(method, gate.url(path), data=b"client_id=demo-tv", headers={"Content-Type": FORM},
                          timeout=HTTP_TIMEOUT)
    assert r.status_code == 405, (r.status_code, r.text[:200])
    assert r.headers.get("Allow") == "POST", r.headers
    assert "no-store" in r.headers.get("Cache-Control", "")
    if method != "HEAD":
        assert_oauth_error(r, 405, "invalid_request")


def test_get_with_body(gate):
    for path in (DEVICE_PATH, TOKEN_PATH):
        r = gate.http.request("GET", gate.url(path), data=f"client_id=demo-tv&grant_type={DEVICE_GRANT}",
                              headers={"Content-Type": FORM}, timeout=HTTP_TIMEOUT)
        assert_oauth_error(r, 405, "invalid_request")
        assert r.headers.get("Allow") == "POST"


def test_unknown_method_token(gate):
    for method in ("FOO", "PROPFIND", "BREW"):
        raw = raw_http(gate.port, form_request(DEVICE_PATH, b"client_id=demo-tv").replace(b"POST", method.encode(), 1))
        status, headers, body = parse_http(raw)
        if status in NGINX_REJECTS:
            continue
        assert status == 405 and headers.get("allow") == "POST", raw[:300]


@pytest.mark.parametrize("ctype", [
    "application/x-www-form-urlencoded; charset=ebcdic",
    "application/x-www-form-urlencodedXYZ",
    "APPLICATION/X-WWW-FORM-URLENCODED",
    ";;;;;;",
    "application/x-www-form-urlencoded; " + "a=b; " * 1000,
    "x" * 6000,
    "multipart/form-data; boundary=" + "-" * 500,
    "text/html\u00e9",
    "application/x-www-form-urlencoded\t; boundary=\"\\\"",
    "*/*",
])
def test_absurd_content_type(gate, ctype):
    for path in (DEVICE_PATH, TOKEN_PATH):
        r = gate.http.post(gate.url(path), data=b"client_id=demo-tv", timeout=HTTP_TIMEOUT,
                           headers={"Content-Type": ctype.encode("utf-8")})
        assert_json_answer(r)


# --------------------------------------------------------------------------- raw FastCGI


def _fcgi_header(version: int, rtype: int, request_id: int, clen: int, plen: int = 0) -> bytes:
    return struct.pack(">BBHHBB", version, rtype, request_id, clen, plen, 0)


def _begin(version: int = 1, role: int = 1, request_id: int = 1) -> bytes:
    return _fcgi_header(version, 1, request_id, 8) + struct.pack(">HB5x", role, 0)


def _params_blob(pairs) -> bytes:
    out = b""
    for k, v in pairs:
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
        out += k + v
    return out


def _params_record(blob: bytes) -> bytes:
    return _fcgi_header(1, 4, 1, len(blob), (8 - len(blob) % 8) % 8) + blob + b"\0" * ((8 - len(blob) % 8) % 8)


_GOOD_PARAMS = _params_blob([(k.encode(), v.encode()) for k, v in
                             fastcgi_params("POST", DEVICE_PATH, FORM, 17).items()])

MALFORMED_FASTCGI = {
    "truncated-header": b"\x01\x01\x00",
    "wrong-version": _begin(version=2) + _params_record(_GOOD_PARAMS) + _params_record(b""),
    "version-zero-garbage": b"\x00" * 64,
    "unknown-role": _begin(role=99) + _params_record(b""),
    "huge-name-length": _begin() + _params_record(struct.pack(">II", 0xFFFFFFFF, 0x80000001) + b"AB"),
    "huge-value-length": _begin() + _params_record(b"\x04" + struct.pack(">I", 0xFFFFFFF0) + b"NAME" + b"v" * 16),
    "length-past-record": _begin() + _params_record(b"\x7f\x7f" + b"x" * 10) + _params_record(b""),
    "record-longer-than-sent": _begin() + _fcgi_header(1, 4, 1, 65535, 255) + b"x" * 100,
    "params-without-begin": _params_record(_GOOD_PARAMS) + _params_record(b""),
    "stdin-before-params": _begin() + _fcgi_header(1, 5, 1, 8) + b"client_i",
    "request-id-zero": _begin(request_id=0) + _params_record(b""),
    "unknown-record-type": _fcgi_header(1, 200, 1, 8) + b"12345678" + _begin() + _params_record(b""),
    "random-bytes": bytes((i * 131 + 7) % 256 for i in range(4096)),
    "http-on-fastcgi-socket": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "body-longer-than-content-length": _begin() + _params_record(_GOOD_PARAMS) + _params_record(b"")
    + _fcgi_header(1, 5, 1, 4000) + b"client_id=demo-tv" + b"A" * 3983 + _fcgi_header(1, 5, 1, 0),
}


@pytest.mark.one_host("talks FastCGI to one host's socket")
def test_malformed_fastcgi_records(make_stack):
    """Malformed records straight to the workers' socket: each worker either survives or is
    restarted by the supervisor, and requests through nginx keep succeeding."""
    s = make_stack(workers=2)
    replaced = {}
    for name, data in MALFORMED_FASTCGI.items():
        before = s.worker_pids()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(2)
        try:
            sock.connect(s.socket_path)
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            try:
                while sock.recv(65536):
                    pass
            except (socket.timeout, ConnectionResetError):
                pass
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            sock.close()
        wait_until(lambda: len(s.worker_pids()) == 2, 10, what=f"worker count after {name}")
        replaced[name] = len(before - s.worker_pids())
        assert s.serve.poll() is None, f"supervisor died after {name}"

        # Requests keep succeeding (through nginx, and a well-formed FastCGI request directly).
        def ok():
            r = s.device()
            return r.status_code == 200
        wait_until(ok, 10, interval=0.1, what=f"a device authorization after {name}")
        for _ in range(4):
            assert_oauth_json(s.device(), 200)
        conn = FastCGIConnection(s.socket_path, timeout=5)
        try:
            conn.begin(fastcgi_params("POST", DEVICE_PATH, FORM, 17))
            conn.send_stdin(b"client_id=demo-tv")
            conn.finish_stdin()
            status, headers, body = conn.read_response()
        finally:
            conn.close()
        assert status == 200, (name, status, body[:200])
    print(f"\nmalformed FastCGI: workers replaced per input: {replaced}")
