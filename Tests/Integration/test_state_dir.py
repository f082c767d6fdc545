"""State-directory hygiene: private permissions, and no secret stored in plaintext."""

import os
import stat

import pytest

from harness import assert_oauth_error, assert_oauth_json, run_cli

pytestmark = pytest.mark.one_host("checks the state directory's files")


def _walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        yield dirpath, True
        for name in filenames:
            yield os.path.join(dirpath, name), False


def test_state_dir_is_private_and_holds_no_plaintext_secrets(make_stack):
    s = make_stack(workers=2)
    secrets = []

    # A redeemed flow (confidential client), a pending one, a denied one, a slowed-down one.
    redeemed = s.new_flow(client_id=None, auth=s.cli_basic, scope="openid email")
    assert_oauth_error(s.token(redeemed["device_code"], client_id=None, auth=s.cli_basic), 400,
                       "authorization_pending")
    assert s.approve(redeemed["user_code"], subject="alice").returncode == 0
    tokens = assert_oauth_json(s.token(redeemed["device_code"], client_id=None, auth=s.cli_basic), 200)
    pending = s.new_flow()
    denied = s.new_flow()
    assert s.deny(denied["user_code"]).returncode == 0
    assert_oauth_error(s.token(denied["device_code"]), 400, "access_denied")
    slowed = s.new_flow()
    s.token(slowed["device_code"])
    assert_oauth_error(s.token(slowed["device_code"]), 400, "slow_down")
    # A full garbage-collection pass must not change the picture.
    gc = run_cli("gc", "-c", s.config)
    assert gc.returncode == 0, gc.stderr

    for flow in (redeemed, pending, denied, slowed):
        secrets += [flow["device_code"], flow["user_code"], flow["user_code"].replace("-", "")]
    secrets += [tokens["access_token"], s.cli_secret]

    n_files = 0
    for path, is_dir in _walk(s.state):
        st = os.lstat(path)
        mode = stat.S_IMODE(st.st_mode)
        if is_dir:
            assert stat.S_ISDIR(st.st_mode)
            assert mode == 0o700, f"{path} is a directory with mode {mode:04o}, expected 0700"
            continue
        assert stat.S_ISREG(st.st_mode), f"{path} is not a regular file"
        assert mode == 0o600, f"{path} has mode {mode:04o}, expected 0600"
        assert st.st_uid == os.geteuid()
        data = open(path, "rb").read()
        n_files += 1
        for secret in secrets:
            for form in {secret.encode(), secret.lower().encode()}:
                assert form not in data, f"{path} contains a secret in plaintext ({secret[:6]}...)"
    # At least: VERSION, pepper, 4 flows + 4 locks, 4 user-code entries, 1 token.
    assert n_files >= 15, f"only {n_files} files in the state directory"
    # The flows really are on disk (so the grep above looked at them).
    for flow in (redeemed, pending, denied, slowed):
        assert s.flow_path(flow["device_code"]).exists()
    assert s.token_path(tokens["access_token"]).exists()

    # The configuration keeps only the hash of the client secret, too.
    assert s.cli_secret not in s.config.read_text()
