"""A web app's sign-in in a real browser (headless Chromium, JavaScript off) through real
nginx: authorize → sign-in → consent → redirect to the app's loopback listener, then the
code redeemed with its PKCE verifier; RP-initiated logout back to the app.

The app listens on another port than devicegate, so its origin differs: the consent form's
POST answers 303 to it, which Chromium lets through only when the page's CSP form-action
names that origin (Chromium applies form-action to redirects after a form submission)."""

import base64
import hashlib
import http.server
import json
import secrets
import threading
import urllib.parse

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser import new_driver, quit_driver
from harness import HTTP_TIMEOUT, assert_oauth_json, free_port
from test_browser import submit


class AppListener:
    """The web app's redirect endpoint: records each request's path and query."""

    def __init__(self):
        self.port = free_port()
        self.hits: list[tuple[str, dict]] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/favicon.ico":  # Chromium asks every new origin for one
                    self.send_error(404)
                    return
                listener.hits.append((url.path, urllib.parse.parse_qs(url.query)))
                body = b"<!doctype html><title>app</title><h1>Back at the app</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def callback(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app():
    listener = AppListener()
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture
def driver():
    d = new_driver()
    try:
        yield d
    finally:
        quit_driver(d)


def web_app_client(app: AppListener) -> str:
    return (
        "  - client_id: web-app\n"
        "    name: Web App\n"
        "    type: public\n"
        "    allowed_scopes: [openid, profile]\n"
        "    default_scopes: [openid]\n"
        "    grant_types: [authorization_code, refresh_token]\n"
        f"    redirect_uris: [\"{app.callback}\"]\n"
        f"    post_logout_redirect_uris: [\"http://127.0.0.1:{app.port}/bye\"]\n"
    )


def to_consent(stack, app: AppListener, driver) -> dict:
    """authorize → sign-in (username from login_hint) → the consent page; returns the request's
    state, nonce and PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    sent = {"state": secrets.token_urlsafe(12), "nonce": secrets.token_urlsafe(12), "verifier": verifier}
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": "web-app", "redirect_uri": app.callback, "scope": "openid profile",
        "state": sent["state"], "nonce": sent["nonce"], "code_challenge": challenge, "code_challenge_method": "S256",
        "login_hint": stack.demo_user,
    })
    driver.get(stack.url("/application/o/authorize/?" + query))
    assert "Sign in" in driver.find_element(By.TAG_NAME, "h1").text
    assert "Web App" in driver.find_element(By.TAG_NAME, "main").text
    assert driver.find_element(By.NAME, "username").get_attribute("value") == stack.demo_user
    driver.find_element(By.NAME, "password").send_keys(stack.demo_password)
    submit(driver, "button[type=submit].primary")
    # Consent names the app, the scopes and where the browser goes next.
    assert driver.find_element(By.TAG_NAME, "h1").text == "Allow access?"
    text = driver.find_element(By.TAG_NAME, "main").text
    assert "Web App" in text and "See your name" in text and f"127.0.0.1:{app.port}" in text
    assert not app.hits
    return sent


def follow_to_app(driver, app: AppListener, count: int = 1):
    """Waits until Chromium has followed the 303 to the app's listener."""
    WebDriverWait(driver, 15).until(lambda d: len(app.hits) >= count and "Back at the app" in d.page_source)


def test_deny_redirects_to_another_origin_then_logout(make_stack, app, driver):
    """Needs no authorization-code storage: proves the CSP form-action point in Chromium (a
    form POST answered by a 303 to the app's origin) and RP-initiated logout."""
    stack = make_stack(workers=2, transform=lambda t: t.rstrip("\n") + "\n" + web_app_client(app))
    sent = to_consent(stack, app, driver)
    driver.find_element(By.CSS_SELECTOR, "button[name=action][value=deny]").click()
    follow_to_app(driver, app)
    path, params = app.hits[0]
    assert path == "/callback" and "code" not in params
    assert params["error"] == ["access_denied"] and params["state"] == [sent["state"]] and params["iss"] == [stack.issuer]

    # RP-initiated logout back to the app; the session is gone.
    assert "devicegate_session" in {c["name"] for c in driver.get_cookies()}
    logout = urllib.parse.urlencode({
        "client_id": "web-app", "post_logout_redirect_uri": f"http://127.0.0.1:{app.port}/bye", "state": "bye-1",
    })
    driver.get(stack.url("/application/o/end-session/?" + logout))
    follow_to_app(driver, app, 2)
    assert app.hits[1] == ("/bye", {"state": ["bye-1"]})
    assert "devicegate_session" not in {c["name"] for c in driver.get_cookies()}
    # An unregistered return address: a page, and the browser stays here.
    driver.get(stack.url("/application/o/end-session/?" + urllib.parse.urlencode({
        "client_id": "web-app", "post_logout_redirect_uri": "http://127.0.0.1:9/elsewhere"})))
    assert driver.find_element(By.TAG_NAME, "h1").text == "You are signed out"
    assert len(app.hits) == 2


@pytest.mark.xfail(strict=True, reason="the file store's createAuthorizationCode is a placeholder (.io) until the "
                   "storage branch lands; strict, so this fails once it works: then remove the marker")
def test_approve_then_redeem_with_the_verifier(make_stack, app, driver):
    stack = make_stack(workers=2, transform=lambda t: t.rstrip("\n") + "\n" + web_app_client(app))
    sent = to_consent(stack, app, driver)
    driver.find_element(By.CSS_SELECTOR, "button[name=action][value=approve]").click()
    follow_to_app(driver, app)
    path, params = app.hits[0]
    assert path == "/callback"
    assert params["state"] == [sent["state"]] and params["iss"] == [stack.issuer]
    resp = requests.post(stack.url("/application/o/token/"), data={
        "grant_type": "authorization_code", "client_id": "web-app", "code": params["code"][0],
        "redirect_uri": app.callback, "code_verifier": sent["verifier"],
    }, timeout=HTTP_TIMEOUT)
    tokens = assert_oauth_json(resp, 200)
    payload = tokens["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["nonce"] == sent["nonce"] and claims["sub"] == stack.demo_user

    # RP-initiated logout with the ID token as the hint (no client_id).
    driver.get(stack.url("/application/o/end-session/?" + urllib.parse.urlencode({
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": f"http://127.0.0.1:{app.port}/bye"})))
    follow_to_app(driver, app, 2)
    assert app.hits[1][0] == "/bye"
