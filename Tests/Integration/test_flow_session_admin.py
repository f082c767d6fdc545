"""The operator's ``flows list`` and ``sessions list|revoke`` (issue 14, item 4), and who the
audit log names as the operator (the login uid's account, ``SUDO_USER`` only as a claim),
through the built binary against the shared stack."""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess

import pytest

from harness import DEVICEGATE_BIN, assert_oauth_json, sha256_hex
from test_grant_admin import NOTHING_MATCHED, RFC3339, audit, cli, hosts, listed, operator_env, refresh
from test_revocation import _sign_in_and_approve, _signed_in

PRODUCT = "KitchenTV/4.2"


def new_flow(stack, user_agent: str) -> dict:
    r = stack.post("/application/o/device/", data={"client_id": "demo-tv", "scope": "openid profile"},
                   headers={"User-Agent": user_agent})
    return assert_oauth_json(r, 200)


def codes_of(flow: dict) -> list[str]:
    return [flow["device_code"], flow["user_code"], flow["user_code"].replace("-", ""), sha256_hex(flow["device_code"])]


def test_flows_list_pending_shows_the_client_and_address_and_never_a_code(stack):
    flow = new_flow(stack, f"{PRODUCT} (Linux; hostile <b>)")
    rows = [r for r in listed(stack, "flows", "list", "--pending") if r["product"] == PRODUCT]
    assert len(rows) == 1, rows
    row = rows[0]
    assert set(row) == {"client_id", "state", "scopes", "created_at", "created_at_epoch", "age_seconds", "expires_at",
                        "expires_at_epoch", "address", "product", "subject"}, row
    assert row["client_id"] == "demo-tv" and row["state"] == "pending" and row["address"] == "127.0.0.1", row
    assert row["scopes"] == ["openid", "profile"] and row["subject"] is None and 0 <= row["age_seconds"] < 120
    assert RFC3339.fullmatch(row["created_at"]) and row["expires_at_epoch"] - row["created_at_epoch"] == flow["expires_in"]
    table = cli(stack, "flows", "list", "--pending")
    assert table.returncode == 0, table.stderr
    line = next(line for line in table.stdout.splitlines() if PRODUCT in line)
    assert line.split()[:2] == ["demo-tv", "pending"] and "127.0.0.1" in line, line
    everything = cli(stack, "flows", "list")
    for out in (table.stdout, everything.stdout, json.dumps(rows)):
        for code in codes_of(flow):
            assert code not in out, "a code or its hash was printed"

    # Approved, it leaves --pending and shows its subject, escaped for the terminal.
    subject = "eve\u202egnp.exe"
    assert stack.approve(flow["user_code"], subject=subject).returncode == 0
    assert not [r for r in listed(stack, "flows", "list", "--pending") if r["product"] == PRODUCT]
    decided = [r for r in listed(stack, "flows", "list") if r["product"] == PRODUCT]
    assert [(r["state"], r["subject"]) for r in decided] == [("approved", subject)], decided
    table = cli(stack, "flows", "list").stdout
    assert "eve\\u{202e}gnp.exe" in table and "\u202e" not in table, "the bidi override reached the terminal"


def signed_in_with_a_grant(stack, name: str):
    """A new user `name`, signed in on the page with one approved device grant: (browser, tokens)."""
    password = f"{name}'s long password"
    add = subprocess.run([DEVICEGATE_BIN, "users", "add", name, "-c", str(hosts(stack)[0].config)], input=password + "\n",
                         capture_output=True, text=True, timeout=30, env=operator_env())
    assert add.returncode == 0, add.stderr
    browser, tokens = _sign_in_and_approve(stack, name, password, "openid offline_access")
    assert _signed_in(stack, browser)
    return browser, tokens


