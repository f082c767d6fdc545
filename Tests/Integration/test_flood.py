"""Item 2 of the hostile review: unauthenticated device authorizations cannot fill the state
disk or its inodes.

On a small loop-mounted ext4 (few inodes) as the state directory:
- a flood from one address reaches its cap of pending flows (429 temporarily_unavailable,
  Retry-After) and does not block a second address;
- a flood from many addresses is refused with 503 temporarily_unavailable before the
  filesystem's inodes fall below the reserve, and a flow started before the flood is still
  approved and redeemed, its tokens refreshed.

The client address is FastCGI's REMOTE_ADDR, set here by talking FastCGI to the workers'
socket directly, as nginx would.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import (DEVICE_PATH, FORM, HARNESS_ADMISSION, FastCGIConnection, assert_oauth_error, assert_oauth_json,
                     fastcgi_params, wait_until)

pytestmark = pytest.mark.one_host("fills one host's state directory (inodes) and talks FastCGI to its socket")

INODES = 4096
RESERVE_PERCENT = 25
PER_ADDRESS = 50


def _mount_small_ext4(stack):
    """A 32 MB ext4 with INODES inodes, loop-mounted as the stack's state directory."""
    if os.geteuid() != 0:
        pytest.skip("the inode-exhaustion test loop-mounts an ext4 image: needs root")
    if not shutil.which("mkfs.ext4"):
        pytest.skip("mkfs.ext4 is not installed")
    image = stack.root / "state.img"
    with open(image, "wb") as f:
        f.truncate(32 << 20)
    r = subprocess.run(["mkfs.ext4", "-q", "-F", "-N", str(INODES), "-m", "0", str(image)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    stack.state.mkdir(mode=0o700, exist_ok=True)
    r = subprocess.run(["mount", "-o", "loop", str(image), str(stack.state)], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip(f"cannot loop-mount an ext4 image here: {r.stderr.strip() or r.returncode}")
    os.chmod(stack.state, 0o700)
    shutil.rmtree(stack.state / "lost+found", ignore_errors=True)


def _umount(path):
    r = subprocess.run(["umount", str(path)], capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, text=True, timeout=20)


def device_from(stack, address: str, client_id: str = "demo-tv") -> tuple[int, dict, dict]:
    """A device authorization from `address` (REMOTE_ADDR), straight to a worker."""
    body = urllib.parse.urlencode({"client_id": client_id}).encode()
    conn = FastCGIConnection(stack.socket_path, timeout=20)
    try:
        params = fastcgi_params("POST", DEVICE_PATH, FORM, len(body))
        params["REMOTE_ADDR"] = address
        conn.begin(params)
        conn.send_stdin(body)
        conn.finish_stdin()
        status, headers, raw = conn.read_response()
    finally:
        conn.close()
    return status, headers, json.loads(raw)


def free_inodes(path) -> tuple[int, int]:
    st = os.statvfs(path)
    return st.f_favail, st.f_files


def with_admission(text: str, reserve_percent: int = RESERVE_PERCENT) -> str:
    assert HARNESS_ADMISSION in text
    return text.replace(HARNESS_ADMISSION, f"\nadmission:\n  max_pending_per_address: {PER_ADDRESS}\n"
                                           f"  reserve_percent: {reserve_percent}\n")


def with_address_cap_only(text: str) -> str:
    """The per-address cap on the host's own filesystem: with the reserve at its least, so the
    host's free space (a busy CI disk may be under 25% free) never decides an answer."""
    return with_admission(text, reserve_percent=1)


def test_flood_is_refused_early_and_earlier_flows_still_complete(make_stack):
    s = make_stack(workers=2, start=False, transform=with_admission)
    _mount_small_ext4(s)
    try:
        s.start()
        earlier = s.new_flow(scope="openid offline_access")

        # 1. One address: PER_ADDRESS flows, then 429 with Retry-After; a second address is
        # not blocked.
        answers = [device_from(s, "198.51.100.1") for _ in range(PER_ADDRESS + 5)]
        assert [a[0] for a in answers] == [200] * PER_ADDRESS + [429] * 5, [a[0] for a in answers]
        for status, headers, body in answers[PER_ADDRESS:]:
            assert body["error"] == "temporarily_unavailable", body
            assert 1 <= int(headers["retry-after"]) <= 700, headers
        status, _, body = device_from(s, "198.51.100.2")
        assert status == 200 and body["device_code"], body
        v6 = [device_from(s, f"2001:db8:7:7::{i:x}")[0] for i in range(PER_ADDRESS + 1)]
        assert v6 == [200] * PER_ADDRESS + [429], "one IPv6 /64 shares one budget"
        assert device_from(s, "2001:db8:7:8::1")[0] == 200

        # 2. Many addresses, each under its cap: the reserve refuses new flows before the
        # inodes run out.
        addresses = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(400)]
        statuses = []

        def one(i):
            return device_from(s, addresses[i % len(addresses)])

        with ThreadPoolExecutor(8) as pool:
            for start in range(0, 8000, 400):
                batch = list(pool.map(one, range(start, start + 400), timeout=120))
                statuses += [b[0] for b in batch]
                for status, headers, body in batch:
                    assert status in (200, 503), (status, body)
                    if status == 503:
                        assert body["error"] == "temporarily_unavailable", body
                        assert "nearly full" in body["error_description"], "refused by the reserve, not by ENOSPC"
                        assert headers.get("retry-after"), headers
                if statuses[-50:] == [503] * 50:
                    break
        assert 503 in statuses, f"never refused after {len(statuses)} device authorizations"
        assert statuses[-50:] == [503] * 50, "once below the reserve, every new flow is refused"
        favail, files = free_inodes(s.state)
        # Each of the 2 workers may admit one flow (up to 4 inodes) on a reading taken at the
        # floor; 32 inodes of slack cover that and the logs. CI once ended at 598 here, when a
        # reading was trusted for 250 ms whatever the rate.
        floor = files * RESERVE_PERCENT // 100
        assert favail >= floor - 32, f"the reserve was not kept: {favail} of {files} inodes free, floor {floor}"

        # 3. The flow started before the flood completes: approved, redeemed, refreshed.
        assert s.approve(earlier["user_code"]).returncode == 0
        tokens = assert_oauth_json(s.token(earlier["device_code"]), 200)
        assert tokens["access_token"] and tokens.get("refresh_token"), tokens
        refreshed = assert_oauth_json(s.refresh(tokens["refresh_token"]), 200)
        assert s.userinfo(refreshed["access_token"]).status_code == 200
        assert_oauth_error(s.device(), 503, "temporarily_unavailable")
        assert s.serve.poll() is None and len(s.worker_pids()) == 2
    finally:
        s.stop()
        _umount(s.state)


def test_cap_holds_across_workers_while_workers_are_sigkilled(make_stack):
    """Four workers answer one address while a worker is SIGKILLed every 0.2 s: the cap is
    never exceeded, and a killed request costs at most the one place it may have counted."""
    s = make_stack(workers=4, transform=with_address_cap_only)
    stop = threading.Event()
    kills = []

    def killer():
        while not stop.is_set():
            time.sleep(0.2)
            pids = sorted(s.worker_pids())
            if pids:
                try:
                    victim = pids[len(kills) % len(pids)]
                    os.kill(victim, signal.SIGKILL)
                    kills.append(victim)
                except ProcessLookupError:
                    pass

    def one(_):
        try:
            return device_from(s, "203.0.113.50")[0]
        except (ConnectionError, OSError, ValueError):
            return "lost"  # the worker died with the request

    k = threading.Thread(target=killer)
    k.start()
    try:
        answers = []
        with ThreadPoolExecutor(8) as pool:
            while len(kills) < 3 and len(answers) < 4000:
                answers += list(pool.map(one, range(400), timeout=120))
    finally:
        stop.set()
        k.join()
    wait_until(lambda: len(s.worker_pids()) == 4, 30, what="the supervisor to restart the workers")
    admitted, lost = answers.count(200), answers.count("lost")
    assert set(answers) <= {200, 429, "lost"}, set(answers)
    assert kills, "no worker was killed"
    assert admitted <= PER_ADDRESS, f"{admitted} flows admitted over a cap of {PER_ADDRESS}"
    # Places are lost only to requests that died in a worker (counted, never answered).
    assert admitted >= PER_ADDRESS - lost, (admitted, lost)
    # After the storm: still exactly capped, and a fresh address is untouched.
    later = [device_from(s, "203.0.113.50")[0] for _ in range(PER_ADDRESS)]
    assert admitted + later.count(200) <= PER_ADDRESS, (admitted, later)
    assert later[-1] == 429
    assert device_from(s, "203.0.113.51")[0] == 200
