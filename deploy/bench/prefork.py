#!/usr/bin/env python3
"""Run N copies of a FastCGI responder on one listening socket passed as fd 0.

This is what spawn-fcgi -F, fcgiwrap and systemd socket activation
(StandardInput=socket) do: the parent binds and listens, every child gets the
listening socket as its standard input (FCGI_LISTENSOCK_FILENO) and blocks in
FCGX_Accept_r on it; the kernel hands each connection to exactly one child.

    prefork.py --socket /tmp/x.sock --workers 4 -- ./trivial
    prefork.py --tcp 127.0.0.1:9000 --workers 4 -- devicegate worker --config F

SIGTERM/SIGINT/SIGHUP stop all children and remove the socket. If a child
exits on its own, the others are stopped too and prefork.py exits 1: it is a
test and benchmark harness, where a crash must be visible, not a supervisor.
"""

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1


class Stop(Exception):
    """Raised from the signal handler to leave the wait loop."""


def on_signal(signum, _frame):
    raise Stop(signum)


def die_with_parent():
    """Child side (before exec): get SIGTERM if prefork.py itself dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def listen_socket(args):
    if args.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(args.socket)
        except FileNotFoundError:
            pass
        sock.bind(args.socket)
        os.chmod(args.socket, int(args.mode, 8))
    else:
        host, _, port = args.tcp.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
    sock.listen(args.backlog)
    return sock


def stop_children(children, grace):
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", help="unix socket path to bind")
    where.add_argument("--tcp", help="HOST:PORT to bind")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--backlog", type=int, default=1024)
    parser.add_argument("--mode", default="0660", help="unix socket mode (octal)")
    parser.add_argument("--pidfile", help="write prefork.py's pid here")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- COMMAND [ARGS...] run in each worker")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("missing command after --")

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)

    sock = listen_socket(args)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")

    children = []
    status = 0
    try:
        for _ in range(args.workers):
            children.append(subprocess.Popen(
                command, stdin=sock.fileno(), preexec_fn=die_with_parent))
        sock.close()  # the children hold it now
        pid, wstatus = os.wait()
        print(f"prefork: worker {pid} exited unexpectedly "
              f"(status {os.waitstatus_to_exitcode(wstatus)}); stopping",
              file=sys.stderr)
        status = 1
    except Stop:
        pass
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        stop_children(children, grace=5.0)
        if args.socket:
            try:
                os.unlink(args.socket)
            except FileNotFoundError:
                pass
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except FileNotFoundError:
                pass
    return status


if __name__ == "__main__":
    sys.exit(main())
