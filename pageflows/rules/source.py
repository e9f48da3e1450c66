"""Positions in flow files.

`Span` is the only position type in pageflows: every node of the model and
every diagnostic carries one, so a finding can always point at the marketer's
text. Lines and columns are 1-based, as editors show them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Span(BaseModel):
    """A range of text in one flow file (end is exclusive, on the same or a later line)."""

    model_config = ConfigDict(frozen=True)

    path: str
    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, path: str, line: int, col: int, width: int = 1) -> Span:
        return cls(path=path, line=line, col=col, end_line=line, end_col=col + max(width, 1))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class SourceFile(BaseModel):
    """A flow file's text after decoding, kept so findings can quote the line."""

    model_config = ConfigDict(frozen=True)

    path: str
    text: str

    def line(self, number: int) -> str:
        lines = self.text.split("\n")
        return lines[number - 1] if 0 < number <= len(lines) else ""
