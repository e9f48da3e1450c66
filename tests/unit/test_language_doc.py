"""Every example in docs/language.md checks as the doc says, and the doc covers the language.

Why: docs/language.md is the reference marketers copy from. An example that
no longer parses, or a trigger or action that the doc never shows, would
teach them something false or leave them guessing.

Fences:

* ```` ```flow ````: one flow file, loaded alone as `doc/example_N.flow`;
  it must have no errors (warnings, such as an unreachable step, are fine).
* ```` ```flow NAME.flow ````: a file of the doc's example folder. All such
  blocks are loaded together as `doc/NAME.flow`, as pageflows loads a folder,
  so one may lead to a step of another (`goto other_flow.step`).
* ```` ```flow-error PFnnn ````: a deliberate mistake; it must have an error,
  with that code when one is given.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from pydantic import BaseModel

from pageflows.engine.policy import check_tag
from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code
from pageflows.rules.load import LoadResult, load_texts
from pageflows.rules.page_facts import PageFacts, TemplateInfo
from pageflows.rules.walk import reactions, walk_flow

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
# The Page the doc's examples run on: it has the template the doc sends.
DOC_PAGE = PageFacts(
    id="doc",
    templates=(
        TemplateInfo(
            name="order_update", language="en_US", body="Order {{1}} is {{2}}.", parameters=2
        ),
    ),
)
AS_OF = date(2026, 11, 24)
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
TOP_LEVEL = re.compile(r"(on|step|broadcast)\b")


@dataclass(frozen=True)
class Example:
    number: int
    kind: str  # "flow" or "flow-error"
    arg: str | None  # a file name for "flow", an expected code for "flow-error"
    text: str
    line: int  # where the block starts in the doc, for failure messages

    @property
    def label(self) -> str:
        return f"docs/language.md:{self.line} (example {self.number})"


@cache
def examples() -> tuple[Example, ...]:
    text = DOC.read_text("utf-8")
    found: list[Example] = []
    for match in FENCE.finditer(text):
        words = match.group("info").split()
        if not words or words[0] not in ("flow", "flow-error"):
            continue
        found.append(
            Example(
                number=len(found) + 1,
                kind=words[0],
                arg=words[1] if len(words) > 1 else None,
                text=match.group("body"),
                line=text.count("\n", 0, match.start()) + 1,
            )
        )
    return tuple(found)


def load(texts: dict[str, str]) -> LoadResult:
    return load_texts(
        {path: t.encode() for path, t in texts.items()}, AS_OF, check_tag, (DOC_PAGE,)
    )


def findings(result: LoadResult) -> str:
    return "\n".join(f"{d.span} {d.code.value}: {d.message}" for d in result.diagnostics)


def single(kind: str) -> list[Example]:
    return [e for e in examples() if e.kind == kind and not (kind == "flow" and e.arg)]


def folder() -> list[Example]:
    return [e for e in examples() if e.kind == "flow" and e.arg]


@cache
def clean_results() -> tuple[LoadResult, ...]:
    """The loads that must succeed: each single example, and the example folder."""
    results = [load({f"doc/example_{e.number}.flow": e.text}) for e in single("flow")]
    if folder():
        results.append(load({f"doc/{e.arg}": e.text for e in folder()}))
    return tuple(results)


def test_doc_has_examples_of_every_fence_kind() -> None:
    assert single("flow"), "no ```flow blocks found in docs/language.md"
    assert single("flow-error"), "no ```flow-error blocks found in docs/language.md"


@pytest.mark.parametrize("example", examples(), ids=lambda e: f"line{e.line}")
def test_example_starts_at_a_top_level_line(example: Example) -> None:
    first = example.text.split("\n", 1)[0]
    assert TOP_LEVEL.match(first), (
        f"{example.label} must start with an `on`, `step` or `broadcast` line, not {first!r}"
    )


@pytest.mark.parametrize("example", single("flow"), ids=lambda e: f"line{e.line}")
def test_flow_example_has_no_errors(example: Example) -> None:
    result = load({f"doc/example_{example.number}.flow": example.text})
    assert result.errors == (), f"{example.label}:\n{findings(result)}"
    assert result.program is not None


def test_folder_example_loads_together_without_errors() -> None:
    files = folder()
    assert len(files) >= 2, "the doc should show a folder of at least two named flow files"
    names = [e.arg for e in files]
    assert all(n and n.endswith(".flow") for n in names), names
    assert len(set(names)) == len(names), f"file names repeat: {names}"
    result = load({f"doc/{e.arg}": e.text for e in files})
    assert result.errors == (), findings(result)
    assert result.program is not None


@pytest.mark.parametrize("example", single("flow-error"), ids=lambda e: f"line{e.line}")
def test_error_example_has_the_error_it_shows(example: Example) -> None:
    result = load({f"doc/example_{example.number}.flow": example.text})
    assert result.errors, f"{example.label} is fenced flow-error but checks without errors"
    if example.arg:
        codes = {d.code.number for d in result.errors}
        assert example.arg in codes, f"{example.label} expects {example.arg}:\n{findings(result)}"


# ------------------------------------------------------------------ coverage


def literals(annotation: object) -> set[str]:
    """The string values of a Literal, of a pydantic `kind` field, or of a union of models."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return literals(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return {str(v) for v in typing.get_args(annotation)}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return literals(annotation.model_fields["kind"].annotation)
    found: set[str] = set()
    for member in typing.get_args(annotation):
        found |= literals(member)
    return found