def test_sessions_list_and_revoke_sign_the_person_out(stack):
    browser, t = signed_in_with_a_grant(stack, "pia")

    rows = listed(stack, "sessions", "list", "--subject", "pia")
    assert rows and {r["state"] for r in rows} == {"live"}, rows
    for r in rows:
        assert set(r) == {"subject", "state", "signed_in_at", "signed_in_at_epoch", "expires_at", "expires_at_epoch"}, r
        assert r["subject"] == "pia" and RFC3339.fullmatch(r["signed_in_at"]) and r["expires_at_epoch"] > r["signed_in_at_epoch"]
    table = cli(stack, "sessions", "list", "--subject", "pia")
    assert table.returncode == 0 and table.stdout.splitlines()[0].split() == ["SUBJECT", "SIGNED", "IN", "EXPIRES", "STATE"], table.stdout
    cookies = [c.value for c in browser.cookies]
    for out in (table.stdout, json.dumps(rows)):
        for value in cookies + [sha256_hex(v) for v in cookies]:
            assert value not in out, "a session id or its hash was printed"

    out = cli(stack, "sessions", "revoke", "--subject", "pia")
    assert out.returncode == 0 and f"deleted {len(rows)} session(s) of pia" in out.stdout, (out.stdout, out.stderr)
    assert not _signed_in(stack, browser)
    assert listed(stack, "sessions", "list", "--subject", "pia") == []
    # The grant stays: sessions revoke signs out, grants revoke ends grants.
    assert_oauth_json(refresh(stack, t), 200)
    again = cli(stack, "sessions", "revoke", "--subject", "pia")
    assert again.returncode == NOTHING_MATCHED and "no sessions of pia" in again.stderr, (again.returncode, again.stderr)
    lines = [e for e in audit(stack) if e.get("event") == "token.revoked" and e.get("user") == "pia"]
    assert [(e["reason"], e["sessions"], e["operator"], e["command"]) for e in lines] == [
        ("operator_revoked_sessions", str(len(rows)), expected_operator(), "sessions revoke")], lines


UNSET_LOGIN_UID = 4294967295
WHO = ("via", "operator", "claimed_operator", "run_as")


def login_uid() -> int:
    """This process's audit login uid (``UNSET_LOGIN_UID`` without a PAM login, as in CI)."""
    try:
        return int(open("/proc/self/loginuid").read())
    except (OSError, ValueError):
        return UNSET_LOGIN_UID


def account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def expected_operator() -> str:
    """Who the audit log must name for a command this process runs: its login account, else
    (no login, as in CI) its effective account."""
    return account(login_uid() if login_uid() != UNSET_LOGIN_UID else os.geteuid())


def setting_login_uid(uid: int):
    """A ``preexec_fn`` giving the child the login uid ``uid``; raises (in the parent) where
    that needs a capability the runner lacks (CAP_AUDIT_CONTROL)."""
    def preexec():
        with open("/proc/self/loginuid", "w") as f:
            f.write(str(uid))
    return preexec


def login_uid_settable(uid: int) -> bool:
    try:
        out = subprocess.run(["cat", "/proc/self/loginuid"], capture_output=True, text=True, timeout=10,
                             preexec_fn=setting_login_uid(uid))
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == str(uid)


def revoke_a_grant(stack, env: dict, preexec=None) -> dict:
    """``grants revoke ID`` of a fresh grant of uma, run with ``env`` (and ``preexec``); its audit line."""
    stack.grant("openid offline_access", subject="uma")
    grant_id = next(r["id"] for r in listed(stack, "grants", "list", "--subject", "uma"))
    out = subprocess.run([DEVICEGATE_BIN, "grants", "revoke", grant_id, "-c", str(hosts(stack)[0].config)],
                         capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL, preexec_fn=preexec)
    assert out.returncode == 0, (out.stdout, out.stderr)
    line = [e for e in audit(stack) if e.get("grant") == grant_id]
    assert len(line) == 1, line
    assert line[0]["user"] == "uma" and line[0]["client_id"] == "demo-tv" and line[0]["command"] == "grants revoke", line[0]
    return line[0]


def others(n: int) -> list[pwd.struct_passwd]:
    """``n`` accounts that are neither the effective nor the login account."""
    mine = {os.geteuid(), login_uid()}
    found = [p for p in pwd.getpwall() if p.pw_uid not in mine and p.pw_uid != UNSET_LOGIN_UID][:n]
    assert len(found) == n, "the test needs more accounts in /etc/passwd"
    return found


