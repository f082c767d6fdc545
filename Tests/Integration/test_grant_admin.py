"""The operator's grant, flow and session administration (issue 14, item 4), through the built
binary against a running stack: ``grants list|revoke``, ``flows list``, ``sessions list|revoke``,
their JSON, exit statuses and audit lines, and the done-criterion: ``grants revoke --subject S``
makes every worker's gateway (on two hosts: both hosts', the command run on one of them) refuse
S's access tokens at once, and their refresh tokens get ``invalid_grant``.

"Every worker": nginx opens a new FastCGI connection per check (fastcgi_keep_conn off), so the
kernel spreads the checks over the workers; ``CHECKS`` checks per host make a worker that sees
none of them vanishingly unlikely ((3/4)^40 < 1e-5 with 4 workers), and the same checks before
the revocation make every worker verify and cache the token first.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import pwd
import re
import subprocess
import time

import pytest
import requests

from harness import DEVICEGATE_BIN, HTTP_TIMEOUT, assert_oauth_error, assert_oauth_json, clean_env, sha256_hex
from test_revocation import _sign_in_and_approve, _signed_in
from test_tokens import assert_bearer_refusal, gateway_stack

CHECKS = 40
NOTHING_MATCHED = 3
USAGE = 64
GRANT_FIELDS = {"id", "subject", "client_id", "scopes", "state", "approved_at", "approved_at_epoch", "expires_at",
                "expires_at_epoch", "revoked_at", "revoked_at_epoch", "last_used_at", "last_used_at_epoch",
                "last_used_from", "requested_from", "product"}
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
DEVICE_SCOPE = "openid offline_access api.read"


@pytest.fixture(scope="module")
def adm():
    yield from gateway_stack(workers=4)


def hosts(stack) -> tuple:
    """The hosts whose gateways must refuse: one, or both of the two-host topology."""
    return getattr(stack, "hosts", None) or (stack,)


def cli(stack, *args, env: dict | None = None) -> subprocess.CompletedProcess:
    """``devicegate ARGS -c CONFIG`` on the first host (on two hosts: host A, while checks
    also go to host B)."""
    return subprocess.run([DEVICEGATE_BIN, *map(str, args), "-c", str(hosts(stack)[0].config)], capture_output=True,
                          text=True, timeout=30, env=env if env is not None else operator_env(), stdin=subprocess.DEVNULL)


def operator_env(**extra) -> dict:
    """The test's environment without sudo's variables (the runner may itself run under sudo)."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("SUDO_")}
    env.update(extra)
    return env


def listed(stack, *args) -> list[dict]:
    out = cli(stack, *args, "--json")
    assert out.returncode == 0, (out.returncode, out.stdout, out.stderr)
    return json.loads(out.stdout)


def audit(stack) -> list[dict]:
    path = stack.state / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def check(host, token: str) -> requests.Response:
    return requests.get(host.url("/api/any/x"), headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT)


def accepted_on_every_host(stack, token: str):
    for host in hosts(stack):
        for _ in range(CHECKS):
            r = check(host, token)
            assert r.status_code == 200, (host.url(""), r.status_code, r.text[:200])


def refused_on_every_host(stack, token: str):
    for host in hosts(stack):
        for _ in range(CHECKS):
            assert_bearer_refusal(check(host, token), 401, "invalid_token")


def jti(access_token: str) -> str:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def assert_no_secret(text: str, tokens: list[dict]):
    for t in tokens:
        for secret in (t["access_token"], t["refresh_token"], sha256_hex(t["refresh_token"]), jti(t["access_token"]),
                       sha256_hex(t["access_token"])):
            assert secret not in text, "a token, its hash or an access token id was printed"


def rfc3339_seconds(text: str) -> int:
    return int(datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())


def grant(stack, subject: str, confidential: bool = False) -> dict:
    scope = "openid" if confidential else DEVICE_SCOPE
    t = stack.grant(scope, subject=subject, confidential=confidential)
    assert "refresh_token" in t, t
    return t


def refresh(stack, t: dict, confidential: bool = False) -> requests.Response:
    if confidential:
        return stack.refresh(t["refresh_token"], client_id=None, auth=stack.cli_basic)
    return stack.refresh(t["refresh_token"])


# ============================================================================ grants list


