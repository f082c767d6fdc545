"""The verification page in a real browser (headless Chromium, JavaScript off) through real
nginx: device authorization → page → sign-in → approve → tokens; and deny → access_denied."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

from browser import new_driver, quit_driver
from harness import DEVICEGATE_BIN, HTTP_TIMEOUT, assert_oauth_error, assert_oauth_json


@pytest.fixture
def driver():
    d = new_driver()
    try:
        yield d
    finally:
        quit_driver(d)


def submit(driver, selector: str):
    """Clicks a submit button and waits until the next page has replaced this one."""
    before = driver.find_element(By.TAG_NAME, "html").id
    driver.find_element(By.CSS_SELECTOR, selector).click()
    # A new document has a new <html> element; lookups during the navigation may fail.
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_element(By.TAG_NAME, "html").id != before)


def test_browser_sign_in_approve_then_tokens(stack, driver):
    flow = stack.new_flow(scope="openid profile email")
    assert_oauth_error(stack.token(flow["device_code"]), 400, "authorization_pending")

    # verification_uri_complete prefills the code; nothing is decided by opening it.
    driver.get(flow["verification_uri_complete"])
    box = driver.find_element(By.NAME, "user_code")
    assert box.get_attribute("value") == flow["user_code"]
    assert stack.flow_status(flow["device_code"]) == "pending"
    submit(driver, "button[type=submit].primary")

    # Not signed in yet: the sign-in form, carrying the code.
    assert "Sign in" in driver.find_element(By.TAG_NAME, "h1").text
    assert "Demo TV" in driver.page_source
    driver.find_element(By.NAME, "username").send_keys(stack.demo_user)
    driver.find_element(By.NAME, "password").send_keys(stack.demo_password)
    submit(driver, "button[type=submit].primary")

    # Consent: who asks, for what, which code, the §5.4 warning.
    assert driver.find_element(By.TAG_NAME, "h1").text == "Allow access?"
    text = driver.find_element(By.TAG_NAME, "main").text
    assert "Demo TV" in text and flow["user_code"] in text
    assert "See your email address" in text and "See your name" in text
    assert "Only approve if you started this yourself" in text
    assert stack.flow_status(flow["device_code"]) == "pending"
    submit(driver, "button[name=action][value=approve]")

    assert driver.find_element(By.TAG_NAME, "h1").text == "Device connected"
    assert "go back to your device" in driver.page_source
    tokens = assert_oauth_json(stack.token(flow["device_code"]), 200)
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "openid profile email"
    assert_oauth_error(stack.token(flow["device_code"]), 400, "invalid_grant")

    # Session cookie: HttpOnly and SameSite=Lax (plain http on 127.0.0.1: the dev setting).
    cookies = {c["name"]: c for c in driver.get_cookies()}
    session = cookies["devicegate_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"

    # Back at the device with the same browser: typed by hand, lower case, no dash; the
    # session is still there, so it goes straight to consent; deny.
    denied = stack.new_flow()
    driver.get(denied["verification_uri"])
    assert driver.find_element(By.NAME, "user_code").get_attribute("value") == ""
    driver.find_element(By.NAME, "user_code").send_keys(denied["user_code"].replace("-", "").lower())
    submit(driver, "button[type=submit].primary")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Allow access?"
    # The same consent page open in a second tab, for later.
    first_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(denied["verification_uri_complete"])
    submit(driver, "button[type=submit].primary")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Allow access?"
    second_tab = driver.current_window_handle
    driver.switch_to.window(first_tab)
    submit(driver, "button[name=action][value=deny]")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Request denied"
    assert_oauth_error(stack.token(denied["device_code"]), 400, "access_denied")

    # Approving from the other, still open consent page cannot change the decision.
    driver.switch_to.window(second_tab)
    submit(driver, "button[name=action][value=approve]")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Already denied"
    assert_oauth_error(stack.token(denied["device_code"]), 400, "access_denied")
    driver.close()
    driver.switch_to.window(first_tab)

    # Sign out: the next code needs a sign-in again.
    driver.get(stack.url("/device"))
    submit(driver, "button.link")
    assert "Sign out" not in driver.page_source
    third = stack.new_flow()
    driver.find_element(By.NAME, "user_code").send_keys(third["user_code"])
    submit(driver, "button[type=submit].primary")
    assert driver.find_elements(By.NAME, "password")


def test_browser_wrong_password_and_unknown_code_messages(stack, driver):
    flow = stack.new_flow()
    driver.get(stack.url("/device"))
    driver.find_element(By.NAME, "user_code").send_keys("BBBB-BBBB")
    submit(driver, "button[type=submit].primary")
    assert "recognise that code" in driver.find_element(By.CSS_SELECTOR, ".alert").text
    driver.find_element(By.NAME, "user_code").clear()
    driver.find_element(By.NAME, "user_code").send_keys(flow["user_code"])
    submit(driver, "button[type=submit].primary")
    driver.find_element(By.NAME, "username").send_keys(stack.demo_user)
    driver.find_element(By.NAME, "password").send_keys("not the password")
    submit(driver, "button[type=submit].primary")
    assert driver.find_element(By.CSS_SELECTOR, ".alert").text == "Wrong username or password."
    assert stack.flow_status(flow["device_code"]) == "pending"


HOSTILE = "\"\u0301\u0600>\u0600<a href=//evil.example>Continue here"


def test_hostile_unicode_stays_text_in_a_real_browser(stack, driver):
    """Issue 10, item 1, as reported: a combining mark after `"` and prepend marks before `>`
    and `<` must not close the attribute or add an element, in Chromium's own parser, for
    the ?code= link (now an empty form), a typed code and a username echoed back."""
    driver.get(stack.url("/device?code=%22%CC%81%D8%80%3E%D8%80%3Ca%20href%3D%2F%2Fevil.example%3EContinue%20here"))
    assert driver.find_elements(By.CSS_SELECTOR, "a[href*=evil]") == []
    assert driver.find_element(By.NAME, "user_code").get_attribute("value") == ""
    links = len(driver.find_elements(By.TAG_NAME, "a"))

    driver.find_element(By.NAME, "user_code").send_keys(HOSTILE)
    submit(driver, "button[type=submit].primary")
    assert driver.find_elements(By.CSS_SELECTOR, "a[href*=evil]") == []
    assert len(driver.find_elements(By.TAG_NAME, "a")) == links
    assert driver.find_element(By.NAME, "user_code").get_attribute("value") == HOSTILE[:40]

    flow = stack.new_flow()
    driver.find_element(By.NAME, "user_code").clear()
    driver.find_element(By.NAME, "user_code").send_keys(flow["user_code"])
    submit(driver, "button[type=submit].primary")
    driver.find_element(By.NAME, "username").send_keys(HOSTILE)
    driver.find_element(By.NAME, "password").send_keys("x")
    submit(driver, "button[type=submit].primary")
    assert driver.find_elements(By.CSS_SELECTOR, "a[href*=evil]") == []
    assert driver.find_element(By.NAME, "username").get_attribute("value") == HOSTILE
    assert len(driver.find_elements(By.TAG_NAME, "form")) == 1


def test_page_headers_through_nginx(stack):
    r = requests.get(stack.url("/device"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"
    css = requests.get(stack.url("/device/style.css"), timeout=HTTP_TIMEOUT)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    # A POST without the form's CSRF token is refused.
    r = requests.post(stack.url("/device"), data={"user_code": "BBBB-BBBB"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 403


def test_user_code_limit_is_shared_by_all_workers(make_stack):
    """Failed entries from one address are counted across 3 workers (RFC 8628 §5.1)."""
    s = make_stack(workers=3, transform=lambda t: t.replace(
        "  sign_in: embedded\n",
        "  sign_in: embedded\n  limits:\n    user_code_per_ip: {max_failures: 6, window: 600}\n"))
    statuses = []
    for i in range(8):
        session = requests.Session()  # a fresh connection each time: any worker may answer
        page = session.get(s.url("/device"), timeout=HTTP_TIMEOUT)
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = session.post(s.url("/device"), data={"user_code": f"BBBB-BBB{'BCDFGHJK'[i]}", "csrf_token": token},
                         timeout=HTTP_TIMEOUT)
        statuses.append(r.status_code)
    assert statuses == [404] * 6 + [429] * 2, statuses
    assert "Too many attempts" in r.text and int(r.headers["Retry-After"]) > 0


@pytest.fixture
def readable_dir():
    """A directory nginx's unprivileged workers can read (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="dg-users-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.one_host("reads the flow file in the state directory")
