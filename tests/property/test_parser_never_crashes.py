"""Whatever a flow file holds, loading it gives located findings, never an exception.

Marketers save files from word processors, paste from chat apps and stop
typing mid-line; `pageflows check` and `serve` must answer each with
findings that point into the file, and rendering them must not fail either.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pageflows.engine.policy import check_tag
from pageflows.rules.diagnostics import Code
from pageflows.rules.load import LoadResult, load_texts
from pageflows.rules.parse import MAX_FILE_BYTES
from pageflows.rules.report import render_json, render_text, summary

PATH = "flows/spring_sale.flow"
AS_OF = date(2026, 11, 24)
EXAMPLE = (Path(__file__).parent.parent / "fixtures" / "design_example.flow").read_text("utf-8")
EXAMPLE_LINES = EXAMPLE.split("\n")

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words and characters that move the parser into its less travelled states.
KEYWORDS = (
    "on", "step", "broadcast", "send", "quick", "buttons", "button", "card", "cards",
    "subtitle", "image", "link", "url", "call", "private", "reply", "tag", "untag", "set",
    "ask", "into", "as", "invalid", "goto", "after", "unless", "replied", "with", "via",
    "notification", "if", "else", "split", "tagged", "not", "request", "notifications",
    "title", "frequency", "handoff", "notify", "stop", "keyword", "regex", "ref", "missing",
    "comment", "containing", "postback", "get", "started", "first", "message", "attachment",
    "optin", "window", "closing", "in", "to", "at", "subscribers", "of", "everyone", "from",
    "HUMAN_AGENT", "POST_PURCHASE_UPDATE", "->", "==", "!=", "20h", "3d", "50%", "/x+/i",
    '"text"', "{contact.first_name}", "{contact.__class__}", "\\",
)  # fmt: skip
SPECIALS = (*'{}":\t#\\%/\ufeff', " ", "    ", "\n", "\r", "\r\n")


def load(data: bytes) -> LoadResult:
    return load_texts({PATH: data}, AS_OF, check_tag)


def assert_located(data: bytes) -> LoadResult:
    """Loading never raises; every finding points into the file and reads as a sentence."""
    result = load(data)
    source = result.sources.get(PATH)
    lines = len(source.text.split("\n")) if source and source.text else data.count(b"\n") + 1
    for d in result.diagnostics:
        span = d.span
        assert span.path == PATH, d
        assert 1 <= span.line <= lines + 1, (d, lines)
        assert span.col >= 1, d
        if source and source.text:
            assert span.col <= len(source.line(span.line)) + 1, d
        assert (span.end_line, span.end_col) >= (span.line, span.col), d
        assert d.message.strip(), d
        assert d.hint is None or d.hint.strip(), d
    render_text(result.diagnostics, result.sources)
    json.loads(render_json(result.diagnostics))
    summary(result.diagnostics, len(result.sources))
    if result.errors:
        assert result.program is None
    return result


# ------------------------------------------------------------------ arbitrary input


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_located_findings(data: bytes) -> None:
    assert_located(data)


@FUZZ
@given(st.text(max_size=2000))
def test_arbitrary_text_gives_located_findings(text: str) -> None:
    assert_located(text.encode("utf-8", "surrogatepass"))


flowish_line = st.builds(
    lambda indent, words: indent + " ".join(words),
    st.sampled_from(["", "    ", "        ", "\t", "  "]),
    st.lists(st.sampled_from(KEYWORDS + SPECIALS), max_size=8),
)


@FUZZ
@given(st.lists(flowish_line, max_size=30))
def test_lines_of_flow_words_give_located_findings(lines: list[str]) -> None:
    assert_located("\n".join(lines).encode("utf-8"))


# ------------------------------------------------------------------ mutated valid flow


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    """The draft's example with one to six edits a hurried marketer might make."""
    lines = list(EXAMPLE_LINES)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(
            st.sampled_from(
                [
                    "delete_char",
                    "insert_char",
                    "duplicate_char",
                    "delete_line",
                    "duplicate_line",
                    "swap_lines",
                    "tabs",
                    "insert_special",
                    "insert_keyword",
                    "truncate_line",
                ]
            )
        )
        n = draw(st.integers(0, max(len(lines) - 1, 0)))
        if not lines:
            lines = [""]
        line = lines[n]
        at = draw(st.integers(0, len(line)))
        if kind == "delete_char" and line:
            lines[n] = line[: min(at, len(line) - 1)] + line[min(at, len(line) - 1) + 1 :]
        elif kind == "insert_char":
            lines[n] = line[:at] + draw(st.characters()) + line[at:]
        elif kind == "duplicate_char" and line:
            i = min(at, len(line) - 1)
            lines[n] = line[: i + 1] + line[i] + line[i + 1 :]
        elif kind == "delete_line":
            del lines[n]
        elif kind == "duplicate_line":
            lines.insert(n, line)
        elif kind == "swap_lines":
            m = draw(st.integers(0, len(lines) - 1))
            lines[n], lines[m] = lines[m], lines[n]
        elif kind == "tabs":
            stripped = line.lstrip(" ")
            width = len(line) - len(stripped)
            lines[n] = "\t" * draw(st.integers(0, max(width // 4, 1))) + stripped
        elif kind == "insert_special":
            lines[n] = line[:at] + draw(st.sampled_from(SPECIALS)) + line[at:]
        elif kind == "insert_keyword":
            lines[n] = line[:at] + " " + draw(st.sampled_from(KEYWORDS)) + " " + line[at:]
        elif kind == "truncate_line":
            lines[n] = line[:at]
    return "\n".join(lines)


@FUZZ
@given(mutated_example())
def test_mutated_example_gives_located_findings(text: str) -> None:
    assert_located(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(mutated_example(), st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
def test_mutated_example_in_other_encodings_gives_located_findings(
    text: str, encoding: str
) -> None:
    assert_located(text.replace("\n", "\r\n").encode(encoding, "replace"))


# ------------------------------------------------------------------ edges


def test_example_is_clean() -> None:
    assert assert_located(EXAMPLE.encode("utf-8")).errors == ()


def test_file_over_one_megabyte_is_refused_with_file_too_large() -> None:
    data = (EXAMPLE.encode("utf-8") + b"\n") * (MAX_FILE_BYTES // len(EXAMPLE) + 2)
    assert len(data) > MAX_FILE_BYTES
    result = assert_located(data)
    assert [d.code for d in result.diagnostics] == [Code.TOO_LARGE]
    assert (result.diagnostics[0].span.line, result.diagnostics[0].span.col) == (1, 1)


def test_empty_file_is_one_warning_and_still_loads() -> None:
    """issue 12: B: a file with nothing in it says so (PF413), and is no error."""
    for data in (b"", b"\n", b"   \n\n", b"\xef\xbb\xbf", b"# only a comment\n", b"\r\n\r\n"):
        result = assert_located(data)
        assert [d.code for d in result.diagnostics] == [Code.EMPTY_FLOW], data
        assert (result.diagnostics[0].span.line, result.diagnostics[0].span.col) == (1, 1)
        assert result.program is not None


def test_deeply_nested_blocks_are_a_finding_not_a_crash() -> None:
    lines = ['on keyword "deep":']
    lines += ["    " * depth + 'if tagged "a":' for depth in range(1, 400)]
    lines.append("    " * 400 + 'send "deep"')
    result = assert_located("\n".join(lines).encode("utf-8"))
    assert result.errors


def test_pathological_regexes_are_findings_not_crashes() -> None:
    refused = ("a{99999999999}", "(?P<>x)", "[z-a]", "(a)\\1", "\\pL{1000}", "(" * 10000 + "a")
    for pattern in refused:
        text = f'on regex /{pattern}/:\n    send "found"\n'
        result = assert_located(text.encode("utf-8"))
        assert [d.code for d in result.errors] == [Code.BAD_REGEX], pattern


def test_deeply_nested_regex_groups_are_fine_in_linear_time() -> None:
    """RE2 parses without recursion: what made Python's `re` give up is a plain pattern now."""
    for depth in (1000, 10000):
        text = f'on regex /{"(" * depth}a{")" * depth}/:\n    send "found"\n'
        result = assert_located(text.encode("utf-8"))
        assert result.errors == (), depth