def test_grants_list_shows_live_grants_as_a_table_and_as_json(adm):
    tv, cli_grant = grant(adm, "lena"), grant(adm, "lena", confidential=True)
    used = assert_oauth_json(refresh(adm, tv), 200)

    rows = listed(adm, "grants", "list", "--subject", "lena")
    assert len(rows) == 2, rows
    for row in rows:
        assert set(row) == GRANT_FIELDS, row
        assert row["subject"] == "lena" and row["state"] == "live" and re.fullmatch(r"[0-9a-f]{64}", row["id"]), row
        for name in ("approved_at", "expires_at"):
            assert RFC3339.fullmatch(row[name]), row
            assert rfc3339_seconds(row[name]) == row[name + "_epoch"], row
        assert row["revoked_at"] is None and row["revoked_at_epoch"] is None
        assert row["expires_at_epoch"] > row["approved_at_epoch"] and abs(row["approved_at_epoch"] - time.time()) < 600, row
    by_client = {row["client_id"]: row for row in rows}
    assert set(by_client) == {"demo-tv", "demo-cli"}, rows
    assert by_client["demo-tv"]["scopes"] == DEVICE_SCOPE.split()
    # The refreshed one was last used now, from the stack's address; the other never.
    assert by_client["demo-tv"]["last_used_from"] == "127.0.0.1" and RFC3339.fullmatch(by_client["demo-tv"]["last_used_at"])
    assert by_client["demo-tv"]["last_used_at_epoch"] >= by_client["demo-tv"]["approved_at_epoch"]
    assert by_client["demo-cli"]["last_used_at"] is None and by_client["demo-cli"]["last_used_from"] is None
    assert by_client["demo-tv"]["requested_from"] == "127.0.0.1"
    # Every subject's grants without --subject; one client's with --client.
    everyone = {row["id"] for row in listed(adm, "grants", "list")}
    assert {by_client["demo-tv"]["id"], by_client["demo-cli"]["id"]} <= everyone
    assert [r["id"] for r in listed(adm, "grants", "list", "--subject", "lena", "--client", "demo-cli")] == [by_client["demo-cli"]["id"]]
    assert listed(adm, "grants", "list", "--subject", "lena", "--client", "no-such-client") == []

    table = cli(adm, "grants", "list", "--subject", "lena")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "SUBJECT", "CLIENT", "SCOPES", "APPROVED", "LAST", "USED", "FROM", "EXPIRES", "STATE"], lines[0]
    assert len(lines) == 3 and all(by_client[c]["id"] in table.stdout for c in by_client)
    tv_line = next(line for line in lines if by_client["demo-tv"]["id"] in line)
    assert "lena" in tv_line and "demo-tv" in tv_line and tv_line.rstrip().endswith("live") and "127.0.0.1" in tv_line
    for out in (table.stdout, json.dumps(rows), cli(adm, "grants", "list", "--all").stdout):
        assert_no_secret(out, [tv, used, cli_grant])


def test_an_unknown_subject_lists_nothing_and_bad_arguments_are_usage_errors(adm):
    assert listed(adm, "grants", "list", "--subject", "nobody-at-all") == []
    out = cli(adm, "grants", "list", "--subject", "nobody-at-all")
    assert out.returncode == 0 and "no live grants" in out.stdout, out
    for args, message in [(("grants", "list", "--subject", "a\tb"), "control characters"),
                          (("grants", "list", "--subject", ""), "1 to 255 bytes"),
                          (("grants", "revoke", "xyz"), "64 lowercase hex digits"),
                          (("grants", "revoke", "A" * 64), "64 lowercase hex digits"),
                          (("grants", "revoke"), "name a grant id"),
                          (("grants", "revoke", "a" * 64, "--subject", "lena"), "not both"),
                          (("grants", "revoke", "--client", "demo-tv"), "--client is only for"),
                          (("sessions", "list"), "--subject"),
                          (("sessions", "revoke", "--subject", "x" * 256), "1 to 255 bytes")]:
        out = cli(adm, *args)
        assert out.returncode == USAGE, (args, out.returncode, out.stderr)
        assert message in out.stderr and "Traceback" not in out.stderr and "Fatal error" not in out.stderr, (args, out.stderr)


# ============================================================================ grants revoke


def test_revoke_one_grant_by_id(adm):
    keep, doomed = grant(adm, "mia"), grant(adm, "mia")
    accepted_on_every_host(adm, doomed["access_token"])
    ids = {row["id"] for row in listed(adm, "grants", "list", "--subject", "mia")}
    assert len(ids) == 2
    # Which family is whose: refresh the one to keep, and its row is the one last used.
    kept = assert_oauth_json(refresh(adm, keep), 200)
    doomed_id = next(r["id"] for r in listed(adm, "grants", "list", "--subject", "mia") if r["last_used_at"] is None)

    out = cli(adm, "grants", "revoke", doomed_id)
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert f"revoked grant {doomed_id} of mia (client demo-tv)" in out.stdout and "1 live access token" in out.stdout, out.stdout
    refused_on_every_host(adm, doomed["access_token"])
    assert_oauth_error(refresh(adm, doomed), 400, "invalid_grant")
    accepted_on_every_host(adm, kept["access_token"])
    assert_oauth_json(refresh(adm, kept), 200)

    assert [r["id"] for r in listed(adm, "grants", "list", "--subject", "mia")] == [ids.difference({doomed_id}).pop()]
    revoked = [r for r in listed(adm, "grants", "list", "--subject", "mia", "--all") if r["id"] == doomed_id]
    assert revoked and revoked[0]["state"] == "revoked" and RFC3339.fullmatch(revoked[0]["revoked_at"]), revoked
    again = cli(adm, "grants", "revoke", doomed_id)
    assert again.returncode == 0 and "already revoked" in again.stdout, (again.stdout, again.stderr)
    unknown = cli(adm, "grants", "revoke", "0" * 64)
    assert unknown.returncode == NOTHING_MATCHED and "no grant matched" in unknown.stderr, (unknown.returncode, unknown.stderr)


