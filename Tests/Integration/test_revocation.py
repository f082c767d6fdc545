"""Gateway audience and scopes (issue 10 item 8), revocation that follows people and stolen
codes (item 9), through nginx and the shipped gateway snippet, with several workers.

"Every worker" is exercised as the other gateway tests do: nginx opens a new FastCGI connection
per check (fastcgi_keep_conn off), so a dozen checks land on the workers the kernel picks,
after each worker has had the chance to cache the verified token.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import requests

from harness import DEVICEGATE_BIN, HTTP_TIMEOUT, Stack, assert_oauth_error, assert_oauth_json
from test_tokens import PROTECTED, _api, _upstream_log, assert_bearer_refusal, craft, gateway_stack

TRIES = 12
API_AUD = "https://api.example.test"
ORDERS_AUD = "https://orders.example.test"

_LOCATION = PROTECTED.replace("auth_request     /_devicegate/auth/{scopes};", "auth_request     {request};")
assert _LOCATION != PROTECTED, "test_tokens.PROTECTED changed"

SERVER = """
        include devicegate/devicegate-gateway.conf;
""" + "".join(_LOCATION.format(path=p, request=r) for p, r in [
    ("/api/read/", "/_devicegate/auth/api.read"),
    ("/orders/", f"'/_devicegate/auth/\"{ORDERS_AUD}\" openid'"),
    ("/default-aud/", f"/_devicegate/auth/%22{API_AUD}%22%20openid"),
    ("/partner/", "/_devicegate/auth/partner%2Bread"),
    ("/ambiguous/", "/_devicegate/auth/partner+read"),
    ("/any/", "/_devicegate/auth/"),
])


def _config(text: str) -> str:
    for old, new in [
        ("    allowed_scopes: [openid, profile, email, offline_access]\n",
         "    allowed_scopes: [openid, profile, email, offline_access, api.read]\n"),
        ("tokens:\n", f"tokens:\n  audience: {API_AUD}\n"),
    ]:
        assert old in text, f"demo config changed: {old!r} not found"
        text = text.replace(old, new, 1)
    return text


@pytest.fixture(scope="module")
def rv():
    yield from gateway_stack(workers=4, server=SERVER, transform=_config)


def audit(stack: Stack) -> list[dict]:
    path = stack.state / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def accepted_everywhere(stack: Stack, path: str, token: str):
    for _ in range(TRIES):
        r = _api(stack, path, token)
        assert r.status_code == 200, (r.status_code, r.text[:200])


def refused_everywhere(stack: Stack, path: str, token: str):
    for _ in range(TRIES):
        r = _api(stack, path, token)
        assert_bearer_refusal(r, 401, "invalid_token")
        assert r.json()["error"] == "invalid_token"


# ============================================================================ item 8


def test_a_token_for_another_audience_is_refused(rv):
    other = craft(rv, {"aud": "https://other.example.test", "scope": "openid api.read"})
    refused_everywhere(rv, "/api/read/x", other)
    listed = craft(rv, {"aud": ["https://other.example.test", API_AUD], "scope": "openid api.read"})
    accepted_everywhere(rv, "/api/read/x", listed)
    own = rv.grant("openid api.read")["access_token"]
    accepted_everywhere(rv, "/api/read/x", own)


def test_per_location_audience(rv):
    orders = craft(rv, {"aud": ORDERS_AUD, "scope": "openid"})
    own = rv.grant("openid")["access_token"]
    assert _api(rv, "/orders/x", orders).status_code == 200
    assert_bearer_refusal(_api(rv, "/orders/x", own), 401, "invalid_token")
    # The audience written %22...%22 with %20 works the same.
    assert _api(rv, "/default-aud/x", own).status_code == 200
    assert_bearer_refusal(_api(rv, "/default-aud/x", orders), 401, "invalid_token")


def test_scopes_with_plus_match_exactly_and_bare_plus_is_refused(rv):
    plus = craft(rv, {"aud": API_AUD, "scope": "openid partner+read"})
    split = craft(rv, {"aud": API_AUD, "scope": "openid partner read"})
    assert _api(rv, "/partner/x", plus).status_code == 200
    r = _api(rv, "/partner/x", split)
    assert_bearer_refusal(r, 403, "insufficient_scope", scope="partner+read")
    seen = len(_upstream_log(rv))
    for token in (plus, split):
        r = _api(rv, "/ambiguous/x", token)
        assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable", (r.status_code, r.text[:200])
    assert all("/ambiguous/" not in line for line in _upstream_log(rv)[seen:]), "a refused request reached the upstream"
    assert "gateway misconfigured" in rv.tail("devicegate.log")


def test_json_answers_are_nosniff(rv):
    answers = [
        _api(rv, "/api/read/x", None),                      # nginx's @devicegate_unauthorized
        _api(rv, "/api/read/x", rv.grant("openid")["access_token"]),  # @devicegate_forbidden
        _api(rv, "/ambiguous/x", None),                     # @devicegate_gateway_unavailable
        rv.token("no-such-code"),                           # devicegate's own JSON
        rv.http.get(rv.discovery()["jwks_uri"], timeout=HTTP_TIMEOUT),
    ]
    for r in answers:
        assert r.headers.get("Content-Type", "").startswith("application/json"), (r.status_code, r.headers)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", (r.status_code, r.url, r.headers)


# ============================================================================ item 9


def _csrf(page: requests.Response) -> str:
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _sign_in_and_approve(stack: Stack, username: str, password: str, scope: str) -> tuple[requests.Session, dict]:
    """Signs in on the page (a real session cookie), approves a new flow, redeems it."""
    flow = stack.new_flow(scope=scope)
    browser = requests.Session()
    page = browser.get(stack.url("/device"), timeout=HTTP_TIMEOUT)
    consent = browser.post(stack.url("/device/signin"), data={
        "username": username, "password": password, "user_code": flow["user_code"], "csrf_token": _csrf(page)},
        timeout=HTTP_TIMEOUT)
    assert consent.status_code == 200 and 'value="approve"' in consent.text, consent.text[:300]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    fields.update({"action": "approve"})
    done = browser.post(stack.url("/device/decision"), data=fields, timeout=HTTP_TIMEOUT)
    assert done.status_code == 200, done.text[:300]
    return browser, assert_oauth_json(stack.token(flow["device_code"]), 200)


def _signed_in(stack: Stack, browser: requests.Session) -> bool:
    """Whether the browser's session cookie still works: a new code goes straight to consent."""
    flow = stack.new_flow()
    page = browser.get(stack.url("/device"), params={"code": flow["user_code"]}, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.status_code
    page = browser.post(stack.url("/device"), data={"user_code": flow["user_code"], "csrf_token": _csrf(page)},
                        timeout=HTTP_TIMEOUT)
    if 'value="approve"' in page.text:
        return True
    assert 'name="password"' in page.text, page.text[:300]
    return False


def test_users_remove_revokes_sessions_refresh_families_and_access_tokens(rv):
    password = "gina's long password"
    add = subprocess.run([DEVICEGATE_BIN, "users", "add", "gina", "-c", str(rv.config)], input=password + "\n",
                         capture_output=True, text=True, timeout=20)
    assert add.returncode == 0, add.stderr
    browser, t = _sign_in_and_approve(rv, "gina", password, "openid offline_access api.read")
    t1 = assert_oauth_json(rv.refresh(t["refresh_token"]), 200)
    alice = rv.grant("openid api.read")["access_token"]
    for token in (t["access_token"], t1["access_token"]):
        accepted_everywhere(rv, "/api/read/x", token)  # every worker has it cached
    assert _signed_in(rv, browser)

    out = subprocess.run([DEVICEGATE_BIN, "users", "remove", "gina", "-c", str(rv.config)],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and "removed gina" in out.stdout, (out.stdout, out.stderr)
    assert "gina:" not in (rv.root / "htpasswd").read_text()

    for token in (t["access_token"], t1["access_token"]):
        refused_everywhere(rv, "/api/read/x", token)
        assert_bearer_refusal(rv.userinfo(token), 401, "invalid_token")
        assert assert_oauth_json(rv.introspect(token), 200) == {"active": False}
    assert_oauth_error(rv.refresh(t1["refresh_token"]), 400, "invalid_grant")
    assert not _signed_in(rv, browser)
    # Other people keep working.
    accepted_everywhere(rv, "/api/read/x", alice)
    events = [e for e in audit(rv) if e.get("event") == "token.revoked" and e.get("user") == "gina"]
    assert events and events[-1].get("reason") == "user_removed", events
    # Removing again (or a delegated name that was never in the file) still succeeds.
    again = subprocess.run([DEVICEGATE_BIN, "users", "remove", "gina", "-c", str(rv.config)],
                           capture_output=True, text=True, timeout=20)
    assert again.returncode == 0 and "not in" in again.stdout, (again.stdout, again.stderr)


def test_a_second_redemption_kills_the_first_tokens(rv):
    flow = rv.new_flow(scope="openid offline_access api.read")
    assert rv.approve(flow["user_code"]).returncode == 0
    t = assert_oauth_json(rv.token(flow["device_code"]), 200)
    accepted_everywhere(rv, "/api/read/x", t["access_token"])
    replay = assert_oauth_error(rv.token(flow["device_code"]), 400, "invalid_grant")
    assert "revoked" in replay["error_description"], replay
    refused_everywhere(rv, "/api/read/x", t["access_token"])
    assert_oauth_error(rv.refresh(t["refresh_token"]), 400, "invalid_grant")
    flow_id = flow_id_prefix(flow["device_code"])
    revoked = [e for e in audit(rv) if e.get("event") == "token.revoked" and e.get("flow", "").startswith(flow_id[:8])]
    assert revoked and revoked[-1].get("reason") == "device_code_reused" and revoked[-1].get("user") == "alice", audit(rv)[-3:]


def flow_id_prefix(device_code: str) -> str:
    import hashlib
    return hashlib.sha256(device_code.encode()).hexdigest()
