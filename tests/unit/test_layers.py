"""Only the clock reads the wall clock; only RE2 runs a pattern someone else wrote.

The layers themselves (rules <- engine <- service/chat <- webhook <- serve <- cli)
are import-linter contracts in pyproject.toml, run by the test command.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pageflows"


def test_only_the_clock_reads_the_wall_clock() -> None:
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text("utf-8")
        if ("datetime.now(" in text or "time.time(" in text) and path.name != "clock.py":
            readers.append(str(path.relative_to(PACKAGE)))
    assert readers == []


def test_pythons_re_only_runs_the_projects_own_fixed_patterns() -> None:
    """`re` backtracks: a flow author's or a contact's text must never become its pattern.

    Author patterns go through pageflows/rules/linear_regex.py (RE2). Every call
    of the `re` module here takes a string literal as its pattern.
    """
    dynamic = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "re":
                dynamic.append(f"{path.relative_to(PACKAGE)}:{node.lineno} from re import")
            is_re_call = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr not in ("escape", "error")
            )
            if is_re_call and not (node.args and isinstance(node.args[0], ast.Constant)):
                dynamic.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert dynamic == []