def test_a_forged_SUDO_USER_is_only_a_claim_and_USER_never_counts(stack):
    """``sudo -u devicegate env SUDO_USER=alice devicegate grants revoke …`` must not log alice as
    the operator: the operator is the login uid's account (the effective one without a login);
    a ``SUDO_USER`` naming an account (and agreeing with ``SUDO_UID``) is ``claimed_operator``."""
    me, operator = account(os.geteuid()), expected_operator()
    [other] = others(1)
    cases = [
        (operator_env(SUDO_USER=other.pw_name, SUDO_UID=str(other.pw_uid)), other.pw_name),
        (operator_env(SUDO_USER=other.pw_name), other.pw_name),
        (operator_env(SUDO_USER=other.pw_name, SUDO_UID=str(other.pw_uid + 1)), None),
        (operator_env(SUDO_USER="no-such-account-here"), None),
        (operator_env(USER="mallory", LOGNAME="mallory"), None),
        (operator_env(), None),
    ]
    for env, claimed in cases:
        line = revoke_a_grant(stack, env)
        assert (line["operator"], line.get("claimed_operator"), line["run_as"]) == (operator, claimed, me), (env.get("SUDO_USER"), line)
        assert ("claimed_operator" in line) == (claimed is not None), line
        assert not re.search(r"mallory|no-such-account", json.dumps(line)), line


def test_an_unset_login_uid_falls_back_to_the_effective_account(stack):
    me = account(os.geteuid())
    preexec = None
    if login_uid() != UNSET_LOGIN_UID:
        if not login_uid_settable(UNSET_LOGIN_UID):
            pytest.skip("this runner has a login uid and cannot unset it for a child (CAP_AUDIT_CONTROL)")
        preexec = setting_login_uid(UNSET_LOGIN_UID)
    [other] = others(1)
    line = revoke_a_grant(stack, operator_env(SUDO_USER=other.pw_name), preexec)
    assert (line["operator"], line["claimed_operator"], line["run_as"]) == (me, other.pw_name, me), line


def test_a_set_login_uid_names_the_operator_whatever_sudo_variables_say(stack):
    """What ``ssh bob@host; sudo -u devicegate env SUDO_USER=alice devicegate …`` leaves: login
    uid bob (pam_loginuid), effective uid the service account, SUDO_USER forged."""
    login, claimed = others(2)
    if not login_uid_settable(login.pw_uid):
        pytest.skip("setting a child's login uid needs CAP_AUDIT_CONTROL; the unit table covers it")
    me = account(os.geteuid())
    line = revoke_a_grant(stack, operator_env(SUDO_USER=claimed.pw_name, SUDO_UID=str(claimed.pw_uid)),
                          setting_login_uid(login.pw_uid))
    assert (line["operator"], line["claimed_operator"], line["run_as"]) == (login.pw_name, claimed.pw_name, me), line


def test_every_revoking_or_deciding_command_records_who_ran_it_alike(stack):
    """approve, deny, grants revoke, sessions revoke and users remove, each run with a forged
    SUDO_USER, write the same who-fields: the forged name only as claimed_operator."""
    me, operator = account(os.geteuid()), expected_operator()
    [other] = others(1)
    forged = operator_env(SUDO_USER=other.pw_name, SUDO_UID=str(other.pw_uid))
    browser, _ = signed_in_with_a_grant(stack, "wes")
    grant_id = next(r["id"] for r in listed(stack, "grants", "list", "--subject", "wes"))
    approved, denied = new_flow(stack, PRODUCT), new_flow(stack, PRODUCT)
    before = len(audit(stack))
    runs = [("approve", approved["user_code"], "--subject", "wes"), ("deny", denied["user_code"]),
            ("grants", "revoke", grant_id), ("sessions", "revoke", "--subject", "wes"), ("users", "remove", "wes")]
    for args in runs:
        out = cli(stack, *args, env=forged)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
    lines = [e for e in audit(stack)[before:] if e.get("via") == "cli"]
    assert {e["command"] for e in lines} == {"approve", "deny", "grants revoke", "sessions revoke", "users remove"}, lines
    for e in lines:
        assert tuple(e.get(k) for k in WHO) == ("cli", operator, other.pw_name, me), e
