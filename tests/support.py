"""Small helpers shared by test modules (on the path through pytest's `pythonpath`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from pageflows.engine.policy import check_tag
from pageflows.rules.compile import Program
from pageflows.rules.load import load_texts
from pageflows.rules.page_facts import PageFacts

T = TypeVar("T")
DEFAULT_AS_OF = date(2026, 1, 10)


def program(
    text: str, name: str = "f", as_of: date = DEFAULT_AS_OF, pages: tuple[PageFacts, ...] = ()
) -> Program:
    """One flow file's checked program; a test flow with errors fails the test."""
    result = load_texts({f"flows/{name}.flow": text.encode()}, as_of, check_tag, pages)
    assert result.errors == (), result.errors
    assert result.program is not None
    return result.program


def wait_for(probe: Callable[[], list[T]], count: int, wait: float = 8.0) -> list[T]:
    """Poll `probe` until it returns at least `count` items or `wait` seconds pass.

    Why: the service answers asynchronously (webhook -> inbox -> worker -> sender).
    """
    deadline = time.monotonic() + wait
    found = probe()
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        found = probe()
    return found


__all__ = ["program", "wait_for"]
