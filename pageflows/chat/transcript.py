"""Conversation transcripts (`.chat` files) as tests for flows.

A transcript is what `pageflows chat` prints: `>` lines are what the contact
does (a message, or a chat command such as `/tap Show me deals` or
`/wait 20h`), `<` lines are every message the bot must answer, in order, with
how it goes out (`< [UPDATE] text`; `< text` accepts any sent message), `?`
lines check the contact (`? tagged vip`, `? field email = a@b.co`), `~` lines
set the scene before the first action (`~ start 2026-11-24 09:00`,
`~ name Alice`, `~ region EU` or `~ region none`, `~ ad-window on`, `~ template
order_update PAUSED`, `~ timezone Europe/Paris`: the Page as Facebook knows it
and where it is). `·` lines, comments and
blank lines are ignored, so a chat session pasted into a file is already a test.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from pageflows.chat.conversation import Conversation, ConversationError, describe_delivery
from pageflows.engine import timing
from pageflows.engine.effects import Send, Skipped
from pageflows.rules.compile import Program
from pageflows.rules.page_facts import REGIONS, TEMPLATE_STATUSES, PageFacts


@dataclass
class Step:
    line: int
    action: str
    expected: list[tuple[int, str]] = field(default_factory=list)
    checks: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Script:
    path: str
    start: datetime | None = None
    name: str = "Alice"
    region: str | None = None
    region_set: bool = False
    ad_window: bool | None = None
    template_status: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    timezone: str | None = None  # issue 12: `~ timezone Europe/Paris`, the Page's zone


@dataclass(frozen=True)
class Failure:
    path: str
    line: int
    message: str


def parse_script(path: str, text: str) -> Script:
    script = Script(path=path)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "·")):
            continue
        mark, body = line[0], line[1:].strip()
        if mark == ">":
            script.steps.append(Step(line=number, action=body))
        elif mark in "<?" and not script.steps:
            script.problems.append(f"{path}:{number}: expectations come after a `>` line")
        elif mark == "<":
            script.steps[-1].expected.append((number, body))
        elif mark == "?":
            script.steps[-1].checks.append((number, body))
        elif mark == "~":
            _setting(script, number, body)
        else:
            script.problems.append(
                f"{path}:{number}: a line starts with >, <, ?, ~ or #, not {line[:1]!r}"
            )
    return script


def _setting(script: Script, number: int, body: str) -> None:
    key, _, value = body.partition(" ")
    value = value.strip().strip('"')
    if key == "start":
        try:
            script.start = datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        except ValueError:
            script.problems.append(f'{script.path}:{number}: write `~ start "2026-11-24 09:00"`')
    elif key == "name":
        script.name = value
    elif key == "region" and (value.upper() in REGIONS or value == "none"):
        script.region = None if value == "none" else value.upper()
        script.region_set = True
    elif key == "ad-window" and value in ("on", "off"):
        script.ad_window = value == "on"
    elif key == "template" and len(value.split()) == 2 and value.split()[1] in TEMPLATE_STATUSES:
        name, status = value.split()
        script.template_status[name] = status
    elif key == "timezone" and timing.zone(value) is not None:  # issue 12: time
        script.timezone = value
    elif key in ("region", "ad-window", "template", "timezone"):
        script.problems.append(f"{script.path}:{number}: {_SETTING_FORMS[key]}")
    else:
        known = ", ".join(("start", "name", *_SETTING_FORMS))
        script.problems.append(f"{script.path}:{number}: unknown setting {key!r} ({known})")


_SETTING_FORMS = {
    "region": f"write `~ region EU` (one of {', '.join(REGIONS)}) or `~ region none`",
    "ad-window": "write `~ ad-window on` or `~ ad-window off`",
    "template": "write `~ template NAME STATUS`, such as `~ template order_update PAUSED`",
    "timezone": "write `~ timezone Europe/Paris` (an IANA time zone name)",
}


def page_for(script: Script, page: PageFacts) -> PageFacts:
    """The Page of the flows' folder, with what this transcript says about it."""
    templates = tuple(
        replace(t, status=script.template_status.get(t.name, t.status)) for t in page.templates
    )
    return replace(
        page,
        region=script.region if script.region_set else page.region,
        ad_window=page.ad_window if script.ad_window is None else script.ad_window,
        templates=templates,
        timezone=script.timezone or page.timezone,
    )


