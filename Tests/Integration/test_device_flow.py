"""The device flow end to end through nginx (RFC 8628): the README walk-through, denial,
slow_down, and the binding of a device code to the client it was issued to."""

import time

from harness import (
    USER_CODE_RE, assert_oauth_error, assert_oauth_json, basic_auth, wait_until,
)


def test_readme_flow_pending_approve_redeem_once(stack):
    # RFC 8628 §3.1-3.2: device authorization.
    r = stack.device(client_id="demo-tv", scope="openid profile")
    flow = assert_oauth_json(r, 200)
    assert set(flow) >= {"device_code", "user_code", "verification_uri", "verification_uri_complete",
                         "expires_in", "interval"}, flow
    assert isinstance(flow["device_code"], str) and len(flow["device_code"]) >= 32, flow
    assert USER_CODE_RE.match(flow["user_code"]), flow["user_code"]
    assert flow["verification_uri"] == f"{stack.base}/device"
    assert flow["verification_uri_complete"] == f"{stack.base}/device?code={flow['user_code']}"
    assert flow["expires_in"] == 600
    assert flow["interval"] == 5
    code = flow["device_code"]

    # §3.5: nobody has decided yet.
    assert_oauth_error(stack.token(code), 400, "authorization_pending")

    # §3.3: the operator approves with the CLI.
    approved = stack.approve(flow["user_code"], subject="alice")
    assert approved.returncode == 0, approved.stderr
    assert flow["user_code"] in approved.stdout and "demo-tv" in approved.stdout, approved.stdout

    # Approved flows redeem at once, even right after the previous poll (no slow_down).
    r = stack.token(code)
    tokens = assert_oauth_json(r, 200)
    assert isinstance(tokens.get("access_token"), str) and len(tokens["access_token"]) >= 32, tokens
    assert tokens.get("token_type") == "Bearer", tokens
    assert tokens.get("expires_in") == 3600, tokens
    assert tokens.get("scope") == "openid profile", tokens

    # A device code is redeemed exactly once.
    body = assert_oauth_error(stack.token(code), 400, "invalid_grant")
    assert "access_token" not in body
    assert_oauth_error(stack.token(code), 400, "invalid_grant")

    # The operator cannot decide it again.
    again = stack.approve(flow["user_code"], subject="mallory")
    assert again.returncode == 1, (again.returncode, again.stdout, again.stderr)
    assert again.stderr.strip(), "approve of a decided flow must say why it failed"


def test_approve_unknown_code_fails_with_message(stack):
    r = stack.approve("BBBB-CCCC")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "no pending request" in r.stderr or "unknown" in r.stderr.lower(), r.stderr
    r = stack.deny("BBBB-CCCC")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip()


def test_deny_gives_access_denied(stack):
    flow = stack.new_flow()
    assert_oauth_error(stack.token(flow["device_code"]), 400, "authorization_pending")
    denied = stack.deny(flow["user_code"])
    assert denied.returncode == 0, denied.stderr
    assert_oauth_error(stack.token(flow["device_code"]), 400, "access_denied")
    # A denied flow stays denied and cannot be approved afterwards.
    late = stack.approve(flow["user_code"])
    assert late.returncode == 1, (late.stdout, late.stderr)
    assert "denied" in late.stderr, late.stderr
    assert_oauth_error(stack.token(flow["device_code"]), 400, "access_denied")


def test_slow_down_when_polling_too_fast(stack):
    flow = stack.new_flow()
    code = flow["device_code"]
    assert_oauth_error(stack.token(code), 400, "authorization_pending")
    # Polled again well within the 5 s interval (on whichever worker): slow_down.
    assert_oauth_error(stack.token(code), 400, "slow_down")
    assert_oauth_error(stack.token(code), 400, "slow_down")
    # slow_down does not block an approval: the next poll redeems.
    assert stack.approve(flow["user_code"]).returncode == 0
    assert_oauth_json(stack.token(code), 200)


def test_slow_down_grows_interval_by_five_seconds(make_stack):
    # RFC 8628 §3.5: slow_down grows the interval by 5 s "for this and all subsequent
    # requests". With poll_interval 1 s the interval becomes 6 s after one slow_down, so a
    # poll 5.5 s later is still too fast; with the original 1 s it would be pending.
    s = make_stack(workers=2, transform=lambda t: t.replace("poll_interval: 5", "poll_interval: 1"))
    flow = s.new_flow()
    assert flow["interval"] == 1, flow
    code = flow["device_code"]
    assert_oauth_error(s.token(code), 400, "authorization_pending")
    time.sleep(1.2)
    # Baseline: polling at the advertised interval is fine.
    assert_oauth_error(s.token(code), 400, "authorization_pending")
    assert_oauth_error(s.token(code), 400, "slow_down")
    t_slow = time.monotonic()
    wait_until(lambda: time.monotonic() - t_slow >= 5.5, 10, what="5.5 s")
    assert_oauth_error(s.token(code), 400, "slow_down")


