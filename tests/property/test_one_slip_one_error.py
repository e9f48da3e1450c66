"""issue 12: A. One slip in a clean flow: the first finding is where the slip is.

The rule, as a marketer meets it: take a flow that checks without findings,
change ONE line the way hurried people do (indent it more or less, delete a
quote or the closing colon, misspell its first word, write its duration as
"2 days", curl its quotes, indent it with tabs among spaces, type it twice). Then `pageflows check`

* does not crash (located findings only, as in test_parser_never_crashes), and
* if it reports anything, its FIRST finding is on the changed line, or on a
  line that opens a block the changed line is in (a block emptied by the
  slip is reported at its opener); for a duplicated line, on either copy;
* and the other files of the folder get no finding at all: a slip in one
  block never makes the checker guess about names that block would have
  defined (no false "there is no step", "nothing leads to step").

Left out, with the reason:

* deleting a whole line, and renaming: removing `step menu:` makes every
  `goto menu` elsewhere truly wrong; those findings are right, and elsewhere.
* edits inside a text ("Hello" -> "Helo"): no finding is expected, and
  templates or titles judged by other checks are not slips of the syntax.
* a line that opens a block (ends with ":") indented by one whole level:
  it now reads as a block inside the one above, and the line after it is the
  first that is wrong (not indented under it); that next line is accepted.
* a duplicated line that takes a count over Facebook's limit (a 4th button,
  a 14th quick reply, an 11th card): the finding is rightly on the item past
  the limit, which may be a later line of the same block.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pageflows.engine.policy import check_tag
from pageflows.rules.diagnostics import Code
from pageflows.rules.load import LoadResult, load_texts
from pageflows.rules.page_facts import PageFacts, TemplateInfo
from pageflows.service.config import read_settings

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 24)
FENCE = re.compile(r"^```flow\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
DURATION = re.compile(r"\b\d+[smhdw]\b")
SLIPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The Page the doc's examples run on (tests/unit/test_language_doc.py): its one template.
PAGE = PageFacts(
    id="doc",
    templates=(
        TemplateInfo(
            name="order_update", language="en_US", body="Order {{1}} is {{2}}.", parameters=2
        ),
    ),
)

Folder = dict[str, str]
# The examples run on the Page of their pageflows.toml (its templates, its region).
EXAMPLES = ROOT / "examples" / "flows"
COUNTS = {Code.TOO_MANY_BUTTONS, Code.TOO_MANY_QUICK_REPLIES, Code.TOO_MANY_CARDS}


@cache
def example_pages() -> tuple[PageFacts, ...]:
    settings = read_settings({}, EXAMPLES / "pageflows.toml")
    return tuple(page.facts() for page in settings.pages)


def load(folder: Folder) -> LoadResult:
    texts = {path: text.encode("utf-8") for path, text in folder.items()}
    examples = any(path.startswith("examples/") for path in folder)
    return load_texts(texts, AS_OF, check_tag, example_pages() if examples else (PAGE,))


@cache
def clean_folders() -> tuple[Folder, ...]:
    """The examples folder, and each doc example alone: those that check with no finding."""
    examples = {
        f"examples/flows/{p.name}": p.read_text("utf-8") for p in sorted(EXAMPLES.glob("*.flow"))
    }
    doc = (ROOT / "docs" / "language.md").read_text("utf-8")
    candidates = [examples] + [
        {f"doc/example_{n}.flow": m.group("body")} for n, m in enumerate(FENCE.finditer(doc))
    ]
    return tuple(f for f in candidates if not load(f).diagnostics)


def editable(text: str) -> list[int]:
    """0-based lines a slip can land on: not blank, not a comment."""
    lines = text.split("\n")
    return [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]


def openers(lines: list[str], n: int) -> set[int]:
    """1-based lines of the blocks that line n (0-based) is in: each less indented line above."""
    found: set[int] = set()
    width = len(lines[n]) - len(lines[n].lstrip())
    for i in range(n - 1, -1, -1):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        own = len(line) - len(line.lstrip())
        if own < width:
            found.add(i + 1)
            width = own
        if own == 0:
            break
    return found


def misspell(word: str, how: int) -> str:
    if len(word) < 2:
        return word + word
    i = how % (len(word) - 1)
    kinds = [
        word[:i] + word[i + 1] + word[i] + word[i + 2 :],  # swap two letters
        word[: i + 1] + word[i] + word[i + 1 :],  # a letter twice
        word[:i] + word[i + 1 :],  # a letter dropped
    ]
    return kinds[how % 3]


def slip(line: str, kind: str, how: int) -> str | None:
    """One slip on one line; None when this kind of slip does not apply to the line."""
    body = line.lstrip()
    indent = line[: len(line) - len(body)]
    if kind == "indent_more":
        return " " * (1 + how % 4) + line
    if kind == "indent_less":
        return line[min(len(indent), 1 + how % 4) :] if indent else None
    if kind == "delete_quote":
        quotes = [i for i, c in enumerate(line) if c == '"']
        if not quotes:
            return None
        at = quotes[how % len(quotes)]
        return line[:at] + line[at + 1 :]
    if kind == "delete_colon":
        return line.rstrip()[:-1] if line.rstrip().endswith(":") else None
    if kind == "misspell":
        word = body.split(" ", 1)[0]
        if not word.isalpha():
            return None
        wrong = misspell(word, how)
        return None if wrong == word else indent + wrong + body[len(word) :]
    if kind == "duration_in_words":
        match = DURATION.search(line)
        if not match:
            return None
        words = ["2 days", "2 h", "1.5h", "48hrs", "3 weeks"][how % 5]
        return line[: match.start()] + words + line[match.end() :]
    if kind == "tabs":
        return "\t" * (len(indent) // 4) + body if indent.strip(" ") == "" and indent else None
    if kind == "curly_quotes":
        match = re.search(r'"([^"\\]*)"', line)
        if not match:
            return None
        return line[: match.start()] + f"\u201c{match.group(1)}\u201d" + line[match.end() :]
    raise AssertionError(kind)


KINDS = (
    "indent_more",
    "indent_less",
    "delete_quote",
    "delete_colon",
    "misspell",
    "duration_in_words",
    "curly_quotes",
    "tabs",
    "duplicate",
)


@SLIPS
@given(st.data())
def test_the_first_finding_is_on_the_slipped_line(data: st.DataObject) -> None:
    folder = data.draw(st.sampled_from(clean_folders()), label="folder")
    path = data.draw(st.sampled_from(sorted(folder)), label="file")
    lines = folder[path].split("\n")
    n = data.draw(st.sampled_from(editable(folder[path])), label="line")
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    how = data.draw(st.integers(0, 20), label="how")
    allowed = {n + 1} | openers(lines, n)
    if kind == "indent_more" and how % 4 == 3 and lines[n].rstrip().endswith(":"):
        allowed |= {n + 2}
    if kind == "duplicate":
        changed = [*lines[: n + 1], lines[n], *lines[n + 1 :]]
        allowed |= {n + 2}
    else:
        new = slip(lines[n], kind, how)
        if new is None:
            return
        changed = [*lines[:n], new, *lines[n + 1 :]]
    result = load({**folder, path: "\n".join(changed)})
    elsewhere = [d for d in result.diagnostics if d.span.path != path]
    assert not elsewhere, f"{kind} on {path}:{n + 1} {changed[n]!r} -> {elsewhere}"
    mine = [d for d in result.diagnostics if d.span.path == path]
    if not mine:
        return
    first = mine[0]
    if kind == "duplicate" and first.code in COUNTS:
        return
    assert first.span.line in allowed, (
        f"{kind} on {path}:{n + 1} {changed[n]!r}: first finding at line {first.span.line}"
        f" ({first.code.value}: {first.message}), expected one of {sorted(allowed)}"
    )


def test_there_are_clean_flows_to_slip() -> None:
    folders = clean_folders()
    assert len(folders) > 20, "the doc's examples and examples/flows should mostly check clean"
    assert any(len(f) > 1 for f in folders), "the examples folder should be among them"