def test_revoke_a_subjects_grants_of_one_client_only(adm):
    tv, other = grant(adm, "omar"), grant(adm, "omar", confidential=True)
    accepted_on_every_host(adm, other["access_token"])
    out = cli(adm, "grants", "revoke", "--subject", "omar", "--client", "demo-cli")
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert "1 grant(s) of omar of client demo-cli revoked now, 0 already revoked" in out.stdout, out.stdout
    assert "every access token" not in out.stdout, "no subject marker with --client"
    refused_on_every_host(adm, other["access_token"])
    assert_oauth_error(refresh(adm, other, confidential=True), 400, "invalid_grant")
    # The other client's grant, and the subject, are untouched.
    accepted_on_every_host(adm, tv["access_token"])
    assert_oauth_json(refresh(adm, tv), 200)
    assert [r["client_id"] for r in listed(adm, "grants", "list", "--subject", "omar")] == ["demo-tv"]
    again = cli(adm, "grants", "revoke", "--subject", "omar", "--client", "demo-cli")
    assert again.returncode == 0 and "0 revoked now, 1 already revoked" in again.stdout.replace("grant(s) of omar of client demo-cli ", ""), again.stdout
    none = cli(adm, "grants", "revoke", "--subject", "omar", "--client", "no-such-client")
    assert none.returncode == NOTHING_MATCHED, (none.returncode, none.stdout, none.stderr)
    nobody = cli(adm, "grants", "revoke", "--subject", "nobody-at-all")
    assert nobody.returncode == NOTHING_MATCHED and "no grant matched" in nobody.stderr, (nobody.returncode, nobody.stderr)


def test_revoking_a_subject_refuses_both_tokens_on_every_worker_at_once(adm):
    """The done-criterion: two approved device grants, accepted by every worker's gateway (on
    two hosts, both hosts'), then ``grants revoke --subject`` on one host: every check on every
    host refuses both tokens, and both refresh tokens get invalid_grant."""
    first, second = grant(adm, "sam"), grant(adm, "sam")
    bystander = grant(adm, "tess")
    for t in (first, second):
        accepted_on_every_host(adm, t["access_token"])
    ids = sorted(r["id"] for r in listed(adm, "grants", "list", "--subject", "sam"))
    assert len(ids) == 2

    out = cli(adm, "grants", "revoke", "--subject", "sam")
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert "revoked every access token, refresh token and session of sam issued before now" in out.stdout
    assert all(f"revoked grant {i} (client demo-tv)" in out.stdout for i in ids), out.stdout
    assert "2 grant(s) of sam revoked now, 0 already revoked" in out.stdout, out.stdout
    assert_no_secret(out.stdout, [first, second])

    for t in (first, second):
        refused_on_every_host(adm, t["access_token"])
    for t in (first, second):
        assert_oauth_error(refresh(adm, t), 400, "invalid_grant")
    accepted_on_every_host(adm, bystander["access_token"])
    assert listed(adm, "grants", "list", "--subject", "sam") == []
    assert {r["state"] for r in listed(adm, "grants", "list", "--subject", "sam", "--all")} == {"revoked"}

    # The audit log: one line per grant and one for the marker, with the operator and the ids.
    me = pwd.getpwuid(os.geteuid()).pw_name
    lines = [e for e in audit(adm) if e.get("event") == "token.revoked" and e.get("user") == "sam"]
    per_grant = sorted((e for e in lines if e.get("reason") == "operator_revoked"), key=lambda e: e["grant"])
    assert [e["grant"] for e in per_grant] == ids, lines
    for e in per_grant:
        assert e["client_id"] == "demo-tv" and e["command"] == "grants revoke" and e["access_tokens"] == "1", e
    marker = [e for e in lines if e.get("reason") == "operator_revoked_subject"]
    assert len(marker) == 1, lines
    for e in per_grant + marker:
        assert e["operator"] == me and e["run_as"] == me and e["via"] == "cli" and e["ip"] == "local", e
    assert_no_secret(json.dumps(audit(adm)), [first, second])


def test_revoking_a_subject_ends_their_sessions_too(adm):
    password = "quinn's long password"
    add = subprocess.run([DEVICEGATE_BIN, "users", "add", "quinn", "-c", str(hosts(adm)[0].config)], input=password + "\n",
                         capture_output=True, text=True, timeout=30, env=operator_env())
    assert add.returncode == 0, add.stderr
    browser, t = _sign_in_and_approve(adm, "quinn", password, DEVICE_SCOPE)
    assert _signed_in(adm, browser)
    out = cli(adm, "grants", "revoke", "--subject", "quinn")
    assert out.returncode == 0, (out.stdout, out.stderr)
    assert not _signed_in(adm, browser), "a live session could approve a new grant at once"
    assert_oauth_error(refresh(adm, t), 400, "invalid_grant")
