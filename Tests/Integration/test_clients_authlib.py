"""Authlib's ``OAuth2Session`` against the https stack (issue 13): the confidential web app
signs a person in with the authorization code flow and PKCE S256 (``code_challenge_method``)
in headless Chromium, ``fetch_token``, ``refresh_token``, userinfo, then RP-initiated logout at
the ``end_session_endpoint`` (OIDC RP-Initiated Logout 1.0 §2-3) to the registered
post-logout URI: the session is gone, the next authorization shows the sign-in page."""

import pytest

from authorization import LoopbackListener, authorization_url, browser_authorize, new_state, query_of
from browser import new_driver, quit_driver
from harness import InteropClients as C

requests_client = pytest.importorskip("authlib.integrations.requests_client",
                                      reason="authlib is not installed (deploy/test.sh installs it)")
from authlib.common.security import generate_token  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture
def driver():
    d = new_driver(accept_insecure_certs=True)
    try:
        yield d
    finally:
        quit_driver(d)


def test_authlib_code_flow_refresh_userinfo_and_logout(tls_stack, driver, only_test_ca):
    disc = tls_stack.discovery()
    with LoopbackListener() as listener:
        client = requests_client.OAuth2Session(C.WEB_APP, C.WEB_APP_SECRET, scope="openid profile email offline_access",
                                               redirect_uri=listener.redirect_uri, code_challenge_method="S256",
                                               token_endpoint_auth_method="client_secret_basic")
        client.verify = tls_stack.verify
        verifier = generate_token(48)
        nonce = generate_token(20)
        uri, state = client.create_authorization_url(disc["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        assert query_of(uri).get("code_challenge_method") == "S256", uri
        back = browser_authorize(driver, uri, tls_stack, listener)
    response = query_of(back)
    assert response.get("state") == state and response.get("iss") == tls_stack.issuer, response

    token = client.fetch_token(disc["token_endpoint"], authorization_response=back, code_verifier=verifier)
    assert token.get("access_token") and token.get("refresh_token") and token.get("id_token"), token
    assert token.get("token_type", "").lower() == "bearer", token

    info = client.get(disc["userinfo_endpoint"], timeout=15)
    assert info.status_code == 200, f"userinfo with Authlib's token: {info.status_code} {info.text[:200]}"
    assert info.json().get("sub") == tls_stack.demo_user, info.json()

    first_access = token["access_token"]
    refreshed = client.refresh_token(disc["token_endpoint"])
    assert refreshed.get("access_token") and refreshed["access_token"] != first_access, refreshed
    assert client.get(disc["userinfo_endpoint"], timeout=15).status_code == 200
    # RP-initiated logout: back to the registered post-logout URI with the state.
    logout_state = new_state()
    with LoopbackListener(path="/logged-out", port=tls_stack.logout_port) as logout:
        driver.get(authorization_url(disc["end_session_endpoint"], id_token_hint=token["id_token"], client_id=C.WEB_APP,
                                     post_logout_redirect_uri=logout.redirect_uri, state=logout_state))
        if logout.captured is None:
            # A confirmation page (RP-Initiated Logout §2: the OP may ask): confirm it.
            buttons = driver.find_elements(By.CSS_SELECTOR, "form button[type=submit]")
            assert buttons, f"logout neither redirected nor asked: {driver.find_element(By.TAG_NAME, 'body').text[:400]!r}"
            buttons[0].click()
        landed = logout.wait(15)
    assert query_of(landed).get("state") == logout_state, f"post-logout redirect {landed!r} lost the state"

    # The devicegate session is gone: a new authorization asks for the password again.
    client2 = requests_client.OAuth2Session(C.WEB_APP, C.WEB_APP_SECRET, scope="openid",
                                            redirect_uri="http://127.0.0.1:9/cb", code_challenge_method="S256")
    again, _ = client2.create_authorization_url(disc["authorization_endpoint"], code_verifier=generate_token(48))
    driver.get(again)
    assert driver.find_elements(By.NAME, "password"), \
        f"still signed in after logout: {driver.find_element(By.TAG_NAME, 'body').text[:400]!r}"
