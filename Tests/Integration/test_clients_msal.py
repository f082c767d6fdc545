"""Microsoft's MSAL for Python against the https stack (issue 13): ``PublicClientApplication``
with ``oidc_authority`` = the issuer (https with a path, as MSAL insists), verifying the server
against the run's test CA. The device flow completed through the real verification page in
headless Chromium, then the authorization code flow (PKCE S256, MSAL's own) through the sign-in
and consent pages with a loopback listener catching the redirect (RFC 8252 §7.3)."""

import hashlib
import time

import pytest

from authorization import LoopbackListener, browser_approve_device_code, browser_authorize, query_of
from browser import new_driver, quit_driver
from harness import InteropClients as C, assert_oauth_json

msal = pytest.importorskip("msal", reason="msal is not installed (deploy/test.sh installs it)")


@pytest.fixture
def driver():
    d = new_driver(accept_insecure_certs=True)
    try:
        yield d
    finally:
        quit_driver(d)


@pytest.fixture
def app(tls_stack, only_test_ca):
    return msal.PublicClientApplication(C.NATIVE_APP, authority=None, oidc_authority=tls_stack.issuer,
                                        verify=tls_stack.verify, timeout=15)


def check_result(result: dict, stack, what: str) -> dict:
    assert "access_token" in result, f"MSAL {what}: no access token: {result.get('error')}: {result.get('error_description')}"
    claims = result.get("id_token_claims") or {}
    assert claims.get("iss") == stack.issuer and claims.get("aud") == C.NATIVE_APP, f"MSAL {what}: id_token claims {claims}"
    assert claims.get("sub") == stack.demo_user, f"MSAL {what}: signed in as {claims.get('sub')!r}, not {stack.demo_user!r}"
    info = assert_oauth_json(stack.userinfo(result["access_token"]), 200)
    assert info.get("sub") == stack.demo_user and info.get("email"), f"userinfo with MSAL's token: {info}"
    return claims


def test_msal_device_flow_through_the_verification_page(tls_stack, app, driver):
    flow = app.initiate_device_flow(scopes=["email"])
    assert "user_code" in flow, f"MSAL could not start the device flow: {flow}"
    assert flow["verification_uri"] == tls_stack.base + "/device", flow
    browser_approve_device_code(driver, flow["verification_uri_complete"], tls_stack, flow["user_code"])
    # Over https the production cookies work (no insecure_development_cookies on this stack).
    cookies = {c["name"]: c for c in driver.get_cookies()}
    session = cookies.get("__Host-devicegate_session")
    assert session and session["secure"] and session["httpOnly"] and session.get("path") == "/", \
        f"expected a Secure __Host- session cookie, got {sorted(cookies)}"
    # Approved before MSAL polls: its first poll gets the tokens. Bounded, should it not.
    flow["expires_at"] = time.time() + 30
    result = app.acquire_token_by_device_flow(flow)
    check_result(result, tls_stack, "device flow")
    assert set(result.get("scope", "").split()) >= {"openid", "email"}, result.get("scope")
    assert result.get("refresh_token"), "MSAL asks for offline_access: a refresh token is due"

    # The refresh token through MSAL's cache (refresh_token grant).
    accounts = app.get_accounts()
    assert accounts, "MSAL cached no account from the device flow"
    refreshed = app.acquire_token_silent(["email"], account=accounts[0], force_refresh=True)
    assert refreshed and "access_token" in refreshed, f"MSAL refresh: {refreshed}"
    assert refreshed["access_token"] != result["access_token"]


def test_msal_authorization_code_flow_in_a_browser(tls_stack, app, driver):
    with LoopbackListener() as listener:
        flow = app.initiate_auth_code_flow(scopes=["email"], redirect_uri=listener.redirect_uri)
        assert flow.get("auth_uri", "").startswith(tls_stack.base + "/"), flow
        assert query_of(flow["auth_uri"]).get("code_challenge_method") == "S256", flow["auth_uri"]
        back = browser_authorize(driver, flow["auth_uri"], tls_stack, listener)
    response = query_of(back)
    assert response.get("iss") == tls_stack.issuer, f"RFC 9207 iss missing or wrong: {response}"
    result = app.acquire_token_by_auth_code_flow(flow, response)
    claims = check_result(result, tls_stack, "authorization code flow")
    # MSAL sends SHA-256 hex of its nonce and checks it came back (OIDC Core §3.1.3.7 step 11).
    assert claims.get("nonce") == hashlib.sha256(flow["nonce"].encode()).hexdigest(), (claims, flow.get("nonce"))


def test_msal_authorization_code_flow_with_form_post(tls_stack, app):
    """response_mode=form_post, as MSAL recommends: the code reaches the listener as a POSTed
    form submitted by the page's one hashed script, in Chromium with JavaScript on, under the
    page's CSP (a script the CSP did not allow would leave the browser on the Continue page)."""
    driver = new_driver(accept_insecure_certs=True, javascript=True)
    try:
        _form_post_flow(tls_stack, app, driver)
    finally:
        quit_driver(driver)


def _form_post_flow(tls_stack, app, driver):
    with LoopbackListener() as listener:
        flow = app.initiate_auth_code_flow(scopes=["email"], redirect_uri=listener.redirect_uri, response_mode="form_post")
        assert query_of(flow["auth_uri"]).get("response_mode") == "form_post", flow["auth_uri"]
        back = browser_authorize(driver, flow["auth_uri"], tls_stack, listener)
        assert listener.method == "POST", "the response was not POSTed"
    response = query_of(back)
    assert "code" in response and response.get("iss") == tls_stack.issuer, response
    result = app.acquire_token_by_auth_code_flow(flow, response)
    check_result(result, tls_stack, "authorization code flow with form_post")

