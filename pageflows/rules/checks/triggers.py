"""Triggers that can never fire, and ref campaigns without an EU fallback.

Why the ref fallback: Facebook may drop the ref for users in the EU and
Japan, so a flow set that greets by ref needs `on ref missing`, or those
people get no answer at all.
"""

from __future__ import annotations

from pageflows.rules import model as m
from pageflows.rules.compile import CompiledTrigger, Program, compile_program
from pageflows.rules.diagnostics import Code, Diagnostic, warning
from pageflows.rules.keyword_index import KeywordEntry, KeywordIndex, KeywordMode
from pageflows.rules.source import Span

SINGLE = ("ref_missing", "get_started", "first_message", "message")


def check(flows: list[m.Flow], program: Program | None = None) -> list[Diagnostic]:
    """``program`` is `compile_program(flows)` when the caller has it (issue 13: A: once)."""
    program = compile_program(flows) if program is None else program
    found = _keyword_shadows(program.triggers, program.keywords)
    found += _same_key_shadows(program.triggers)
    ref_triggers = [t for t in program.triggers if isinstance(t.trigger, m.RefTrigger)]
    # issue 12: A: a block that failed to parse may be the `on ref missing`.
    unread = any(f.unread_lines for f in flows)
    if ref_triggers and not program.first("ref_missing") and not unread:
        first = ref_triggers[0]
        found.append(
            warning(
                Code.NO_REF_FALLBACK,
                first.trigger.span,
                "these flows greet by ref, but none says what to do when the ref is missing",
                "Facebook may drop refs for people in the EU; add `on ref missing:` with a"
                " greeting that asks how they found you",
            )
        )
    return found


def _at(other: Span, here: Span) -> str:
    """Where the other trigger is, as briefly as the reader needs it."""
    return f"on line {other.line}" if other.path == here.path else f"at {other}"


def _covers(winner: KeywordEntry, loser: KeywordEntry) -> bool:
    """Every message `loser` matches is matched by `winner` too."""
    if winner.mode is KeywordMode.CONTAINS:
        return True
    if winner.mode is KeywordMode.STARTS:
        return loser.mode in (KeywordMode.STARTS, KeywordMode.EXACT)
    return loser.mode is KeywordMode.EXACT


def _keyword_shadows(
    triggers: tuple[CompiledTrigger, ...], index: KeywordIndex
) -> list[Diagnostic]:
    """``index`` is the program's, built from these same entries (issue 13: A: not again).

    issue 13: A: its entries are read as it holds them (by rank), not made again
    from the triggers: the findings are the same (an entry the index ignored, a
    phrase without words, matches nothing), and once sorted (load.py) in the same
    order, since the phrases of one trigger keep their order and the findings of
    two triggers are at two places.
    """
    found = []
    for entry in index.entries:
        for other in index.matches(entry.phrase):
            if other.rank >= entry.rank or other.trigger == entry.trigger:
                continue
            if _covers(other, entry):
                winner = triggers[other.trigger].trigger.span
                span = triggers[entry.trigger].trigger.span
                found.append(
                    warning(
                        Code.SHADOWED_TRIGGER,
                        span,
                        f'keyword "{entry.phrase}" never fires: "{other.phrase}" ({other.mode})'
                        f" {_at(winner, span)} matches the same messages first",
                        "remove it, or make it more specific (exact) so it ranks first",
                    )
                )
                break
    return found


def _key(trigger: m.Trigger) -> tuple[object, ...] | None:
    if type(trigger) is m.KeywordTrigger:
        return None  # issue 13: A: most triggers; none of the isinstance tests below
    if isinstance(trigger, m.RefTrigger):
        return ("ref", trigger.ref, trigger.source)
    if isinstance(trigger, m.PostbackTrigger):
        return ("postback", trigger.payload)
    if isinstance(trigger, m.CommentTrigger):
        return ("comment", trigger.post_id, trigger.containing)
    if isinstance(trigger, m.AttachmentTrigger):
        return ("attachment", trigger.media)
    if isinstance(trigger, m.OptinTrigger):
        return ("optin", trigger.topic)
    if isinstance(trigger, m.RegexTrigger):
        return ("regex", trigger.pattern, trigger.flags)
    if trigger.kind in SINGLE or isinstance(trigger, m.WindowClosingTrigger):
        return (trigger.kind,)
    return None


def _same_key_shadows(triggers: tuple[CompiledTrigger, ...]) -> list[Diagnostic]:
    first: dict[tuple[object, ...], CompiledTrigger] = {}
    found = []
    for compiled in triggers:
        key = _key(compiled.trigger)
        if key is None:
            continue
        if key[0] == "ref" and key[2] is not None and ("ref", key[1], None) in first:
            key = ("ref", key[1], None)  # an earlier `on ref "x"` takes every source
        if key in first:
            found.append(
                warning(
                    Code.SHADOWED_TRIGGER,
                    compiled.trigger.span,
                    "this trigger never fires: the same trigger"
                    f" {_at(first[key].trigger.span, compiled.trigger.span)} comes first",
                    "merge the two blocks, or delete one",
                )
            )
        else:
            first[key] = compiled
    return found
