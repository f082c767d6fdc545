"""`devicegate hash-secret` (issue 10, item 10): secrets under 128 bits of estimated entropy
(RFC 6749 §10.10) are refused unless --force; generated ones always pass. Runs the built binary."""

from __future__ import annotations

import subprocess

import pytest

from harness import CLI_TIMEOUT, DEVICEGATE_BIN, clean_env, sha256_hex


def hash_secret(secret: str | None, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([DEVICEGATE_BIN, "hash-secret", *flags], capture_output=True, text=True, timeout=CLI_TIMEOUT,
                          env=clean_env(), input="" if secret is None else secret + "\n")


@pytest.mark.parametrize("weak", ["hunter2", "correcthorsebatterystaple", "a" * 100, "0123456789012345678901234567890123456789"])
def test_weak_secrets_are_refused_with_the_way_out(weak):
    done = hash_secret(weak)
    assert done.returncode == 1, done.stdout
    assert "secret_hash" not in done.stdout
    assert "bits of estimated entropy" in done.stderr and "at least 128" in done.stderr
    assert "--generate" in done.stderr and "--force" in done.stderr
    assert weak not in done.stderr


def test_force_hashes_a_weak_secret_anyway():
    done = hash_secret("hunter2", "--force")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"secret_hash: sha256:{sha256_hex('hunter2')}"


def test_a_strong_secret_and_a_generated_one_are_hashed():
    strong = "ZsG3q9Kx1f_2wLrT8vYp0aB7mNcE4hJdQ5uXiS6oVkE"
    done = hash_secret(strong)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"secret_hash: sha256:{sha256_hex(strong)}"
    generated = hash_secret(None, "--generate")
    assert generated.returncode == 0, generated.stderr
    secret = generated.stdout.splitlines()[0].removeprefix("client_secret: ")
    assert generated.stdout.splitlines()[1] == f"secret_hash: sha256:{sha256_hex(secret)}"
    # What --generate prints passes the check when fed back.
    assert hash_secret(secret).returncode == 0
