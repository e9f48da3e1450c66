"""A chosen free port is never one an outgoing connection could be given meanwhile."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pageflows import ports
from pageflows.ports import candidate_ports, ephemeral_range, free_port


def test_the_ephemeral_range_is_read_from_the_kernel_file(tmp_path: Path) -> None:
    source = tmp_path / "ip_local_port_range"
    source.write_text("40000\t50000\n")
    assert ephemeral_range(source) == (40000, 50000)


def test_an_unreadable_range_falls_back_to_linux_s_default(tmp_path: Path) -> None:
    assert ephemeral_range(tmp_path / "missing") == (32768, 60999)
    garbled = tmp_path / "garbled"
    garbled.write_text("not ports")
    assert ephemeral_range(garbled) == (32768, 60999)


def test_candidates_lie_below_and_above_the_ephemeral_range_only() -> None:
    assert candidate_ports((32768, 60999)) == [range(10000, 32768), range(61000, 65536)]
    assert candidate_ports((1024, 65535)) == []  # no room outside: free_port binds to 0
    assert candidate_ports((10000, 65535)) == []


def test_free_ports_are_outside_the_ephemeral_range_and_bindable() -> None:
    low, high = ephemeral_range()
    for _ in range(50):
        port = free_port()
        assert not low <= port <= high, port
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))


def test_a_port_someone_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", free_port()))
        listener.listen()
        taken = listener.getsockname()[1]
        other = free_port()
        draws = iter([taken, taken, other])
        monkeypatch.setattr(ports, "_draw_port", lambda stretches: next(draws))
        assert free_port() == other
