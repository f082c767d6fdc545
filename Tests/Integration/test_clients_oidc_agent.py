"""oidc-agent (Debian's oidc-agent-cli) against the https stack (issue 13): ``oidc-gen
--flow=device`` for a public client (oidc-agent sends HTTP Basic with an empty password, which
identifies a public client without authenticating it) and for a confidential one, the user code
read from oidc-gen's output and approved with ``devicegate approve``, then ``oidc-token NAME``
prints an access token that userinfo accepts. Each run has a throwaway HOME, config dir, agent
and socket; nothing is read from or written to the real home."""

import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from harness import InteropClients as C, assert_oauth_json, wait_until

USER_CODE_IN_OUTPUT = re.compile(r"enter the code:\s*([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})")
TIMEOUT = 60

pytestmark = pytest.mark.skipif(shutil.which("oidc-gen") is None or shutil.which("oidc-agent") is None,
                                reason="oidc-agent-cli is not installed (deploy/test.sh installs it)")


class Agent:
    """An ``oidc-agent`` in the foreground (``--console``) on a socket in a temporary HOME."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="dg-oidc-agent-"))
        os.chmod(self.home, 0o700)
        (self.home / "config").mkdir(mode=0o700)
        self.socket = self.home / "agent.sock"
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home),
                    "OIDC_CONFIG_DIR": str(self.home / "config"), "OIDC_SOCK": str(self.socket),
                    "TMPDIR": str(self.home), "OIDC_ENCRYPTION_PW": "throwaway-" + os.urandom(8).hex(),
                    "LANG": "C.UTF-8"}
        self.log = open(self.home / "agent.log", "wb")
        self.process = subprocess.Popen(["oidc-agent", "--console", "--no-autoload", "--socket-path", str(self.socket)],
                                        env=self.env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.socket.exists() or self.process.poll() is not None, 10, what="oidc-agent's socket")
        assert self.process.poll() is None, f"oidc-agent exited: {self.tail()}"

    def tail(self) -> str:
        return (self.home / "agent.log").read_text(errors="replace")[-1500:]

    def run(self, *args, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def close(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def agent(only_test_ca):
    a = Agent()
    try:
        yield a
    finally:
        a.close()


def generate_with_device_flow(agent: Agent, stack, name: str, client_id: str, secret: str) -> str:
    """``oidc-gen --flow=device`` non-interactively; approves the user code it prints with
    ``devicegate approve``; returns oidc-gen's output once it has saved the account."""
    command = ["stdbuf", "-oL", "-eL", "oidc-gen", "--flow=device", f"--iss={stack.issuer}", f"--client-id={client_id}",
               f"--client-secret={secret}", "--scope=openid offline_access", f"--cp={stack.ca.ca_file}",
               "--pw-env=OIDC_ENCRYPTION_PW", "--no-url-call", "--confirm-default", "--prompt=none", name]
    gen = subprocess.Popen(command, env=agent.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    def pump():
        for line in gen.stdout:
            lines.put(line)
    threading.Thread(target=pump, daemon=True).start()
    seen = []
    try:
        code = None
        while code is None:
            try:
                line = lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"oidc-gen printed no user code within {TIMEOUT}s: {''.join(seen)[-1500:]}")
            seen.append(line)
            match = USER_CODE_IN_OUTPUT.search(line)
            code = match.group(1) if match else None
            if gen.poll() is not None and lines.empty():
                raise AssertionError(f"oidc-gen exited with {gen.returncode} before a user code: {''.join(seen)[-1500:]}")
        approved = stack.approve(code)
        assert approved.returncode == 0, f"devicegate approve {code}: {approved.stderr}"
        try:
            gen.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"oidc-gen did not finish within {TIMEOUT}s after approval: {''.join(seen)[-1500:]}")
        while not lines.empty():
            seen.append(lines.get())
        output = "".join(seen)
        # The QR code's escape sequences are noise in a failure message.
        readable = re.sub(r"\x1b\[[0-9;]*m", "", output)
        assert gen.returncode == 0, f"oidc-gen failed ({gen.returncode}): {readable[-1500:]}\nagent: {agent.tail()}"
        return readable
    finally:
        if gen.poll() is None:
            gen.kill()
            gen.wait(timeout=5)


def check_token(agent: Agent, stack, name: str):
    out = agent.run("oidc-token", name)
    assert out.returncode == 0, f"oidc-token {name} failed: {out.stderr or out.stdout}\nagent: {agent.tail()}"
    token = out.stdout.strip()
    assert token and "\n" not in token, f"oidc-token printed {out.stdout!r}"
    info = assert_oauth_json(stack.userinfo(token), 200)
    assert info.get("sub") == "alice", f"userinfo for oidc-agent's token: {info}"


def test_oidc_agent_device_flow_with_a_public_client(tls_stack, agent):
    """oidc-agent authenticates a public client with Basic ``client_id:`` (empty password):
    identified as the public client, not refused (issue 13, interop)."""
    generate_with_device_flow(agent, tls_stack, "dg-public", C.NATIVE_APP, "")
    check_token(agent, tls_stack, "dg-public")


def test_oidc_agent_device_flow_with_a_confidential_client(tls_stack, agent):
    generate_with_device_flow(agent, tls_stack, "dg-confidential", C.CONFIDENTIAL_CLI, C.CONFIDENTIAL_CLI_SECRET)
    check_token(agent, tls_stack, "dg-confidential")
    # A wrong secret gets nothing: oidc-gen fails instead of printing a user code.
    wrong = agent.run("oidc-gen", "--flow=device", f"--iss={tls_stack.issuer}", f"--client-id={C.CONFIDENTIAL_CLI}",
                      f"--client-secret={C.CONFIDENTIAL_CLI_SECRET}x", "--scope=openid offline_access",
                      f"--cp={tls_stack.ca.ca_file}", "--pw-env=OIDC_ENCRYPTION_PW", "--no-url-call",
                      "--confirm-default", "--prompt=none", "dg-wrong", timeout=30)
    assert wrong.returncode != 0 and not USER_CODE_IN_OUTPUT.search(wrong.stdout), (wrong.returncode, wrong.stdout[-500:])
