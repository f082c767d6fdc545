"""Password hashing across workers (issue 10, item 5): every worker of the host shares
`web.password_hash_slots` slot files in the state directory; with all of them held, a
sign-in through nginx gets a readable 503 with Retry-After, and works once one is free."""

from __future__ import annotations

import fcntl
import os

import pytest
import requests

from harness import HTTP_TIMEOUT


def sign_in(s, user: str, password: str) -> requests.Response:
    session = requests.Session()
    page = session.get(s.url("/device"), timeout=HTTP_TIMEOUT)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return session.post(s.url("/device/signin"), data={"username": user, "password": password, "user_code": "",
                                                        "csrf_token": token}, allow_redirects=False, timeout=HTTP_TIMEOUT)


@pytest.mark.one_host("holds the hash-slot locks in the state directory")
def test_sign_ins_wait_for_a_host_wide_hash_slot(make_stack):
    s = make_stack(workers=3, transform=lambda t: t.replace(
        "  sign_in: embedded\n", "  sign_in: embedded\n  password_hash_slots: 2\n  password_hash_wait_ms: 50\n"))
    slots = s.state / "slots"
    slots.mkdir(mode=0o700, exist_ok=True)
    held = []
    try:
        for n in range(2):  # what two workers hashing at once would hold
            fd = os.open(slots / f"password-hash-{n}", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(fd)
        for _ in range(3):  # whichever worker answers
            busy = sign_in(s, s.demo_user, s.demo_password)
            assert busy.status_code == 503, busy.text[:300]
            assert busy.headers["Retry-After"] == "5"
            assert "Too many sign-ins right now" in busy.text and "text/html" in busy.headers["Content-Type"]
            assert not any("session" in c for c in busy.headers.get("Set-Cookie", "").split(","))
        os.close(held.pop())
        ok = sign_in(s, s.demo_user, s.demo_password)
        assert ok.status_code == 303, ok.text[:300]
    finally:
        for fd in held:
            os.close(fd)


def test_check_config_warns_of_users_whose_hash_cost_tells_them_apart(tmp_path):
    """The decoy of unknown names has the users file's most common cost setting; a user hashed
    otherwise signs in in another time, and check-config says so."""
    from harness import run_cli
    assert run_cli("demo-config", "--output", tmp_path, "--listen", f"unix:{tmp_path}/dg.sock").returncode == 0
    config = tmp_path / "devicegate.yaml"
    same = run_cli("check-config", "-c", config)
    assert same.returncode == 0 and "cost settings" not in same.stderr, same.stderr
    assert "sign-in limits   5/900s per user, 20/900s per IP, 100/900s per IPv6 /48, 1000/900s overall" in same.stdout
    with open(tmp_path / "htpasswd", "a") as users:  # htpasswd -nbB bob 'bcrypt pw'
        users.write("bob:$2y$05$uCLD0B.DajIz0iy.1/axGeybpdooYBuyGmj.VDqNmnyYqLL4fVVzm\n")
    mixed = run_cli("check-config", "-c", config)
    assert mixed.returncode == 0, mixed.stderr
    assert "the hashes use 2 cost settings" in mixed.stderr and "$2y$05$" in mixed.stderr
