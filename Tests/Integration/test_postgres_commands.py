"""storage.backend: postgresql through the binary: db migrate, serve's and check-config's
refusals (one line, no password), a device flow end to end through nginx, and storage copy
of a live directory install (issue 12).

Needs DEVICEGATE_TEST_POSTGRES_URL (a database the tests may create schemas in; set by the CI
script, which starts a throwaway cluster with deploy/postgres-test-cluster.sh) and psql;
skipped cleanly without them. Each test gets its own schema (``search_path``), dropped after.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import urllib.parse

import pytest

from harness import (CLI_TIMEOUT, DEVICEGATE_BIN, assert_oauth_error, assert_oauth_json, clean_env, free_port,
                     run_cli, wait_until)

BASE_URL = os.environ.get("DEVICEGATE_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not BASE_URL or shutil.which("psql") is None,
                                reason="DEVICEGATE_TEST_POSTGRES_URL and psql are needed for the PostgreSQL tests")
pytestmark = [pytestmark, pytest.mark.one_host("one install's storage commands, with its own storage section; they run on PostgreSQL in the one-host run")]
ALL_SCOPES = "openid profile email offline_access"
SCHEMA_VERSION_RE = re.compile(r"^schema at version (\d+) \(was (\d+)\)$")


def psql(url: str, sql: str) -> str:
    out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         capture_output=True, text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def with_search_path(url: str, schema: str) -> str:
    return url + ("&" if "?" in url else "?") + "options=-csearch_path%3D" + schema


def password_of(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).password or "")


def with_password(url: str, password: str) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def schema_url():
    """A fresh, empty schema; its URL (search_path) for storage.url."""
    name = "it_" + secrets.token_hex(8)
    psql(BASE_URL, f"CREATE SCHEMA {name}")
    try:
        yield with_search_path(BASE_URL, name)
    finally:
        psql(BASE_URL, f"DROP SCHEMA IF EXISTS {name} CASCADE")


def on_postgresql(url: str):
    """A make_stack transform: storage.backend: postgresql at ``url``."""
    def transform(text: str) -> str:
        return text + f'\nstorage:\n  backend: postgresql\n  url: "{url}"\n  connect_timeout: 2\n'
    return transform


def serve_until_exit(config, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([DEVICEGATE_BIN, "serve", "-c", str(config)], capture_output=True, text=True,
                          timeout=timeout, env=clean_env(), stdin=subprocess.DEVNULL)


def one_line(out: subprocess.CompletedProcess) -> str:
    """The refusal: exit 1, exactly one line on stderr."""
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


def migrate(config) -> tuple[int, int]:
    out = run_cli("db", "migrate", "-c", config)
    assert out.returncode == 0, out.stderr
    m = SCHEMA_VERSION_RE.match(out.stdout.strip())
    assert m, out.stdout
    return int(m.group(1)), int(m.group(2))


# --------------------------------------------------------------------------- db migrate


def test_db_migrate_creates_the_schema_and_is_idempotent(make_stack, schema_url):
    s = make_stack(transform=on_postgresql(schema_url), start=False)
    to, was = migrate(s.config)
    assert was == 0 and to >= 1
    assert migrate(s.config) == (to, to)
    assert psql(schema_url, "SELECT version FROM devicegate_schema") == str(to)


def test_two_migrations_at_once_both_succeed_and_one_does_the_work(make_stack, schema_url):
    s = make_stack(transform=on_postgresql(schema_url), start=False)
    procs = [subprocess.Popen([DEVICEGATE_BIN, "db", "migrate", "-c", str(s.config)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=clean_env(), stdin=subprocess.DEVNULL)
             for _ in range(2)]
    results = [p.communicate(timeout=CLI_TIMEOUT) + (p.returncode,) for p in procs]
    assert all(rc == 0 for _, _, rc in results), results
    versions = sorted(tuple(map(int, SCHEMA_VERSION_RE.match(out.strip()).groups())) for out, _, _ in results)
    to = versions[0][0]
    assert versions == [(to, 0), (to, to)], versions


def test_db_migrate_refuses_the_directory_backend(make_stack):
    s = make_stack(start=False)
    line = one_line(run_cli("db", "migrate", "-c", s.config))
    assert "storage.backend: directory" in line and "db migrate is for storage.backend: postgresql" in line


# --------------------------------------------------------------------------- serve refuses


def test_serve_refuses_a_missing_schema_in_one_line(make_stack, schema_url):
    s = make_stack(transform=on_postgresql(schema_url), start=False)
    line = one_line(serve_until_exit(s.config))
    assert line.endswith(f"has no devicegate schema: run devicegate db migrate -c {s.config}"), line
    pw = password_of(BASE_URL)
    assert not pw or (pw not in line and ":***@" in line), line


def test_serve_refuses_a_newer_schema_in_one_line(make_stack, schema_url):
    s = make_stack(transform=on_postgresql(schema_url), start=False)
    to, _ = migrate(s.config)
    psql(schema_url, f"UPDATE devicegate_schema SET version = {to + 1}")
    line = one_line(serve_until_exit(s.config))
    assert f"schema version {to + 1}, newer than this binary's {to}: upgrade devicegate" in line, line


def test_serve_refuses_an_older_schema_in_one_line(make_stack, schema_url):
    s = make_stack(transform=on_postgresql(schema_url), start=False)
    to, _ = migrate(s.config)
    psql(schema_url, f"UPDATE devicegate_schema SET version = {to - 1}")
    line = one_line(serve_until_exit(s.config))
    assert f"older than this binary's {to}: run devicegate db migrate -c {s.config}" in line, line


def test_serve_refuses_wrong_credentials_without_showing_them(make_stack, schema_url):
    wrong = "Wr0ng-" + secrets.token_hex(6)
    s = make_stack(transform=on_postgresql(with_password(schema_url, wrong)), start=False)
    out = serve_until_exit(s.config)
    line = one_line(out)
    assert "refused the credentials of storage.url" in line, line
    assert wrong not in out.stderr + out.stdout
    assert ":***@" in line


# --------------------------------------------------------------------------- check-config


def test_check_config_reports_the_database_and_its_schema(make_stack, schema_url):
    s = make_stack(transform=on_postgresql(schema_url), start=False)
    before = run_cli("check-config", "-c", s.config)
    assert before.returncode == 0, before.stderr
    assert "no devicegate schema: run devicegate db migrate" in before.stdout
    to, _ = migrate(s.config)
    after = run_cli("check-config", "-c", s.config)
    assert after.returncode == 0, after.stderr
    assert f"reachable, credentials accepted; schema version {to}, current" in after.stdout
    pw = password_of(BASE_URL)
    assert not pw or pw not in after.stdout + after.stderr


def test_check_config_unreachable_database_is_one_line(make_stack):
    secret = "S3cret-" + secrets.token_hex(6)
    dead = f"postgresql://devicegate:{secret}@127.0.0.1:{free_port()}/devicegate"
    s = make_stack(transform=on_postgresql(dead), start=False)
    out = run_cli("check-config", "-c", s.config)
    line = one_line(out)
    assert line.startswith("devicegate: cannot reach PostgreSQL at postgresql://devicegate:***@127.0.0.1:"), line
    assert secret not in out.stdout + out.stderr


def test_check_config_wrong_password_is_one_line(make_stack, schema_url):
    wrong = "Wr0ng-" + secrets.token_hex(6)
    s = make_stack(transform=on_postgresql(with_password(schema_url, wrong)), start=False)
    out = run_cli("check-config", "-c", s.config)
    line = one_line(out)
    assert "refused the credentials" in line and wrong not in out.stdout + out.stderr


# --------------------------------------------------------------------------- end to end


def test_device_flow_end_to_end_on_postgresql(make_stack, schema_url):
    s = make_stack(transform=on_postgresql(schema_url), start=False)
    migrate(s.config)
    s.start()
    flow = s.new_flow(scope=ALL_SCOPES)
    assert_oauth_error(s.token(flow["device_code"]), 400, "authorization_pending")
    approved = s.approve(flow["user_code"])
    assert approved.returncode == 0, approved.stderr
    tokens = assert_oauth_json(s.token(flow["device_code"]), 200)
    assert s.userinfo(tokens["access_token"]).status_code == 200
    rotated = assert_oauth_json(s.refresh(tokens["refresh_token"]), 200)
    assert rotated["refresh_token"] != tokens["refresh_token"]
    # Redeemed once: a second redemption is refused and revokes what the first issued
    # (RFC 6749 §4.1.2), which every worker sees at once.
    assert_oauth_error(s.token(flow["device_code"]), 400, "invalid_grant")
    assert s.userinfo(tokens["access_token"]).status_code == 401
    # Nothing of the flow is in the state directory: it is in the database.
    assert not s.flow_path(flow["device_code"]).exists()
    assert psql(schema_url, "SELECT count(*) FROM devicegate_secrets") != "0"
    # The keys are in the database too; the CLI sees the one the workers sign with.
    kids = {k["kid"] for k in s.jwks()["keys"]}
    listed = s.keys_cli("list")
    assert listed.returncode == 0 and any(kid in listed.stdout for kid in kids), listed.stdout
    # A rotation from the CLI reaches the running workers (they poll the key set's version).
    rotated_out = s.keys_cli("rotate")
    assert rotated_out.returncode == 0, rotated_out.stderr
    wait_until(lambda: len(s.jwks()["keys"]) == len(kids) + 1, 10, interval=0.2, what="the rotated key in the JWKS")
    # deny from the CLI, on the database.
    denied = s.new_flow()
    out = s.deny(denied["user_code"])
    assert out.returncode == 0, out.stderr
    assert_oauth_error(s.token(denied["device_code"]), 400, "access_denied")
    status = run_cli("status", "-c", s.config)
    assert status.returncode == 0, status.stderr
    assert "storage      postgresql" in status.stdout and "1 redeemed" in status.stdout and "1 denied" in status.stdout, status.stdout
    gc = run_cli("gc", "-c", s.config)
    assert gc.returncode == 0, gc.stderr
    # The supervisor logs the storage URL at start: redacted.
    log = s.tail("devicegate.log", 1_000_000)
    assert ":***@" in log
    pw = password_of(schema_url)
    assert not pw or pw not in log + status.stdout + gc.stdout


# --------------------------------------------------------------------------- storage copy


def test_storage_copy_keeps_refresh_tokens_and_pending_flows_working(make_stack, schema_url):
    s = make_stack()  # the directory backend, as a single-host install runs today
    grant = s.grant(ALL_SCOPES)
    pending = s.new_flow(scope=ALL_SCOPES)
    # Revocations must come along: one access token revoked (RFC 7009), one person removed.
    revoked = s.grant(ALL_SCOPES)
    assert s.revoke(revoked["access_token"]).status_code == 200
    removed = s.grant(ALL_SCOPES, subject="bob")
    out = run_cli("users", "remove", "bob", "-c", s.config)
    assert out.returncode == 0, out.stderr
    assert s.userinfo(revoked["access_token"]).status_code == 401
    assert s.userinfo(removed["access_token"]).status_code == 401
    kids_before = {k["kid"] for k in s.jwks()["keys"]}
    s.stop()

    # The same host, now on PostgreSQL; its state_dir stays as the per-host directory.
    s.config.write_text(on_postgresql(schema_url)(s.config.read_text()))
    migrate(s.config)
    copied = run_cli("storage", "copy", "--from", s.state, "-c", s.config)
    assert copied.returncode == 0, copied.stderr
    assert " 1 flows," in copied.stdout and "3 refresh families" in copied.stdout, copied.stdout
    assert "1 access-token revocations, 1 subject revocations" in copied.stdout, copied.stdout
    again = run_cli("storage", "copy", "--from", s.state, "-c", s.config)
    assert again.returncode == 0, again.stderr
    assert "0 signing keys, 0 flows," in again.stdout and "0 refresh families" in again.stdout, again.stdout

    s.start()
    assert {k["kid"] for k in s.jwks()["keys"]} == kids_before
    # The access token issued before the move still verifies; the refresh token still works.
    assert s.userinfo(grant["access_token"]).status_code == 200
    refreshed = assert_oauth_json(s.refresh(grant["refresh_token"]), 200)
    # Reuse of the rotated-away token is still detected (its index came along).
    assert_oauth_error(s.refresh(grant["refresh_token"]), 400, "invalid_grant")
    # What was revoked stays revoked.
    assert s.userinfo(revoked["access_token"]).status_code == 401
    assert s.userinfo(removed["access_token"]).status_code == 401
    assert_oauth_error(s.refresh(removed["refresh_token"]), 400, "invalid_grant")
    # The pending flow's user code still works: approve it, then redeem on the new backend.
    approved = s.approve(pending["user_code"])
    assert approved.returncode == 0, approved.stderr
    assert_oauth_json(s.token(pending["device_code"]), 200)
    assert refreshed["refresh_token"] != grant["refresh_token"]


def test_a_second_storage_copy_takes_over_what_changed_on_the_old_host(make_stack, schema_url):
    """The documented move copies while the old host serves, then again after it stops: what
    happened in between (a code redeemed, a grant revoked) must hold on the new install."""
    s = make_stack()
    grant = s.grant(ALL_SCOPES)
    approved = s.new_flow(scope=ALL_SCOPES)
    assert s.approve(approved["user_code"]).returncode == 0
    pg_config = s.root / "postgresql.yaml"
    pg_config.write_text(on_postgresql(schema_url)(s.config.read_text()))
    pg_config.chmod(0o600)
    migrate(pg_config)
    first = run_cli("storage", "copy", "--from", s.state, "-c", pg_config)
    assert first.returncode == 0, first.stderr
    # Meanwhile, on the old host: the approved code is redeemed, the grant is revoked (RFC 7009).
    tokens = assert_oauth_json(s.token(approved["device_code"]), 200)
    assert s.revoke(grant["refresh_token"]).status_code == 200
    assert s.userinfo(tokens["access_token"]).status_code == 200
    s.stop()
    second = run_cli("storage", "copy", "--from", s.state, "-c", pg_config)
    assert second.returncode == 0, second.stderr

    s.config.write_text(pg_config.read_text())
    s.start()
    # What the old host issued last works; the grant it revoked stays revoked.
    assert s.userinfo(tokens["access_token"]).status_code == 200
    assert_oauth_error(s.refresh(grant["refresh_token"]), 400, "invalid_grant")
    assert s.userinfo(grant["access_token"]).status_code == 401
    # The code redeemed on the old host is not redeemed again on the new one: a replay, which
    # (RFC 8628 §5 hardening) also revokes what it was redeemed for.
    assert_oauth_error(s.token(approved["device_code"]), 400, "invalid_grant")
    assert s.userinfo(tokens["access_token"]).status_code == 401


def test_storage_copy_refuses_a_database_with_other_live_data(make_stack, schema_url):
    other = make_stack(transform=on_postgresql(schema_url), start=False)
    migrate(other.config)
    other.start()
    other.grant(ALL_SCOPES)  # live data under the database's own secrets
    other.stop()
    s = make_stack()
    s.new_flow()
    s.stop()
    out = run_cli("storage", "copy", "--from", s.state, "-c", other.config)
    assert out.returncode == 1, out.stdout
    assert "already holds live flows or tokens under other secrets" in out.stderr, out.stderr


def test_environment_url_overrides_the_file_and_is_never_shown(make_stack, schema_url):
    dead = f"postgresql://devicegate:unused@127.0.0.1:{free_port()}/devicegate"
    s = make_stack(transform=on_postgresql(dead), start=False)
    env = clean_env() | {"DEVICEGATE_STORAGE_URL": schema_url}
    out = subprocess.run([DEVICEGATE_BIN, "db", "migrate", "-c", str(s.config)], capture_output=True, text=True,
                         timeout=CLI_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    assert out.returncode == 0 and SCHEMA_VERSION_RE.match(out.stdout.strip()), out.stderr
    checked = subprocess.run([DEVICEGATE_BIN, "check-config", "-c", str(s.config)], capture_output=True, text=True,
                             timeout=CLI_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    assert checked.returncode == 0, checked.stderr
    assert "current" in checked.stdout
    pw = password_of(schema_url)
    assert not pw or pw not in checked.stdout + checked.stderr


# --------------------------------------------------------------------------- housekeeping

EXPIRED_ROWS = """
INSERT INTO web_sessions (id_hash, subject, auth_time_ms, expires_at_ms) VALUES ('{h}1', 'old', 0, 1), ('{h}2', 'live', 0, 9000000000000);
INSERT INTO admission_counters (key_hash, buckets, live_until_seconds) VALUES ('{h}3', '\\x00', 1);
"""


def test_gc_collects_what_expired_on_postgresql_and_nothing_else(make_stack, schema_url):
    s = make_stack(transform=on_postgresql(schema_url), start=False)
    migrate(s.config)
    psql(schema_url, EXPIRED_ROWS.format(h="ab" * 31))
    out = run_cli("gc", "-c", s.config)
    assert out.returncode == 0, out.stderr
    assert "1 sessions" in out.stdout and "1 admission rows" in out.stdout, out.stdout
    assert psql(schema_url, "SELECT subject FROM web_sessions") == "live"
    assert psql(schema_url, "SELECT count(*) FROM admission_counters") == "0"


def test_the_supervisor_collects_on_postgresql_and_releases_its_lock(make_stack, schema_url):
    s = make_stack(workers=1, transform=on_postgresql(schema_url), start=False)
    migrate(s.config)
    s.start()
    psql(schema_url, EXPIRED_ROWS.format(h="cd" * 31))
    # A round every 5 s; the bound is generous, the condition exact.
    wait_until(lambda: psql(schema_url, "SELECT count(*) FROM web_sessions") == "1", 30, interval=0.5,
               what="the supervisor's garbage collection")
    assert psql(schema_url, "SELECT subject FROM web_sessions") == "live"
    # The advisory lock is held only during a round, never between rounds.
    wait_until(lambda: psql(schema_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == "0", 10,
               interval=0.2, what="the housekeeping lock released")
