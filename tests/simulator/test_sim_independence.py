"""The simulator stands alone: it must never borrow the engine's or the rules' policy.

If it imported pageflows.engine.policy, a wrong date in the engine would be
wrong on both sides of the wire and no test could notice.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pageflows" / "simulator"
ALLOWED_THIRD_PARTY = {"flask", "werkzeug", "requests", "pydantic", "click", "cheroot"}


def test_imports_only_stdlib_flask_requests_pydantic() -> None:
    bad = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                ours = name == "pageflows.simulator" or name.startswith("pageflows.simulator.")
                known = name.split(".")[0] in {*ALLOWED_THIRD_PARTY, *sys.stdlib_module_names}
                if not (ours or known):
                    bad.append(f"{path.name}: {name}")
    assert bad == []
