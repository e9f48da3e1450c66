"""The entry point of rules/: files in, a checked Program or located findings out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pageflows.rules import split_check
from pageflows.rules.build import build_flow
from pageflows.rules.checks import TagPolicy, TokenRule, compile_and_check
from pageflows.rules.compile import Program
from pageflows.rules.diagnostics import Code, Diagnostic, error, sort_key, warning
from pageflows.rules.lex_ahead import Ahead, lexing_ahead
from pageflows.rules.model import Flow
from pageflows.rules.page_facts import PageFacts
from pageflows.rules.parse import parse_bytes
from pageflows.rules.read_model import one_load
from pageflows.rules.source import SourceFile, Span

SUFFIX = ".flow"


@dataclass(frozen=True)
class LoadResult:
    program: Program | None
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, SourceFile] = field(default_factory=dict)
    flows: tuple[Flow, ...] = ()

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)


def find_flow_files(paths: list[str]) -> tuple[list[Path], list[Diagnostic]]:
    """Folders are searched recursively for *.flow; a named file is taken whatever its suffix."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())
            if not found:
                problems.append(
                    error(Code.SYNTAX, Span.point(raw, 1, 1), "this folder has no .flow files")
                )
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.append(error(Code.SYNTAX, Span.point(raw, 1, 1), "no such file or folder"))
    return files, problems


def load_texts(
    texts: dict[str, bytes],
    as_of: date,
    tag_policy: TagPolicy,
    pages: tuple[PageFacts, ...] = (),
    tokens: TokenRule | None = None,
    *,
    second_core: bool = False,
    early: Ahead | None = None,
) -> LoadResult:
    """Check and compile flows given as {path: content}; the flow name is the file's stem.

    ``pages`` are the Pages the flows run on (their region and templates); none given
    means one Page with the strict defaults: no region, no templates. ``second_core``:
    most files' blocks may be lexed, and the last files read and checked, in forked
    children (`pageflows check` only, issue 13: A: split_check.py; the result then has
    no program, and only the flows read in this process); ``early``: the lexing child
    `pageflows check` started before its imports (lex_ahead.lexing_early), instead of
    one started here.
    """
    diagnostics: list[Diagnostic] = []
    flows: list[Flow] = []
    sources: dict[str, SourceFile] = {}
    # issue 13: A: the texts' parts shared within this load only; with ``second_core``,
    # the last files' blocks lexed by a child meanwhile (lex_ahead.py).
    with one_load(), lexing_ahead(texts, second_core, early) as ahead:
        # issue 13: A: `pageflows check` of large flows: the last files read, built and
        # checked in a forked child meanwhile (split_check.py).
        split = split_check.started(texts, ahead, as_of, _empty) if second_core else None
        if split is not None:
            return _load_split(split, texts, ahead, as_of, tag_policy, pages, tokens)
        for path, data in texts.items():
            ahead.before(path)
            parsed = parse_bytes(path, data)
            sources[path] = parsed.source
            flow, found = build_flow(parsed, Path(path).stem)
            flows.append(flow)
            diagnostics += found or _empty(flow)  # issue 12: B
    # issue 13: A: compiled once, here; the trigger checks read the same program
    # (they judge it even when other findings are errors, so it is built anyway).
    compiled, found = compile_and_check(
        flows, as_of, tag_policy, pages, tokens, second_core=second_core
    )
    diagnostics += found
    diagnostics = _without_guesses_about_lost_blocks(diagnostics)  # issue 12: B
    diagnostics.sort(key=sort_key)
    has_errors = any(d.is_error for d in diagnostics)
    program = None if has_errors else compiled
    return LoadResult(program, tuple(diagnostics), sources, tuple(flows))


