"""Positions in flow files.

`Span` is the only position type in pageflows: every node of the model and
every diagnostic carries one, so a finding can always point at the marketer's
text. Lines and columns are 1-based, as editors show them.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import core_schema


class Span(tuple[str, int, int, int, int]):
    """A range of text in one flow file (end is exclusive, on the same or a later line).

    An immutable value with named fields, not a pydantic model (issue 13: A):
    every node of the model and every finding has one (110,000 for 10,000
    triggers), and validating each cost a quarter of building the model. The
    builder makes them from the parser's positions, which are already ints.
    """

    __slots__ = ()

    def __new__(cls, path: str, line: int, col: int, end_line: int, end_col: int) -> Span:
        return tuple.__new__(cls, (path, line, col, end_line, end_col))

    def __getnewargs__(self) -> tuple[str, int, int, int, int]:
        return (self[0], self[1], self[2], self[3], self[4])

    path: str = property(itemgetter(0))  # type: ignore[assignment]
    line: int = property(itemgetter(1))  # type: ignore[assignment]
    col: int = property(itemgetter(2))  # type: ignore[assignment]
    end_line: int = property(itemgetter(3))  # type: ignore[assignment]
    end_col: int = property(itemgetter(4))  # type: ignore[assignment]

    @classmethod
    def point(cls, path: str, line: int, col: int, width: int = 1) -> Span:
        return cls(path, line, col, line, col + max(width, 1))

    def __str__(self) -> str:
        return f"{self[0]}:{self[1]}:{self[2]}"

    def __repr__(self) -> str:
        return (
            f"Span(path={self[0]!r}, line={self[1]}, col={self[2]},"
            f" end_line={self[3]}, end_col={self[4]})"
        )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """In a model, a Span is taken as it is and dumped as its fields."""
        return core_schema.is_instance_schema(
            cls,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda span: {
                    "path": span[0],
                    "line": span[1],
                    "col": span[2],
                    "end_line": span[3],
                    "end_col": span[4],
                }
            ),
        )


class SourceFile(BaseModel):
    """A flow file's text after decoding, kept so findings can quote the line.

    Its validator is built when first needed (issue 13: A): parse.py makes it
    without one (trusted.py), so `check` of clean flows builds no validator and
    pydantic never looks for plugins among the installed packages (~40 ms).
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str
    text: str

    def line(self, number: int) -> str:
        lines = self.text.split("\n")
        return lines[number - 1] if 0 < number <= len(lines) else ""
