"""Rendering findings: the only place diagnostics become text or JSON.

The text form is a compiler's: `file:line:col:` and the code first, then the
source line with a caret under the span, and the hint. JSON carries the same
records for editors and CI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pageflows.rules.diagnostics import Diagnostic
from pageflows.rules.source import SourceFile


def render_text(diagnostics: Iterable[Diagnostic], sources: dict[str, SourceFile]) -> str:
    # issue 13: A: each file split into lines once, not once per finding (10,000
    # findings in one file read it 10,000 times).
    split: dict[str, list[str]] = {}
    blocks = []
    for d in diagnostics:
        path = d.span.path
        if path not in split and path in sources:
            split[path] = sources[path].text.split("\n")
        blocks.append(render_one(d, sources.get(path), split.get(path)))
    return "\n\n".join(blocks)


def render_one(
    d: Diagnostic, source: SourceFile | None, source_lines: list[str] | None = None
) -> str:
    """One finding; ``source_lines`` are ``source``'s lines when the caller has split them."""
    span = d.span
    if source_lines is not None:
        number = span.line
        text = source_lines[number - 1] if 0 < number <= len(source_lines) else ""
    else:
        text = source.line(span.line) if source else ""
    # `file:line:col: ` first, as compilers print it: terminals, editors and CI
    # problem matchers turn it into a link to the spot.
    lines = [f"{span}: {d.severity.value}[{d.code.number} {d.code.label}]: {d.message}"]
    gutter = " " * len(str(span.line))
    if text.strip():
        shown = text.replace("\t", "    ")
        col = len(text[: span.col - 1].replace("\t", "    ")) + 1
        end = span.end_col if span.end_line == span.line else len(text) + 1
        # Measure the caret on the shown line, where each tab became four spaces.
        width = len(text[: end - 1].replace("\t", "    ")) + 1 - col
        width = max(1, min(width, len(shown) - col + 1))
        lines.append(f"{gutter} |")
        lines.append(f"{span.line} | {shown}")
        lines.append(f"{gutter} | {' ' * (col - 1)}{'^' * width}")
    if d.hint:
        lines.append(f"{gutter} = hint: {d.hint}")
    return "\n".join(lines)


def summary(diagnostics: Iterable[Diagnostic], files: int) -> str:
    items = list(diagnostics)
    errors = sum(1 for d in items if d.is_error)
    warnings = len(items) - errors
    noun = "file" if files == 1 else "files"
    if not items:
        return f"{files} {noun} checked: no problems"
    errors_text = f"{errors} error{'s' * (errors != 1)}"
    return f"{files} {noun} checked: {errors_text}, {warnings} warning{'s' * (warnings != 1)}"


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    records = [
        {
            "code": d.code.number,
            "name": d.code.label,
            "severity": d.severity.value,
            "path": d.span.path,
            "line": d.span.line,
            "col": d.span.col,
            "end_line": d.span.end_line,
            "end_col": d.span.end_col,
            "message": d.message,
            "hint": d.hint,
        }
        for d in diagnostics
    ]
    return json.dumps(records, indent=2, ensure_ascii=False)
