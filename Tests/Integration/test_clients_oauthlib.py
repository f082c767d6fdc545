"""oauthlib's clients against the https stack (issue 13): ``DeviceClient`` (RFC 8628, approved
with ``devicegate approve``) and ``WebApplicationClient`` (authorization code with PKCE S256
from oauthlib's own ``create_code_verifier``/``create_code_challenge``, signed in and approved
through the pages with requests, redirects followed by hand)."""

import pytest

from authorization import FormWalk, LoopbackListener, new_state, query_of, s256
from harness import DEVICE_PATH, FORM, HTTP_TIMEOUT, InteropClients as C, assert_oauth_error, assert_oauth_json

oauth2 = pytest.importorskip("oauthlib.oauth2", reason="oauthlib is not installed (deploy/test.sh installs it)")


def test_oauthlib_device_client(tls_stack):
    client = oauth2.DeviceClient(C.NATIVE_APP)
    disc = tls_stack.discovery()
    assert disc["device_authorization_endpoint"] == tls_stack.base + DEVICE_PATH
    started = assert_oauth_json(tls_stack.http.post(disc["device_authorization_endpoint"], data={
        "client_id": C.NATIVE_APP, "scope": "openid email offline_access"}, timeout=HTTP_TIMEOUT), 200)
    body = client.prepare_request_body(started["device_code"], include_client_id=True)
    assert "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" in body, body
    pending = tls_stack.http.post(disc["token_endpoint"], data=body, headers={"Content-Type": FORM}, timeout=HTTP_TIMEOUT)
    assert_oauth_error(pending, 400, "authorization_pending")
    with pytest.raises(oauth2.rfc6749.errors.OAuth2Error) as refused:
        client.parse_request_body_response(pending.text)
    assert refused.value.error == "authorization_pending"

    assert tls_stack.approve(started["user_code"]).returncode == 0
    tokens = tls_stack.http.post(disc["token_endpoint"], data=body, headers={"Content-Type": FORM}, timeout=HTTP_TIMEOUT)
    parsed = client.parse_request_body_response(assert_oauth_json(tokens, 200) and tokens.text,
                                                scope="openid email offline_access")
    assert parsed["access_token"] and parsed["refresh_token"] and parsed["id_token"], parsed
    uri, headers, _ = client.add_token(disc["userinfo_endpoint"])
    info = assert_oauth_json(tls_stack.http.get(uri, headers=headers, timeout=HTTP_TIMEOUT), 200)
    assert info.get("sub") == "alice" and info.get("email") == "alice@example.com", info


def test_oauthlib_web_application_client_with_pkce(tls_stack, monkeypatch):
    # oauthlib refuses any http:// URI; a loopback redirect is http by design (RFC 8252 §7.3).
    # Everything else here is https to the test CA.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    client = oauth2.WebApplicationClient(C.NATIVE_APP)
    disc = tls_stack.discovery()
    if hasattr(client, "create_code_verifier"):
        verifier = client.create_code_verifier(64)
        challenge = client.create_code_challenge(verifier, "S256")
    else:  # oauthlib before 3.2: RFC 7636 §4.2 by hand
        import base64, os
        verifier = base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=")
        challenge = s256(verifier)
    assert challenge == s256(verifier), "oauthlib's S256 differs from RFC 7636 §4.2"
    state = new_state()
    with LoopbackListener() as listener:
        url = client.prepare_request_uri(disc["authorization_endpoint"], redirect_uri=listener.redirect_uri,
                                         scope=["openid", "email"], state=state, code_challenge=challenge,
                                         code_challenge_method="S256")
        back = FormWalk(tls_stack).authorize(url)
    assert back.startswith(listener.redirect_uri + "?"), f"redirected to {back!r}, not {listener.redirect_uri}"
    assert query_of(back).get("iss") == tls_stack.issuer, back
    code = client.parse_request_uri_response(back, state=state)["code"]
    body = client.prepare_request_body(code=code, redirect_uri=listener.redirect_uri, code_verifier=verifier,
                                       include_client_id=True)
    tokens = tls_stack.http.post(disc["token_endpoint"], data=body, headers={"Content-Type": FORM}, timeout=HTTP_TIMEOUT)
    parsed = client.parse_request_body_response(assert_oauth_json(tokens, 200) and tokens.text, scope=["openid", "email"])
    assert parsed["access_token"] and parsed.get("id_token"), parsed
    uri, headers, _ = client.add_token(disc["userinfo_endpoint"])
    info = assert_oauth_json(tls_stack.http.get(uri, headers=headers, timeout=HTTP_TIMEOUT), 200)
    assert info.get("sub") == tls_stack.demo_user, info
    # The same code again: refused (single use, RFC 6749 §4.1.2).
    again = tls_stack.http.post(disc["token_endpoint"], data=body, headers={"Content-Type": FORM}, timeout=HTTP_TIMEOUT)
    assert_oauth_error(again, 400, "invalid_grant")
