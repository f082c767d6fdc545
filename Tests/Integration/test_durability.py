"""What a worker asks of the kernel for one device authorization, in order (strace): the device
is answered only after the new flow's frame in the creation journal is on disk (fdatasync); the
record and both of its names -- the flow record and the user-code claim -- are written before
the frame, and the replay at start rebuilds them from it after a power cut. This is what a power
cut right after the answer relies on, and no kill -9 test can see it."""

import hashlib
import os
import hmac
import re
import shutil
import signal
import subprocess
import time

import pytest

from harness import assert_oauth_json, pid_alive, sha256_hex, wait_until

pytestmark = pytest.mark.one_host("watches one worker's syscalls (strace) and the state directory's journal")

# pid prefix (strace -f -o), call, arguments, result.
LINE = re.compile(r"^(?:\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)")
# A descriptor as strace -y prints it: 5</path/to/file>.
FD = re.compile(r"^(\d+)<([^>]*)>")
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _trace(pid: int, log, action):
    """Runs ``action`` while strace records the file calls of ``pid``; returns the events."""
    tracer = subprocess.Popen(
        ["strace", "-f", "-y", "-qq", "-s", "64", "-o", str(log), "-p", str(pid),
         "-e", "trace=openat,write,pwrite64,fsync,fdatasync,link,linkat,rename,renameat,renameat2,close"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def attached():
        status = open(f"/proc/{pid}/status").read()
        return re.search(r"^TracerPid:\s+[1-9]", status, re.M) is not None
    try:
        wait_until(lambda: attached() or tracer.poll() is not None, 10, what="strace to attach")
        if tracer.poll() is not None:
            pytest.skip(f"strace cannot attach here: {tracer.stderr.read().decode().strip()}")
        action()
        time.sleep(0.2)
    finally:
        tracer.terminate()
        tracer.wait(10)
    events = []
    for line in log.read_text().splitlines():
        m = LINE.match(line)
        if m:
            events.append((m.group(1), m.group(2), int(m.group(3))))
    return events


def _fd_path(args: str) -> str | None:
    m = FD.match(args)
    return m.group(2) if m else None


def _strings(args: str) -> list[str]:
    return STRING.findall(args)


def test_a_new_flow_is_durable_before_the_device_is_answered(make_stack):
    if shutil.which("strace") is None:
        pytest.skip("needs strace")
    s = make_stack(workers=1)
    (pid,) = s.worker_pids()
    answer = {}
    events = _trace(pid, s.root / "strace.txt", lambda: answer.update(flow=assert_oauth_json(s.device(), 200)))
    flow = answer["flow"]

    fid = sha256_hex(flow["device_code"])
    key = hmac.new((s.state / "pepper").read_bytes(), flow["user_code"].replace("-", "").encode(),
                   hashlib.sha256).hexdigest()
    shard = s.state / "flows" / fid[:2]
    record, claim = str(shard / f"{fid}.flow"), str(s.state / "flows" / key[:2] / f"{key}.code")

    def index(predicate, what):
        hits = [i for i, e in enumerate(events) if predicate(*e)]
        assert hits, f"no {what} in the trace:\n" + "\n".join(map(str, events))
        return hits[0]

    renamed = index(lambda call, args, rc: call.startswith("rename") and rc == 0 and _strings(args)[-1:] == [record],
                    f"rename to {record}")
    temp = _strings(events[renamed][1])[0]
    assert "/.tmp-" in temp and temp.startswith(str(shard) + "/")
    linked = index(lambda call, args, rc: call.startswith("link") and rc == 0 and _strings(args) == [temp, claim],
                   f"link of {temp} to the claim {claim}")
    wrote = index(lambda call, args, rc: call == "write" and _fd_path(args) == temp, f"write of {temp}")
    size = (shard / f"{fid}.flow").stat().st_size
    journal = str(s.state / "journal")
    appended = index(lambda call, args, rc: call == "write" and (_fd_path(args) or "").startswith(journal + "/")
                     and (_fd_path(args) or "").endswith(".log") and rc == 16 + size,
                     f"the journal frame of the record (16 + {size} bytes)")
    log = _fd_path(events[appended][1])
    synced = index(lambda call, args, rc: call == "fdatasync" and _fd_path(args) == log and rc == 0, f"fdatasync of {log}")
    answered = index(lambda call, args, rc: call == "write" and "Status: 200" in args, "the FastCGI answer")

    assert wrote < min(linked, renamed) < max(linked, renamed) < appended < synced < answered, \
        "record written and named, then its journal frame appended and synced, then the answer"
    syncs = [e for e in events[:answered] if e[0] in ("fsync", "fdatasync")]
    others = [e for e in syncs if e[0] == "fsync" and _fd_path(e[1]) != journal]
    assert len([e for e in syncs if e[0] == "fdatasync"]) == 1 and not others, \
        f"one fdatasync per device authorization (docs/internals.md), plus at most an fsync of journal/ for a new log; saw {syncs}"

    # The frame on disk is the record, byte for byte.
    data = open(log, "rb").read()
    assert (shard / f"{fid}.flow").read_bytes() in data
    # And the result on disk: one file under both names.
    assert (shard / f"{fid}.flow").stat().st_ino == os.stat(claim).st_ino
    assert_oauth_json(s.token(flow["device_code"]), 400)


def test_flows_whose_files_a_power_cut_lost_are_rebuilt_from_the_journal_at_start(make_stack):
    """What a power cut can leave of files written without fsync -- nothing, or a torn file --
    simulated on 30 answered flows: the next start replays the creation journal, and every
    device code polls again, every user code is approved through the CLI, every code is
    redeemed once. Without the replay the lost flows answer invalid_grant."""
    s = make_stack(workers=2)
    flows = [assert_oauth_json(s.device(), 200) for _ in range(30)]
    # A crash, not a stop: a clean stop checkpoints the journal (syncfs) and empties it.
    workers = s.worker_pids()
    s.serve.kill()
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    s.serve.wait(10)
    wait_until(lambda: not any(pid_alive(pid) for pid in workers), 10, what="the workers to die")
    assert list((s.state / "journal").glob("*.log")), "the answered flows are in the journal"
    s.stop()
    pepper = (s.state / "pepper").read_bytes()
    for i, flow in enumerate(flows):
        fid = sha256_hex(flow["device_code"])
        key = hmac.new(pepper, flow["user_code"].replace("-", "").encode(), hashlib.sha256).hexdigest()
        record = s.state / "flows" / fid[:2] / f"{fid}.flow"
        claim = s.state / "flows" / key[:2] / f"{key}.code"
        if i % 3 == 0:       # neither name reached the disk
            record.unlink()
            claim.unlink()
        elif i % 3 == 1:     # both names, no data (one inode)
            os.truncate(record, 0)
        else:                # the claim's name did not reach the disk
            claim.unlink()
    s.start()
    for flow in flows:
        assert assert_oauth_json(s.token(flow["device_code"]), 400)["error"] == "authorization_pending"
        assert s.approve(flow["user_code"]).returncode == 0
    for flow in flows:
        body = assert_oauth_json(s.token(flow["device_code"]), 200)
        assert body["token_type"] == "Bearer"
        assert assert_oauth_json(s.token(flow["device_code"]), 400)["error"] == "invalid_grant"
    assert "journal replayed: flows restored after a crash" in s.tail("devicegate.log", 1_000_000)


def test_a_clean_stop_leaves_no_journal_to_replay(make_stack):
    """SIGTERM: once the workers have exited, the supervisor syncs the filesystem and removes
    every journal log, so the next start replays nothing."""
    s = make_stack(workers=2)
    flows = [assert_oauth_json(s.device(), 200) for _ in range(5)]
    assert list((s.state / "journal").glob("*.log"))
    s.stop()
    assert not list((s.state / "journal").glob("*.log")), list((s.state / "journal").iterdir())
    assert "journal checkpointed at stop" in s.tail("devicegate.log", 1_000_000)
    s.start()
    for flow in flows:
        assert assert_oauth_json(s.token(flow["device_code"]), 400)["error"] == "authorization_pending"
