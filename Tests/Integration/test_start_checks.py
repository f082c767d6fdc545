"""Issue 10, item 10: the start refuses a signing-keys directory open to others, and an audit
log path that is a symbolic link, each with a message that names the path and the fix."""

import os

import pytest

pytestmark = pytest.mark.one_host("checks the state directory's files at start")


def start_and_fail(s) -> str:
    """Starts `devicegate serve` and expects it to exit 1 before serving; returns its output."""
    s.start_devicegate()
    assert s.serve.wait(timeout=30) == 1, s.tail("devicegate.log")
    s.serve_log.close()
    return s.tail("devicegate.log")


def test_loose_keys_dir_and_symlinked_audit_log_fail_the_start(make_stack):
    s = make_stack(workers=1)
    s.stop()
    keys = s.state / "keys"
    audit = s.state / "audit.jsonl"
    assert keys.is_dir() and audit.is_file()

    os.chmod(keys, 0o750)
    out = start_and_fail(s)
    assert f"signing keys directory {keys} has mode 750" in out, out
    assert f"chmod 0700 {keys}" in out, out
    os.chmod(keys, 0o700)

    if os.geteuid() == 0:
        os.chown(keys, 65534, 65534)
        out = start_and_fail(s)
        assert f"signing keys directory {keys} is owned by uid 65534" in out and "chown" in out, out
        os.chown(keys, 0, 0)

    victim = s.root / "victim"
    victim.write_text("")
    os.rename(audit, s.state / "audit.jsonl.1")
    os.symlink(victim, audit)
    out = start_and_fail(s)
    assert f"{audit} is a symbolic link" in out, out
    assert victim.read_text() == "", "nothing was written through the link"
    os.unlink(audit)

    # Fixed, the same directory starts again.
    s.start()
    assert s.new_flow()["device_code"]