def _load_split(
    split: split_check.Split,
    texts: dict[str, bytes],
    ahead: Ahead,
    as_of: date,
    tag_policy: TagPolicy,
    pages: tuple[PageFacts, ...],
    tokens: TokenRule | None,
) -> LoadResult:
    """`load_texts` with the child ``split`` reading its files: the same findings.

    No program is compiled (only `pageflows check` asks for this, and prints none); the
    flows are those built here. Whatever the child did not sum up is read here, all of
    it if the child gave nothing, and then checked as without a child.
    """
    built: dict[str, list[Diagnostic]] = {}
    sources: dict[str, SourceFile] = {}
    here = split_check.Here()
    known = pages or (PageFacts(),)

    def read(paths: list[str]) -> dict[str, Flow]:
        flows: dict[str, Flow] = {}
        for path in paths:
            ahead.before(path)
            parsed = parse_bytes(path, texts[path])
            sources[path] = parsed.source
            flow, found = build_flow(parsed, Path(path).stem)
            flows[path] = flow
            built[path] = found or _empty(flow)  # issue 12: B
        return flows

    theirs = set(split.paths)
    try:
        here.add(read([p for p in texts if p not in theirs]), as_of, tag_policy, known, tokens)
        here.judge_first_keywords(list(texts))
        summed = split.summed() or {}
    finally:
        split.close()
    rest = read([path for path in split.paths if path not in summed])
    if not summed:  # the child gave nothing: checked as without it
        flows = [here.flows.get(path) or rest[path] for path in texts]
        compiled, found = compile_and_check(
            flows, as_of, tag_policy, pages, tokens, second_core=True
        )
        diagnostics = [d for path in texts for d in built[path]] + found
        return _result(compiled, diagnostics, {p: sources[p] for p in texts}, flows)
    here.add(rest, as_of, tag_policy, known, tokens)
    for path in summed:
        source = split_check.source_of(path, texts[path])
        if source is None:  # never, for a flow the child read (pragma: the child's word)
            raise ValueError(f"{path} did not decode here")
        sources[path] = source
    order = list(texts)
    diagnostics = [
        d for path in order for d in (built[path] if path in built else summed[path].built)
    ]
    diagnostics += split_check.judged(order, here, summed, as_of, tag_policy, known, tokens)
    flows = [here.flows[path] for path in order if path in here.flows]
    return _result(None, diagnostics, {p: sources[p] for p in order}, flows)


def _result(
    compiled: Program | None,
    diagnostics: list[Diagnostic],
    sources: dict[str, SourceFile],
    flows: list[Flow],
) -> LoadResult:
    """The findings in order; the program only when none of them is an error."""
    diagnostics = _without_guesses_about_lost_blocks(diagnostics)  # issue 12: B
    diagnostics.sort(key=sort_key)
    has_errors = any(d.is_error for d in diagnostics)
    program = None if has_errors else compiled
    return LoadResult(program, tuple(diagnostics), sources, tuple(flows))


def load_paths(
    paths: list[str],
    as_of: date,
    tag_policy: TagPolicy,
    pages: tuple[PageFacts, ...] = (),
    tokens: TokenRule | None = None,
    *,
    second_core: bool = False,
    early: Ahead | None = None,
) -> LoadResult:
    files, problems = find_flow_files(paths)
    texts: dict[str, bytes] = {}
    for file in files:
        try:
            texts[str(file)] = file.read_bytes()
        except OSError as exc:
            problems.append(
                error(Code.NOT_TEXT, Span.point(str(file), 1, 1), f"cannot read: {exc.strerror}")
            )
    result = load_texts(
        texts, as_of, tag_policy, pages, tokens, second_core=second_core, early=early
    )
    if not problems:
        return result
    diagnostics = tuple(sorted((*result.diagnostics, *problems), key=sort_key))
    return LoadResult(None, diagnostics, result.sources, result.flows)


def _empty(flow: Flow) -> list[Diagnostic]:
    """issue 12: B. A file that reads cleanly but holds nothing: empty, or comments only.

    Only for a file without other findings: one that failed to read or parse says
    why already, and its lost blocks are not "nothing".
    """
    if flow.triggers or flow.steps or flow.broadcasts:
        return []
    return [
        warning(
            Code.EMPTY_FLOW,
            Span.point(flow.path, 1, 1),
            "this file has no triggers, steps or broadcasts: it does nothing",
            'start a block at the left margin, such as `on keyword "hello":`, or delete the file',
        )
    ]


# Text that could not be read or parsed: its blocks are lost to the model.
UNREAD = frozenset({Code.NOT_TEXT, Code.TOO_LARGE, Code.MIXED_INDENT, Code.BAD_INDENT, Code.SYNTAX})


def _without_guesses_about_lost_blocks(found: list[Diagnostic]) -> list[Diagnostic]:
    """issue 12: B. "No flow saves this field" is a guess a lost block may falsify.

    A block that failed to parse may hold the `set` or `ask` of a field another
    block shows: that warning would bury the real error under a false one.
    """
    if not any(d.code in UNREAD for d in found):
        return found
    return [d for d in found if d.code is not Code.UNKNOWN_FIELD]
