"""issue 13: A. Blocks lexed by a forked child while the flows are read (rules/lex_ahead.py).

`pageflows check` of large flows has a child lex the last files' blocks while it
reads the first ones. What a user sees must not change: the same flows, node for
node, and the same findings, whether the child answers, fails or is never started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from pageflows.engine.policy_table import RULES, check_tag
from pageflows.rules import lex_ahead, lexer, parse, read_block, second_core
from pageflows.rules.load import SUFFIX, LoadResult, find_flow_files, load_paths, load_texts
from pageflows.rules.parse import decode
from pageflows.rules.read_model import differences

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench_check import flow_text  # noqa: E402
from tests.unit.test_trusted_build import assert_same  # noqa: E402

AS_OF = date(2026, 11, 24)
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


def corpus() -> dict[str, bytes]:
    """Every golden case and example (errors of every kind, tabs, odd files), then
    generated files with and without findings and a binary one: the child's share (the
    last bytes) holds the generated files, the parent's the others."""
    texts: dict[str, bytes] = {}
    for folder in ("tests/golden", "examples"):
        for path in sorted((ROOT / folder).rglob("*.flow")):
            texts[str(path)] = path.read_bytes()
    for n in range(3):
        texts[f"gen{n}.flow"] = flow_text(n, 300, findings=n == 1).encode("utf-8")
    texts["binary.flow"] = b"on keyword \x00\xff\n"
    return texts


def load(texts: dict[str, bytes], second_core: bool) -> LoadResult:
    return load_texts(texts, AS_OF, check_tag, (), RULES.token_regions, second_core=second_core)


def assert_same_load(ours: LoadResult, expected: LoadResult) -> None:
    assert_same(list(ours.diagnostics), list(expected.diagnostics), "findings")
    assert len(ours.flows) == len(expected.flows)
    for mine, theirs in zip(ours.flows, expected.flows, strict=True):
        assert differences(mine, theirs) == [], mine.path
    assert ours.sources == expected.sources
    assert (ours.program is None) == (expected.program is None)


