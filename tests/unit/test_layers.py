"""Dependencies point one way: rules <- engine <- webhook.

rules/ is text in, program out: no Flask, SQL, HTTP or engine; engine/ has no
Flask. Checked on the source so a stray import fails the suite.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pageflows"
FORBIDDEN = {
    "rules": (
        "flask",
        "sqlalchemy",
        "requests",
        "apscheduler",
        "pageflows.engine",
        "pageflows.webhook",
    ),
    "engine": ("flask", "pageflows.webhook"),
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert bad == []


def test_only_the_clock_reads_the_wall_clock() -> None:
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text("utf-8")
        if ("datetime.now(" in text or "time.time(" in text) and path.name != "clock.py":
            readers.append(str(path.relative_to(PACKAGE)))
    assert readers == []
