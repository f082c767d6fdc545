"""Helpers for the authorization-code tests (issue 13): a loopback listener that catches the
redirect back to a native app (RFC 8252 §7.3), a walk through the sign-in and consent pages in
a real browser, and the same walk with ``requests`` and hand-followed redirects.

The pages are found by what they hold, not by their address: a form with a password field is
the sign-in page, a ``button[name=action][value=approve|deny]`` is the consent page (the same
markup as the device flow's consent). Anything else on the way is a failure that shows the
page's text.
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.server
import os
import re
import threading
import urllib.parse
from html.parser import HTMLParser

import requests

from harness import HTTP_TIMEOUT

#: Most pages between the authorization endpoint and the redirect back (authorize → request
#: page → sign-in → consent → redirect is five).
MAX_STEPS = 10


def pkce_pair() -> tuple[str, str]:
    """A code_verifier (RFC 7636 §4.1, 43 characters of base64url) and its S256 challenge
    (§4.2: BASE64URL(SHA256(ASCII(code_verifier))))."""
    verifier = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url``, each once (a repeated one fails)."""
    pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    names = [k for k, _ in pairs]
    assert len(names) == len(set(names)), f"repeated query parameters in {url}"
    return dict(pairs)


class LoopbackListener:
    """An HTTP server on 127.0.0.1 (a free port, or ``port``) that records the first request
    it gets, as a native app's redirect listener does (RFC 8252 §7.3), and answers it with a
    small page. ``redirect_uri`` is ``http://127.0.0.1:PORT{path}``."""

    def __init__(self, path: str = "/cb", port: int = 0):
        listener = self
        self.captured: str | None = None
        self._event = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if listener.captured is None:
                    listener.captured = f"http://127.0.0.1:{listener.port}{self.path}"
                    listener._event.set()
                body = b"<!doctype html><title>done</title><h1>Signed in: you may close this window</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802 - response_mode=form_post: the fields as if a query
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode()
                if listener.captured is None:
                    listener.method = "POST"
                    listener.captured = f"http://127.0.0.1:{listener.port}{self.path}?{form}"
                    listener._event.set()
                self.do_GET()

            def log_message(self, *args):
                pass

        self.method = "GET"
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, timeout: float = 20) -> str:
        """The URL of the first request (path and query), or a failure after ``timeout``."""
        assert self._event.wait(timeout), f"no redirect reached {self.redirect_uri} within {timeout}s"
        return self.captured


# --------------------------------------------------------------------------- in a browser


def browser_authorize(driver, url: str, stack, listener: LoopbackListener, approve: bool = True,
                      username: str | None = None, password: str | None = None) -> str:
    """Opens ``url`` (an authorization request) in ``driver``, signs in when the sign-in page
    comes, answers the consent page, and returns the URL that reached ``listener``."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def advance(element):
        before = driver.find_element(By.TAG_NAME, "html").id
        element.click()
        WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
            lambda d: listener.captured is not None or d.find_element(By.TAG_NAME, "html").id != before)

    driver.get(url)
    for _ in range(MAX_STEPS):
        if listener.captured is not None:
            return listener.captured
        if driver.find_elements(By.NAME, "password"):
            driver.find_element(By.NAME, "username").clear()
            driver.find_element(By.NAME, "username").send_keys(username or stack.demo_user)
            driver.find_element(By.NAME, "password").send_keys(password or stack.demo_password)
            advance(driver.find_element(By.CSS_SELECTOR, "button[type=submit].primary"))
            continue
        choice = driver.find_elements(By.CSS_SELECTOR, f"button[name=action][value={'approve' if approve else 'deny'}]")
        if choice:
            advance(choice[0])
            continue
        raise AssertionError(f"unexpected page at {driver.current_url}: "
                             f"{driver.find_element(By.TAG_NAME, 'body').text[:600]!r}")
    return listener.wait(5)


def browser_shows_sign_in(driver, url: str) -> bool:
    """Opens ``url`` and tells whether the page asks for a password."""
    from selenium.webdriver.common.by import By
    driver.get(url)
    return bool(driver.find_elements(By.NAME, "password"))


# --------------------------------------------------------------------------- with requests


class _Forms(HTMLParser):
    """The forms of a page: action, method, fields (name → value of inputs) and buttons
    (name, value) of each."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "fields": {}, "types": {}, "buttons": []})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
            self.forms[-1]["types"][a["name"]] = a.get("type", "text").lower()
        elif tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))


def page_forms(text: str) -> list[dict]:
    parser = _Forms()
    parser.feed(text)
    return parser.forms


