"""Accessibility of every page in a real browser (issue 14, item 6): axe-core (bundled by
axe-selenium-python, injected through WebDriver) in
headless Chromium through real nginx, in English and in Arabic, at phone (390 px) and desktop
(1280 px) width: no violation of impact serious or critical. In Arabic every page is
``lang="ar" dir="rtl"`` and mirrored, measured with getBoundingClientRect; the user code
stays left to right. A device flow done with the keyboard alone, then Disconnect on
"Your devices"."""

from __future__ import annotations

import urllib.parse

import pytest
from axe_selenium_python import Axe
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from browser import full_page_screenshot, new_driver, quit_driver
from harness import Stack, assert_oauth_error, assert_oauth_json
from test_browser import submit

PHONE, DESKTOP = 390, 1280
SERIOUS = ("serious", "critical")
WEB_APP_CALLBACK = "http://127.0.0.1:9/callback"  # never followed: the tests stop at consent

WEB_APP = f"""
  - client_id: web-app
    name: Web App
    type: public
    allowed_scopes: [openid, profile]
    default_scopes: [openid]
    grant_types: [authorization_code, refresh_token]
    redirect_uris: ["{WEB_APP_CALLBACK}"]
    post_logout_redirect_uris: ["http://127.0.0.1:9/bye"]
"""


@pytest.fixture(scope="module")
def pages():
    """One stack with a web app registered beside the demo clients."""
    s = Stack(workers=2, transform=lambda t: t.rstrip("\n") + "\n" + WEB_APP)
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def driver():
    # JavaScript on for axe's own timers and promises (injected through WebDriver, which the
    # pages' CSP does not govern); the pages carry no script, so they behave as with it off.
    d = new_driver(DESKTOP, 900, javascript=True)
    try:
        yield d
    finally:
        quit_driver(d)


def set_width(driver, width: int):
    """The viewport at ``width`` CSS px; a phone is emulated (headless Chromium keeps a
    minimum window width above a phone's)."""
    if width < 600:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.set_window_size(width, 900)


def violations_report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node.get("target", []))) for node in v.get("nodes", [])]
        lines.append(f"{v['id']} ({v['impact']}): {v.get('help', '')} at {targets}")
    return "\n".join(lines)


def axe_serious(driver) -> list[dict]:
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    return [v for v in results["violations"] if v.get("impact") in SERIOUS]


def language_of(driver) -> tuple[str, str]:
    return driver.execute_script("return [document.documentElement.lang, document.documentElement.dir]")


def check_page(driver, name: str, language: str, seen: list[str]):
    """axe at both widths, and the page's language and direction."""
    lang, direction = language_of(driver)
    assert (lang, direction) == (language, "rtl" if language == "ar" else "ltr"), (name, lang, direction)
    for width in (PHONE, DESKTOP):
        set_width(driver, width)
        found = axe_serious(driver)
        assert not found, f"{name} ({language}, {width} px):\n{violations_report(found)}"
    seen.append(name)


def rect(driver, selector: str) -> dict:
    return driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width};", selector)


def text_rect(driver, selector: str, start: int | None = None, end: int | None = None) -> dict:
    """The rectangle of an element's text (or of its characters start..end of its first text node)."""
    return driver.execute_script("""
        const el = document.querySelector(arguments[0]), range = document.createRange();
        if (arguments[1] === null) { range.selectNodeContents(el); }
        else { const node = el.firstChild; range.setStart(node, arguments[1]); range.setEnd(node, arguments[2]); }
        const r = range.getBoundingClientRect();
        return {left: r.left, right: r.right, width: r.width};""", selector, start, end)


def check_mirrored_consent(driver, language: str):
    """Desktop: the product name and the Your devices / Sign out links on opposite ends of
    the top bar, Approve beside Deny, the heading's text at the start side; and the user code
    left to right in both languages."""
    set_width(driver, DESKTOP)
    rtl = language == "ar"
    brand, who = rect(driver, ".bar .brand"), rect(driver, ".bar .who")
    devices, sign_out = rect(driver, ".bar a.link"), rect(driver, ".bar button.link")
    if rtl:
        assert brand["left"] > who["right"], (brand, who)
        assert devices["left"] > sign_out["right"], (devices, sign_out)  # in reading order, right to left
    else:
        assert brand["right"] < who["left"], (brand, who)
        assert devices["right"] < sign_out["left"], (devices, sign_out)
    approve, deny = rect(driver, "button[value=approve]"), rect(driver, "button[value=deny]")
    assert abs(approve["top"] - deny["top"]) < 1, (approve, deny)  # side by side
    assert (approve["right"] <= deny["left"]) if rtl else (approve["left"] >= deny["right"]), (language, approve, deny)
    heading, heading_text = rect(driver, "main h1"), text_rect(driver, "main h1")
    assert heading_text["width"] < heading["width"] - 40, (heading, heading_text)
    if rtl:
        assert abs(heading_text["right"] - heading["right"]) < 2, (heading, heading_text)
    else:
        assert abs(heading_text["left"] - heading["left"]) < 2, (heading, heading_text)
    # The user code reads left to right: its first character left of its last.
    code = driver.find_element(By.CSS_SELECTOR, ".code-shown").text
    first, last = text_rect(driver, ".code-shown", 0, 1), text_rect(driver, ".code-shown", len(code) - 1, len(code))
    assert first["right"] <= last["left"], (code, first, last)
    assert driver.execute_script("return getComputedStyle(document.querySelector('.code-shown')).direction") == "ltr"


