"""Malformed and unexpected requests through nginx: always an RFC 6749 §5.2 JSON error with
Cache-Control: no-store, never a 5xx."""

import json

import pytest

from harness import (
    DEVICE_GRANT, DEVICE_PATH, FORM, HTTP_TIMEOUT, TOKEN_PATH, FastCGIConnection, assert_oauth_error,
    assert_oauth_json, fastcgi_params,
)


@pytest.mark.parametrize("path", [DEVICE_PATH, TOKEN_PATH])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_non_post_is_405_with_allow(stack, path, method):
    r = stack.http.request(method, stack.url(path), timeout=HTTP_TIMEOUT)
    assert_oauth_error(r, 405, "invalid_request")
    assert r.headers.get("Allow") == "POST", r.headers


@pytest.mark.parametrize("path", ["/", "/application/o/nothing/", "/application/o/devicex/", "/token"])
def test_unknown_path_is_404_json(stack, path):
    for r in (stack.http.get(stack.url(path), timeout=HTTP_TIMEOUT),
              stack.post(path, data={"client_id": "demo-tv"})):
        body = assert_oauth_json(r, 404)
        assert isinstance(body.get("error"), str) and body["error"], body
        assert isinstance(body.get("error_description"), str), body


@pytest.mark.parametrize("path", [DEVICE_PATH, TOKEN_PATH])
def test_body_over_64k_is_413_json_from_nginx(stack, path):
    body = "client_id=demo-tv&pad=" + "a" * (100 * 1024)
    r = stack.post(path, data=body, headers={"Content-Type": FORM})
    assert_oauth_error(r, 413, "invalid_request")
    # The stack still serves normally afterwards.
    assert_oauth_json(stack.device(), 200)


@pytest.mark.one_host("talks FastCGI to one host's socket")
@pytest.mark.parametrize("size", [65536 + 1, 100 * 1024])
def test_body_over_limit_is_413_json_from_worker(stack, size):
    # nginx enforces the same 64 KiB first; talk FastCGI to a worker directly so the
    # worker's own max_body_bytes check is exercised too.
    conn = FastCGIConnection(stack.socket_path)
    try:
        body = b"client_id=demo-tv&pad=" + b"a" * (size - 22)
        assert len(body) == size
        conn.begin(fastcgi_params("POST", DEVICE_PATH, FORM, len(body)))
        conn.send_stdin(body)
        conn.finish_stdin()
        status, headers, raw = conn.read_response()
    finally:
        conn.close()
    assert status == 413, (status, raw[:300])
    assert headers.get("content-type", "").startswith("application/json"), headers
    assert "no-store" in headers.get("cache-control", ""), headers
    doc = json.loads(raw)
    assert doc["error"] == "invalid_request" and doc["error_description"], doc


def test_body_at_limit_is_accepted(stack):
    # Exactly 64 KiB passes nginx and the worker; the padding parameter is ignored.
    prefix = "client_id=demo-tv&pad="
    body = prefix + "a" * (65536 - len(prefix))
    assert len(body) == 65536
    assert_oauth_json(stack.post(DEVICE_PATH, data=body, headers={"Content-Type": FORM}), 200)


