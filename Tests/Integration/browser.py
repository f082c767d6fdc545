"""Headless Chromium driven by Selenium, for the verification-page tests and screenshots.

Needs Debian's ``chromium`` and ``chromium-driver`` and Selenium from PyPI (or Debian's
python3-selenium). Nothing is downloaded: the driver and browser paths are given explicitly
(``$CHROMIUM_BIN``, ``$CHROMEDRIVER_BIN``), so Selenium Manager is never consulted.
"""

from __future__ import annotations

import os
import shutil
import tempfile

CHROMIUM_BIN = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER_BIN = os.environ.get("CHROMEDRIVER_BIN") or shutil.which("chromedriver") or "/usr/bin/chromedriver"


def new_driver(width: int = 390, height: int = 844, accept_insecure_certs: bool = False, javascript: bool = False):
    """A fresh headless Chromium with its own profile (no shared cookies), JavaScript off:
    the pages must work without it. ``accept_insecure_certs``: the browser takes any server
    certificate (the https stack's test CA is not in its trust store; the OAuth clients under
    test do verify against that CA)."""
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM_BIN, CHROMEDRIVER_BIN):
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"{path} not found: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM_BIN
    profile = tempfile.mkdtemp(prefix="dg-chromium-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                f"--user-data-dir={profile}", f"--window-size={width},{height}", "--hide-scrollbars",
                "--force-device-scale-factor=1", "--lang=en-US"):
        options.add_argument(arg)
    if not javascript:  # on only where a test proves a script runs (the form_post page's submit)
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    if accept_insecure_certs:
        options.accept_insecure_certs = True
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER_BIN), options=options)
    driver.set_page_load_timeout(30)
    driver._dg_profile = profile  # noqa: SLF001 - removed in quit_driver
    return driver


def quit_driver(driver):
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "_dg_profile", ""), ignore_errors=True)


def full_page_screenshot(driver, path: str, width: int):
    """Resizes the window to the page's full height (at ``width`` CSS px), then saves a PNG."""
    driver.set_window_size(width, 800)
    # JavaScript is disabled in these profiles: measure with CDP instead.
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    height = int(metrics.get("cssContentSize", metrics.get("contentSize", {})).get("height", 800))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": max(height, 640 if width < 600 else 800), "deviceScaleFactor": 1,
        "mobile": width < 600})
    driver.save_screenshot(path)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