def sign_in(driver, stack, password: str):
    driver.find_element(By.NAME, "username").clear()
    driver.find_element(By.NAME, "username").send_keys(stack.demo_user)
    driver.find_element(By.NAME, "password").send_keys(password)
    submit(driver, "button[type=submit].primary")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_every_page_passes_axe_and_arabic_is_mirrored(pages, driver, language, tmp_path_factory):
    shots = tmp_path_factory.mktemp(f"a11y-{language}")
    seen: list[str] = []
    flow = pages.new_flow(scope="openid profile offline_access")

    # The switcher's link sets the language cookie; every later page speaks it.
    driver.get(pages.url(f"/device?lang={language}"))
    check_page(driver, "code entry", language, seen)
    driver.get(pages.url("/device/connected"))
    check_page(driver, "your devices, sign-in", language, seen)
    driver.get(flow["verification_uri_complete"])
    check_page(driver, "code entry, prefilled", language, seen)
    code_box = driver.find_element(By.NAME, "user_code")
    code_box.clear()
    code_box.send_keys("BBBB-BBBB")
    submit(driver, "button[type=submit].primary")
    assert driver.find_elements(By.CSS_SELECTOR, ".alert")
    check_page(driver, "code entry, unknown code", language, seen)
    code_box = driver.find_element(By.NAME, "user_code")
    code_box.clear()
    code_box.send_keys(flow["user_code"])
    submit(driver, "button[type=submit].primary")
    check_page(driver, "sign-in", language, seen)
    sign_in(driver, pages, "not the password")
    assert driver.find_elements(By.CSS_SELECTOR, ".alert")
    check_page(driver, "sign-in, wrong password", language, seen)
    driver.find_element(By.NAME, "password").send_keys(pages.demo_password)
    submit(driver, "button[type=submit].primary")
    assert driver.find_elements(By.CSS_SELECTOR, "section.asking"), "no who-is-asking on the consent page"
    check_page(driver, "consent (who is asking)", language, seen)
    check_mirrored_consent(driver, language)
    full_page_screenshot(driver, str(shots / f"consent-{language}-{PHONE}.png"), PHONE)
    submit(driver, "button[name=action][value=approve]")
    check_page(driver, "done, approved", language, seen)
    assert "refresh_token" in assert_oauth_json(pages.token(flow["device_code"]), 200)  # the grant is made

    driver.get(pages.url("/device/connected"))
    assert len(driver.find_elements(By.CSS_SELECTOR, "li.grant")) == 1
    check_page(driver, "your devices, one grant", language, seen)
    full_page_screenshot(driver, str(shots / f"your-devices-{language}-{PHONE}.png"), PHONE)
    submit(driver, "li.grant button.secondary")
    check_page(driver, "your devices, disconnected", language, seen)
    driver.get(pages.url("/device/connected"))
    assert not driver.find_elements(By.CSS_SELECTOR, "li.grant")
    check_page(driver, "your devices, empty", language, seen)

    denied = pages.new_flow()
    driver.get(denied["verification_uri_complete"])
    submit(driver, "button[type=submit].primary")
    submit(driver, "button[name=action][value=deny]")
    check_page(driver, "done, denied", language, seen)
    driver.get(pages.url("/device/nope"))
    check_page(driver, "message, not found", language, seen)

    # A web app's sign-in (prompt=login asks again), its consent, and the signed-out page.
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": "web-app", "redirect_uri": WEB_APP_CALLBACK, "scope": "openid profile",
        "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
        "prompt": "login"})
    driver.get(pages.url("/application/o/authorize/?" + query))
    assert driver.find_elements(By.NAME, "password")
    check_page(driver, "web app sign-in", language, seen)
    sign_in(driver, pages, pages.demo_password)
    assert driver.find_elements(By.CSS_SELECTOR, "button[value=approve]")
    check_page(driver, "web app consent", language, seen)
    driver.get(pages.url("/application/o/end-session/?" + urllib.parse.urlencode({
        "client_id": "web-app", "post_logout_redirect_uri": "http://127.0.0.1:9/elsewhere"})))
    check_page(driver, "signed out", language, seen)

    # An expired form: the anonymous CSRF cookie is gone when the code is sent.
    driver.get(pages.url("/device"))
    for cookie in driver.get_cookies():
        if "lang" not in cookie["name"]:
            driver.delete_cookie(cookie["name"])
    driver.find_element(By.NAME, "user_code").send_keys(flow["user_code"])
    submit(driver, "button[type=submit].primary")
    assert not driver.find_elements(By.NAME, "user_code"), "the form was accepted without its CSRF cookie"
    check_page(driver, "message, expired form", language, seen)
    print(f"\n{language}: {len(seen)} pages passed axe; screenshots in {shots}")


