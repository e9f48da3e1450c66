"""issue 13: A. A block read straight into the model, checked against Lark's tree built by build.py.

Shared by tests/unit/test_read_model.py and tests/conftest.py (which checks
every block the suite reads this way).
"""

from __future__ import annotations

from lark.exceptions import LarkError

from pageflows.rules import model as m
from pageflows.rules import parse, read_model
from pageflows.rules.build import Builder
from pageflows.rules.diagnostics import Diagnostic

Nodes = tuple[m.TriggerBlock | m.Step | m.Broadcast, ...]


def from_tree(chunk: str, path: str, offset: int) -> tuple[Nodes, list[Diagnostic]] | None:
    """What Lark's tree of the block builds into (build.py), or None if Lark refuses it."""
    try:
        tree = parse.parser().parse(chunk)
    except LarkError:
        return None
    builder = Builder(path)
    builder.offset = offset
    made: list[m.TriggerBlock | m.Step | m.Broadcast] = []
    for item in tree.children:
        if item.data == "trigger_block":  # type: ignore[union-attr]
            made.append(builder.trigger_block(item))  # type: ignore[arg-type]
        elif item.data == "step_block":  # type: ignore[union-attr]
            made.append(builder.step_block(item))  # type: ignore[arg-type]
        else:
            made.append(builder.broadcast_block(item))  # type: ignore[arg-type]
    return tuple(made), builder.diagnostics


def assert_built_as_from_the_tree(
    ours: tuple[m.TriggerBlock | m.Step, ...], chunk: str, path: str, offset: int
) -> None:
    """``ours`` (read_model's nodes) are what build.py makes of Lark's tree, without findings."""
    theirs = from_tree(chunk, path, offset)
    assert theirs is not None, f"read_model accepted a block Lark refuses:\n{chunk}"
    assert theirs[1] == [], f"read_model built a block build.py has findings for:\n{chunk}"
    found = read_model.differences(ours, theirs[0])
    assert not found, f"read_model differs from build.py of Lark's tree: {found[:3]}\n{chunk}"


def same_as_the_tree(chunk: str, path: str = "x.flow", offset: int = 0) -> bool:
    """True if read_model read the block (and then exactly as build.py builds Lark's tree)."""
    ours = read_model.read(chunk, path, offset)
    if ours is None:
        return False
    assert_built_as_from_the_tree(ours, chunk, path, offset)
    return True


def edited(chunk: str, edits: list[tuple[float, int, str]]) -> str:
    """A real block with pieces put in: each inserted at a place (a share of the length),
    replacing up to `cut` characters; ended by a newline as every block is."""
    for where, cut, piece in edits:
        at = int(where * len(chunk))
        chunk = chunk[:at] + piece + chunk[at + cut :]
    return chunk if chunk.endswith("\n") else chunk + "\n"
