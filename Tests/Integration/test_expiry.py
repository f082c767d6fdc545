"""expired_token (RFC 8628 §3.5) after the device_code lifetime. The flows are created at
session start by the ``expiring_flows`` fixture (conftest.py) and checked here, last."""

import time

import pytest

from harness import EXPIRY_SECONDS, assert_oauth_error, assert_oauth_json, run_cli, wait_until


@pytest.mark.expiry
def test_expired_device_codes_get_expired_token(expiring_flows):
    s, flows, created = expiring_flows["stack"], expiring_flows["flows"], expiring_flows["created"]
    assert flows["pending"]["expires_in"] == EXPIRY_SECONDS
    # Before expiry (if the rest of the session was quick): still pending.
    if time.monotonic() - created < EXPIRY_SECONDS - 5:
        assert_oauth_error(s.token(flows["other_client"]["device_code"]), 400, "authorization_pending")
    wait_until(lambda: time.monotonic() - created > EXPIRY_SECONDS + 1.5, EXPIRY_SECONDS + 10, interval=0.5,
               what="the device codes to expire")

    # Pending, approved-but-never-redeemed and denied flows all report expiry.
    for name in ("pending", "approved", "denied"):
        assert_oauth_error(s.token(flows[name]["device_code"]), 400, "expired_token")
    # Still expired on the next poll, also after a garbage-collection pass (retention 1 h).
    assert run_cli("gc", "-c", s.config).returncode == 0
    assert_oauth_error(s.token(flows["approved"]["device_code"]), 400, "expired_token")
    # The client binding is still checked first.
    assert_oauth_error(s.token(flows["other_client"]["device_code"], client_id=None, auth=s.cli_basic),
                       400, "invalid_grant")

    # An expired code can no longer be approved or denied.
    late = s.approve(flows["other_client"]["user_code"])
    assert late.returncode == 1, (late.stdout, late.stderr)
    assert "expired" in late.stderr, late.stderr
    assert s.deny(flows["pending"]["user_code"]).returncode == 1
    assert_oauth_error(s.token(flows["other_client"]["device_code"]), 400, "expired_token")

    # New flows work as usual.
    fresh = s.new_flow()
    assert s.approve(fresh["user_code"]).returncode == 0
    assert_oauth_json(s.token(fresh["device_code"]), 200)
