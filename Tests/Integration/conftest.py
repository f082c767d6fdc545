"""pytest fixtures for the devicegate integration tests; the machinery is in harness.py.

Run: python3 -m pytest -q Tests/Integration   (DEVICEGATE_BIN overrides the binary path)
Two hosts on PostgreSQL: DEVICEGATE_TEST_TOPOLOGY=two-hosts DEVICEGATE_TEST_POSTGRES_URL=...
(and DEVICEGATE_TEST_POSTGRES_DIR for the restart test); see harness.py.
"""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (EXPIRY_SECONDS, TOPOLOGY, TWO_HOSTS, InteropClients, Stack, assert_oauth_json,  # noqa: E402
                     free_port, tls_stack_options)


@pytest.fixture(scope="session")
def stack():
    """One nginx + devicegate (4 workers) shared by the request-only tests."""
    s = Stack(workers=4)
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


@pytest.fixture(scope="session")
def tls_stack():
    """The https stack of the client tests (issue 13), shared by them (2 workers): nginx serves TLS with a
    certificate of a CA made for this run (``tls_stack.ca.ca_file``) through the shipped
    location snippets, the issuer is ``https://127.0.0.1:PORT/application/o/devicegate/``,
    cookies are the production ones (``__Host-``, Secure), and ``InteropClients`` are
    registered. ``tls_stack.logout_port`` is the port of the web app's registered post-logout
    redirect URI. Two hosts: the balancer serves https."""
    logout_port = free_port()
    s = Stack(workers=2, **tls_stack_options(logout_port))
    s.logout_port = logout_port
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def only_test_ca(monkeypatch):
    """For the client-library tests: no CA bundle from the environment. requests (under MSAL
    and Authlib) lets $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE override the ``verify=`` a library
    was given, which would test the environment's trust store instead of the test CA."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_stack():
    """Factory: ``make_stack(workers=3, transform=fn)`` starts a private stack; all are torn down.
    Other keyword arguments (``nginx_http``, ``nginx_server``) go to ``Stack``."""
    made: list[Stack] = []

    def factory(workers: int = 4, transform=None, start: bool = True, **kw) -> Stack:
        s = Stack(workers=workers, transform=transform, **kw)
        made.append(s)
        if start:
            s.start()
        return s

    yield factory
    for s in made:
        s.cleanup()


# --------------------------------------------------------------------------- expiry

def pytest_report_header(config):
    return f"devicegate topology: {TOPOLOGY}"


def pytest_collection_modifyitems(session, config, items):
    """Tests marked ``expiry`` run last: they wait for flows that the session-wide
    ``expiring_flows`` fixture created when the session started, so the 60 s lifetime
    elapses while the other tests run.

    The topology (harness.TOPOLOGY) skips what cannot run on it: ``one_host`` tests (they read
    a host's state directory, signal its processes, or change one host's files) on two hosts,
    with the marker's reason; ``two_hosts`` tests on one host."""
    items.sort(key=lambda item: item.get_closest_marker("expiry") is not None)
    for item in items:
        one = item.get_closest_marker("one_host")
        if TWO_HOSTS and one is not None:
            why = one.kwargs.get("reason") or (one.args[0] if one.args else "reads one host's state directory or processes")
            item.add_marker(pytest.mark.skip(reason=f"one host only: {why}"))
        if not TWO_HOSTS and item.get_closest_marker("two_hosts") is not None:
            item.add_marker(pytest.mark.skip(reason="two hosts only (DEVICEGATE_TEST_TOPOLOGY=two-hosts)"))


@pytest.fixture(scope="session", autouse=True)
def expiring_flows(request):
    """When an ``expiry`` test is selected: a stack with a 60 s device_code and access-token
    lifetime, a few flows in different states and two token grants, created at session start.
    Otherwise None."""
    if not any(item.get_closest_marker("expiry") for item in request.session.items):
        yield None
        return
    def short_lifetimes(text: str) -> str:
        for old, new in (("device_code: 600", f"device_code: {EXPIRY_SECONDS}"), ("poll_interval: 5", "poll_interval: 1"),
                         ("access_token: 3600", f"access_token: {EXPIRY_SECONDS}")):
            assert old in text, f"demo config changed: {old!r} not found"
            text = text.replace(old, new, 1)
        return text

    s = Stack(workers=2, transform=short_lifetimes)
    try:
        s.start()
        flows = {name: s.new_flow() for name in ("pending", "approved", "denied", "other_client")}
        created = time.monotonic()
        s.token(flows["pending"]["device_code"])
        assert s.approve(flows["approved"]["user_code"]).returncode == 0
        assert s.deny(flows["denied"]["user_code"]).returncode == 0
        # Tokens with a 60 s access-token lifetime (test_tokens.py); one of them is used now,
        # so that the workers have it verified and cached when it expires.
        tokens = {name: s.grant("openid offline_access") for name in ("used", "unused")}
        for _ in range(4):
            assert s.userinfo(tokens["used"]["access_token"]).status_code == 200
        yield {"stack": s, "flows": flows, "created": created, "tokens": tokens}
    finally:
        s.cleanup()


@pytest.fixture(scope="session")
def client_lifetime_flows(tls_stack):
    """Two pending device flows on the https stack, made at session start when a test uses
    this fixture (``start_client_lifetime_flows``): one of ``InteropClients.BRIEF_TV``
    (``lifetimes.device_code: 60``) and one of demo-tv (the global 600 s)."""
    brief = assert_oauth_json(tls_stack.device(client_id=InteropClients.BRIEF_TV), 200)
    created = time.monotonic()
    longer = assert_oauth_json(tls_stack.device(client_id="demo-tv"), 200)
    return {"stack": tls_stack, "brief": brief, "longer": longer, "created": created}


@pytest.fixture(scope="session", autouse=True)
def start_client_lifetime_flows(request):
    """Makes ``client_lifetime_flows`` at session start when a selected test uses it, so its
    60 s elapse while the other tests run (the test is marked ``expiry`` and runs last)."""
    if any("client_lifetime_flows" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("client_lifetime_flows")
    yield
