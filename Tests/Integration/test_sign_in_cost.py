"""Password hashing across workers (issue 10, item 5): every worker of the host shares
`web.password_hash_slots` slot files in the state directory; with all of them held, a
sign-in through nginx gets a readable 503 with Retry-After, and works once one is free."""

from __future__ import annotations

import fcntl
import os

import requests

from harness import HTTP_TIMEOUT


def sign_in(s, user: str, password: str) -> requests.Response:
    session = requests.Session()
    page = session.get(s.url("/device"), timeout=HTTP_TIMEOUT)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return session.post(s.url("/device/signin"), data={"username": user, "password": password, "user_code": "",
                                                        "csrf_token": token}, allow_redirects=False, timeout=HTTP_TIMEOUT)


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
