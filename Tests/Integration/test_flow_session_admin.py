"""The operator's ``flows list`` and ``sessions list|revoke`` (issue 14, item 4), and who the
audit log names as the operator, through the built binary against the shared stack."""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess

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


def test_sessions_list_and_revoke_sign_the_person_out(stack):
    password = "pia's long password"
    add = subprocess.run([DEVICEGATE_BIN, "users", "add", "pia", "-c", str(hosts(stack)[0].config)], input=password + "\n",
                         capture_output=True, text=True, timeout=30, env=operator_env())
    assert add.returncode == 0, add.stderr
    browser, t = _sign_in_and_approve(stack, "pia", password, "openid offline_access")
    assert _signed_in(stack, browser)

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
    me = pwd.getpwuid(os.geteuid()).pw_name
    lines = [e for e in audit(stack) if e.get("event") == "token.revoked" and e.get("user") == "pia"]
    assert [(e["reason"], e["sessions"], e["operator"], e["command"]) for e in lines] == [
        ("operator_revoked_sessions", str(len(rows)), me, "sessions revoke")], lines


def test_the_operator_is_sudos_user_or_the_effective_account_never_USER(stack):
    """``SUDO_USER`` counts when it names an account (and agrees with ``SUDO_UID``); otherwise,
    and whatever USER or LOGNAME say, the operator is the effective uid's account."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    other = next(p for p in pwd.getpwall() if p.pw_uid != os.geteuid())
    cases = [
        (operator_env(SUDO_USER=other.pw_name, SUDO_UID=str(other.pw_uid)), other.pw_name),
        (operator_env(SUDO_USER=other.pw_name), other.pw_name),
        (operator_env(SUDO_USER=other.pw_name, SUDO_UID=str(other.pw_uid + 1)), me),
        (operator_env(SUDO_USER="no-such-account-here"), me),
        (operator_env(USER="mallory", LOGNAME="mallory"), me),
    ]
    for env, expected in cases:
        stack.grant("openid offline_access", subject="uma")
        grant_id = next(r["id"] for r in listed(stack, "grants", "list", "--subject", "uma"))
        out = cli(stack, "grants", "revoke", grant_id, env=env)
        assert out.returncode == 0, (out.stdout, out.stderr)
        line = [e for e in audit(stack) if e.get("grant") == grant_id]
        assert len(line) == 1, line
        assert (line[0]["operator"], line[0]["run_as"]) == (expected, me), (env.get("SUDO_USER"), line[0])
        assert line[0]["user"] == "uma" and line[0]["client_id"] == "demo-tv", line[0]
        assert not re.search(r"mallory", json.dumps(line[0]))
