"""Per-client policy (issue 13): client_credentials (RFC 6749 §4.4) for a confidential client
that allows it, grant_types enforced with unauthorized_client (RFC 6749 §5.2, RFC 8628 §3.2),
and per-client lifetimes (``clients[].lifetimes``) on the https stack's interop clients."""

import time

import pytest

from harness import (DEVICE_GRANT, EXPIRY_SECONDS, TOKEN_PATH, InteropClients as C, assert_oauth_error,
                     assert_oauth_json, basic_auth, wait_until)


def client_credentials(stack, auth=None, **form):
    return stack.post(TOKEN_PATH, data={"grant_type": "client_credentials", **form},
                      headers={"Authorization": auth} if auth else None)


def service_auth():
    return basic_auth(C.SERVICE, C.SERVICE_SECRET)


def test_client_credentials_gives_an_access_token_for_the_client_itself(tls_stack):
    body = assert_oauth_json(client_credentials(tls_stack, service_auth(), scope="api.read api.write"), 200)
    assert body.get("token_type") == "Bearer" and body.get("access_token"), body
    assert "refresh_token" not in body, f"RFC 6749 §4.4.3: no refresh token for client_credentials: {body}"
    assert "id_token" not in body, f"no id_token: nobody signed in: {body}"
    assert set(body.get("scope", "").split()) == {"api.read", "api.write"}, body
    assert isinstance(body.get("expires_in"), int) and body["expires_in"] > 0, body
    # The subject is the client, in the client: namespace no username can enter (RFC 9068 §5)
    # (introspection by demo-cli, a resource server).
    info = assert_oauth_json(tls_stack.introspect(body["access_token"]), 200)
    assert info.get("active") is True, info
    assert info.get("sub") == "client:" + C.SERVICE and info.get("client_id") == C.SERVICE, \
        f"client_credentials token must have the client as subject: {info}"
    assert set(info.get("scope", "").split()) == {"api.read", "api.write"}, info

    # No scope asked: the client's default_scopes; in the body instead of Basic works too.
    default = assert_oauth_json(client_credentials(tls_stack, client_id=C.SERVICE, client_secret=C.SERVICE_SECRET), 200)
    assert default.get("scope") == C.SERVICE_SCOPES[0], default
    # Outside the client's allowed scopes: invalid_scope, no token.
    assert_oauth_error(client_credentials(tls_stack, service_auth(), scope="api.read openid"), 400, "invalid_scope")
    # A wrong secret: invalid_client, 401 with a Basic challenge (RFC 6749 §5.2).
    wrong = client_credentials(tls_stack, basic_auth(C.SERVICE, C.SERVICE_SECRET + "x"))
    assert_oauth_error(wrong, 401, "invalid_client")


def test_client_credentials_refused_to_clients_that_do_not_allow_it(tls_stack):
    # A confidential client whose grant_types (the default: device_code, refresh_token) lack it.
    assert_oauth_error(client_credentials(tls_stack, tls_stack.cli_basic), 400, "unauthorized_client")
    # Public clients never get it: nothing authenticates them (RFC 6749 §4.4).
    for client in ("demo-tv", C.NATIVE_APP):
        assert_oauth_error(client_credentials(tls_stack, client_id=client), 400, "unauthorized_client")
    # oidc-agent style: Basic with an empty password identifies a public client, still refused.
    assert_oauth_error(client_credentials(tls_stack, basic_auth(C.NATIVE_APP, "")), 400, "unauthorized_client")


def test_a_grant_outside_grant_types_is_unauthorized_client(tls_stack):
    # The device authorization endpoint for clients without device_code (RFC 8628 §3.2).
    for client, auth in ((C.WEB_APP, basic_auth(C.WEB_APP, C.WEB_APP_SECRET)), (C.SERVICE, service_auth())):
        assert_oauth_error(tls_stack.device(client_id=None, auth=auth), 400, "unauthorized_client")
    # The token endpoint: authorization_code for a device-only client, device_code for a web app.
    code = tls_stack.post(TOKEN_PATH, data={"grant_type": "authorization_code", "client_id": "demo-tv", "code": "x" * 43,
                                            "redirect_uri": C.LOOPBACK_REDIRECT, "code_verifier": "v" * 43})
    assert_oauth_error(code, 400, "unauthorized_client")
    # The refresh_token grant for the service (not in its grant_types).
    assert_oauth_error(tls_stack.refresh("z" * 43, client_id=None, auth=service_auth()), 400, "unauthorized_client")


def test_the_device_code_grant_outside_grant_types_is_unauthorized_client(tls_stack):
    """RFC 6749 §5.2: the web app (authorization_code + refresh_token) polling with a device
    code. It can never obtain one (the device endpoint refuses it), so this is no hole, but the
    answer names the real reason."""
    device = tls_stack.token("y" * 43, client_id=None, auth=basic_auth(C.WEB_APP, C.WEB_APP_SECRET), grant_type=DEVICE_GRANT)
    assert_oauth_error(device, 400, "unauthorized_client")


def test_per_client_lifetimes_are_announced(tls_stack):
    brief = assert_oauth_json(tls_stack.device(client_id=C.BRIEF_TV), 200)
    other = assert_oauth_json(tls_stack.device(client_id="demo-tv"), 200)
    assert brief["expires_in"] == C.BRIEF_DEVICE_CODE_SECONDS, f"brief-tv's lifetimes.device_code: {brief}"
    assert other["expires_in"] == 600, f"demo-tv keeps the global device_code lifetime: {other}"


@pytest.mark.expiry
def test_a_client_with_a_60_s_device_code_expires_while_another_lives_on(client_lifetime_flows):
    """The flows were made at session start (conftest.client_lifetime_flows); this test runs
    last and waits only for what is left of the 60 s."""
    s, brief, longer, created = (client_lifetime_flows[k] for k in ("stack", "brief", "longer", "created"))
    assert brief["expires_in"] == EXPIRY_SECONDS and longer["expires_in"] == 600, (brief, longer)
    wait_until(lambda: time.monotonic() - created > EXPIRY_SECONDS + 1.5, EXPIRY_SECONDS + 10, interval=0.5,
               what="brief-tv's device code to outlive its 60 s")
    assert_oauth_error(s.token(brief["device_code"], client_id=C.BRIEF_TV), 400, "expired_token")
    assert_oauth_error(s.token(longer["device_code"], client_id="demo-tv"), 400, "authorization_pending")
    late = s.approve(brief["user_code"])
    assert late.returncode != 0 and "expired" in late.stderr, (late.returncode, late.stderr)
    assert s.approve(longer["user_code"]).returncode == 0
    tokens = assert_oauth_json(s.token(longer["device_code"], client_id="demo-tv"), 200)
    assert tokens.get("access_token"), tokens