@dataclass
class Seen:
    triggers: set[str]
    actions: set[str]
    values: dict[str, set[str]]


@cache
def seen() -> Seen:
    """What the error-free examples use, read from the built flows (not from the text)."""
    out = Seen(set(), set(), {})

    def note(what: str, value: str) -> None:
        out.values.setdefault(what, set()).add(value)

    for result in clean_results():
        for flow in result.flows:
            for block in flow.triggers:
                trigger = block.trigger
                out.triggers.add(trigger.kind)
                if isinstance(trigger, m.KeywordTrigger):
                    note("keyword mode", trigger.mode)
                elif isinstance(trigger, m.RefTrigger) and trigger.source:
                    note("ref source", trigger.source)
                elif isinstance(trigger, m.AttachmentTrigger):
                    note("attachment", trigger.media)
            for broadcast in flow.broadcasts:
                note("audience", broadcast.audience)
            for action, _ in walk_flow(flow):
                out.actions.add(action.kind)
                for reaction in reactions(action):
                    note("reaction", reaction.kind)
                if isinstance(action, m.SendMedia):
                    note("media", action.media)
                elif isinstance(action, m.Ask):
                    note("ask", action.expects)
                elif isinstance(action, m.RequestNotifications):
                    note("frequency", action.frequency)
                elif isinstance(action, m.If):
                    note("condition", action.condition.kind)
                elif isinstance(action, m.SendButtons | m.SendCards):
                    buttons = (
                        action.buttons
                        if isinstance(action, m.SendButtons)
                        else tuple(b for c in action.cards for b in c.buttons)
                    )
                    for button in buttons:
                        note("button", button.kind)
    return out


def test_every_trigger_kind_has_an_example() -> None:
    missing = literals(m.Trigger) - seen().triggers
    assert not missing, f"docs/language.md shows no `on ...` trigger of kind {sorted(missing)}"


def test_every_action_kind_has_an_example() -> None:
    missing = literals(m.Action) - seen().actions
    assert not missing, f"docs/language.md shows no action of kind {sorted(missing)}"


OPTIONS: dict[str, object] = {
    "keyword mode": m.KeywordModeName,
    "ref source": m.RefSource,
    "attachment": m.AttachmentKind,
    "audience": m.AudienceKind,
    "reaction": m.Reaction,
    "media": m.MediaKind,
    "ask": m.AskKind,
    "frequency": m.Frequency,
    "condition": m.Condition,
    "button": m.Button,
}


@pytest.mark.parametrize("what", OPTIONS)
def test_every_option_has_an_example(what: str) -> None:
    missing = literals(OPTIONS[what]) - seen().values.get(what, set())
    assert not missing, f"docs/language.md shows no {what} {sorted(missing)}"


def test_every_finding_code_is_in_the_table() -> None:
    text = DOC.read_text("utf-8")
    missing = [code.value for code in Code if f"| {code.number} | {code.label} |" not in text]
    assert not missing, f"docs/language.md's table of findings lacks {missing}"