@pytest.mark.parametrize("ctype", ["text/plain", "application/json", "multipart/form-data; boundary=x", None])
def test_wrong_content_type_is_invalid_request(stack, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    for path in (DEVICE_PATH, TOKEN_PATH):
        r = stack.post(path, data=b"client_id=demo-tv&grant_type=" + DEVICE_GRANT.encode(), headers=headers)
        assert_oauth_error(r, 400, "invalid_request")


def test_form_content_type_with_charset_is_accepted(stack):
    r = stack.post(DEVICE_PATH, data=b"client_id=demo-tv",
                   headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert_oauth_json(r, 200)


@pytest.mark.parametrize("raw", [
    "client_id=%zz",                      # bad percent-encoding
    "client_id=demo-tv%",                 # truncated percent-encoding
    "client_id=%ff",                      # invalid UTF-8
    "client_id=demo%C3",                  # truncated UTF-8 sequence
    "client_id=demo-tv&client_id=demo-tv",  # repeated parameter
    "client_id=demo-tv&scope=openid&scope=openid",
    "client_id=demo-tv&scope=openid&scopes=openid",  # both spellings at once
    "client_id=demo%00tv",                # NUL
    "scope=openid",                       # no client at all
])
def test_malformed_device_form_is_invalid_request(stack, raw):
    r = stack.post(DEVICE_PATH, data=raw.encode(), headers={"Content-Type": FORM})
    assert_oauth_error(r, 400, "invalid_request")


@pytest.mark.parametrize("raw", [
    "client_id=demo-tv&device_code=abc",                              # missing grant_type
    f"grant_type={DEVICE_GRANT}&client_id=demo-tv",                   # missing device_code
    f"grant_type={DEVICE_GRANT}&grant_type={DEVICE_GRANT}&client_id=demo-tv&device_code=x",
    f"grant_type={DEVICE_GRANT}&client_id=demo-tv&device_code=a&device_code=b",
    f"grant_type={DEVICE_GRANT}&client_id=demo-tv&device_code=%zz",
    f"grant_type={DEVICE_GRANT}&client_id=demo-tv&device_code=%ff%fe",
])
def test_malformed_token_form_is_invalid_request(stack, raw):
    r = stack.post(TOKEN_PATH, data=raw.encode(), headers={"Content-Type": FORM})
    assert_oauth_error(r, 400, "invalid_request")


@pytest.mark.parametrize("grant", ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_codeX",
                                   "urn:ietf:params:oauth:grant-type:jwt-bearer"])
def test_unsupported_grant_type(stack, grant):
    r = stack.post(TOKEN_PATH, data={"grant_type": grant, "client_id": "demo-tv", "device_code": "x"})
    assert_oauth_error(r, 400, "unsupported_grant_type")


@pytest.mark.parametrize("grant", ["authorization_code", "client_credentials"])
def test_grant_the_client_is_not_registered_for(stack, grant):
    # RFC 6749 §5.2: a grant the server supports but this client's grant_types does not list.
    r = stack.post(TOKEN_PATH, data={"grant_type": grant, "client_id": "demo-tv", "device_code": "x"})
    assert_oauth_error(r, 400, "unauthorized_client")


@pytest.mark.parametrize("code", ["", "x", "A" * 43, "../../../../etc/passwd", "0" * 64])
def test_unknown_device_code_is_invalid_grant_or_request(stack, code):
    r = stack.token(code)
    if code == "":
        assert_oauth_error(r, 400, "invalid_request")  # empty == omitted (RFC 6749 §3.1)
    else:
        assert_oauth_error(r, 400, "invalid_grant")


@pytest.mark.parametrize("scope", ["admin", "openid admin", "offline_access"])
def test_scope_not_allowed_is_invalid_scope(stack, scope):
    # demo-cli may not ask for offline_access (demo-tv may); nobody may ask for admin.
    r = stack.device(client_id=None, auth=stack.cli_basic, scope=scope)
    assert_oauth_error(r, 400, "invalid_scope")
    if "admin" in scope:
        assert_oauth_error(stack.device(client_id="demo-tv", scope=scope), 400, "invalid_scope")


def test_scope_with_invalid_characters_is_invalid_scope(stack):
    assert_oauth_error(stack.device(scope='openid "quoted"'), 400, "invalid_scope")
    assert_oauth_error(stack.device(scope="open\\id"), 400, "invalid_scope")


def _redeem(stack, flow, **kw):
    assert stack.approve(flow["user_code"]).returncode == 0
    return assert_oauth_json(stack.token(flow["device_code"], **kw), 200)


def test_omitted_scope_gets_client_default(stack):
    flow = stack.new_flow(client_id="demo-tv")
    assert _redeem(stack, flow)["scope"] == "openid"
    # An empty scope counts as omitted (RFC 6749 §3.1).
    flow = stack.new_flow(client_id="demo-tv", scope="")
    assert _redeem(stack, flow)["scope"] == "openid"


def test_scopes_spelling_and_space_runs(stack):
    # authentik's docs spell the parameter "scopes".
    r = stack.post(DEVICE_PATH, data={"client_id": "demo-tv", "scopes": "openid email"})
    flow = assert_oauth_json(r, 200)
    assert _redeem(stack, flow)["scope"] == "openid email"
    # Runs of spaces are tolerated; the granted scope is normalised.
    r = stack.post(DEVICE_PATH, data={"client_id": "demo-tv", "scope": "openid   profile"})
    flow = assert_oauth_json(r, 200)
    assert _redeem(stack, flow)["scope"] == "openid profile"


def test_client_id_via_query_string_is_not_accepted(stack):
    # Parameters belong in the form body, not the URL.
    r = stack.http.post(stack.url(DEVICE_PATH + "?client_id=demo-tv"), data={}, timeout=HTTP_TIMEOUT,
                        headers={"Content-Type": FORM})
    assert_oauth_error(r, 400, "invalid_request")


def test_garbage_never_gives_5xx(stack):
    samples = [
        b"", b"&&&&", b"=", b"==&==", b"a" * 5000, b"%", b"%%%%", b"\xff\xfe\xfd", b"client_id",
        b"client_id=&scope=", b"&" * 2000, b"x=1&" * 1000, b"client_id=demo-tv&" + b"k=v&" * 400,
        "client_id=\u00e9\u4e2d".encode(), b"client_id=demo-tv\r\n\r\nX: y",
    ]
    for path in (DEVICE_PATH, TOKEN_PATH):
        for body in samples:
            r = stack.post(path, data=body, headers={"Content-Type": FORM})
            assert r.status_code < 500, (path, body[:40], r.status_code, r.text[:200])
            doc = assert_oauth_json(r, r.status_code)
            if r.status_code != 200:
                assert doc.get("error") and doc.get("error_description"), doc
    for auth in ("Basic", "Basic !!!!", "Basic " + "QQ==" * 10, "Bearer x", "Basic Og==", "Basic ZGVtby1jbGk="):
        r = stack.device(client_id=None, auth=auth)
        assert r.status_code in (400, 401), (auth, r.status_code, r.text)
        assert_oauth_json(r, r.status_code)


def test_chunked_request_body(stack):
    # Transfer-Encoding: chunked; nginx buffers it and the worker reads the whole body.
    def small():
        yield b"client_id=demo-tv"
        yield b"&scope=openid+email"
    r = stack.http.post(stack.url(DEVICE_PATH), data=small(), headers={"Content-Type": FORM}, timeout=HTTP_TIMEOUT)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    flow = assert_oauth_json(r, 200)
    assert stack.approve(flow["user_code"]).returncode == 0
    assert assert_oauth_json(stack.token(flow["device_code"]), 200)["scope"] == "openid email"

    def big():
        for _ in range(100):
            yield b"a" * 1024
    r = stack.http.post(stack.url(DEVICE_PATH), data=big(), headers={"Content-Type": FORM}, timeout=HTTP_TIMEOUT)
    assert_oauth_error(r, 413, "invalid_request")