def test_delegated_sign_in_through_nginx_auth_basic(make_stack, readable_dir):
    """web.sign_in: delegated with nginx auth_basic passing DEVICEGATE_REMOTE_USER; the users file is
    written by `devicegate users add` (yescrypt), which nginx's auth_basic reads too."""
    users = readable_dir / "htpasswd"
    added = subprocess.run([DEVICEGATE_BIN, "users", "add", "erin", "--file", str(users)],
                           input="erin's password\n", capture_output=True, text=True, timeout=20)
    assert added.returncode == 0, added.stderr
    assert users.read_text().startswith("erin:$y$")
    users.chmod(0o644)
    s = make_stack(workers=2, auth_basic_file=str(users),
                   transform=lambda t: t.replace("sign_in: embedded", "sign_in: delegated"))
    flow = s.new_flow()
    assert requests.get(s.url("/device"), timeout=HTTP_TIMEOUT).status_code == 401  # nginx asks first
    session = requests.Session()
    session.auth = ("erin", "erin's password")
    page = session.get(s.url("/device"), params={"code": flow["user_code"]}, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200 and "erin" in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    consent = session.post(s.url("/device"), data={"user_code": flow["user_code"], "csrf_token": token}, timeout=HTTP_TIMEOUT)
    assert consent.status_code == 200 and 'value="approve"' in consent.text, consent.text[:500]
    token = consent.text.split('name="csrf_token" value="')[1].split('"')[0]
    binding = consent.text.split('name="flow" value="')[1].split('"')[0]
    done = session.post(s.url("/device/decision"), data={"user_code": flow["user_code"], "action": "approve",
                                                          "csrf_token": token, "flow": binding}, timeout=HTTP_TIMEOUT)
    assert done.status_code == 200 and "Device connected" in done.text
    tokens = assert_oauth_json(s.token(flow["device_code"]), 200)
    assert tokens["access_token"]
    assert "subject erin" in s.flow_path(flow["device_code"]).read_text()


def test_users_add_then_sign_in_on_the_page(make_stack):
    """`devicegate users add` (password on stdin) adds and then updates a user of the
    embedded users file; the page accepts exactly the current password."""
    s = make_stack(workers=2)
    users_file = s.root / "htpasswd"

    def add(name, password, *extra):
        return subprocess.run([DEVICEGATE_BIN, "users", "add", name, "-c", str(s.config), *extra],
                              input=password + "\n", capture_output=True, text=True, timeout=20)

    r = add("frank", "first password", "--bcrypt")
    assert r.returncode == 0 and "added frank" in r.stdout, r.stderr
    assert "frank:$2b$" in users_file.read_text() and "demo:$y$" in users_file.read_text()
    r = add("frank", "second password")
    assert r.returncode == 0 and "updated frank" in r.stdout, r.stderr
    assert users_file.read_text().count("frank:") == 1
    assert (users_file.stat().st_mode & 0o777) == 0o600
    bad = subprocess.run([DEVICEGATE_BIN, "users", "add", "bad name", "-c", str(s.config)], input="x\n",
                         capture_output=True, text=True, timeout=20)
    assert bad.returncode != 0 and "username" in bad.stderr

    def sign_in(password):
        session = requests.Session()
        page = session.get(s.url("/device"), timeout=HTTP_TIMEOUT)
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        return session.post(s.url("/device/signin"), data={"username": "frank", "password": password,
                                                            "csrf_token": token},
                            timeout=HTTP_TIMEOUT, allow_redirects=False)

    assert sign_in("first password").status_code == 403
    r = sign_in("second password")
    assert r.status_code == 303 and "devicegate_session=" in r.headers.get("Set-Cookie", "")


def test_concurrent_decisions_on_different_workers_decide_once(make_stack):
    """Two signed-in people press Approve and Deny on the same code at the same moment,
    answered by different workers: exactly one decision is taken, the other gets 409."""
    from harness import run_threads
    s = make_stack(workers=4)
    for attempt in range(3):
        flow = s.new_flow()
        consents = []
        for _ in range(2):
            session = requests.Session()
            page = session.get(s.url("/device"), timeout=HTTP_TIMEOUT)
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            page = session.post(s.url("/device/signin"), data={
                "username": s.demo_user, "password": s.demo_password, "user_code": flow["user_code"],
                "csrf_token": token}, timeout=HTTP_TIMEOUT)
            assert page.status_code == 200 and 'value="approve"' in page.text, page.text[:300]
            consents.append((session, page.text.split('name="csrf_token" value="')[1].split('"')[0],
                             page.text.split('name="flow" value="')[1].split('"')[0]))
        results = {}

        def decide(index, action):
            def run():
                session, token, binding = consents[index]
                r = session.post(s.url("/device/decision"), data={
                    "user_code": flow["user_code"], "action": action, "csrf_token": token, "flow": binding},
                    timeout=HTTP_TIMEOUT)
                results[action] = r.status_code
            return run

        run_threads([decide(0, "approve"), decide(1, "deny")])
        assert sorted(results.values()) == [200, 409], results
        winner = "approve" if results["approve"] == 200 else "deny"
        status = s.flow_status(flow["device_code"])
        assert status == ("approved" if winner == "approve" else "denied"), (results, status)
