"""Screenshots of every verification page at 360 and 1280 CSS pixels wide, through real nginx
and headless Chromium, in English; the consent page and "Your devices" also in Arabic (right to
left). Not a test: run it to look at the pages.

    DEVICEGATE_BIN=.build/debug/devicegate python3 Tests/Integration/take_screenshots.py /tmp/dg-shots
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from selenium.webdriver.common.by import By  # noqa: E402

from browser import full_page_screenshot, new_driver, quit_driver  # noqa: E402
from harness import Stack  # noqa: E402
from test_browser import submit  # noqa: E402


def main(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    stack = Stack(workers=2, transform=lambda t: t.replace(
        "  sign_in: embedded\n",
        "  sign_in: embedded\n  limits:\n    user_code_per_ip: {max_failures: 4, window: 600}\n"))
    driver = None
    try:
        stack.start()
        driver = new_driver()

        def shot(name):
            for width in (360, 1280):
                full_page_screenshot(driver, str(out / f"{name}-{width}.png"), width)

        def click(selector):
            driver.find_element(By.CSS_SELECTOR, selector).click()

        flow = stack.new_flow(scope="openid profile email offline_access")
        driver.get(stack.url("/device"))
        shot("1-enter")
        driver.get(flow["verification_uri_complete"])
        shot("2-enter-prefilled")
        click("button.primary")
        shot("4-signin")
        driver.find_element(By.NAME, "username").send_keys(stack.demo_user)
        driver.find_element(By.NAME, "password").send_keys("wrong")
        click("button.primary")
        shot("5-signin-wrong-password")
        driver.find_element(By.NAME, "password").send_keys(stack.demo_password)
        click("button.primary")
        shot("6-consent")
        click("button[value=approve]")
        shot("7-done-approved")
        stack.token(flow["device_code"])  # the device redeems: the grant exists
        click("header a[href$='/device/connected']")
        shot("11-your-devices")
        second = stack.new_flow()
        driver.get(second["verification_uri_complete"])
        click("button.primary")
        click("button[value=deny]")
        shot("8-done-denied")
        driver.get(stack.url("/device"))
        driver.find_element(By.NAME, "user_code").send_keys("BBBB-BBBB")
        click("button.primary")
        shot("3-enter-unknown-code")
        driver.get(stack.url("/device/nope"))
        shot("10-not-found")
        # Arabic (right to left), chosen with the switcher's link: consent and Your devices.
        driver.get(stack.url("/device?lang=ar"))
        arabic = stack.new_flow(scope="openid profile email offline_access")
        driver.get(arabic["verification_uri_complete"])
        submit(driver, "button.primary")
        shot("12-consent-ar")
        submit(driver, "button[value=approve]")
        stack.token(arabic["device_code"])
        submit(driver, "header a[href$='/device/connected']")
        shot("13-your-devices-ar")
        driver.get(stack.url("/device?lang=en"))
        for code in ("CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", "GGGG-GGGG"):
            driver.get(stack.url("/device"))
            driver.find_element(By.NAME, "user_code").send_keys(code)
            click("button.primary")
        shot("9-too-many-attempts")
        print(f"screenshots in {out}")
    finally:
        if driver is not None:
            quit_driver(driver)
        stack.cleanup()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/dg-shots"))
