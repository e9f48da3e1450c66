"""Triggers that can never fire, and ref campaigns without an EU fallback.

Why the ref fallback: Facebook may drop the ref for users in the EU and
Japan, so a flow set that greets by ref needs `on ref missing`, or those
people get no answer at all.
"""

from __future__ import annotations

from typing import NamedTuple

from pageflows.rules import model as m
from pageflows.rules.compile import MODE_RANK, Program, compile_program
from pageflows.rules.diagnostics import Code, Diagnostic, warning
from pageflows.rules.folding import fold_words
from pageflows.rules.keyword_index import KeywordEntry, KeywordIndex, KeywordMode
from pageflows.rules.source import Span

SINGLE = ("ref_missing", "get_started", "first_message", "message")


def check(flows: list[m.Flow], program: Program | None = None) -> list[Diagnostic]:
    """``program`` is `compile_program(flows)` when the caller has it (issue 13: A: once)."""
    program = compile_program(flows) if program is None else program
    spans = [compiled.block.trigger.span for compiled in program.triggers]
    found = _keyword_shadows(spans, program.keywords)
    found += _same_key_shadows([(_key(t.trigger), t.trigger.span) for t in program.triggers])
    ref_triggers = [t for t in program.triggers if isinstance(t.trigger, m.RefTrigger)]
    # issue 12: A: a block that failed to parse may be the `on ref missing`.
    unread = any(f.unread_lines for f in flows)
    if ref_triggers and not program.first("ref_missing") and not unread:
        found.append(_no_fallback(ref_triggers[0].trigger.span))
    return found


class Facts(NamedTuple):
    """issue 13: A: one trigger as this check reads it, in plain values: its kind, its
    keyword mode and phrases (a keyword trigger), its `_key` (another kind), where it is,
    and whether it greets by ref. `pageflows check` gets them from a forked child for the
    flows it checked there (rules/split_check.py)."""

    kind: str
    mode: str
    phrases: tuple[str, ...]
    key: tuple[object, ...] | None
    span: Span
    by_ref: bool


def facts(trigger: m.Trigger) -> Facts:
    """What `check_facts` reads of ``trigger``."""
    if type(trigger) is m.KeywordTrigger:
        return Facts(trigger.kind, trigger.mode, trigger.phrases, None, trigger.span, False)
    by_ref = isinstance(trigger, m.RefTrigger)
    return Facts(trigger.kind, "", (), _key(trigger), trigger.span, by_ref)


def check_facts(
    triggers: list[Facts], unread: bool, shadows: Shadows | None = None
) -> list[Diagnostic]:
    """`check` from the facts of every trigger, in the program's order (flows by path)
    and ``unread``: whether a block of any flow failed to parse. The same findings, in
    the same order (`Shadows` says why, and tests/unit/test_split_check.py compares it
    with `_keyword_shadows` on keywords of every mode, shape and overlap). ``shadows``:
    the keyword shadows of the first triggers, judged already (the rest are added)."""
    shadows = Shadows() if shadows is None else shadows
    shadows.add(triggers[shadows.count :])
    found = shadows.found
    found += _same_key_shadows([(trigger.key, trigger.span) for trigger in triggers])
    by_ref = [trigger for trigger in triggers if trigger.by_ref]
    fallback = any(trigger.kind == "ref_missing" for trigger in triggers)
    if by_ref and not fallback and not unread:
        found.append(_no_fallback(by_ref[0].span))
    return found


_MODES = {mode.value: mode for mode in KeywordMode}


def _no_fallback(span: Span) -> Diagnostic:
    return warning(
        Code.NO_REF_FALLBACK,
        span,
        "these flows greet by ref, but none says what to do when the ref is missing",
        "Facebook may drop refs for people in the EU; add `on ref missing:` with a"
        " greeting that asks how they found you",
    )