@pytest.fixture
def always_lex_ahead(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A child lexes whatever the size; records how many blocks were lexed in this process."""
    monkeypatch.setattr(lex_ahead, "FROM_BYTES", 0)
    monkeypatch.setattr(lex_ahead, "CHILD_SHARE", 0.9)  # the generated files and a few more
    monkeypatch.setattr(lex_ahead, "can_fork", lambda: hasattr(os, "fork"))
    lexed_here: list[int] = []
    lex = read_block.lex

    def counted(chunk: str) -> list[read_block.Piece]:
        if os.getpid() == parent:
            lexed_here.append(1)
        return lex(chunk)

    parent = os.getpid()
    monkeypatch.setattr(read_block, "lex", counted)
    return lexed_here


@needs_fork
def test_the_flows_read_with_a_lexing_child_are_the_same(always_lex_ahead: list[int]) -> None:
    texts = corpus()
    expected = load(texts, second_core=False)
    alone = len(always_lex_ahead)
    always_lex_ahead.clear()
    ours = load(texts, second_core=True)
    assert_same_load(ours, expected)
    assert len(expected.diagnostics) > 300 and expected.program is None  # errors among them
    # The child's pieces were used: most blocks were not lexed here.
    assert len(always_lex_ahead) < alone / 2
    assert read_block.AHEAD == {}  # nothing kept after the load


@needs_fork
def test_a_lexing_child_that_fails_changes_nothing(
    always_lex_ahead: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = corpus()
    expected = load(texts, second_core=False)
    alone = len(always_lex_ahead)
    always_lex_ahead.clear()
    monkeypatch.setattr(second_core, "_run_child", lambda *args: os._exit(1))
    ours = load(texts, second_core=True)
    assert_same_load(ours, expected)
    assert len(always_lex_ahead) == alone  # every block lexed here, as without a child


@needs_fork
def test_a_failed_load_waits_for_the_lexing_child(
    always_lex_ahead: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while reading is raised here, once; the child is waited for, not left behind."""
    assert_a_bug_in_the_builder_is_raised_and_the_child_waited_for(
        monkeypatch, lambda: load(corpus(), second_core=True)
    )
    assert read_block.AHEAD == {}


def assert_a_bug_in_the_builder_is_raised_and_the_child_waited_for(
    monkeypatch: pytest.MonkeyPatch, loading: Callable[[], object]
) -> None:
    """`loading` while every flow's building raises: the error comes out once, here, and the
    one child it started has been waited for (none is left behind)."""
    children: list[int] = []
    init = second_core.Child.__init__

    def recorded(child: second_core.Child, *args: object) -> None:
        init(child, *args)  # type: ignore[arg-type]
        children.append(child.pid)

    def broken(*args: object) -> None:
        raise RuntimeError("a bug in the builder")

    monkeypatch.setattr(second_core.Child, "__init__", recorded)
    monkeypatch.setattr("pageflows.rules.load.build_flow", broken)
    with pytest.raises(RuntimeError, match="a bug in the builder"):
        loading()
    (pid,) = children
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_small_flows_and_one_file_are_read_without_a_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[object] = []
    monkeypatch.setattr(lex_ahead, "Child", lambda *args: started.append(args))
    # Whether a fork is safe here (no other thread left by an earlier test) is not asked.
    monkeypatch.setattr(lex_ahead, "can_fork", lambda: True)
    small = {"a.flow": flow_text(0, 50, findings=False).encode()}
    assert load(small, second_core=True).diagnostics == ()
    monkeypatch.setattr(lex_ahead, "FROM_BYTES", 0)
    assert load(small, second_core=True).diagnostics == ()  # nothing to share
    assert started == []
    small["b.flow"] = flow_text(1, 50, findings=False).encode()
    assert load(small, second_core=True).diagnostics == ()  # two files: b.flow's is asked for
    assert len(started) == 1


def test_the_child_lexes_the_text_the_parser_reads() -> None:
    """lexer.flow_text (the child's, without pydantic) is parse.decode's text, and None
    where decode reports the file instead (too large, not UTF-8, a NUL byte)."""
    texts = corpus()
    texts |= {
        "crlf.flow": b'\xef\xbb\xbfon keyword "hi":\r\n    send "Hello"\r\n\r',
        "latin1.flow": 'on keyword "café":\n'.encode("latin-1"),
        "large.flow": b"#" * (lexer.MAX_FILE_BYTES + 1),
    }
    for path, data in texts.items():
        source, _ = decode(path, data)
        assert lexer.flow_text(data) == (None if source is None else source.text), path
    assert parse.split_blocks is lexer.split_blocks  # the same blocks are cut both ways


def load_folder(folder: Path, early: lex_ahead.Ahead | None) -> LoadResult:
    """The flows under ``folder`` read with the child ``early`` only (None: no child)."""
    tokens = RULES.token_regions
    return load_paths([str(folder)], AS_OF, check_tag, (), tokens, second_core=False, early=early)


@needs_fork
def test_a_child_started_early_reads_the_same(
    tmp_path: Path, always_lex_ahead: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pageflows check` starts the child before its imports (`lexing_early`): the same
    flows and findings, most blocks lexed by the child; one started for other files
    changes nothing either."""
    monkeypatch.setattr(lex_ahead, "EARLY_SHARE", 0.9)
    for name, data in corpus().items():
        (tmp_path / Path(name).name).write_bytes(data)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.flow").write_bytes(flow_text(7, 200, findings=True).encode())
    expected = load_folder(tmp_path, None)
    alone = len(always_lex_ahead)
    always_lex_ahead.clear()
    early = lex_ahead.lexing_early([str(tmp_path)])
    assert early.child is not None and early.first in expected.sources
    ours = load_folder(tmp_path, early)
    assert_same_load(ours, expected)
    assert len(always_lex_ahead) < alone / 2
    assert early.child is None and lexer.AHEAD == {}
    # The child's files and these differ: whatever it lexed is looked up by its text.
    always_lex_ahead.clear()
    other = lex_ahead.lexing_early([str(tmp_path / "sub"), str(tmp_path)])
    assert_same_load(load_folder(tmp_path, other), expected)


def test_the_early_child_finds_the_files_load_finds(tmp_path: Path) -> None:
    assert lex_ahead.SUFFIX == SUFFIX
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("z.flow", "a/b/y.flow", "a/x.flow", "a/notes.txt"):
        (tmp_path / name).write_text('on keyword "hi":\n    send "Hi"\n', "utf-8")
    named = tmp_path / "a" / "notes.txt"
    seen: list[dict[str, bytes]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lex_ahead, "_started", lambda texts, *args: seen.append(texts))
        lex_ahead.lexing_early([str(tmp_path), str(named), str(tmp_path / "missing")])
    files, _ = find_flow_files([str(tmp_path), str(named), str(tmp_path / "missing")])
    assert list(seen[0]) == [str(f) for f in files]


def test_what_the_early_child_needs_imports_no_pydantic_or_lark() -> None:
    """The child is forked before `check` imports them: if lex_ahead.py needed them, they
    would be imported first, and the child would start 0.2 s later."""
    probe = (
        "import sys, pageflows.cli.check; heavy = ('pydantic', 'lark', 'pageflows.rules.model'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert run.stdout.strip() == "[]"
