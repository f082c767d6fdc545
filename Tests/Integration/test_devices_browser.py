"""Issue 14 in a real browser at phone width (headless Chromium, JavaScript off) through real
nginx: a device flow approved on the page, whose consent page says who is asking (RFC 8628
§5.4); "Your devices" opened from the top bar; Disconnect; then the device's refresh gets
``invalid_grant`` and its access token is refused by the nginx gateway on every worker.
Runs on one host and on two hosts (PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from browser import new_driver, quit_driver
from harness import assert_oauth_error, assert_oauth_json
from test_browser import submit
from test_tokens import PROTECTED, _api, assert_bearer_refusal, gateway_stack

PHONE = (390, 844)
TRIES = 12

SERVER = """
        include devicegate/devicegate-gateway.conf;
""" + PROTECTED.format(path="/api/any/", scopes="")


@pytest.fixture(scope="module")
def gated():
    yield from gateway_stack(workers=4, server=SERVER, transform=None)


@pytest.fixture
def phone():
    d = new_driver(*PHONE)
    # Headless Chromium keeps a minimum window width above a phone's: emulate the phone's
    # viewport itself, as the screenshots do.
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
    try:
        yield d
    finally:
        quit_driver(d)


def fits_the_screen(driver, selector: str):
    """The element is inside the phone's width (nothing pushed off to the side)."""
    rect = driver.find_element(By.CSS_SELECTOR, selector).rect
    assert rect["x"] >= 0 and rect["x"] + rect["width"] <= PHONE[0], (selector, rect)


def test_approve_then_disconnect_from_your_devices_on_a_phone(gated, phone):
    flow = gated.new_flow(scope="openid profile offline_access")

    phone.get(flow["verification_uri_complete"])
    submit(phone, "button[type=submit].primary")
    phone.find_element(By.NAME, "username").send_keys(gated.demo_user)
    phone.find_element(By.NAME, "password").send_keys(gated.demo_password)
    submit(phone, "button[type=submit].primary")

    # Consent: who is asking. The device (this test's requests) and the phone are both on
    # 127.0.0.1: the same network, so only the usual warning.
    assert phone.find_element(By.TAG_NAME, "h1").text == "Allow access?"
    asking = phone.find_element(By.CSS_SELECTOR, "section.asking").text
    assert "who is asking" in asking.lower() and "just now" in asking and "your network" in asking, asking
    assert phone.find_element(By.CSS_SELECTOR, ".asking .address").text == "127.0.0.1"
    assert phone.find_element(By.CSS_SELECTOR, ".asking .product").text.startswith("python-requests/")
    assert not phone.find_elements(By.CSS_SELECTOR, ".warning.urgent")
    fits_the_screen(phone, "section.asking")
    submit(phone, "button[name=action][value=approve]")
    assert phone.find_element(By.TAG_NAME, "h1").text == "Device connected"

    tokens = assert_oauth_json(gated.token(flow["device_code"]), 200)
    assert "refresh_token" in tokens
    for _ in range(TRIES):  # every worker has seen (and may cache) the token
        r = _api(gated, "/api/any/x", tokens["access_token"])
        assert r.status_code == 200, (r.status_code, r.text[:200])

    # "Your devices", from the top bar.
    submit(phone, "header a[href$='/device/connected']")
    assert phone.find_element(By.TAG_NAME, "h1").text == "Your devices"
    grants = phone.find_elements(By.CSS_SELECTOR, "li.grant")
    assert len(grants) == 1, phone.page_source
    card = grants[0].text
    assert "Demo TV" in card and "See your name and basic profile" in card, card
    assert "Approved" in card and "just now" in card and "not yet" in card, card
    fits_the_screen(phone, "li.grant button.secondary")

    submit(phone, "li.grant button.secondary")
    # Post/Redirect/Get to the list, naming the grant just disconnected (the confirmation is
    # shown only for the visitor's own grant revoked moments ago).
    assert re.search(r"/device/connected\?disconnected=[0-9a-f]{64}$", phone.current_url), phone.current_url
    assert "Demo TV is disconnected." in phone.find_element(By.CSS_SELECTOR, "p.notice").text
    assert not phone.find_elements(By.CSS_SELECTOR, "li.grant")
    assert "No devices are connected" in phone.find_element(By.TAG_NAME, "main").text

    # The device's next refresh, and its access token at the gateway, on every worker.
    assert_oauth_error(gated.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    for _ in range(TRIES):
        r = _api(gated, "/api/any/x", tokens["access_token"])
        assert_bearer_refusal(r, 401, "invalid_token")

    # A reload of the confirmation posts nothing and still shows the empty list.
    phone.refresh()
    assert phone.find_element(By.TAG_NAME, "h1").text == "Your devices"
    assert not phone.find_elements(By.CSS_SELECTOR, "li.grant")


def test_your_devices_without_a_code_signs_in_and_returns_to_the_list(gated, phone):
    tokens = gated.grant(scope="openid offline_access", subject=gated.demo_user)
    phone.get(gated.url("/device/connected"))
    assert phone.find_element(By.TAG_NAME, "h1").text == "Your devices"
    phone.find_element(By.NAME, "username").send_keys(gated.demo_user)
    phone.find_element(By.NAME, "password").send_keys(gated.demo_password)
    submit(phone, "button[type=submit].primary")
    assert phone.current_url.endswith("/device/connected"), phone.current_url
    assert "Demo TV" in phone.find_element(By.CSS_SELECTOR, "li.grant").text
    assert assert_oauth_json(gated.refresh(tokens["refresh_token"]), 200)["access_token"]