def test_the_axe_check_catches_a_broken_page(pages, driver):
    """The control: the same check reports a field without its label and an unreadable button."""
    driver.get(pages.url("/device?lang=en"))
    assert not axe_serious(driver)
    driver.execute_script("""
        document.querySelector('label[for=user_code]').remove();
        const button = document.querySelector('button.primary');
        button.style.color = '#ccc'; button.style.background = '#ddd';""")
    found = {v["id"] for v in axe_serious(driver)}
    assert {"label", "color-contrast"} <= found, found


# --------------------------------------------------------------------------- keyboard only

INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]"


def press(driver, *keys):
    ActionChains(driver).send_keys(*keys).perform()


def focused(driver) -> dict:
    return driver.execute_script("""
        const e = document.activeElement;
        return {tag: e.tagName.toLowerCase(), name: e.getAttribute('name') || '', value: e.getAttribute('value') || '',
                href: e.getAttribute('href') || '', cls: e.className || '', index: e.dataset.kbIndex ?? null,
                outline: getComputedStyle(e).outlineStyle, outlineWidth: parseFloat(getComputedStyle(e).outlineWidth) || 0};""")


def tab_to(driver, matches, backwards: bool = False, limit: int = 40) -> dict:
    """Presses Tab (Shift+Tab) until the focused element matches; the focus may already be there."""
    for _ in range(limit):
        now = focused(driver)
        if matches(now):
            return now
        press(driver, Keys.SHIFT, Keys.TAB, Keys.SHIFT) if backwards else press(driver, Keys.TAB)
    raise AssertionError(f"no matching element reached by {'Shift+' if backwards else ''}Tab; last {focused(driver)}")


def press_and_wait(driver, key):
    """A key that submits a form or follows a link; waits for the next document."""
    before = driver.find_element(By.TAG_NAME, "html").id
    press(driver, key)
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.find_element(By.TAG_NAME, "html").id != before)


def check_consent_tab_order(driver) -> int:
    """Every interactive element reached by Tab in document order, which at phone width is
    top to bottom; none with a negative tabindex; each outlined while focused."""
    count = driver.execute_script("""
        const all = [...document.querySelectorAll(arguments[0])];
        all.forEach((e, i) => { e.dataset.kbIndex = String(i); });
        return all.length;""", INTERACTIVE)
    negative = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].filter(e => e.tabIndex < 0).map(e => e.outerHTML)", INTERACTIVE)
    assert not negative, negative
    kinds = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.tagName.toLowerCase() + ':' + (e.getAttribute('name') || e.className))",
        INTERACTIVE)
    assert "button:action" in kinds and "a:link" in kinds and "button:link" in kinds, kinds  # decision, Your devices, Sign out
    assert sum(k.startswith("a:") for k in kinds) >= 3, kinds  # and the switcher's links
    reached, tops = [], []
    for _ in range(count):
        press(driver, Keys.TAB)
        now = focused(driver)
        assert now["outline"] != "none" and now["outlineWidth"] > 0, f"no visible focus outline on {now}"
        reached.append(now["index"])
        tops.append(driver.execute_script("return document.activeElement.getBoundingClientRect().top + window.scrollY"))
    assert reached == [str(i) for i in range(count)], (reached, kinds)
    assert all(b >= a - 1 for a, b in zip(tops, tops[1:])), tops
    return count


def test_a_device_flow_with_the_keyboard_alone_then_disconnect(pages):
    driver = new_driver(PHONE, 844)
    try:
        set_width(driver, PHONE)
        flow = pages.new_flow(scope="openid profile offline_access")
        driver.get(pages.url("/device?lang=en"))
        tab_to(driver, lambda e: e["name"] == "user_code")
        press(driver, flow["user_code"])
        press_and_wait(driver, Keys.ENTER)

        tab_to(driver, lambda e: e["name"] == "username")
        press(driver, pages.demo_user)
        tab_to(driver, lambda e: e["name"] == "password")
        press(driver, pages.demo_password)
        press_and_wait(driver, Keys.ENTER)
        assert driver.find_elements(By.CSS_SELECTOR, "button[value=approve]"), driver.page_source[:500]

        check_consent_tab_order(driver)
        tab_to(driver, lambda e: e["value"] == "approve", backwards=True)
        press_and_wait(driver, Keys.SPACE)
        assert driver.find_element(By.TAG_NAME, "h1").text == "Device connected"
        tokens = assert_oauth_json(pages.token(flow["device_code"]), 200)

        tab_to(driver, lambda e: e["href"].endswith("/device/connected"))
        press_and_wait(driver, Keys.ENTER)
        assert driver.find_element(By.TAG_NAME, "h1").text == "Your devices"
        assert "Demo TV" in driver.find_element(By.CSS_SELECTOR, "li.grant").text
        tab_to(driver, lambda e: e["tag"] == "button" and "secondary" in e["cls"])
        press_and_wait(driver, Keys.SPACE)
        assert "Demo TV is disconnected." in driver.find_element(By.CSS_SELECTOR, "p.notice").text
        assert_oauth_error(pages.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    finally:
        quit_driver(driver)