def actual_lines(happened: list[object]) -> list[str]:
    lines = []
    for item in happened:
        effect = getattr(item, "effect", None)
        if isinstance(effect, Send | Skipped):
            lines.append(f"[{describe_delivery(effect)}] {effect.outbound.preview}")
    return lines


def _matches(expected: str, actual: str) -> bool:
    if expected.startswith("["):
        return expected == actual
    how, _, text = actual.partition("] ")
    return not how.startswith("[skipped") and text == expected


def run_script(
    program: Program, script: Script, now: datetime, page: PageFacts | None = None
) -> list[Failure]:
    failures = [Failure(script.path, 0, p) for p in script.problems]
    if failures:
        return failures
    conversation = Conversation.start(
        program,
        script.start or now,
        first_name=script.name,
        page=page_for(script, page or PageFacts()),
    )
    for step in script.steps:
        try:
            happened = conversation.run(step.action)
        except ConversationError as exc:
            failures.append(Failure(script.path, step.line, f"`> {step.action}`: {exc}"))
            continue
        actual = actual_lines(list(happened))
        expected = [text for _, text in step.expected]
        same = len(actual) == len(expected) and all(
            _matches(e, a) for e, a in zip(expected, actual, strict=True)
        )
        if not same:
            failures.append(Failure(script.path, step.line, _diff(step, expected, actual)))
        for line, check in step.checks:
            problem = _check(conversation, check)
            if problem:
                failures.append(Failure(script.path, line, problem))
    return failures


def _diff(step: Step, expected: list[str], actual: list[str]) -> str:
    shown = [
        a if e.startswith("[") else a.partition("] ")[2]
        for e, a in zip(expected, actual, strict=False)
    ]
    shown += actual[len(expected) :]
    diff = difflib.unified_diff(
        ["< " + e for e in expected], ["< " + a for a in shown], "expected", "got", lineterm="", n=2
    )
    body = "\n".join("    " + d for d in list(diff)[2:] if not d.startswith("@@"))
    return f"after `> {step.action}` the bot's answer differs:\n{body}"


def _check(conversation: Conversation, check: str) -> str | None:
    contact = conversation.contact
    words = check.split(None, 1)
    if not words:
        return "an empty `?` line"
    if words[0] == "tagged" and len(words) == 2:
        tag = words[1].strip('"')
        return (
            None
            if tag in contact.tags
            else f'expected the contact tagged "{tag}"; tags: {sorted(contact.tags)}'
        )
    if check.startswith("not tagged "):
        tag = check.removeprefix("not tagged ").strip().strip('"')
        return f'expected the contact not tagged "{tag}"' if tag in contact.tags else None
    if words[0] == "field" and len(words) == 2 and "=" in words[1]:
        name, _, value = words[1].partition("=")
        name, value = name.strip(), value.strip().strip('"')
        actual = contact.fields.get(name)
        return None if actual == value else f"expected field {name} = {value!r}, got {actual!r}"
    if check == "handed off":
        return None if contact.handed_off else "expected the conversation handed to a human"
    if check == "not handed off":  # issue 12: asks
        return "expected the bot to have the conversation" if contact.handed_off else None
    if check == "waiting" or check.startswith("waiting "):
        wanted = check.removeprefix("waiting").strip()
        field_ = contact.waiting.field if contact.waiting else None
        if field_ is None or (wanted and field_ != wanted):
            return (
                f"expected a question waiting{' for ' + wanted if wanted else ''}, got {field_!r}"
            )
        return None
    if check == "not waiting":
        waits = contact.waiting
        return f"expected no question waiting, got {waits.field!r}" if waits else None
    return (
        f"cannot check {check!r}: use tagged X, not tagged X, field NAME = VALUE, handed off,"
        " not handed off, waiting [FIELD], not waiting"
    )


def find_scripts(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(path.rglob("*.chat"))
