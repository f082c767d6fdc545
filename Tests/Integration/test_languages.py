"""The pages' language through real nginx (issue 14, item 1): `Accept-Language` reaches the
worker through the shipped `nginx/devicegate-fastcgi.conf` (which passes request headers one by
one) and through the test harness's own location, and the switcher's cookie beats it."""

import re

import pytest
import requests

from harness import HTTP_TIMEOUT


def page_language(html: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1), match.group(2)


@pytest.mark.parametrize("header, lang, direction", [
    ("de-CH, en;q=0.5", "de", "ltr"),
    ("ar", "ar", "rtl"),
    ("sv-SE, ja;q=0.9", "ja", "ltr"),
    ("tlh", "en", "ltr"),
])
def test_accept_language_chooses_the_page_language_through_the_shipped_snippet(tls_stack, header, lang, direction):
    r = tls_stack.http.get(tls_stack.url("/device"), headers={"Accept-Language": header}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200
    assert page_language(r.text) == (lang, direction)


def test_accept_language_through_the_harness_location_and_the_cookie_beats_it(stack):
    # A session of its own: the shared one must not carry a language cookie into other tests.
    http = requests.Session()
    r = http.get(stack.url("/device"), headers={"Accept-Language": "fr"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and page_language(r.text) == ("fr", "ltr")
    # The switcher's link sets the cookie; afterwards the header no longer decides.
    r = http.get(stack.url("/device?lang=nl"), headers={"Accept-Language": "fr"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and page_language(r.text) == ("nl", "ltr")
    r = http.get(stack.url("/device"), headers={"Accept-Language": "fr"}, timeout=HTTP_TIMEOUT)
    assert page_language(r.text) == ("nl", "ltr")