def page_text(text: str) -> str:
    """The visible text of an HTML page, roughly (tags dropped, entities decoded)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(style|script).*?</\1>", "", text)))).strip()


class FormWalk:
    """The pages an authorization request leads to, walked with a ``requests`` session that
    follows every redirect by hand: each step's response is kept (``steps``), a redirect that
    leaves the stack is returned and never followed."""

    def __init__(self, stack, session: requests.Session | None = None):
        self.stack = stack
        self.session = session or requests.Session()
        # Only the test CA: $REQUESTS_CA_BUNDLE would override ``verify`` under trust_env.
        self.session.trust_env = False
        self.session.verify = stack.verify
        self.steps: list[requests.Response] = []

    def request(self, method: str, url: str, data=None) -> requests.Response:
        r = self.session.request(method, url, data=data, allow_redirects=False, timeout=HTTP_TIMEOUT)
        self.steps.append(r)
        return r

    def follow(self, url: str, method: str = "GET", data=None) -> tuple[str | None, requests.Response]:
        """Requests ``url``, then follows redirects inside the stack; returns (the Location
        that leaves the stack or None, the last response from the stack)."""
        for _ in range(MAX_STEPS):
            r = self.request(method, url, data)
            if r.status_code not in (301, 302, 303, 307, 308):
                return None, r
            location = urllib.parse.urljoin(url, r.headers["Location"])
            if not location.startswith(self.stack.base + "/"):
                return location, r
            url, method, data = location, "GET", None
        raise AssertionError(f"more than {MAX_STEPS} redirects from {url}")

    @staticmethod
    def form_with(response: requests.Response, predicate) -> dict | None:
        for form in page_forms(response.text):
            if predicate(form):
                return form
        return None

    def submit(self, response: requests.Response, form: dict, overrides: dict | None = None,
               drop: tuple[str, ...] = (), button: tuple[str, str] | None = None):
        """Posts ``form`` of ``response`` (its hidden and prefilled fields, ``overrides``
        on top, ``drop`` left out, ``button`` as the pressed button) and follows redirects."""
        data = {k: v for k, v in form["fields"].items() if k not in drop}
        data.update(overrides or {})
        if button is not None:
            data[button[0]] = button[1]
        action = urllib.parse.urljoin(response.url, form["action"] or response.url)
        return self.follow(action, form["method"].upper() if form["method"] == "get" else "POST", data)

    def sign_in(self, response: requests.Response, username: str | None = None, password: str | None = None):
        form = self.form_with(response, lambda f: "password" in f["fields"])
        assert form is not None, f"no sign-in form at {response.url}: {page_text(response.text)[:400]!r}"
        return self.submit(response, form, {"username": username or self.stack.demo_user,
                                            "password": password or self.stack.demo_password})

    @staticmethod
    def consent_form(response: requests.Response) -> dict | None:
        return FormWalk.form_with(response, lambda f: ("action", "approve") in f["buttons"])

    def authorize(self, url: str, approve: bool = True) -> str:
        """Signs in when asked, answers the consent page; returns the redirect back to the
        client (a URL outside the stack)."""
        left, r = self.follow(url)
        for _ in range(MAX_STEPS):
            if left is not None:
                return left
            if self.form_with(r, lambda f: "password" in f["fields"]):
                left, r = self.sign_in(r)
                continue
            form = self.consent_form(r)
            assert form is not None, f"HTTP {r.status_code} at {r.url}, neither sign-in nor consent: {page_text(r.text)[:500]!r}"
            left, r = self.submit(r, form, button=("action", "approve" if approve else "deny"))
        raise AssertionError(f"no redirect back after {MAX_STEPS} pages")


def authorization_url(endpoint: str, **params) -> str:
    """``endpoint`` with ``params`` (None values left out) as its query."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    return endpoint + ("&" if "?" in endpoint else "?") + query


def new_state() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")



def browser_approve_device_code(driver, verification_uri_complete: str, stack, user_code: str):
    """The device flow's verification page in ``driver``: the prefilled code, sign-in when
    asked, approve; fails unless it ends on "Device connected"."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def advance(selector: str):
        before = driver.find_element(By.TAG_NAME, "html").id
        driver.find_element(By.CSS_SELECTOR, selector).click()
        WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.find_element(By.TAG_NAME, "html").id != before)

    driver.get(verification_uri_complete)
    box = driver.find_element(By.NAME, "user_code")
    assert box.get_attribute("value") == user_code, f"the page shows {box.get_attribute('value')!r}, not {user_code!r}"
    advance("button[type=submit].primary")
    if driver.find_elements(By.NAME, "password"):
        driver.find_element(By.NAME, "username").send_keys(stack.demo_user)
        driver.find_element(By.NAME, "password").send_keys(stack.demo_password)
        advance("button[type=submit].primary")
    assert driver.find_elements(By.CSS_SELECTOR, "button[name=action][value=approve]"), \
        f"no consent page: {driver.find_element(By.TAG_NAME, 'body').text[:500]!r}"
    assert user_code in driver.find_element(By.TAG_NAME, "main").text
    advance("button[name=action][value=approve]")
    heading = driver.find_element(By.TAG_NAME, "h1").text
    assert heading == "Device connected", f"after approving: {heading!r}: {driver.find_element(By.TAG_NAME, 'body').text[:400]!r}"