class Shadows:
    """`_keyword_shadows` without an index: the same findings, each trigger's in the same
    order (findings of two triggers are at two places, and sorted by place).

    Why it may: `_keyword_shadows` takes the entries by rank ((mode, trigger number),
    then the order of the phrases) and, for each, the first entry by rank that matches
    its phrase, ranks before it (`other.rank < entry.rank`, another trigger) and covers
    it. An entry of a lower mode never covers one of a higher mode (an exact keyword does
    not cover a `starts` one, nor a `starts` one a `contains` one), and one of a higher
    mode never ranks before it: so the winner is the first entry *of the same mode* and
    an earlier trigger whose phrase matches: for an exact keyword, the same words; for a
    `starts` one, its first words; for a `contains` one, any run of its words. Among the
    entries of one phrase (folded), of one mode, the first by rank is the one to look
    at: if it is not earlier than the entry, none of them is. Phrases without words are
    ignored by the index, and here too.

    And so the triggers may be added a few at a time, in the program's order: a
    trigger's winner is an earlier one. issue 13: A: `pageflows check` split over two
    processes builds no program (this costs a third of building the index and asking it
    of every phrase: 17,000 phrases at 10,000 triggers), and judges its own first files'
    keywords while the child reads the others (split_check.py).
    """

    def __init__(self) -> None:
        # (mode, folded phrase) -> the first entry by rank: (trigger number, phrase
        # number, phrase, mode)
        self.first: dict[tuple[str, str], tuple[int, int, str, KeywordMode]] = {}
        self.spans: list[Span] = []
        self.count = 0  # triggers added
        self.seq = 0  # phrases added
        self.found: list[Diagnostic] = []

    def add(self, triggers: list[Facts]) -> None:
        """The next triggers, in the program's order."""
        first = self.first
        entries: list[tuple[int, int, int, str, str, list[str], str]] = []
        seq = self.seq
        for n, trigger in enumerate(triggers, self.count):
            if trigger.kind != "keyword":
                continue
            name = trigger.mode
            mode = _MODES[name]
            rank = MODE_RANK[name]
            for phrase in trigger.phrases:
                words = fold_words(phrase)
                seq += 1
                if not words:
                    continue
                key = " ".join(words)
                entries.append((rank, n, seq, phrase, name, words, key))
                if (name, key) not in first:  # the triggers come in order: the first is best
                    first[name, key] = (n, seq, phrase, mode)
        self.seq = seq
        self.count += len(triggers)
        spans = self.spans
        spans += [trigger.span for trigger in triggers]
        entries.sort()  # by rank, then the phrases' order (the first three are unique)
        found = self.found
        get = first.get
        for _, n, _, phrase, name, words, key in entries:
            if len(words) == 1 or name == "exact":
                best = get((name, key))
                if best is None or best[0] >= n:
                    continue
            else:
                best = None
                for run in _runs(words, name):
                    other = get((name, run))
                    if other is not None and other[0] < n and (best is None or other < best):
                        best = other
                if best is None:
                    continue
            winner, span = spans[best[0]], spans[n]
            found.append(
                warning(
                    Code.SHADOWED_TRIGGER,
                    span,
                    f'keyword "{phrase}" never fires: "{best[2]}" ({best[3]})'
                    f" {_at(winner, span)} matches the same messages first",
                    "remove it, or make it more specific (exact) so it ranks first",
                )
            )


def _runs(words: list[str], mode: str) -> list[str]:
    """The phrases (folded) a keyword of ``mode`` (`starts` or `contains`) must be to match
    this one's words (more than one)."""
    if mode == "starts":
        return [" ".join(words[: j + 1]) for j in range(len(words))]
    return [" ".join(words[i : j + 1]) for i in range(len(words)) for j in range(i, len(words))]


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


def _keyword_shadows(spans: list[Span], index: KeywordIndex) -> list[Diagnostic]:
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
                winner = spans[other.trigger]
                span = spans[entry.trigger]
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


def _same_key_shadows(keys: list[tuple[tuple[object, ...] | None, Span]]) -> list[Diagnostic]:
    """``keys``: each trigger's `_key` and where it is, in the program's order."""
    first: dict[tuple[object, ...], Span] = {}
    found = []
    for key, span in keys:
        if key is None:
            continue
        if key[0] == "ref" and key[2] is not None and ("ref", key[1], None) in first:
            key = ("ref", key[1], None)  # an earlier `on ref "x"` takes every source
        if key in first:
            found.append(
                warning(
                    Code.SHADOWED_TRIGGER,
                    span,
                    f"this trigger never fires: the same trigger {_at(first[key], span)}"
                    " comes first",
                    "merge the two blocks, or delete one",
                )
            )
        else:
            first[key] = span
    return found
