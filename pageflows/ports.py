"""Choosing a free TCP port to listen on, one that stays free until it is bound.

The usual recipe, bind to port 0 and read the port the kernel chose, hands out
a port from the kernel's *ephemeral* range, the same range every outgoing
connection takes its local port from. The probe socket is closed before the
server (gunicorn, the simulator) binds the port, and in that gap any client in
the machine (a connection to PostgreSQL, to the simulator) may be given it as
its own local port, for as long as it lives; the server then fails with
"Address already in use" for minutes. A CI run lost a crash test that way.

So the port is drawn at random from *outside* the ephemeral range, where the
kernel never puts a client, and checked by binding it. Two callers drawing at
once rarely meet (about 30,000 ports to draw from), and the bind check catches
anyone already listening.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LINUX_EPHEMERAL = (32768, 60999)
LOWEST = 10000  # below this live well-known services (PostgreSQL 5432, 8000, 8080 ...)
HIGHEST = 65535
TRIES = 200

_draw = random.SystemRandom()


def ephemeral_range(source: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux's default elsewhere)."""
    try:
        low, high = source.read_text().split()[:2]
        return int(low), int(high)
    except (OSError, ValueError):
        return LINUX_EPHEMERAL


def candidate_ports(ephemeral: tuple[int, int]) -> list[range]:
    """The stretches of ports a client is never given: below and above the ephemeral range."""
    low, high = ephemeral
    stretches = [range(LOWEST, min(low, HIGHEST + 1)), range(max(high + 1, LOWEST), HIGHEST + 1)]
    return [stretch for stretch in stretches if len(stretch) > 0]


def _draw_port(stretches: list[range]) -> int:
    total = sum(len(stretch) for stretch in stretches)
    index = _draw.randrange(total)
    for stretch in stretches:
        if index < len(stretch):
            return stretch[index]
        index -= len(stretch)
    raise AssertionError("unreachable: the index lies in one of the stretches")


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, outside the ephemeral range (see the module's docstring).

    Raises OSError when the host itself cannot be bound (not an address of this machine).
    """
    stretches = candidate_ports(ephemeral_range())
    for _ in range(TRIES if stretches else 0):
        port = _draw_port(stretches)
        if _bindable(host, port):
            return port
    # the old way, as a last resort
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
