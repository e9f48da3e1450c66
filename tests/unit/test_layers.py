"""Only the clock reads the wall clock.

The layers themselves (rules <- engine <- service/chat <- webhook <- serve <- cli)
are import-linter contracts in pyproject.toml, run by the test command.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pageflows"


def test_only_the_clock_reads_the_wall_clock() -> None:
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text("utf-8")
        if ("datetime.now(" in text or "time.time(" in text) and path.name != "clock.py":
            readers.append(str(path.relative_to(PACKAGE)))
    assert readers == []
