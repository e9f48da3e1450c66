"""Most files' blocks lexed by a forked child while this process reads the others (issue 13: A).

Why: `pageflows check` of 10,000 triggers read its 25 files on one core (~0.6 s)
while the other waited. Lexing (the reader's `_pieces`: a regex match and a tuple
per token) is about 40% of reading, and its output is plain values (tuples of
strings and ints) that marshal carries across a pipe at a sixth of the cost of
making them; the model's nodes are not (rebuilding them would cost about what
reading costs). So a forked child lexes the blocks of the last files (about two
thirds of the bytes) while this process reads the first ones in full; then this
process reads the rest, each block's pieces found by its text
(`lexer.AHEAD`) instead of lexed again.

It cannot change what a user sees: a block's pieces are a function of its text
alone (`lexer.lex`, which read_block.py uses), the child lexes each block with it,
and a block is looked up by its whole text. A block the child did not lex (it gave
up on it, the file did not decode, the child failed, died or sent nothing
readable) is lexed here, as without a child. Only where asked (`pageflows check`,
through load.py's ``second_core``) and where a fork is safe (second_core.py).

`pageflows check` starts the child earlier still (`lexing_early`): as soon as it knows
the files, before it imports pydantic, Lark and the model (~0.2 s), which this module
and the child's work do not need (lexer.py, second_core.py import none of them); the
child then lexes a larger share (`EARLY_SHARE`) while this process imports.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pageflows.rules import lexer
from pageflows.rules.second_core import Child, can_fork

# Below this many bytes of flows, reading them all here is about as fast as a fork.
FROM_BYTES = 256_000
# The child's share of the bytes: lexing a byte costs it about 1.15x of what lexing it
# costs here, while reading a byte in full costs this process 2.5x; this share has both
# done at about the same time.
CHILD_SHARE = 2 / 3
# Started before the imports, the child has ~0.2 s more: it lexes nearly all the bytes
# by the time this process has imported what reading needs and read the first file.
EARLY_SHARE = 0.9
# What load.py looks for in a folder (its SUFFIX).
SUFFIX = ".flow"


class Ahead:
    """The child and its files; `before` puts a file's pieces in `lexer.AHEAD`."""

    def __init__(self, child: Child | None = None, first: str | None = None) -> None:
        self.child = child
        self.first = first
        self.frames: dict[str, bytes] = {}

    def before(self, path: str) -> None:
        """Called before each file is read, in order: the child's answer is taken (waited
        for) just before its first file, and each file's pieces are made just before the
        file is read (made all at once, the pieces of 7,000 triggers were 40 MB of objects
        that the model's nodes were then made beside, out of the caches)."""
        lexer.AHEAD.clear()
        if path == self.first:
            self.collect()
        frame = self.frames.pop(path, None)
        if frame is not None:
            lexer.AHEAD.update(_blocks(frame))

    def collect(self) -> None:
        """The child's answer taken now (waited for), before the first of its files: a
        child forked next (split_check.py) then has every file's pieces too."""
        if self.child is not None:
            frames = self.child.answer()
            self.child = None
            self.frames = frames if frames is not None else {}

    def close(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None
        self.frames = {}


@contextmanager
def lexing_ahead(
    texts: dict[str, bytes], second_core: bool, early: Ahead | None = None
) -> Iterator[Ahead]:
    """While reading ``texts`` in their order, the last ones' blocks lexed by a child.

    ``early``: the child `lexing_early` started for these files (whatever files it
    took, a block is looked up by its text: a file it did not lex is lexed here).
    """
    ahead = early if early is not None else _started(texts, second_core, CHILD_SHARE)
    try:
        yield ahead
    finally:
        ahead.close()
        lexer.AHEAD.clear()


def lexing_early(paths: list[str]) -> Ahead:
    """`pageflows check`: the child for the flows under ``paths`` (load.py's
    `find_flow_files`, without its findings), started before the rest is imported.
    An `Ahead` with no child where there are few bytes, one file, or no fork."""
    texts: dict[str, bytes] = {}
    for raw in paths:
        path = Path(raw)
        files = [path]
        if path.is_dir():
            files = sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())
        for file in files:
            try:
                texts[str(file)] = file.read_bytes()
            except OSError:
                continue  # load.py reports it
    return _started(texts, True, EARLY_SHARE)


def _started(texts: dict[str, bytes], second_core: bool, share: float) -> Ahead:
    """The child lexing the last files of ``texts``, up to ``share`` of the bytes."""
    if not second_core or not can_fork():
        return Ahead()
    paths = list(texts)
    total = sum(len(data) for data in texts.values())
    # The child's files: the last ones, up to its share of the bytes; the first is read here.
    taken, start = 0, len(paths)
    while start > 1 and taken + len(texts[paths[start - 1]]) <= total * share:
        start -= 1
        taken += len(texts[paths[start]])
    if total < FROM_BYTES or start == len(paths):  # small, or one file, or one large last
        return Ahead()
    mine = {path: texts[path] for path in paths[start:]}
    return Ahead(Child(lambda: _lexed(mine), _as_it_is, _frames), paths[start])


def _as_it_is(value: Any) -> Any:
    return value


def _lexed(texts: dict[str, bytes]) -> dict[str, bytes]:
    """Each file's blocks (as parse.py cuts them) and their pieces, one after the other
    in a flat list, marshalled file by file (in the child)."""
    frames: dict[str, bytes] = {}
    for path, data in texts.items():
        text = lexer.flow_text(data)  # parse.decode's text
        if text is None:
            continue
        flat: list[Any] = []
        for _, chunk in lexer.split_blocks(text):
            try:
                flat += (chunk, lexer.lex(chunk))
            except lexer.NotSure:
                continue  # lexed here too, and given up on in the same way
        frames[path] = marshal.dumps(flat)
    return frames


def _frames(frames: Any) -> dict[str, bytes]:
    """The child's answer, file by file; anything not as `_lexed` made it is dropped."""
    if type(frames) is not dict:
        return {}
    return {path: frame for path, frame in frames.items() if type(frame) is bytes}


def _blocks(frame: bytes) -> dict[str, list[lexer.Piece]]:
    """One file's blocks by their text; anything not as `_lexed` made it is dropped."""
    try:
        flat = marshal.loads(frame)
    except (EOFError, ValueError, TypeError):
        return {}
    if type(flat) is not list or len(flat) % 2:
        return {}
    return {
        chunk: pieces
        for chunk, pieces in zip(flat[::2], flat[1::2], strict=True)
        if type(chunk) is str and type(pieces) is list
    }
