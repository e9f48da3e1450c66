"""The web server as a child process that cannot outlive its parent.

Why: `serve` is SIGKILLed in the crash tests and restarted on the same port at
once. A gunicorn left behind would keep the port (the restart fails) or, worse,
answer webhooks with an old configuration. On Linux the kernel ends the child
when its parent ends (`PR_SET_PDEATHSIG`, set before the child execs), and
each gunicorn worker process when the arbiter ends (set in gunicorn's
`post_fork`); elsewhere gunicorn's workers still notice within a second that
their arbiter is gone, and the arbiter is left to the caller's `stop`.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import IO

from pageflows.web.options import WebOptions

PR_SET_PDEATHSIG = 1


def _find_prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up now: a child between fork and exec must not load anything."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    found: Callable[..., int] = prctl
    return found


_PRCTL = _find_prctl()


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when `parent` ends (Linux; elsewhere nothing).

    The signal comes when the parent *thread* that forked this process ends, so
    spawn from a thread that lives as long as its process (the main thread).
    """
    if _PRCTL is None:
        return
    _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)


def command(options: WebOptions) -> list[str]:
    # -P: never put the working directory on sys.path, so a `pageflows/` folder there (an
    # old checkout) cannot stand in for the installed package the parent runs.
    return [sys.executable, "-P", "-m", "pageflows.web", *options.arguments()]


def spawn(
    options: WebOptions,
    *,
    env: Mapping[str, str] | None = None,
    stdout: IO[bytes] | int | None = None,
    stderr: IO[bytes] | int | None = None,
    cwd: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start `python -m pageflows.web` as a child that dies with this process; returns at once.

    The child has its own process group: a Ctrl-C in the terminal reaches the
    parent only, which stops the child gracefully with `stop` (if the parent
    just exits, the child is SIGKILLed with it). `wait_listening` says when it
    accepts connections. Its settings come from `env` (default: this process's
    environment), as for `serve`.
    """
    if options.port == 0:
        raise ValueError("spawn needs a port number: the parent could not learn a picked one")
    return subprocess.Popen(
        command(options),
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        cwd=cwd,
        process_group=0,
        preexec_fn=partial(die_with_parent, os.getpid()),
    )


def wait_listening(
    host: str, port: int, process: subprocess.Popen[bytes], timeout: float = 30.0
) -> bool:
    """True once host:port accepts connections; False if `process` exits first or time is up."""
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
    return False


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM (requests being served finish), SIGKILL after `timeout` s; the exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def raise_fd_limit() -> int | None:
    """Raise this process's soft limit on open files to its hard limit; the soft limit now.

    A shell's default soft limit (often 1024) would cap a process at about a
    thousand connections whatever `connections` says; the hard limit is what
    the operator allows. None when the limit cannot be read.
    """
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (OSError, ValueError):
            pass
    return soft