# --------------------------------------------------------------------------- client binding


def test_code_of_one_client_is_invalid_grant_for_another(stack):
    flow = stack.new_flow(client_id=None, auth=stack.cli_basic)
    code = flow["device_code"]
    # demo-tv (public) polling demo-cli's code.
    assert_oauth_error(stack.token(code, client_id="demo-tv"), 400, "invalid_grant")
    assert stack.approve(flow["user_code"]).returncode == 0
    assert_oauth_error(stack.token(code, client_id="demo-tv"), 400, "invalid_grant")
    # The foreign poll did not consume the code: its own client redeems it.
    tokens = assert_oauth_json(stack.token(code, client_id=None, auth=stack.cli_basic), 200)
    assert tokens["token_type"] == "Bearer"
    assert_oauth_error(stack.token(code, client_id=None, auth=stack.cli_basic), 400, "invalid_grant")

    # And the other way round: a public client's code polled by the confidential client.
    tv = stack.new_flow(client_id="demo-tv")
    assert stack.approve(tv["user_code"]).returncode == 0
    assert_oauth_error(stack.token(tv["device_code"], client_id=None, auth=stack.cli_basic), 400, "invalid_grant")
    assert_oauth_json(stack.token(tv["device_code"]), 200)


def _assert_invalid_client(r):
    assert_oauth_error(r, 401, "invalid_client")
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge.lower().startswith("basic"), f"WWW-Authenticate: {challenge!r}"


def test_confidential_client_must_authenticate(stack):
    # No secret at all.
    _assert_invalid_client(stack.device(client_id="demo-cli"))
    # Wrong secret, by either method.
    _assert_invalid_client(stack.device(client_id="demo-cli", secret="wrong"))
    _assert_invalid_client(stack.device(client_id=None, auth=basic_auth("demo-cli", "wrong")))
    # Unknown client.
    _assert_invalid_client(stack.device(client_id="no-such-client"))
    # A public client presenting a secret.
    _assert_invalid_client(stack.device(client_id="demo-tv", secret="anything"))

    # The token endpoint checks too, before looking at the code.
    flow = stack.new_flow(client_id="demo-cli", secret=stack.cli_secret)
    assert stack.approve(flow["user_code"]).returncode == 0
    _assert_invalid_client(stack.token(flow["device_code"], client_id="demo-cli"))
    _assert_invalid_client(stack.token(flow["device_code"], client_id="demo-cli", secret="wrong"))
    # ...and those refusals did not consume the code.
    assert_oauth_json(stack.token(flow["device_code"], client_id="demo-cli", secret=stack.cli_secret), 200)


def test_confidential_client_secret_basic(stack):
    r = stack.device(client_id=None, auth=stack.cli_basic, scope="openid email")
    flow = assert_oauth_json(r, 200)
    assert_oauth_error(stack.token(flow["device_code"], client_id=None, auth=stack.cli_basic),
                       400, "authorization_pending")
    assert stack.approve(flow["user_code"], subject="bob").returncode == 0
    tokens = assert_oauth_json(stack.token(flow["device_code"], client_id=None, auth=stack.cli_basic), 200)
    assert tokens["scope"] == "openid email"
    # client_id in the body alongside matching Basic credentials is fine too.
    flow2 = assert_oauth_json(stack.device(client_id="demo-cli", auth=stack.cli_basic), 200)
    assert stack.approve(flow2["user_code"]).returncode == 0
    assert_oauth_json(stack.token(flow2["device_code"], client_id="demo-cli", auth=stack.cli_basic), 200)


def test_confidential_client_secret_post(stack):
    flow = stack.new_flow(client_id="demo-cli", secret=stack.cli_secret)
    assert_oauth_error(stack.token(flow["device_code"], client_id="demo-cli", secret=stack.cli_secret),
                       400, "authorization_pending")
    assert stack.approve(flow["user_code"]).returncode == 0
    tokens = assert_oauth_json(stack.token(flow["device_code"], client_id="demo-cli", secret=stack.cli_secret), 200)
    assert tokens["scope"] == "openid"
    assert tokens["token_type"] == "Bearer"


def test_two_authentication_methods_at_once_is_invalid_request(stack):
    r = stack.device(client_id="demo-cli", secret=stack.cli_secret, auth=stack.cli_basic)
    assert_oauth_error(r, 400, "invalid_request")
